package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/groupcommit"
)

// maxGroup is the most submits one round trip to Redis carries.
const maxGroup = 256

// submitCall is one Submit waiting for its round trip: the script's keys and
// arguments, and where its reply goes.
type submitCall struct {
	ctx  context.Context
	keys []string
	args []any
	res  string
	err  error
	done chan struct{}
}

// groupCommit coalesces concurrent Submits into one round trip (group
// commit; see internal/groupcommit): Submits that arrive while a round trip
// is in flight go together, as one pipeline of script calls, each still its
// own atomic step with its own reply, in arrival order.
type groupCommit struct {
	rdb   redis.UniversalClient
	group groupcommit.Group[*submitCall]
}

// groupCommit returns the batcher of the connection s uses, shared with its
// parent and the parent's other namespaces.
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

// send runs the submit script once per call, in one round trip, and hands
// each call its own reply.
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
	switch len(live) {
	case 0:
		return
	case 1:
		c := live[0]
		c.res, c.err = submitScript.Run(c.ctx, g.rdb, c.keys, c.args...).Text()
		return
	}
	// The round trip belongs to every call in it: one caller's cancelled
	// context must not fail the others' (go-redis's timeouts still bound it).
	ctx := context.WithoutCancel(live[0].ctx)
	cmds := g.pipeline(ctx, live)
	var again []*submitCall
	for i, cmd := range cmds {
		res, err := cmd.Text()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, live[i])
			continue
		}
		live[i].res, live[i].err = res, err
	}
	if len(again) == 0 {
		return
	}
	// The script cache was empty (a restarted or flushed Redis): load the
	// script and send the rest again. A NOSCRIPT reply ran nothing.
	if err := submitScript.Load(ctx, g.rdb).Err(); err != nil {
		for _, c := range again {
			c.err = err
		}
		return
	}
	for i, cmd := range g.pipeline(ctx, again) {
		again[i].res, again[i].err = cmd.Text()
	}
}

// pipeline sends one EVALSHA of the submit script per call, in one round trip.
func (g *groupCommit) pipeline(ctx context.Context, calls []*submitCall) []*redis.Cmd {
	pipe := g.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = submitScript.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	return cmds
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
	return 0, fmt.Errorf("redis submit: unexpected reply %q", res)
}
