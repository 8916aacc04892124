package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

var (
	bMeta         = []byte("meta")
	bUsers        = []byte("users")
	bDue          = []byte("due")
	bParked       = []byte("parked")
	bMappings     = []byte("mappings")
	bEvents       = []byte("events")
	bEventsByTime = []byte("events_by_time")
	bOwned        = []byte("owned")
	bOwnedBy      = []byte("owned_by")
	bSeen         = []byte("seen")
	bLocks        = []byte("locks")
	kVersion      = []byte("version")
)

// prunePerSubmit bounds the expired event ids one Submit deletes.
const prunePerSubmit = 16

func initBuckets(tx txn) error {
	if m := tx.Bucket(bMeta); m != nil {
		v, err := strconv.Atoi(string(m.Get(kVersion)))
		if err != nil || v > schemaVersion {
			return fmt.Errorf("data file has schema version %q; this statusbridge reads version %d", m.Get(kVersion), schemaVersion)
		}
	}
	// Buckets added since a data file was created are created when it is opened.
	created := false
	for _, name := range [][]byte{bMeta, bUsers, bDue, bParked, bMappings, bEvents, bEventsByTime, bOwned, bOwnedBy, bSeen, bLocks} {
		if tx.Bucket(name) != nil {
			continue
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
		created = true
	}
	if !created {
		return errNoChange
	}
	return tx.Bucket(bMeta).Put(kVersion, []byte(strconv.Itoa(schemaVersion)))
}

// userRec is everything the store keeps about one Slack user's queue entry.
type userRec struct {
	Desired *bridge.Change `json:"desired,omitempty"`
	// Rev grows with every accepted change.
	Rev int64 `json:"rev"`
	// ChangedAt is when the desired change was accepted.
	ChangedAt time.Time       `json:"changed_at"`
	Applied   *bridge.Applied `json:"applied,omitempty"`
	Attempts  int             `json:"attempts,omitempty"`
	LastError string          `json:"last_error,omitempty"`
	// Queued says the user is in the due index at Slot (due time, or lease
	// deadline while Token is set).
	Queued bool   `json:"queued,omitempty"`
	Slot   int64  `json:"slot,omitempty"`
	Token  string `json:"token,omitempty"`
	// Parked is the reason the user is set aside; empty when not parked.
	Parked      string    `json:"parked,omitempty"`
	ParkedSince time.Time `json:"parked_since,omitzero"`
	// Choice is the employee's own choice about the mirror.
	Choice bridge.MirrorChoice `json:"choice,omitempty"`
	// Held is the message a person set in Teams, while the user is held.
	Held string `json:"held,omitempty"`
}

// sameAsks reports whether two changes ask the same of Teams: equal status
// content, the same deactivation and the same Teams observation.
func sameAsks(a, b bridge.Change) bool {
	return a.Status == b.Status && a.Deactivated == b.Deactivated && a.Observation == b.Observation
}

// nanos turns t into the due index's clock; times before 1970 count as 0.
func nanos(t time.Time) int64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return t.UnixNano()
}

func timeKey(n int64, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(n))
	copy(k[8:], id)
	return k
}

func splitTimeKey(k []byte) (int64, string) {
	if len(k) < 8 {
		return 0, ""
	}
	return int64(binary.BigEndian.Uint64(k)), string(k[8:])
}

func getUser(tx txn, id string) (*userRec, error) {
	v := tx.Bucket(bUsers).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var r userRec
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	return &r, nil
}

func putUser(tx txn, id string, r *userRec) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bUsers).Put([]byte(id), v)
}

// setSlot puts the user into the due index at n, moving it if it was there.
func setSlot(tx txn, id string, r *userRec, n int64) error {
	if r.Queued && r.Slot == n {
		return nil
	}
	if err := unqueue(tx, id, r); err != nil {
		return err
	}
	r.Queued, r.Slot = true, n
	return tx.Bucket(bDue).Put(timeKey(n, id), nil)
}

// unqueue takes the user out of the due index.
func unqueue(tx txn, id string, r *userRec) error {
	if !r.Queued {
		return nil
	}
	k := timeKey(r.Slot, id)
	r.Queued, r.Slot = false, 0
	return tx.Bucket(bDue).Delete(k)
}

func park(tx txn, id string, r *userRec, reason string, now time.Time) error {
	r.Parked, r.ParkedSince = reason, now
	v, err := json.Marshal(bridge.Parked{UserID: id, Reason: reason, Since: now})
	if err != nil {
		return err
	}
	return tx.Bucket(bParked).Put([]byte(id), v)
}

func unpark(tx txn, id string, r *userRec) error {
	r.Parked, r.ParkedSince = "", time.Time{}
	return tx.Bucket(bParked).Delete([]byte(id))
}

// Submit stores the change in one transaction: it drops a seen event id,
// keeps the change only if it is not older than the desired state, and marks
// the user due. The commit is fsynced before Submit returns. Concurrent
// Submits share one transaction and its fsync (see groupCommit).
func (s *Store) Submit(ctx context.Context, c bridge.Change, now time.Time) (bridge.SubmitOutcome, error) {
	if c.UserID == "" {
		return 0, errors.New("change has no user id")
	}
	return s.submitGrouped(&submitCall{ctx: ctx, s: s, c: c, now: now, done: make(chan struct{})})
}

// submitTx applies Submit's rules to one change in tx and reports whether
// it wrote anything.
func (s *Store) submitTx(tx txn, c bridge.Change, now time.Time) (out bridge.SubmitOutcome, wrote bool, err error) {
	if c.EventID != "" {
		if s.seen(tx, c.EventID, now) {
			return bridge.Duplicate, false, nil
		}
		if err := s.remember(tx, c.EventID, now); err != nil {
			return 0, false, err
		}
		wrote = true
	}
	r, err := getUser(tx, c.UserID)
	if err != nil {
		return 0, false, err
	}
	if r == nil {
		r = &userRec{}
	}
	switch {
	case r.Desired != nil && c.EventTime.Before(r.Desired.EventTime):
		out = bridge.Stale
	case r.Desired != nil && sameAsks(*r.Desired, c):
		out = bridge.Unchanged
		if c.EventTime.After(r.Desired.EventTime) {
			// Remember the later time, so a change older than it stays stale.
			r.Desired.EventTime = c.EventTime
			if err := putUser(tx, c.UserID, r); err != nil {
				return 0, false, err
			}
			wrote = true
		}
	default:
		out = bridge.Accepted
		d := c
		r.Desired = &d
		r.Rev++
		r.ChangedAt = now
		r.Attempts, r.LastError = 0, ""
		if r.Parked != "" {
			if err := unpark(tx, c.UserID, r); err != nil {
				return 0, false, err
			}
		}
		// A leased user stays with its worker, which sees the newer
		// revision when it completes; otherwise the user is due now.
		if r.Token == "" && (!r.Queued || r.Slot > nanos(now)) {
			if err := setSlot(tx, c.UserID, r, nanos(now)); err != nil {
				return 0, false, err
			}
		}
		if err := putUser(tx, c.UserID, r); err != nil {
			return 0, false, err
		}
		wrote = true
	}
	return out, wrote, nil
}

// seen reports whether the event id was stored within the dedupe window.
func (s *Store) seen(tx txn, id string, now time.Time) bool {
	v := tx.Bucket(bEvents).Get([]byte(id))
	if len(v) != 8 {
		return false
	}
	at := int64(binary.BigEndian.Uint64(v))
	return nanos(now) < at+int64(s.opts.dedupeTTL)
}

// remember stores the event id at now and prunes a few expired ones.
func (s *Store) remember(tx txn, id string, now time.Time) error {
	ev, byTime := tx.Bucket(bEvents), tx.Bucket(bEventsByTime)
	if old := ev.Get([]byte(id)); len(old) == 8 {
		if err := byTime.Delete(timeKey(int64(binary.BigEndian.Uint64(old)), id)); err != nil {
			return err
		}
	}
	n := nanos(now)
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(n))
	if err := ev.Put([]byte(id), v); err != nil {
		return err
	}
	if err := byTime.Put(timeKey(n, id), nil); err != nil {
		return err
	}
	// Prune expired ids, oldest first, a bounded number per call.
	cutoff := n - int64(s.opts.dedupeTTL)
	var expired [][]byte
	c := byTime.Cursor()
	for k, _ := c.First(); k != nil && len(expired) < prunePerSubmit; k, _ = c.Next() {
		at, _ := splitTimeKey(k)
		if at > cutoff {
			break
		}
		expired = append(expired, bytes.Clone(k))
	}
	for _, k := range expired {
		at, eid := splitTimeKey(k)
		if err := byTime.Delete(k); err != nil {
			return err
		}
		if v := ev.Get([]byte(eid)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) == at {
			if err := ev.Delete([]byte(eid)); err != nil {
				return err
			}
		}
	}
	return nil
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Claim leases up to max users that are due at now, until now+lease, oldest
// due first. A user whose lease ran out is due again under a new token.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]bridge.Job, error) {
	if max <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("lease must be positive, got %s", lease)
	}
	var jobs []bridge.Job
	err := s.update(ctx, func(tx txn) error {
		jobs = nil
		var keys [][]byte
		c := tx.Bucket(bDue).Cursor()
		for k, _ := c.First(); k != nil && len(keys) < max; k, _ = c.Next() {
			at, _ := splitTimeKey(k)
			if at > nanos(now) {
				break
			}
			keys = append(keys, bytes.Clone(k))
		}
		if len(keys) == 0 {
			return errNoChange
		}
		until := nanos(now.Add(lease))
		for _, k := range keys {
			at, id := splitTimeKey(k)
			r, err := getUser(tx, id)
			if err != nil {
				return err
			}
			if r == nil || !r.Queued || r.Slot != at || r.Desired == nil {
				// An index entry without its record; drop it.
				if err := tx.Bucket(bDue).Delete(k); err != nil {
					return err
				}
				continue
			}
			tok, err := newToken()
			if err != nil {
				return err
			}
			if r.Token != "" {
				// The previous worker never recorded an outcome (it crashed,
				// or its lease ran out mid-call): its Graph call may have
				// changed Teams, so what was recorded as applied no longer counts.
				r.Applied = nil
			}
			r.Token = tok
			if err := setSlot(tx, id, r, until); err != nil {
				return err
			}
			if err := putUser(tx, id, r); err != nil {
				return err
			}
			jobs = append(jobs, bridge.Job{
				UserID:    id,
				Desired:   *r.Desired,
				Rev:       r.Rev,
				Applied:   r.Applied,
				Attempts:  r.Attempts,
				LastError: r.LastError,
				Token:     tok,
				Choice:    r.Choice,
				Held:      r.Held,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// leased runs fn on the record of a job whose lease the caller still holds,
// after clearing the lease, and saves the record.
func (s *Store) leased(ctx context.Context, j bridge.Job, fn func(tx txn, r *userRec) error) error {
	return s.update(ctx, func(tx txn) error {
		r, err := getUser(tx, j.UserID)
		if err != nil {
			return err
		}
		if r == nil || j.Token == "" || r.Token != j.Token {
			return bridge.ErrLeaseLost
		}
		r.Token = ""
		if err := fn(tx, r); err != nil {
			return err
		}
		return putUser(tx, j.UserID, r)
	})
}

// requeueNewer keeps a user whose desired state moved past the job's revision
// due, at the time the newer change came in; it reports whether it did.
func requeueNewer(tx txn, j bridge.Job, r *userRec) (bool, error) {
	if r.Rev == j.Rev {
		return false, nil
	}
	return true, setSlot(tx, j.UserID, r, nanos(r.ChangedAt))
}

// Complete records what was applied (nil when nothing was sent) and releases
// the lease; the user stays due when a newer change came in meanwhile.
func (s *Store) Complete(ctx context.Context, j bridge.Job, applied *bridge.Applied, now time.Time) error {
	return s.leased(ctx, j, func(tx txn, r *userRec) error {
		if applied != nil {
			a := *applied
			r.Applied = &a
		}
		r.Held = ""
		newer, err := requeueNewer(tx, j, r)
		if err != nil || newer {
			return err
		}
		r.Attempts, r.LastError = 0, ""
		return unqueue(tx, j.UserID, r)
	})
}

// Retry releases the lease and makes the user due again at at, recording the
// attempt count and the last error; a newer change makes it due at once.
func (s *Store) Retry(ctx context.Context, j bridge.Job, at time.Time, attempts int, lastErr string) error {
	return s.leased(ctx, j, func(tx txn, r *userRec) error {
		// The failed attempt may still have reached Teams (a call that timed
		// out after Graph applied it): what was recorded as applied no longer counts.
		r.Applied = nil
		// A newer change starts afresh: its attempts and error stay as Submit set them.
		newer, err := requeueNewer(tx, j, r)
		if err != nil || newer {
			return err
		}
		r.Attempts, r.LastError = attempts, lastErr
		return setSlot(tx, j.UserID, r, nanos(at))
	})
}

// Park releases the lease and sets the user aside with a reason; a newer
// change that came in meanwhile keeps the user due instead.
func (s *Store) Park(ctx context.Context, j bridge.Job, reason string, now time.Time) error {
	return s.leased(ctx, j, func(tx txn, r *userRec) error {
		newer, err := requeueNewer(tx, j, r)
		if err != nil || newer {
			return err
		}
		r.LastError = reason
		if err := unqueue(tx, j.UserID, r); err != nil {
			return err
		}
		return park(tx, j.UserID, r, reason, now)
	})
}

// Release gives the lease back without recording anything; the user is due at now.
func (s *Store) Release(ctx context.Context, j bridge.Job, now time.Time) error {
	return s.leased(ctx, j, func(tx txn, r *userRec) error {
		if newer, err := requeueNewer(tx, j, r); err != nil || newer {
			return err
		}
		return setSlot(tx, j.UserID, r, nanos(now))
	})
}

// Hold releases the lease because Teams shows a message a person set: it
// remembers content, forgets what was applied, and makes the user due at
// recheck, or at once when a newer change came in meanwhile.
func (s *Store) Hold(ctx context.Context, j bridge.Job, content string, recheck time.Time) error {
	return s.leased(ctx, j, func(tx txn, r *userRec) error {
		r.Held, r.Applied = content, nil
		r.Attempts, r.LastError = 0, ""
		if newer, err := requeueNewer(tx, j, r); err != nil || newer {
			return err
		}
		return setSlot(tx, j.UserID, r, nanos(recheck))
	})
}

// makeDue marks a user with a stored change for the workers after its
// mapping or choice changed: the revision grows (a worker holding the user
// requeues it on completion) and, unless leased, the user is due at now.
func makeDue(tx txn, id string, now time.Time) error {
	r, err := getUser(tx, id)
	if err != nil || r == nil || r.Desired == nil {
		return err
	}
	r.Rev++
	r.ChangedAt, r.Attempts, r.LastError = now, 0, ""
	if r.Token == "" || !r.Queued || r.Slot <= nanos(now) {
		if err := setSlot(tx, id, r, nanos(now)); err != nil {
			return err
		}
	}
	return putUser(tx, id, r)
}

// User returns everything stored about one Slack user.
func (s *Store) User(ctx context.Context, slackUserID string) (bridge.UserRecord, bool, error) {
	var rec bridge.UserRecord
	var ok bool
	err := s.view(ctx, func(tx txn) error {
		r, err := getUser(tx, slackUserID)
		if err != nil || r == nil {
			return err
		}
		ok = true
		rec = bridge.UserRecord{
			UserID:       slackUserID,
			Desired:      r.Desired,
			Applied:      r.Applied,
			Choice:       r.Choice,
			Held:         r.Held,
			ParkedReason: r.Parked,
			Attempts:     r.Attempts,
			LastError:    r.LastError,
		}
		if r.Queued {
			rec.Due = time.Unix(0, r.Slot).UTC()
		}
		return nil
	})
	if err != nil {
		return bridge.UserRecord{}, false, err
	}
	return rec, ok, nil
}

// SetChoice records an employee's choice and makes a user with a stored
// change due at now (unless leased); a parked user stays parked.
func (s *Store) SetChoice(ctx context.Context, slackUserID string, c bridge.MirrorChoice, now time.Time) error {
	if slackUserID == "" {
		return errors.New("choice has no Slack user id")
	}
	return s.update(ctx, func(tx txn) error {
		r, err := getUser(tx, slackUserID)
		if err != nil {
			return err
		}
		if r == nil {
			r = &userRec{}
		}
		r.Choice = c
		if err := putUser(tx, slackUserID, r); err != nil {
			return err
		}
		if r.Parked != "" {
			return nil
		}
		return makeDue(tx, slackUserID, now)
	})
}

// Choice returns an employee's choice; bridge.ChoiceDefault when none was made.
func (s *Store) Choice(ctx context.Context, slackUserID string) (bridge.MirrorChoice, error) {
	var c bridge.MirrorChoice
	err := s.view(ctx, func(tx txn) error {
		r, err := getUser(tx, slackUserID)
		if err == nil && r != nil {
			c = r.Choice
		}
		return err
	})
	return c, err
}

// ListParked lists parked users, ordered by user id.
func (s *Store) ListParked(ctx context.Context) ([]bridge.Parked, error) {
	var out []bridge.Parked
	err := s.view(ctx, func(tx txn) error {
		return tx.Bucket(bParked).ForEach(func(k, v []byte) error {
			var p bridge.Parked
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode parked user %s: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// Unpark makes a parked user due now; it reports false when the user was not parked.
func (s *Store) Unpark(ctx context.Context, userID string, now time.Time) (bool, error) {
	var ok bool
	err := s.update(ctx, func(tx txn) error {
		var err error
		ok, err = unparkDue(tx, userID, now)
		if err == nil && !ok {
			return errNoChange
		}
		return err
	})
	return ok, err
}

// unparkDue un-parks a parked user and makes it due at now.
func unparkDue(tx txn, id string, now time.Time) (bool, error) {
	r, err := getUser(tx, id)
	if err != nil || r == nil || r.Parked == "" {
		return false, err
	}
	if err := unpark(tx, id, r); err != nil {
		return false, err
	}
	r.Attempts, r.LastError = 0, ""
	if err := setSlot(tx, id, r, nanos(now)); err != nil {
		return false, err
	}
	return true, putUser(tx, id, r)
}

// Stats reports how many users wait (leased and backing off included), the
// earliest slot in the due index, and how many users are parked.
func (s *Store) Stats(ctx context.Context, now time.Time) (bridge.QueueStats, error) {
	var st bridge.QueueStats
	err := s.view(ctx, func(tx txn) error {
		c := tx.Bucket(bDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if st.Due == 0 {
				at, _ := splitTimeKey(k)
				st.OldestDue = time.Unix(0, at)
			}
			st.Due++
		}
		st.Parked = int64(tx.Bucket(bParked).Stats().KeyN)
		return nil
	})
	return st, err
}

// UpcomingAccounts returns the Entra ids mapped to up to max users that are
// due at now and not leased, soonest first.
func (s *Store) UpcomingAccounts(ctx context.Context, now time.Time, max int) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx txn) error {
		c := tx.Bucket(bDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
			at, id := splitTimeKey(k)
			if at > nanos(now) {
				break
			}
			v := tx.Bucket(bMappings).Get([]byte(id))
			if v == nil {
				continue
			}
			var m bridge.Mapping
			if json.Unmarshal(v, &m) == nil && m.EntraID != "" {
				out = append(out, m.EntraID)
			}
		}
		return nil
	})
	return out, err
}
