package bridge

import (
	"context"
	"sync"
	"time"
)

// MaxPresenceBatch is how many accounts one presence read may ask for
// (Graph's getPresencesByUserId takes up to 650 ids).
const MaxPresenceBatch = 650

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

	mu      sync.Mutex
	waiting map[string][]chan presenceResult
	order   []string
	running bool
}

type presenceResult struct {
	content string
	known   bool
	err     error
}

// read returns what Teams shows for one account; known is false when Graph
// did not return the account.
func (b *presenceBatcher) read(ctx context.Context, entraID string) (content string, known bool, err error) {
	ch := make(chan presenceResult, 1)
	b.mu.Lock()
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

// loop makes calls while reads wait, then ends.
func (b *presenceBatcher) loop() {
	for {
		time.Sleep(b.window)
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
		got, err := b.call(ids)
		for id, cs := range chans {
			content, known := got[id]
			for _, c := range cs {
				c <- presenceResult{content: content, known: known, err: err}
			}
		}
	}
}

func (b *presenceBatcher) call(ids []string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	if b.limiter != nil {
		if err := b.limiter.Wait(ctx); err != nil {
			return nil, &TransientError{Reason: "rate limiter: " + err.Error(), Err: err}
		}
	}
	got, err := b.reader.StatusMessages(ctx, ids)
	if b.observe != nil {
		b.observe(graphOutcome(err), err)
	}
	return got, err
}
