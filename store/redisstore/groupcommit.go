package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/groupcommit"
)

// maxGroup is the most submits one round trip to Redis carries.
const maxGroup = 256

// submitArgs is how many of the submit script's arguments one change takes.
const submitArgs = 8

// submitCall is one Submit waiting for its round trip: its due set (which
// routes the call), the submit script's arguments for it, and where its
// reply goes.
type submitCall struct {
	ctx  context.Context
	due  string
	args []any
	res  string
	err  error
	done chan struct{}
}

// groupCommit coalesces concurrent Submits into one round trip (group
// commit; see internal/groupcommit): Submits that arrive while a round trip
// is in flight go together, as one call of the submit script, which stores
// each change as its own step, in arrival order, and answers for each.
type groupCommit struct {
	rdb   redis.UniversalClient
	group groupcommit.Group[*submitCall]
}

// groupCommit returns the batcher of the connection s uses, shared with its
// parent and the parent's other namespaces (whose keys share its hash tag).
func (s *Store) groupCommit() *groupCommit {
	root := s
	if s.parent != nil {
		root = s.parent
	}
	root.gcOnce.Do(func() {
		g := &groupCommit{rdb: root.rdb}
		g.group = groupcommit.Group[*submitCall]{Commit: g.send, Max: maxGroup}
		root.gc = g
	})
	return root.gc
}

// do sends c, alone or with others, and returns the script's reply once
// Redis answered for it. When ctx ends first it returns ctx's error; the
// change may then be stored or not, as with any interrupted round trip.
func (g *groupCommit) do(c *submitCall) (string, error) {
	if err := g.group.Do(c.ctx, c, c.done); err != nil {
		return "", err
	}
	return c.res, c.err
}

// send runs the submit script once for the group and hands each call its
// own reply. A script the server does not have (a restarted or flushed
// Redis) is sent again in full by go-redis.
func (g *groupCommit) send(group []*submitCall) {
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
	ctx := live[0].ctx
	if len(live) > 1 {
		// The round trip belongs to every call in it: one caller's cancelled
		// context must not fail the others' (go-redis's timeouts still bound it).
		ctx = context.WithoutCancel(ctx)
	}
	args := make([]any, 0, len(live)*submitArgs)
	for _, c := range live {
		args = append(args, c.args...)
	}
	res, err := submitScript.Run(ctx, g.rdb, []string{live[0].due}, args...).StringSlice()
	if err == nil && len(res) != len(live) {
		err = fmt.Errorf("%d replies for %d changes", len(res), len(live))
	}
	for i, c := range live {
		if err != nil {
			c.err = err
			continue
		}
		c.res = res[i]
	}
}

// submitOutcome turns the submit script's reply into an outcome.
func submitOutcome(res string, err error) (bridge.SubmitOutcome, error) {
	if err != nil {
		return 0, fmt.Errorf("redis submit: %w", err)
	}
	switch res {
	case "accepted":
		return bridge.Accepted, nil
	case "duplicate":
		return bridge.Duplicate, nil
	case "stale":
		return bridge.Stale, nil
	case "unchanged":
		return bridge.Unchanged, nil
	}
	if msg, ok := strings.CutPrefix(res, "error: "); ok {
		return 0, fmt.Errorf("redis submit: %s", msg)
	}
	return 0, fmt.Errorf("redis submit: unexpected reply %q", res)
}
