package bridge

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: time.Minute, MinSnooze: time.Second}
	tests := []struct {
		name     string
		err      error
		attempts int
		jitter   float64
		want     Decision
	}{
		{"success", nil, 3, 0, Decision{Action: Done, Reason: "applied"}},
		{"throttled snoozes without counting", &ThrottledError{RetryAfter: 7 * time.Second}, 2, 0.5,
			Decision{Action: Snooze, After: 7 * time.Second, Attempts: 2, Reason: "throttled by Graph"}},
		{"throttled without a wait takes the minimum", &ThrottledError{}, 0, 0,
			Decision{Action: Snooze, After: time.Second, Attempts: 0, Reason: "throttled by Graph"}},
		{"wrapped throttled", fmt.Errorf("graph: %w", &ThrottledError{RetryAfter: 3 * time.Second}), 0, 0,
			Decision{Action: Snooze, After: 3 * time.Second, Reason: "throttled by Graph"}},
		{"permanent parks", &PermanentError{Reason: "graph 404: user not found"}, 0, 0,
			Decision{Action: Park, Attempts: 1, Reason: "graph 404: user not found"}},
		{"unmapped parks", ErrUnmapped, 0, 0,
			Decision{Action: Park, Reason: "unmapped: no Entra user is mapped to this Slack user"}},
		{"retry later snoozes without counting", fmt.Errorf("resolve: %w", &RetryLaterError{After: time.Hour, Reason: "no Entra user yet", Err: ErrUnmapped}), 2, 0,
			Decision{Action: Snooze, After: time.Hour, Attempts: 2, Reason: "no Entra user yet"}},
		{"first transient: base with no jitter is half", &TransientError{Reason: "graph 503"}, 0, 0,
			Decision{Action: Backoff, After: 500 * time.Millisecond, Attempts: 1, Reason: "transient: graph 503"}},
		{"third transient doubles twice", errors.New("network"), 2, 0.999999999,
			Decision{Action: Backoff, After: 4*time.Second - 2, Attempts: 3, Reason: "network"}},
		{"capped", errors.New("network"), 40, 0,
			Decision{Action: Backoff, After: 30 * time.Second, Attempts: 41, Reason: "network"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.err, tt.attempts, p, tt.jitter)
			if got.Action != tt.want.Action || got.Attempts != tt.want.Attempts || got.Reason != tt.want.Reason {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
			if d := got.After - tt.want.After; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("After = %v, want %v", got.After, tt.want.After)
			}
		})
	}
}

func TestBackoffNeverExceedsCapAndNeverZero(t *testing.T) {
	p := DefaultRetryPolicy
	for n := 1; n < 100; n++ {
		for _, j := range []float64{0, 0.5, 0.999} {
			d := backoff(n, p, j)
			if d <= 0 || d > p.Max {
				t.Fatalf("backoff(%d, %v) = %v", n, j, d)
			}
		}
	}
}

func TestNeedsUpdate(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	id := "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
	set := Message{Content: "🌴 Vacationing", Expiry: now.Add(time.Hour)}
	expired := Message{Content: "🍔 Lunch", Expiry: now.Add(-time.Minute)}
	tests := []struct {
		name    string
		applied *Applied
		entra   string
		msg     Message
		want    bool
		why     Reason
	}{
		{"never applied", nil, id, set, true, ReasonNeverApplied},
		{"never applied, clear", nil, id, Message{}, true, ReasonNeverApplied},
		{"same", &Applied{Message: set, EntraID: id}, id, set, false, ReasonSame},
		{"same instant in another zone", &Applied{Message: Message{Content: set.Content, Expiry: set.Expiry.In(time.FixedZone("X", 3600))}, EntraID: id}, id, set, false, ReasonSame},
		{"text changed", &Applied{Message: set, EntraID: id}, id, Message{Content: "🌴 Back Monday", Expiry: set.Expiry}, true, ReasonChanged},
		{"expiry changed", &Applied{Message: set, EntraID: id}, id, Message{Content: set.Content, Expiry: set.Expiry.Add(time.Hour)}, true, ReasonChanged},
		{"cleared", &Applied{Message: set, EntraID: id}, id, Message{}, true, ReasonChanged},
		{"clear after Teams expired it", &Applied{Message: expired, EntraID: id}, id, Message{}, false, ReasonExpired},
		{"already clear", &Applied{Message: Message{}, EntraID: id}, id, Message{}, false, ReasonSame},
		{"mapping moved", &Applied{Message: set, EntraID: id}, "0b0b0b0b-eca7-46b7-bad1-db199b62afc3", set, true, ReasonOtherUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := NeedsUpdate(tt.applied, tt.entra, tt.msg, now)
			if got != tt.want || why != tt.why {
				t.Fatalf("NeedsUpdate = %v (%s), want %v (%s)", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestValidIDs(t *testing.T) {
	for id, want := range map[string]bool{"U024BE7LH": true, "W012A3CDE": true, "u024be7lh": false, "B01": false, "": false, "U024BE7LH; rm": false} {
		if ValidSlackUserID(id) != want {
			t.Errorf("ValidSlackUserID(%q) != %v", id, want)
		}
	}
	for id, want := range map[string]bool{"fa8bf3dc-eca7-46b7-bad1-db199b62afc3": true, "fa8bf3dc-eca7-46b7-bad1-db199b62afc": false, "user@example.com": false} {
		if ValidEntraObjectID(id) != want {
			t.Errorf("ValidEntraObjectID(%q) != %v", id, want)
		}
	}
}

func TestSaneEventTime(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     time.Time
		want   time.Time
		wantOK bool
	}{
		{now.Add(-time.Hour), now.Add(-time.Hour), true},
		{now.Add(4 * time.Minute), now.Add(4 * time.Minute), true},
		{now.Add(6 * time.Minute), now, false},
		{now.AddDate(10, 0, 0), now, false},
	} {
		got, ok := SaneEventTime(tc.in, now)
		if !got.Equal(tc.want) || ok != tc.wantOK {
			t.Errorf("SaneEventTime(%s) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}
