package bridge

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// MaxPresenceBatch is how many accounts one presence read may ask for
// (Graph's getPresencesByUserId takes up to 650 ids).
const MaxPresenceBatch = 650

// Upcoming names the accounts of the users due next, so that one presence
// read covers them too.
type Upcoming interface {
	// UpcomingAccounts returns the Entra ids mapped to up to max users due
	// at now and not leased, soonest first.
	UpcomingAccounts(ctx context.Context, now time.Time, max int) ([]string, error)
}

// SharedAhead keeps the presence reads made ahead of time in the store, so
// that the replicas of a fleet share them: each account due next is read
// ahead by one replica rather than by every replica (the Redis store).
type SharedAhead interface {
	// UpcomingUnread is UpcomingAccounts without the accounts that have a
	// shared read or are being read by another replica; it marks those it
	// returns as being read, for hold.
	UpcomingUnread(ctx context.Context, now time.Time, max int, hold time.Duration) ([]string, error)
	// KeepAhead shares what Teams showed for ids, read at at, for ttl; an
	// id missing from shown is an account Graph did not return.
	KeepAhead(ctx context.Context, ids []string, shown map[string]string, at time.Time, ttl time.Duration) error
	// DropMarks removes the marks of reads of ids that were not made (the
	// call failed), so that another replica reads those accounts ahead.
	DropMarks(ctx context.Context, ids []string) error
	// OwnedForAhead is OwnedReader's OwnedFor with the shared read of
	// entraID, nil when there is none (or it is still being read).
	OwnedForAhead(ctx context.Context, slackUserID, entraID string) (records []Owned, own Owned, ahead *AheadRead, err error)
}

// AheadRead is a presence read made ahead of time, by any replica.
type AheadRead struct {
	Content string
	// Known is false when Graph did not return the account.
	Known bool
	// At is when the read was made, on the clock of the replica that made it.
	At time.Time
}

// presenceTTL is how long a presence read ahead of time may stand in for a
// read at the moment of writing. A burst of N changes then costs about
// N/650 reads; a message a person typed in Teams within this window before
// the bridge's write may go unseen.
const presenceTTL = 30 * time.Second

// maxPresenceCache bounds the reads kept ahead of time.
const maxPresenceCache = 4 * MaxPresenceBatch

// presenceBatcher coalesces the presence reads of concurrent workers: reads
// asked for within a short window, or while a call is in flight, share one
// call of up to MaxPresenceBatch ids. Each call spends one token of the
// shared Graph budget, like a write.
type presenceBatcher struct {
	reader  PresenceReader
	limiter Limiter
	window  time.Duration
	timeout time.Duration
	observe func(outcome string, err error)
	// upcoming, when set, fills each call up to MaxPresenceBatch with the
	// accounts of the users due next; their answers are kept for presenceTTL.
	upcoming Upcoming
	// shared, when set, takes the place of upcoming: the accounts due next
	// come without those another replica read ahead, and what this one
	// reads ahead is shared with the others.
	shared SharedAhead
	now    func() time.Time
	// sleep waits out the batching window (time.Sleep when nil).
	sleep func(time.Duration)

	mu      sync.Mutex
	ahead   map[string]presenceAhead
	waiting map[string][]chan presenceResult
	order   []string
	running bool
	// closed is when the shared Graph budget refused the last call until
	// (a full window, a penalty): until then reads are refused at once,
	// without asking the store for the accounts due next or the limiter.
	closed time.Time
}

type presenceAhead struct {
	content string
	known   bool
	at      time.Time
	// used says the read served a write already: kept for that user's
	// retry, it is the first to go when the cache is full.
	used bool
}

type presenceResult struct {
	content string
	known   bool
	err     error
}

// skewMargin allows for replicas' clocks when a read ahead is compared with
// the time a call was last made to the account.
const skewMargin = 5 * time.Second

// read returns what Teams shows for one account; known is false when Graph
// did not return the account. A read ahead of time serves only when it is
// younger than presenceTTL and newer than touched, the last call the bridge
// made (or was about to make) to the account.
// A read ahead of another replica's (shared, nil when none) serves the same way.
func (b *presenceBatcher) read(ctx context.Context, entraID string, touched time.Time, shared *AheadRead) (content string, known bool, err error) {
	if shared != nil && b.fresh(shared.At, touched) {
		return shared.Content, shared.Known, nil
	}
	ch := make(chan presenceResult, 1)
	b.mu.Lock()
	// With shared reads, the store's copy is the one: it is dropped when
	// the bridge calls the account or forgets its record, a copy here is not.
	if a, ok := b.ahead[entraID]; ok && b.shared == nil {
		// A read ahead serves until the bridge calls the account (touched
		// moves past it) or it is presenceTTL old: a user whose write had
		// to wait for the Graph budget uses it when it comes back.
		if b.fresh(a.at, touched) {
			a.used = true
			b.ahead[entraID] = a
			b.mu.Unlock()
			return a.content, a.known, nil
		}
		delete(b.ahead, entraID)
	}
	if b.waiting == nil {
		b.waiting = map[string][]chan presenceResult{}
	}
	if _, ok := b.waiting[entraID]; !ok {
		b.order = append(b.order, entraID)
	}
	b.waiting[entraID] = append(b.waiting[entraID], ch)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case r := <-ch:
		return r.content, r.known, r.err
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
}

// fresh says whether a read made at at may stand in for a read now, for an
// account the bridge last called at touched.
func (b *presenceBatcher) fresh(at, touched time.Time) bool {
	return b.now().Sub(at) < presenceTTL && at.After(touched.Add(skewMargin))
}

// loop makes calls while reads wait, then ends. It waits the batching
// window before its first call only: the reads asked for while a call was
// in flight have waited for it already, and go in the next call at once.
func (b *presenceBatcher) loop() {
	if b.sleep != nil {
		b.sleep(b.window)
	} else {
		time.Sleep(b.window)
	}
	for {
		b.mu.Lock()
		n := min(len(b.order), MaxPresenceBatch)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		ids := append([]string(nil), b.order[:n]...)
		b.order = append([]string(nil), b.order[n:]...)
		chans := make(map[string][]chan presenceResult, n)
		for _, id := range ids {
			chans[id] = b.waiting[id]
			delete(b.waiting, id)
		}
		b.mu.Unlock()
		if err := b.refused(); err != nil {
			for _, cs := range chans {
				for _, c := range cs {
					c <- presenceResult{err: err}
				}
			}
			continue
		}
		got, extra, at, err := b.call(ids)
		var later *RetryLaterError
		if errors.As(err, &later) && later.After > 0 && errors.Is(err, errLimiterWait) {
			b.mu.Lock()
			b.closed = b.now().Add(later.After)
			b.mu.Unlock()
		}
		for id, cs := range chans {
			content, known := got[id]
			for _, c := range cs {
				c <- presenceResult{content: content, known: known, err: err}
			}
		}
		if err == nil && len(extra) > 0 && b.shared == nil {
			b.keep(extra, got, at)
		}
	}
}

// refused is the error of a read while the shared Graph budget is closed
// (closed), nil otherwise. The workers wait as they would for a refusal of
// the limiter, which this stands for: while a window is full or a penalty
// runs, reads come back every few milliseconds, and each would cost a
// store query for the accounts due next and a call to the limiter.
func (b *presenceBatcher) refused() error {
	b.mu.Lock()
	left := b.closed.Sub(b.now())
	b.mu.Unlock()
	if left <= 0 {
		return nil
	}
	return &RetryLaterError{After: left, Reason: "waiting for the shared Graph rate", Err: errLimiterWait}
}

// call makes one read for ids, filled up with the accounts due next
// (extra) once the Graph budget let the call go; at is when the call
// started: a write confirmed while it was out may not show in its answer.
func (b *presenceBatcher) call(ids []string) (got map[string]string, extra []string, at time.Time, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	landed, err := waitTurn(ctx, b.limiter)
	if err != nil {
		return nil, nil, at, err
	}
	extra = b.upcomingIDs(ids)
	all := append(append(make([]string, 0, len(ids)+len(extra)), ids...), extra...)
	at = b.now()
	got, err = b.reader.StatusMessages(ctx, all)
	landed(err)
	if b.observe != nil {
		b.observe(graphOutcome(err), err)
	}
	if b.shared != nil && len(extra) > 0 {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		// When the store does not answer, the other replicas read these
		// accounts themselves once the marks of this read run out.
		if ttl := presenceTTL - b.now().Sub(at); err == nil && ttl > 0 {
			// Shared for what is left of presenceTTL since the call started.
			_ = b.shared.KeepAhead(sctx, all, got, at, ttl)
		} else {
			_ = b.shared.DropMarks(sctx, all)
		}
		scancel()
	}
	return got, extra, at, err
}

// upcomingIDs returns the accounts of users due next that are not among ids
// and not read ahead already, to fill a call up to MaxPresenceBatch.
func (b *presenceBatcher) upcomingIDs(ids []string) []string {
	room := MaxPresenceBatch - len(ids)
	if (b.upcoming == nil && b.shared == nil) || room <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := b.now()
	var next []string
	var err error
	if b.shared != nil {
		// Marked as being read for as long as the call may take.
		next, err = b.shared.UpcomingUnread(ctx, now, room, b.timeout)
	} else {
		next, err = b.upcoming.UpcomingAccounts(ctx, now, MaxPresenceBatch)
	}
	if err != nil {
		return nil
	}
	skip := make(map[string]bool, len(ids))
	for _, id := range ids {
		skip[id] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, id := range next {
		if len(out) == room {
			break
		}
		if a, ok := b.ahead[id]; (ok && now.Sub(a.at) < presenceTTL && b.shared == nil) || skip[id] {
			continue
		}
		skip[id] = true
		out = append(out, id)
	}
	return out
}

// keep stores the answers for accounts read ahead. When the cache is full,
// the reads that served a write already go first, then the oldest: with
// several replicas reading ahead of the same queue, most of what one replica
// read ahead is claimed by the others, and a full cache that refused new
// reads would leave this replica reading for every few writes.
func (b *presenceBatcher) keep(ids []string, got map[string]string, at time.Time) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ahead == nil {
		b.ahead = map[string]presenceAhead{}
	}
	for id, a := range b.ahead {
		if now.Sub(a.at) >= presenceTTL {
			delete(b.ahead, id)
		}
	}
	ids = ids[:min(len(ids), maxPresenceCache)]
	if over := len(b.ahead) + len(ids) - maxPresenceCache; over > 0 {
		old := make([]string, 0, len(b.ahead))
		for id := range b.ahead {
			old = append(old, id)
		}
		slices.SortFunc(old, func(x, y string) int {
			ax, ay := b.ahead[x], b.ahead[y]
			if ax.used != ay.used {
				if ax.used {
					return -1
				}
				return 1
			}
			return ax.at.Compare(ay.at)
		})
		for _, id := range old[:min(over, len(old))] {
			delete(b.ahead, id)
		}
	}
	for _, id := range ids {
		content, known := got[id]
		b.ahead[id] = presenceAhead{content: content, known: known, at: at}
	}
}
