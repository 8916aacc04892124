package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Observer receives the engine's events, for metrics. Every method must be
// safe for concurrent use and must not block.
type Observer interface {
	// Submitted counts a submitted change by outcome ("accepted", "duplicate",
	// "stale", "unchanged", "invalid", "error") and how long storing it took.
	Submitted(c Change, outcome string, took time.Duration)
	// GraphCall counts a call to Teams by outcome ("ok", "throttled", "transient", "permanent").
	GraphCall(outcome string)
	// Skipped counts a claimed user that needed no call, by reason.
	Skipped(reason string)
	// Parked counts a user set aside.
	Parked()
	// Held counts an update left alone because Teams shows a message a person set.
	Held()
	// PresenceRead counts a read of what Teams shows, by outcome (as GraphCall).
	PresenceRead(outcome string)
}

type nopObserver struct{}

func (nopObserver) Submitted(Change, string, time.Duration) {}
func (nopObserver) GraphCall(string)                        {}
func (nopObserver) Skipped(string)                          {}
func (nopObserver) Parked()                                 {}
func (nopObserver) Held()                                   {}
func (nopObserver) PresenceRead(string)                     {}

// Engine accepts changes and runs the workers that carry them to Teams.
type Engine struct {
	Queue     Queue
	Resolver  Resolver
	Publisher Publisher
	// DryRun logs each Teams update instead of sending it (Publisher is not
	// called); users whose update was only logged are parked with
	// DryRunReason so that a later live run sends it.
	DryRun bool
	// Owners, when set, keeps per Entra account what the bridge wrote there,
	// so that it replaces or clears only its own messages.
	Owners OwnershipStore
	// Presence, when set with Owners, reads what Teams shows before the
	// bridge writes or clears: a message a person set is left alone.
	Presence PresenceReader
	// Upcoming, when set with Presence, lets one presence read cover the
	// users due next too, so a burst costs about one read per 650 users.
	Upcoming Upcoming
	// Overwrite replaces a Teams message a person set instead of holding
	// (STATUSBRIDGE_TEAMS_CONFLICT=overwrite).
	Overwrite bool
	// OptIn mirrors only employees who chose to be mirrored
	// (STATUSBRIDGE_MIRROR_DEFAULT=off); by default everyone is, unless paused.
	OptIn bool
	// HeldRecheck is how often Teams is read again for a held user
	// (default 10 min); the next Slack change checks at once.
	HeldRecheck time.Duration
	// SlackOwners, when set (Teams → Slack is on), keeps per Slack user what
	// the bridge wrote to their Slack status, keyed by the Slack user id:
	// Submit recognises Slack's echo of those writes and does not carry it
	// back to Teams.
	SlackOwners OwnershipStore
	// Seen, when set (Teams → Slack is on), dates the messages people typed
	// in Teams; a newer change from Slack then replaces such a message
	// instead of being held: the most recent human change wins.
	Seen SeenStore
	// Limiter, when set, spaces every Graph call.
	Limiter Limiter
	Log     *slog.Logger
	// Observer, when set, receives events for metrics.
	Observer Observer
	// Tracer, when set, traces each change from Submit to the Graph write.
	Tracer Tracer
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
	// Workers is the number of concurrent workers that always run (default 4).
	Workers int
	// MaxWorkers is the most workers the pool grows to while every worker is
	// busy and the Graph budget calls for more (see pool.go); at most
	// Workers (the default) keeps the pool fixed.
	MaxWorkers int
	// Lease is how long a claimed user stays with one worker (default 30 s).
	// A crashed worker's user comes back after it.
	Lease time.Duration
	// Poll is how often an idle worker looks for due users (default 500 ms);
	// a local Submit wakes workers at once.
	Poll time.Duration
	// Policy shapes retries (default DefaultRetryPolicy).
	Policy RetryPolicy
	// Jitter returns a number in [0,1) (default random).
	Jitter func() float64
	// RecordTimeout bounds each store write of an outcome (default 5 s); it
	// starts when the write does, however long the Graph call took.
	RecordTimeout time.Duration
	// Settle is how long a worker keeps a user after a Teams call that got
	// no answer (ErrUnanswered: a timeout, a broken connection, a gateway
	// timeout) before it lets the user go, so that a newer change, which is
	// due at once, is not sent before Graph applies the late call and then
	// overwritten by it (default 1 s, at most a sixth of the lease).
	Settle time.Duration
	// Grace is how long work in flight may go on after Run's context ends
	// (default: until it finishes, bounded by the lease).
	Grace time.Duration

	// process, when set, replaces Process for claimed jobs (the Teams →
	// Slack flow runs its own jobs on this worker loop).
	process func(context.Context, Job)

	once     sync.Once
	wake     chan struct{}
	presence *presenceBatcher
	pool     pool
}

func (e *Engine) init() {
	e.once.Do(func() {
		e.wake = make(chan struct{}, 1)
		if e.Now == nil {
			e.Now = time.Now
		}
		if e.Log == nil {
			e.Log = slog.New(slog.DiscardHandler)
		}
		if e.Observer == nil {
			e.Observer = nopObserver{}
		}
		if e.Workers <= 0 {
			e.Workers = 4
		}
		if e.Lease <= 0 {
			e.Lease = 30 * time.Second
		}
		if e.Poll <= 0 {
			e.Poll = 500 * time.Millisecond
		}
		if e.Policy == (RetryPolicy{}) {
			e.Policy = DefaultRetryPolicy
		}
		if e.Jitter == nil {
			e.Jitter = randJitter
		}
		if e.RecordTimeout <= 0 {
			e.RecordTimeout = 5 * time.Second
		}
		if e.Settle <= 0 {
			e.Settle = time.Second
		}
		e.Settle = min(e.Settle, e.Lease/6)
		if e.HeldRecheck <= 0 {
			e.HeldRecheck = 10 * time.Minute
		}
		if e.Presence != nil {
			e.presence = &presenceBatcher{reader: e.Presence, limiter: e.Limiter, window: 20 * time.Millisecond,
				timeout: max(e.Lease/3, 5*time.Second), observe: func(outcome string, err error) { e.Observer.PresenceRead(outcome) },
				upcoming: e.Upcoming, now: e.Now}
			// The replicas share their reads ahead when one store is
			// both the queue of the accounts due next and the owners'.
			if sh, ok := e.Upcoming.(SharedAhead); ok && e.Owners != nil && any(e.Owners) == any(e.Upcoming) {
				e.presence.shared = sh
			}
		}
	})
}

// Submit validates a change and stores it durably. When it returns a nil
// error the change will reach Teams, whatever crashes afterwards; only then
// may Slack be acknowledged.
func (e *Engine) Submit(ctx context.Context, c Change) (out SubmitOutcome, err error) {
	e.init()
	if e.Tracer != nil {
		// Only then: the span's attributes cost allocations on every call.
		var end func(error)
		ctx, end = e.span(ctx, SpanSubmit, "user", c.UserID, "event_id", c.EventID, "source", string(c.Source))
		defer func() { end(err) }()
		c.Trace = e.Tracer.Inject(ctx)
	}
	start := time.Now()
	if err := c.Validate(); err != nil {
		e.Observer.Submitted(c, "invalid", time.Since(start))
		return 0, err
	}
	now := e.Now()
	if t, ok := SaneEventTime(c.EventTime, now); !ok {
		if e.Log.Enabled(ctx, slog.LevelWarn) {
			e.Log.WarnContext(ctx, "change dated in the future; ordered by its arrival instead", "user", c.UserID,
				"event_id", c.EventID, "event_time", c.EventTime.UTC().Format(time.RFC3339), "source", c.Source)
		}
		c.EventTime = t
	}
	var slackOwned Owned
	bridgeShown := false
	if e.SlackOwners != nil {
		o, echo, shown, err := e.slackSide(ctx, c)
		if err != nil {
			e.Observer.Submitted(c, "error", time.Since(start))
			return 0, err
		}
		if echo {
			e.Log.DebugContext(ctx, "Slack echoed the bridge's own status write; not carried to Teams", "user", c.UserID, "event_id", c.EventID)
			e.Observer.Submitted(c, Echo.String(), time.Since(start))
			return Echo, nil
		}
		slackOwned, bridgeShown = o, shown
		if shown {
			c = afterBridge(c, now)
		}
	}
	out, err = e.Queue.Submit(ctx, c, now)
	if err != nil {
		e.Observer.Submitted(c, "error", time.Since(start))
		return 0, err
	}
	if bridgeShown && out == Accepted {
		e.noteSlackReplaced(ctx, slackOwned, now)
	}
	e.Observer.Submitted(c, out.String(), time.Since(start))
	if out == Accepted {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return out, nil
}

// Run runs the workers until ctx ends. Work in flight when ctx ends is finished
// (each Graph call is bounded by the lease) before Run returns.
func (e *Engine) Run(ctx context.Context) error {
	e.init()
	// work outlives ctx by the grace period, so calls in flight can finish.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if e.Grace > 0 {
		stop := context.AfterFunc(ctx, func() {
			t := time.AfterFunc(e.Grace, cancel)
			<-work.Done()
			t.Stop()
		})
		defer stop()
	}
	var wg sync.WaitGroup
	for i := 0; i < e.Workers; i++ {
		e.startWorker(ctx, work, &wg, false)
	}
	if e.maxWorkers() > e.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.scale(ctx, work, &wg)
		}()
	}
	wg.Wait()
	return nil
}

// startWorker starts a worker counted by the pool and by wg.
func (e *Engine) startWorker(ctx, work context.Context, wg *sync.WaitGroup, extra bool) {
	e.pool.running.Add(1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer e.pool.running.Add(-1)
		e.worker(ctx, work, extra)
	}()
}

// worker claims and processes due users until ctx ends; an extra worker
// (one the pool grew by) leaves once it finds none due, or once the pool is
// larger than the budget calls for.
func (e *Engine) worker(ctx, work context.Context, extra bool) {
	var storeErr string
	for ctx.Err() == nil {
		if extra && e.pool.running.Load() > e.pool.want.Load() {
			return
		}
		jobs, err := e.Queue.Claim(ctx, e.Now(), e.Lease, 1)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if err.Error() != storeErr {
				e.Log.Warn("store unavailable; workers pause", "err", err)
				storeErr = err.Error()
			}
			e.sleep(ctx, e.Poll*2)
			continue
		}
		if storeErr != "" {
			e.Log.Info("store reachable again; workers resume")
			storeErr = ""
		}
		if len(jobs) == 0 {
			if extra {
				return
			}
			e.sleep(ctx, e.Poll)
			continue
		}
		e.pool.busy.Add(1)
		for _, j := range jobs {
			if e.process != nil {
				e.process(work, j)
				continue
			}
			e.Process(work, j)
		}
		e.pool.busy.Add(-1)
	}
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-e.wake:
	}
}

// fail records a failed attempt. graph says whether the failure came from
// the Teams call itself (it counts in metrics and a 429 tightens the limiter).
func (e *Engine) fail(ctx context.Context, log *slog.Logger, j Job, err error, graph bool) {
	d := Decide(err, j.Attempts, e.Policy, e.Jitter())
	now := e.Now()
	count := func(outcome string) {
		if graph {
			e.Observer.GraphCall(outcome)
		}
	}
	switch d.Action {
	case Snooze:
		count("throttled") // the call's landed held the limiter back (waitTurn)
		log.Debug("waiting before trying again", "after", d.After, "err", err)
		e.record(ctx, log, func(rec context.Context) error { return e.Queue.Retry(rec, j, now.Add(d.After), d.Attempts, d.Reason) })
	case Park:
		count("permanent")
		e.Observer.Parked()
		log.WarnContext(ctx, "user parked", "reason", d.Reason)
		e.record(ctx, log, func(rec context.Context) error { return e.Queue.Park(rec, j, d.Reason, now) })
	default:
		count("transient")
		if graph && errors.Is(err, ErrUnanswered) {
			// The call may still land in Teams; a newer change sent at once
			// could land before it and be overwritten. The worker still
			// holds the lease: Settle is at most a sixth of it.
			time.Sleep(e.Settle)
		}
		// Log when the error changes, not on every attempt.
		if d.Reason != j.LastError {
			log.WarnContext(ctx, "update failed; will retry", "err", d.Reason, "attempt", d.Attempts, "after", d.After)
		}
		e.record(ctx, log, func(rec context.Context) error { return e.Queue.Retry(rec, j, now.Add(d.After), d.Attempts, d.Reason) })
	}
}

// record runs one store write with its own deadline, so that an outcome is
// recorded even after a slow call or a shutdown cut the work short.
func (e *Engine) record(ctx context.Context, log *slog.Logger, write func(context.Context) error) {
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.RecordTimeout)
	defer cancel()
	err := write(rec)
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		log.Warn("lease lost; another worker has the user")
	default:
		// The lease runs out and the user is worked again: nothing is lost.
		log.Warn("could not record the outcome; the user will be retried", "err", err)
	}
}

// DryRunReason is the park reason of users whose update a dry run only logged.
const DryRunReason = "dry run: logged, not sent to Teams"

// ResumeAfterDryRun un-parks the users a dry run set aside, so that a live
// run sends their latest status. It returns how many it un-parked.
func ResumeAfterDryRun(ctx context.Context, a Admin, now time.Time) (int, error) {
	ps, err := a.ListParked(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if p.Reason != DryRunReason {
			continue
		}
		ok, err := a.Unpark(ctx, p.UserID, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// logDryRun logs the update that would be sent.
func (e *Engine) logDryRun(entraID string, m Message) {
	if entraID == "" {
		entraID = "(no mapping yet)"
	}
	args := []any{"entra_id", entraID, "content", m.Content}
	if !m.Expiry.IsZero() {
		args = append(args, "expiry_utc", m.Expiry.UTC().Format("2006-01-02T15:04:05"))
	}
	e.Log.Info("dry run: would set Teams status message", args...)
}
