package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// graphOutcome names a Graph call's outcome for metrics.
func graphOutcome(err error) string {
	var thr *ThrottledError
	var perm *PermanentError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &thr):
		return "throttled"
	case errors.As(err, &perm):
		return "permanent"
	}
	return "transient"
}

// Mirrors reports whether the employee of job j is mirrored now: not
// deactivated in Slack, and not paused (or, with optIn, opted in).
func Mirrors(j Job, optIn bool) (bool, string) {
	switch {
	case j.Desired.Deactivated:
		return false, "deactivated in Slack"
	case j.Choice == ChoiceOff:
		return false, "paused by the employee"
	case optIn && j.Choice != ChoiceOn:
		return false, "not opted in"
	}
	return true, ""
}

// Process carries one claimed job to Teams and records the outcome in the queue.
func (e *Engine) Process(ctx context.Context, j Job) {
	e.init()
	ctx, end := e.processSpan(ctx, j)
	defer end(nil)
	// Finish well inside the lease, so no other worker takes the user meanwhile.
	ctx, cancel := context.WithTimeout(ctx, e.Lease*2/3)
	defer cancel()
	log := e.Log.With("user", j.UserID, "rev", j.Rev)
	complete := func(applied *Applied) {
		e.record(ctx, log, func(rec context.Context) error { return e.Queue.Complete(rec, j, applied, e.Now()) })
	}

	if ok, why := Mirrors(j, e.OptIn); !ok {
		// Stop cleanly: clear what the bridge wrote, and nothing else.
		if err := e.release(ctx, log, j.UserID, "", why); err != nil {
			e.fail(ctx, log, j, err, true)
			return
		}
		e.Observer.Skipped("not mirrored")
		complete(&Applied{}) // nothing is known to show in Teams any more
		return
	}
	if e.Owners == nil && j.Applied == nil && j.Desired.Source == SourceReconcile && Render(j.Desired.Status, e.Now()).Clear() {
		// Without ownership records a reconcile pass never clears a message
		// the bridge did not set: it may be one the person set in Teams.
		e.Observer.Skipped("nothing to clear")
		complete(nil)
		return
	}
	entra, err := e.resolve(ctx, j)
	if errors.Is(err, ErrSkipped) || errors.Is(err, ErrUnmapped) {
		// No account any more (mapping removed, account disabled, user
		// not mirrored): clear what the bridge wrote where it wrote it.
		if rerr := e.release(ctx, log, j.UserID, "", "no Entra account mapped"); rerr != nil {
			e.fail(ctx, log, j, rerr, true)
			return
		}
	}
	if errors.Is(err, ErrSkipped) {
		e.Observer.Skipped("not mirrored")
		complete(nil)
		return
	}
	if err != nil {
		if e.DryRun && errors.Is(err, ErrUnmapped) {
			// Show the admin what would be sent, while the mapping is missing.
			e.logDryRun("", Render(j.Desired.Status, e.Now()))
		}
		e.fail(ctx, log, j, fmt.Errorf("resolve: %w", err), false)
		return
	}
	// A mapping that moved leaves the bridge's message on the old account.
	records, owned, ahead, err := e.ownedFor(ctx, j.UserID, entra)
	if err != nil {
		e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
		return
	}
	if err := e.releaseRecords(ctx, log, records, entra, "mapping moved to another account"); err != nil {
		e.fail(ctx, log, j, err, true)
		return
	}
	e.apply(ctx, log, j, entra, owned, ahead, complete)
}

// resolve returns the Entra id of the job's user, from the mapping the claim
// read when the resolver can take it (one store read fewer).
func (e *Engine) resolve(ctx context.Context, j Job) (string, error) {
	if rr, ok := e.Resolver.(ReadResolver); ok && j.Mapping != nil {
		return rr.ResolveRead(ctx, j.UserID, j.Mapping)
	}
	return e.Resolver.Resolve(ctx, j.UserID)
}

// ownedFor returns the owned records of a Slack user and the record of the
// account it is mapped to now (the zero record when there is none), in one
// round trip when the store can (OwnedReader), with the account's presence
// read ahead by any replica when the store shares them (SharedAhead).
func (e *Engine) ownedFor(ctx context.Context, userID, entra string) ([]Owned, Owned, *AheadRead, error) {
	if e.Owners == nil {
		return nil, Owned{}, nil, nil
	}
	if e.presence != nil && e.presence.shared != nil {
		return e.presence.shared.OwnedForAhead(ctx, userID, entra)
	}
	if r, ok := e.Owners.(OwnedReader); ok {
		records, own, err := r.OwnedFor(ctx, userID, entra)
		return records, own, nil, err
	}
	records, err := e.Owners.OwnedBy(ctx, userID)
	if err != nil {
		return nil, Owned{}, nil, err
	}
	for _, o := range records {
		if o.EntraID == entra {
			return records, o, nil, nil
		}
	}
	o, _, err := e.Owners.GetOwned(ctx, entra)
	return records, o, nil, err
}

// apply writes the rendered status to entra, unless Teams shows a message a
// person set there. owned is the account's ownership record and ahead its
// shared presence read ahead (nil when none), as read before (ownedFor).
func (e *Engine) apply(ctx context.Context, log *slog.Logger, j Job, entra string, owned Owned, ahead *AheadRead, complete func(*Applied)) {
	now := e.Now()
	msg := Render(j.Desired.Status, now)
	need, why := NeedsUpdate(j.Applied, entra, msg, now)
	// With Teams → Slack on, people's Teams messages go to Slack and come
	// back as Slack changes, so what was applied says little of what Teams
	// shows: it is read even when the change equals what was applied.
	checkTeams := e.Seen != nil && e.presence != nil && e.Owners != nil && !e.DryRun
	if !need && !checkTeams {
		e.Observer.Skipped(string(why))
		complete(nil)
		return
	}
	if e.DryRun {
		e.logDryRun(entra, msg)
		// Nothing reached Teams: set the user aside, so that a later live run
		// (which un-parks these users at start) sends what was only logged.
		e.record(ctx, log, func(rec context.Context) error { return e.Queue.Park(rec, j, DryRunReason, e.Now()) })
		return
	}
	if e.Owners != nil {
		owned.EntraID, owned.SlackUserID = entra, j.UserID
	}
	if e.presence != nil && e.Owners != nil {
		pctx, pend := e.span(ctx, SpanPresence, "entra_id", entra)
		shown, known, err := e.presence.read(pctx, entra, owned.Touched, ahead)
		pend(err)
		if err != nil {
			e.fail(ctx, log, j, fmt.Errorf("reading Teams presence: %w", err), false)
			return
		}
		if !need && (!known || SameContent(shown, msg.Content)) {
			e.Observer.Skipped(string(why))
			complete(nil)
			return
		}
		if known && !MayReplace(shown, owned) && !SameContent(shown, msg.Content) {
			newer, err := e.newerThanTeams(ctx, j, entra, shown)
			if err != nil {
				e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
				return
			}
			switch {
			case newer:
				log.Info("a newer Slack change replaces an older message a person set in Teams", "entra_id", entra)
			case !e.Overwrite:
				e.hold(ctx, log, j, entra, shown)
				return
			default:
				log.Info("replacing a Teams message a person set (STATUSBRIDGE_TEAMS_CONFLICT=overwrite)", "entra_id", entra)
			}
		}
		if known && msg.Clear() && foldSpace(shown) == "" {
			// Nothing to clear: Teams already shows no message.
			e.Observer.Skipped("nothing to clear")
			complete(&Applied{Message: msg, EntraID: entra, AppliedAt: now})
			return
		}
	}
	e.write(ctx, log, j, entra, msg, owned, complete)
}

// write makes the Graph call, recording ownership before and after it.
func (e *Engine) write(ctx context.Context, log *slog.Logger, j Job, entra string, msg Message, owned Owned, complete func(*Applied)) {
	landed, err := waitTurn(ctx, e.Limiter)
	if err != nil {
		e.fail(ctx, log, j, err, false)
		return
	}
	if e.Owners != nil {
		// Until Graph answers, Teams may show msg: own it first (and note
		// the call, so older reads of Teams are not trusted after it).
		if err := e.Owners.PutOwned(ctx, owned.Intend(msg.Content, e.Now())); err != nil {
			e.fail(ctx, log, j, &TransientError{Reason: "store: " + err.Error(), Err: err}, false)
			return
		}
	}
	wctx, wend := e.span(ctx, SpanWrite, "entra_id", entra, "clear", msg.Clear())
	sent := time.Now()
	err = e.Publisher.SetStatusMessage(wctx, entra, msg)
	if err == nil {
		e.pool.answered(time.Since(sent)) // a quick refusal says nothing of Graph's pace
	}
	landed(err)
	wend(err)
	if err != nil {
		e.fail(ctx, log, j, err, true)
		return
	}
	e.Observer.GraphCall("ok")
	now := e.Now()
	content := msg.Content
	if msg.Clear() {
		// Nothing of the bridge's is left there; the record keeps when
		// the call was made, so older reads of Teams are not trusted.
		content = ""
		log.InfoContext(ctx, "status cleared in Teams", "entra_id", entra)
	} else {
		args := []any{"entra_id", entra, "content", msg.Content}
		if !msg.Expiry.IsZero() {
			args = append(args, "expiry_utc", msg.Expiry.UTC().Format(time.RFC3339))
		}
		log.InfoContext(ctx, "status set in Teams", args...)
	}
	applied := &Applied{Message: msg, EntraID: entra, AppliedAt: now}
	if e.Owners == nil {
		complete(applied)
		return
	}
	o := owned.Confirm(content, now)
	if oc, ok := e.Queue.(OwnedCompleter); ok && any(e.Owners) == any(e.Queue) {
		// The record and the completion in one step (one round trip).
		e.record(ctx, log, func(rec context.Context) error { return oc.CompleteOwned(rec, o, j, applied, e.Now()) })
		return
	}
	e.record(ctx, log, func(rec context.Context) error { return e.Owners.PutOwned(rec, o) })
	complete(applied)
}

// hold leaves a message a person set in Teams alone, and looks again later.
func (e *Engine) hold(ctx context.Context, log *slog.Logger, j Job, entra, shown string) {
	e.Observer.Held()
	if !SameContent(j.Held, shown) {
		// Log once per message, not on every recheck.
		log.InfoContext(ctx, "Teams shows a message a person set; leaving it alone until it is gone", "entra_id", entra)
	}
	recheck := e.Now().Add(e.HeldRecheck)
	e.record(ctx, log, func(rec context.Context) error { return e.Queue.Hold(rec, j, foldSpace(shown), recheck) })
}

// forget drops the ownership record of an account the bridge no longer has
// a message on.
func (e *Engine) forget(ctx context.Context, log *slog.Logger, entra string) {
	if e.Owners == nil {
		return
	}
	e.record(ctx, log, func(rec context.Context) error { return e.Owners.DeleteOwned(rec, entra) })
}

// release stops mirroring the accounts the bridge wrote to for a Slack user,
// except keep: it clears the bridge's message where Teams still shows it,
// and leaves any other message alone. An error means: try again later.
func (e *Engine) release(ctx context.Context, log *slog.Logger, userID, keep, why string) error {
	if e.Owners == nil {
		return nil
	}
	records, err := e.Owners.OwnedBy(ctx, userID)
	if err != nil {
		return &TransientError{Reason: "store: " + err.Error(), Err: err}
	}
	return e.releaseRecords(ctx, log, records, keep, why)
}

// releaseRecords is release with the Slack user's owned records read already.
func (e *Engine) releaseRecords(ctx context.Context, log *slog.Logger, records []Owned, keep, why string) error {
	for _, o := range records {
		if o.EntraID == keep {
			continue
		}
		if err := e.releaseOne(ctx, log, o, why); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) releaseOne(ctx context.Context, log *slog.Logger, o Owned, why string) error {
	if o.Empty() {
		// Nothing of the bridge's is there.
		e.forget(ctx, log, o.EntraID)
		return nil
	}
	if e.DryRun || e.presence == nil {
		// Without a read of Teams the bridge cannot tell its message from a
		// person's: leave Teams alone.
		if e.DryRun {
			log.Info("dry run: would clear the bridge's message if Teams still shows it", "entra_id", o.EntraID, "why", why)
			return nil
		}
		e.forget(ctx, log, o.EntraID)
		return nil
	}
	shown, known, err := e.presence.read(ctx, o.EntraID, o.Touched, nil)
	if err != nil {
		return fmt.Errorf("reading Teams presence: %w", err)
	}
	if known && foldSpace(shown) != "" && o.Owns(shown) {
		landed, err := waitTurn(ctx, e.Limiter)
		if err != nil {
			return err
		}
		err = e.Publisher.SetStatusMessage(ctx, o.EntraID, Message{})
		landed(err)
		if err != nil {
			var perm *PermanentError
			if !errors.As(err, &perm) {
				return err
			}
			// The account is gone or refused for good: nothing left to clear.
			log.Warn("could not clear the bridge's message from an account it no longer mirrors", "entra_id", o.EntraID, "err", err)
		} else {
			e.Observer.GraphCall("ok")
			log.Info("cleared the bridge's message from Teams", "entra_id", o.EntraID, "why", why)
		}
	}
	e.forget(ctx, log, o.EntraID)
	return nil
}

// errLimiterWait marks a wait for the shared limiter that failed (its
// deadline would pass first, or the store did not answer).
var errLimiterWait = errors.New("waiting for the shared rate limiter")

// waitTurn waits for the shared Graph limiter (none: no wait). A wait that
// would outlast ctx comes back as a *RetryLaterError for when the budget
// frees up; any other failed wait is a transient error.
//
// landed, never nil, is to be called with the call's error once the call was
// answered (see Lander). A 429 holds every call back (Penalize) before the
// call's slot is counted as answered: otherwise the answer would make room
// for one more call into a window Graph just said is full.
func waitTurn(ctx context.Context, l Limiter) (landed func(callErr error), err error) {
	if l == nil {
		return func(error) {}, nil
	}
	done := func() {}
	if ll, ok := l.(Lander); ok {
		done, err = ll.Acquire(ctx)
	} else {
		err = l.Wait(ctx)
	}
	if err != nil {
		wrapped := fmt.Errorf("%w: %w", errLimiterWait, err)
		var thr *ThrottledError
		if errors.As(err, &thr) && thr.RetryAfter > 0 {
			// The budget frees up only later (a penalty, or a full window):
			// come back then, without counting a failed attempt.
			return nil, &RetryLaterError{After: thr.RetryAfter, Reason: "waiting for the shared Graph rate", Err: wrapped}
		}
		return nil, &TransientError{Reason: "rate limiter: " + err.Error(), Err: wrapped}
	}
	return func(callErr error) {
		var thr *ThrottledError
		if errors.As(callErr, &thr) && thr.RetryAfter > 0 {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			// A store that does not answer holds nothing back: the calls
			// that follow meet Graph's 429 and come here again.
			_ = l.Penalize(pctx, thr.RetryAfter)
			cancel()
		}
		done()
	}, nil
}

// newerThanTeams reports whether the job's change, made by a person in
// Slack, is newer than the message a person set in Teams that Teams shows:
// the poll of the Teams → Slack flow saw that message before the change was
// made. A message no poll saw yet was set after the last poll, so it counts
// as newer; reconcile passes and resumes are never newer (they are no new change of a person).
func (e *Engine) newerThanTeams(ctx context.Context, j Job, entra, shown string) (bool, error) {
	if e.Seen == nil || j.Desired.Source == SourceReconcile || j.Desired.Source == SourceControl {
		return false, nil
	}
	seen, err := e.Seen.GetSeen(ctx, []string{entra})
	if err != nil {
		return false, err
	}
	s, ok := seen[entra]
	return ok && SameContent(s.Content, shown) && s.At.Before(j.Desired.EventTime), nil
}
