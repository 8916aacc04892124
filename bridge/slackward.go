package bridge

import (
	"context"
	"log/slog"
	"time"
)

// TwoWayObserver receives the Teams → Slack flow's events, for metrics.
// Every method must be safe for concurrent use and must not block.
type TwoWayObserver interface {
	// SlackWrite counts a users.profile.set call by outcome ("ok",
	// "throttled", "transient", "permanent"), or a write that needed no call
	// ("skipped").
	SlackWrite(outcome string)
	// TeamsSeen counts a Teams message a poll saw change, by whose it is:
	// "person" (carried to Slack), "bridge" (the bridge's own write) or
	// "first" (the first poll of an account, taken as the starting point).
	TeamsSeen(kind string)
	// Poll counts a poll of Teams by outcome ("ok", "error", "skipped" when
	// another replica holds the poll).
	Poll(outcome string)
}

type nopTwoWay struct{}

func (nopTwoWay) SlackWrite(string) {}
func (nopTwoWay) TeamsSeen(string)  {}
func (nopTwoWay) Poll(string)       {}

// SlackEngine carries messages people typed in Teams to their Slack status:
// it works the Teams → Slack queue, one user at a time, paced under Slack's
// limits, and records each write so that Slack's echo of it is not carried
// back to Teams.
type SlackEngine struct {
	// Queue is the Teams → Slack queue (kept apart from the Teams queue);
	// each change's Status.Text is the message Teams shows, "" for none.
	Queue Queue
	// Owners keeps, per Slack user (keyed by the Slack user id), what the
	// bridge wrote to their Slack status; the Engine's SlackOwners is the same store.
	Owners OwnershipStore
	// Choices holds each employee's pause or resume: a pause stops both directions.
	Choices ChoiceStore
	// Changes, when set, is the Slack → Teams queue's record of each
	// user's latest change from Slack: a Teams message older than a
	// person's Slack change is not written over it.
	Changes interface {
		User(ctx context.Context, slackUserID string) (UserRecord, bool, error)
	}
	// OptIn mirrors only employees who chose to be mirrored.
	OptIn bool
	// Writer sets Slack statuses.
	Writer SlackStatusWriter
	// Reader, when set, reads a user's Slack status: a Teams message found
	// on an account's first poll goes to Slack only when Slack shows none.
	// Without it such messages are left alone.
	Reader SlackStatusReader
	// ToSlack turns a Teams message into a Slack status (emoji shortcode,
	// Slack's length limit).
	ToSlack func(content string) SlackStatus
	// Limiter spaces users.profile.set calls under the token's limit, shared by replicas.
	Limiter Limiter
	// PerUser is the least time between two writes to one user's profile
	// (Slack allows about 10 a minute per user; default 6 s).
	PerUser time.Duration
	// DryRun logs each Slack write instead of making it.
	DryRun   bool
	Log      *slog.Logger
	Observer TwoWayObserver
	Now      func() time.Time
	// Workers, Lease, Poll and Policy are as the Engine's (defaults 2, 30 s, 500 ms).
	Workers int
	Lease   time.Duration
	Poll    time.Duration
	Policy  RetryPolicy

	engine *Engine
}

func (s *SlackEngine) init() *Engine {
	if s.engine != nil {
		return s.engine
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Observer == nil {
		s.Observer = nopTwoWay{}
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.PerUser <= 0 {
		s.PerUser = 6 * time.Second
	}
	if s.Workers <= 0 {
		s.Workers = 2
	}
	s.engine = &Engine{Queue: s.Queue, Limiter: s.Limiter, Log: s.Log, Now: s.Now, Workers: s.Workers,
		Lease: s.Lease, Poll: s.Poll, Policy: s.Policy, Observer: slackCalls{s.Observer}}
	s.engine.process = s.Process
	s.engine.init()
	return s.engine
}

// slackCalls counts the shared worker loop's calls as Slack writes.
type slackCalls struct{ o TwoWayObserver }

func (c slackCalls) Submitted(Change, string, time.Duration) {}
func (c slackCalls) GraphCall(outcome string)                { c.o.SlackWrite(outcome) }
func (c slackCalls) Skipped(string)                          { c.o.SlackWrite("skipped") }
func (c slackCalls) Parked()                                 {}
func (c slackCalls) Held()                                   {}
func (c slackCalls) PresenceRead(string)                     {}

// Run works the queue until ctx ends, finishing calls in flight.
func (s *SlackEngine) Run(ctx context.Context) error { return s.init().Run(ctx) }

// Process carries one claimed user's Teams message to Slack.
func (s *SlackEngine) Process(ctx context.Context, j Job) {
	e := s.init()
	ctx, cancel := context.WithTimeout(ctx, e.Lease*2/3)
	defer cancel()
	log := s.Log.With("user", j.UserID, "rev", j.Rev, "direction", "teams_to_slack")
	complete := func() {
		e.record(ctx, log, func(rec context.Context) error { return s.Queue.Complete(rec, j, nil, s.Now()) })
	}
	choice, err := s.Choices.Choice(ctx, j.UserID)
	if err != nil {
		e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
		return
	}
	j.Choice = choice
	if ok, why := Mirrors(j, s.OptIn); !ok {
		log.Debug("not carried to Slack", "why", why)
		e.Observer.Skipped("not mirrored")
		complete()
		return
	}
	if newer, err := s.slackIsNewer(ctx, j); err != nil {
		e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
		return
	} else if newer {
		log.Debug("a person changed Slack after this Teams message; Slack keeps theirs")
		e.Observer.Skipped("older than Slack")
		complete()
		return
	}
	o, _, err := s.Owners.GetOwned(ctx, j.UserID)
	if err != nil {
		e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
		return
	}
	o.EntraID, o.SlackUserID = j.UserID, j.UserID
	content := foldSpace(j.Desired.Status.Text)
	want := SlackStatus{}
	if content != "" {
		want = s.ToSlack(content)
	}
	key := SlackKey(want)
	switch {
	case want.Clear() && !showing(o):
		// Respect: Slack shows a status a person set (or nothing of the
		// bridge's); a Teams clear leaves it alone.
		log.Debug("Teams cleared its message; Slack shows no status of the bridge's to clear")
		e.Observer.Skipped("not the bridge's")
		complete()
		return
	case o.Content == key && len(o.Pending) == 0:
		e.Observer.Skipped("already in Slack")
		complete()
		return
	}
	if j.Desired.EventType == FirstPoll && !showing(o) {
		shown, err := s.slackShows(ctx, j.UserID)
		if err != nil {
			e.fail(ctx, log, j, err, false)
			return
		}
		if shown {
			// A message from before the bridge looked never replaces a
			// status the person has in Slack.
			e.Observer.Skipped("Slack shows a status")
			complete()
			return
		}
	}
	if next := o.Touched.Add(s.PerUser); s.Now().Before(next) {
		// Slack allows a profile only so many updates a minute.
		e.record(ctx, log, func(rec context.Context) error { return s.Queue.Retry(rec, j, next, j.Attempts, j.LastError) })
		return
	}
	if s.DryRun {
		log.Info("dry run: would set Slack status", "text", want.Text, "emoji", want.Emoji)
		e.record(ctx, log, func(rec context.Context) error { return s.Queue.Park(rec, j, DryRunReason, s.Now()) })
		return
	}
	if err := s.Owners.PutOwned(ctx, o.Intend(key, s.Now())); err != nil {
		e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
		return
	}
	landed, err := waitTurn(ctx, s.Limiter)
	if err != nil {
		e.fail(ctx, log, j, err, false)
		return
	}
	err = s.Writer.SetUserStatus(ctx, j.UserID, want)
	landed(err)
	if err != nil {
		e.fail(ctx, log, j, err, true)
		return
	}
	e.Observer.GraphCall("ok")
	now := s.Now()
	if want.Clear() {
		log.InfoContext(ctx, "status cleared in Slack")
	} else {
		log.InfoContext(ctx, "status set in Slack", "text", want.Text, "emoji", want.Emoji)
	}
	e.record(ctx, log, func(rec context.Context) error { return s.Owners.PutOwned(rec, o.Confirm(key, now)) })
	complete()
}

// slackIsNewer reports whether the user's latest change from Slack, made by
// a person (an event, not a reconcile pass), is newer than the Teams message
// of job j: the most recent human change wins.
func (s *SlackEngine) slackIsNewer(ctx context.Context, j Job) (bool, error) {
	if s.Changes == nil {
		return false, nil
	}
	rec, ok, err := s.Changes.User(ctx, j.UserID)
	if err != nil || !ok || rec.Desired == nil {
		return false, err
	}
	d := rec.Desired
	human := d.Source == SourceHTTP || d.Source == SourceSocket
	return human && d.EventTime.After(j.Desired.EventTime), nil
}

// slackShows reports whether Slack shows a status for the user now; without
// a Reader it answers true (leave Slack alone).
func (s *SlackEngine) slackShows(ctx context.Context, user string) (bool, error) {
	if s.Reader == nil {
		return true, nil
	}
	st, err := s.Reader.UserStatus(ctx, user)
	if err != nil {
		return false, err
	}
	return !st.Clear(), nil
}
