package bridge

import (
	"testing"
	"time"
)

func TestOwnership(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	o := Owned{EntraID: "e1", SlackUserID: "U1"}
	if !MayReplace("", o) || !MayReplace("  \n", o) {
		t.Fatal("an empty Teams message may always be replaced")
	}
	if MayReplace("Out sick, call my mobile", o) {
		t.Fatal("a message the bridge never wrote may be replaced")
	}
	o = o.Intend("🌴 Vacationing", t0)
	if !o.Owns("🌴  Vacationing") || !MayReplace("🌴 Vacationing", o) {
		t.Fatal("a message of an unanswered call is not owned")
	}
	o = o.Confirm("🌴 Vacationing", t0)
	if len(o.Pending) != 0 || !o.WrittenAt.Equal(t0) || !o.Owns("🌴 Vacationing") {
		t.Fatalf("after Confirm: %+v", o)
	}
	o = o.Intend("🍔 Lunch", t0)
	if !o.Owns("🍔 Lunch") || !o.Owns("🌴 Vacationing") || o.Owns("Out sick") {
		t.Fatalf("after a failed call both may show, nothing else: %+v", o)
	}
	for i := 0; i < 20; i++ {
		o = o.Intend(string(rune('a'+i)), t0)
	}
	if len(o.Pending) != maxPending {
		t.Fatalf("pending grew to %d", len(o.Pending))
	}
	if o.Intend("", t0).Owns("") {
		t.Fatal("an empty content is owned")
	}
}
