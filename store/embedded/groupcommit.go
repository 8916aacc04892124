package embedded

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/groupcommit"
)

// maxGroup is the most Submits one transaction carries.
const maxGroup = 256

// submitCall is one Submit waiting for its commit.
type submitCall struct {
	ctx context.Context
	// s is the store (or namespace) the change goes to.
	s   *Store
	c   bridge.Change
	now time.Time
	out bridge.SubmitOutcome
	err error
	// done is closed once out and err are set.
	done chan struct{}
}

// groupCommit coalesces concurrent Submits into one transaction, so that
// they share the data file's open and one fsync (group commit; see
// internal/groupcommit). Submits that arrive while a commit is in flight go
// together in one transaction, in arrival order, each applying Submit's
// rules to what the ones before it left.
//
// Unlike bbolt's DB.Batch there is no wait for more callers, and a change
// whose step fails does not fail the others: the shared transaction is
// rolled back, the failing change runs again alone in a transaction of its
// own (where it fails on its own), and the rest are committed without it.
type groupCommit = groupcommit.Group[*submitCall]

// root is the top-level store that s shares its file with.
func (s *Store) root() *Store {
	if s.parent != nil {
		return s.parent
	}
	return s
}

// groupCommit returns the store's batcher; s must be a top-level store.
func (s *Store) groupCommit() *groupCommit {
	s.gcOnce.Do(func() { s.gc = &groupCommit{Commit: commit, Max: maxGroup} })
	return s.gc
}

// submitGrouped stores c's change, alone or with others, and returns its
// outcome once the commit that holds it is fsynced. When ctx ends first it
// returns ctx's error; the change may then be stored or not.
func (s *Store) submitGrouped(c *submitCall) (bridge.SubmitOutcome, error) {
	if err := s.root().groupCommit().Do(c.ctx, c, c.done); err != nil {
		return 0, err
	}
	return c.out, c.err
}

// commit stores a group of changes and hands each call its outcome.
func commit(group []*submitCall) {
	defer func() {
		for _, c := range group {
			close(c.done)
		}
	}()
	live := group[:0:0]
	for _, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		live[0].solo()
		return
	}
	var alone []*submitCall
	// The commit belongs to every call in it: one caller's cancelled context
	// must not fail the others (the store's lock timeout still bounds it).
	ctx := context.WithoutCancel(live[0].ctx)
	err := live[0].s.root().withDB(ctx, func(db *bolt.DB) error {
		for len(live) > 0 {
			failed, err := commitOnce(db, live)
			if failed < 0 {
				return err
			}
			alone = append(alone, live[failed])
			live = append(live[:failed:failed], live[failed+1:]...)
		}
		return nil
	})
	if err != nil {
		for _, c := range live {
			c.out, c.err = 0, err
		}
	}
	for _, c := range alone {
		c.solo()
	}
}

// commitOnce applies every call's change in one write transaction and
// commits it if any wrote. When a change's step fails, it rolls everything
// back and returns that call's index; otherwise it returns -1 and the
// transaction's error.
func commitOnce(db *bolt.DB, calls []*submitCall) (int, error) {
	tx, err := db.Begin(true)
	if err != nil {
		return -1, err
	}
	wrote := false
	for i, c := range calls {
		out, w, err := c.s.submitTx(txn{Tx: tx, ns: c.s.ns}, c.c, c.now)
		if err != nil {
			tx.Rollback()
			return i, nil
		}
		c.out, c.err = out, nil
		wrote = wrote || w
	}
	if !wrote {
		return -1, tx.Rollback()
	}
	return -1, tx.Commit()
}

// solo stores the call's change in a transaction of its own.
func (c *submitCall) solo() {
	var out bridge.SubmitOutcome
	err := c.s.update(c.ctx, func(tx txn) error {
		o, wrote, err := c.s.submitTx(tx, c.c, c.now)
		if err != nil {
			return err
		}
		out = o
		if !wrote {
			return errNoChange
		}
		return nil
	})
	if err != nil {
		c.out, c.err = 0, err
		return
	}
	c.out, c.err = out, nil
}
