package bridge

import (
	"context"
	"log/slog"
	"time"
)

// PollCounts says what one poll of Teams found.
type PollCounts struct {
	// Accounts is how many mapped accounts were read.
	Accounts int
	// Person counts messages people set (or cleared) in Teams since the last poll.
	Person int
	// Bridge counts changes that were the bridge's own writes.
	Bridge int
	// First counts accounts seen for the first time (their message is the starting point).
	First int
	// Queued counts Slack writes queued.
	Queued int
}

// MappingLister walks the mappings (the accounts a poll reads) without
// holding them all in memory.
type MappingLister interface {
	EachMapping(ctx context.Context, fn func(Mapping) error) error
}

// TeamsPoller reads what Teams shows for every mapped account, on one
// replica at a time, and queues a Slack status write for each message a
// person set or cleared in Teams since the last poll. Graph gives no way to
// be told of another user's presence change with application permissions
// (presence subscriptions are delegated only), so it polls.
type TeamsPoller struct {
	Mappings MappingLister
	// Presence reads Teams, up to MaxPresenceBatch accounts a call.
	Presence PresenceReader
	// Limiter is the shared Graph budget: reads draw on it like writes.
	Limiter Limiter
	Seen    SeenStore
	// Owners is the Teams-side ownership record: what the bridge wrote to
	// each account, so its own writes are not carried back to Slack.
	Owners  OwnershipStore
	Choices ChoiceStore
	OptIn   bool
	// Queue is the Teams → Slack queue.
	Queue Queue
	// Lock keeps the poll on one replica at a time; Holder names this process.
	Lock   Locker
	Holder string
	// Interval is the time between polls (default 1 min).
	Interval time.Duration
	Log      *slog.Logger
	Observer TwoWayObserver
	Now      func() time.Time
}

func (p *TeamsPoller) defaults() {
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Observer == nil {
		p.Observer = nopTwoWay{}
	}
	if p.Now == nil {
		p.Now = time.Now
	}
}

// pollLock names the lock one replica holds while it polls Teams.
const pollLock = "teams-poll"

// Run polls every Interval until ctx ends. Only the replica holding the
// poll lock polls; another takes over when it stops renewing.
func (p *TeamsPoller) Run(ctx context.Context) {
	p.defaults()
	// A replica that stops renewing (it crashed) hands the poll over after two intervals.
	ttl := 2*p.Interval + 5*time.Second
	t := time.NewTimer(0)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			if p.Lock != nil {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				_ = p.Lock.Unlock(uctx, pollLock, p.Holder)
				cancel()
			}
			return
		case <-t.C:
		}
		t.Reset(p.Interval)
		if p.Lock != nil {
			ok, err := p.Lock.TryLock(ctx, pollLock, p.Holder, ttl)
			if err != nil || !ok {
				if err != nil && ctx.Err() == nil {
					p.Log.Warn("could not take the Teams poll lock; polling later", "err", err)
				}
				p.Observer.Poll("skipped")
				continue
			}
		}
		c, err := p.Poll(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.Observer.Poll("error")
			if err.Error() != lastErr {
				p.Log.Warn("polling Teams failed; trying again at the next poll", "err", err)
			}
			lastErr = err.Error()
		case err == nil:
			p.Observer.Poll("ok")
			lastErr = ""
			if c.Person > 0 || c.First > 0 {
				p.Log.Info("polled Teams", "accounts", c.Accounts, "person", c.Person, "bridge", c.Bridge, "first", c.First, "queued", c.Queued)
			}
		}
	}
}

// Poll reads every mapped account once and queues the Slack writes. It
// walks the mappings in chunks of one read call each, so a poll of 100k
// accounts holds one chunk at a time.
func (p *TeamsPoller) Poll(ctx context.Context) (PollCounts, error) {
	p.defaults()
	var c PollCounts
	users := map[string][]string{} // Entra id → Slack users, of this chunk
	var ids []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		err := p.pollChunk(ctx, ids, users, &c)
		users, ids = map[string][]string{}, nil
		return err
	}
	err := p.Mappings.EachMapping(ctx, func(m Mapping) error {
		if m.EntraID == "" || (m.Source != SourceAdmin && m.Source != SourceEmail) {
			return nil
		}
		if _, ok := users[m.EntraID]; !ok {
			ids = append(ids, m.EntraID)
		}
		users[m.EntraID] = append(users[m.EntraID], m.SlackUserID)
		if len(ids) == MaxPresenceBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	return c, flush()
}

func (p *TeamsPoller) pollChunk(ctx context.Context, ids []string, users map[string][]string, c *PollCounts) error {
	landed, err := waitTurn(ctx, p.Limiter)
	if err != nil {
		return err
	}
	readAt := p.Now()
	shown, err := p.Presence.StatusMessages(ctx, ids)
	landed(err) // a 429 holds the limiter back
	if err != nil {
		return err
	}
	seen, err := p.Seen.GetSeen(ctx, ids)
	if err != nil {
		return err
	}
	now := p.Now()
	var changed []Seen
	for _, id := range ids {
		content, known := shown[id]
		if !known {
			continue
		}
		c.Accounts++
		content = foldSpace(content)
		prev, had := seen[id]
		if had && SameContent(prev.Content, content) {
			continue
		}
		kind, err := p.kind(ctx, id, content, prev, had, readAt)
		if err != nil {
			return err
		}
		if kind == "stale" {
			// The bridge called the account about when Teams was read: the
			// read may predate that call. The next poll looks again.
			continue
		}
		changed = append(changed, Seen{EntraID: id, Content: content, At: now})
		p.Observer.TeamsSeen(kind)
		switch kind {
		case "first":
			c.First++
			if content == "" {
				continue
			}
			// A message set before the bridge looked: Slack gets it only
			// if it shows no status (the Slack worker checks).
			for _, u := range users[id] {
				if _, err := p.queue(ctx, u, id, content, now, FirstPoll); err != nil {
					return err
				}
			}
			continue
		case "bridge":
			c.Bridge++
			continue
		}
		c.Person++
		for _, u := range users[id] {
			q, err := p.queue(ctx, u, id, content, now, "")
			if err != nil {
				return err
			}
			if q {
				c.Queued++
			}
		}
	}
	// Seen only after the writes are queued: a crash in between reads the
	// change again at the next poll.
	return p.Seen.PutSeen(ctx, changed)
}

// kind tells whose a changed Teams message is: "first" for an account no
// poll saw before, "bridge" for the bridge's own write or clear, "stale"
// when the bridge called the account about when Teams was read (the
// ownership record may already have moved past what the read shows),
// "person" otherwise.
func (p *TeamsPoller) kind(ctx context.Context, id, content string, prev Seen, had bool, readAt time.Time) (string, error) {
	if !had {
		return "first", nil
	}
	o, ok, err := p.Owners.GetOwned(ctx, id)
	if err != nil {
		return "", err
	}
	if ok && o.Touched.After(readAt.Add(-skewMargin)) {
		return "stale", nil
	}
	if ok && o.Owns(content) {
		return "bridge", nil
	}
	if ok && content == "" && o.Content == "" && len(o.Pending) == 0 && o.Touched.After(prev.At) {
		// The bridge cleared its own message since the last poll.
		return "bridge", nil
	}
	return "person", nil
}

// queue submits a message a person set in Teams for one Slack user, unless
// the employee paused the mirror (which stops both directions).
func (p *TeamsPoller) queue(ctx context.Context, user, entra, content string, now time.Time, eventType string) (bool, error) {
	choice, err := p.Choices.Choice(ctx, user)
	if err != nil {
		return false, err
	}
	if ok, _ := Mirrors(Job{Choice: choice}, p.OptIn); !ok {
		return false, nil
	}
	ch := Change{UserID: user, Status: Status{Text: content}, EventTime: now, Source: SourceTeams, EventType: eventType,
		Observation: entra + "@" + now.UTC().Format(time.RFC3339Nano)}
	if err := ch.Validate(); err != nil {
		return false, nil
	}
	out, err := p.Queue.Submit(ctx, ch, now)
	return out == Accepted, err
}
