package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// orderLimiter records, in order, the Penalize calls and the answers
// reported to it.
type orderLimiter struct{ events []string }

func (l *orderLimiter) Wait(context.Context) error { return nil }

func (l *orderLimiter) Penalize(_ context.Context, d time.Duration) error {
	l.events = append(l.events, fmt.Sprintf("penalize %s", d))
	return nil
}

func (l *orderLimiter) Acquire(context.Context) (func(), error) {
	return func() { l.events = append(l.events, "landed") }, nil
}

// TestWaitTurnPenalizesBeforeLanding: a call answered 429 holds the limiter
// back before its slot counts as answered (which would let one more call
// into the full window); other answers only land.
func TestWaitTurnPenalizesBeforeLanding(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"429", fmt.Errorf("graph: %w", &ThrottledError{RetryAfter: 3 * time.Second}), []string{"penalize 3s", "landed"}},
		{"ok", nil, []string{"landed"}},
		{"other failure", &TransientError{Reason: "503", Err: errors.New("unavailable")}, []string{"landed"}},
		{"429 without Retry-After", &ThrottledError{}, []string{"landed"}},
	} {
		l := &orderLimiter{}
		landed, err := waitTurn(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		landed(tc.err)
		if fmt.Sprint(l.events) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, l.events, tc.want)
		}
	}
}
