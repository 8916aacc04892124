package groupcommit

import (
	"context"
	"sync"
	"testing"
	"time"
)

type call struct {
	n    int
	done chan struct{}
}

func TestIdleCallGoesAloneAndBusyCallsGoTogether(t *testing.T) {
	var mu sync.Mutex
	var groups []int
	release := make(chan struct{})
	first := true
	g := &Group[*call]{Max: 3}
	g.Commit = func(cs []*call) {
		mu.Lock()
		groups = append(groups, len(cs))
		hold := first
		first = false
		mu.Unlock()
		if hold {
			<-release // the first commit is in flight while the others arrive
		}
		for _, c := range cs {
			close(c.done)
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &call{done: make(chan struct{})}
		if err := g.Do(ctx, c, c.done); err != nil {
			t.Error(err)
		}
	}()
	for {
		g.mu.Lock()
		busy := g.busy
		g.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &call{n: i, done: make(chan struct{})}
			if err := g.Do(ctx, c, c.done); err != nil {
				t.Error(err)
			}
		}()
	}
	for {
		g.mu.Lock()
		n := len(g.pending)
		g.mu.Unlock()
		if n == 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(groups) != 3 || groups[0] != 1 || groups[1] != 3 || groups[2] != 2 {
		t.Fatalf("groups %v, want [1 3 2]: the idle call alone, then the waiting ones at most 3 a group", groups)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy || len(g.pending) != 0 {
		t.Fatalf("busy %v, pending %d after all calls returned", g.busy, len(g.pending))
	}
}

func TestWaitEndsWithTheCallersContext(t *testing.T) {
	release := make(chan struct{})
	g := &Group[*call]{Max: 8, Commit: func(cs []*call) {
		<-release
		for _, c := range cs {
			close(c.done)
		}
	}}
	go func() {
		c := &call{done: make(chan struct{})}
		_ = g.Do(context.Background(), c, c.done)
	}()
	for {
		g.mu.Lock()
		busy := g.busy
		g.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	c := &call{done: make(chan struct{})}
	if err := g.Do(ctx, c, c.done); err != context.DeadlineExceeded {
		t.Fatalf("Do = %v, want the context's deadline", err)
	}
	close(release)
	select {
	case <-c.done: // its commit still runs
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned call was never committed")
	}
}
