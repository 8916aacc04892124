package mapping

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
)

func TestMirrored(t *testing.T) {
	onlyT1orE1 := func(team, enterprise string) bool { return team == "T1" || enterprise == "E1" }
	member := bridge.SlackUser{ID: "U1", TeamID: "T1", Email: "a@corp.com"}
	with := func(f func(*bridge.SlackUser)) bridge.SlackUser { u := member; f(&u); return u }
	tests := []struct {
		name     string
		u        bridge.SlackUser
		allowOrg func(team, enterprise string) bool
		ok       bool
		why      string
	}{
		{"member", member, nil, true, ""},
		{"member of an allowed team", member, onlyT1orE1, true, ""},
		{"guest", with(func(u *bridge.SlackUser) { u.Guest = true }), nil, true, ""},
		{"bot", with(func(u *bridge.SlackUser) { u.Bot = true }), nil, false, "bot user"},
		{"Slackbot", with(func(u *bridge.SlackUser) { u.ID = "USLACKBOT" }), nil, false, "Slackbot"},
		{"deleted", with(func(u *bridge.SlackUser) { u.Deleted = true }), nil, false, "deleted in Slack"},
		{"stranger", with(func(u *bridge.SlackUser) { u.External = true }), nil, false, "another organisation"},
		{"stranger of an allowed team", with(func(u *bridge.SlackUser) { u.External = true }), onlyT1orE1, false, "another organisation"},
		{"no email", with(func(u *bridge.SlackUser) { u.Email = "" }), nil, false, "no email"},
		{"other team", with(func(u *bridge.SlackUser) { u.TeamID = "T2" }), onlyT1orE1, false, "workspace T2 (org none) is not an allowed"},
		{"other team, allowed org", with(func(u *bridge.SlackUser) { u.TeamID, u.EnterpriseID = "T2", "E1" }), onlyT1orE1, true, ""},
		{"other team and org", with(func(u *bridge.SlackUser) { u.TeamID, u.EnterpriseID = "T2", "E2" }), onlyT1orE1, false, "workspace T2 (org E2)"},
		{"no team or org", with(func(u *bridge.SlackUser) { u.TeamID = "" }), onlyT1orE1, false, "workspace none (org none)"},
		{"bot wins over org", with(func(u *bridge.SlackUser) { u.Bot, u.TeamID = true, "T2" }), onlyT1orE1, false, "bot user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := Mirrored(tt.u, tt.allowOrg)
			if ok != tt.ok || (tt.why == "" && why != "") || !strings.Contains(why, tt.why) {
				t.Fatalf("Mirrored = %v, %q; want %v, %q", ok, why, tt.ok, tt.why)
			}
		})
	}
}

// A user of a workspace or org that is not allowed, or a stranger, is never
// mapped even when the email matches an Entra account, and costs no Graph lookup.
func TestDiscoveryHonoursAllowOrg(t *testing.T) {
	var seen outcomes
	r, st, dir, f, _ := setup(t, func(o *Options) {
		o.Observe = seen.observe
		o.AllowOrg = func(team, enterprise string) bool { return team == "T0HOME" || enterprise == "E0HOME" }
	})
	dir.users["UOTHERORG"] = bridge.SlackUser{ID: "UOTHERORG", TeamID: "T0ELSE", EnterpriseID: "E0ELSE", Email: "alice@corp.com"}
	dir.users["USTRANGER"] = bridge.SlackUser{ID: "USTRANGER", TeamID: "T0HOME", Email: "bob@corp.com", External: true}
	dir.users["UHOMEORG1"] = bridge.SlackUser{ID: "UHOMEORG1", TeamID: "T0OTHERWS", EnterpriseID: "E0HOME", Email: "dave@corp.com"}
	ctx := context.Background()
	for user, why := range map[string]string{"UOTHERORG": "workspace T0ELSE (org E0ELSE) is not an allowed", "USTRANGER": "another organisation"} {
		if got, err := r.Resolve(ctx, user); got != "" || !errors.Is(err, bridge.ErrSkipped) {
			t.Fatalf("%s: Resolve = %q, %v; want skipped", user, got, err)
		}
		if seen.last() != Skipped {
			t.Fatalf("%s: observed %v", user, seen.last())
		}
		m, ok, err := st.GetMapping(ctx, user)
		if err != nil || !ok || m.Source != bridge.SourceSkipped || m.EntraID != "" || !strings.Contains(m.Detail, why) {
			t.Fatalf("%s: stored %+v (%v %v), want skipped because %q", user, m, ok, err, why)
		}
	}
	if f.count() != 0 {
		t.Fatalf("%d Graph lookups for users who are never mirrored", f.count())
	}
	// Another workspace of the allowed Enterprise Grid org is mirrored.
	if got, err := r.Resolve(ctx, "UHOMEORG1"); err != nil || got != idD {
		t.Fatalf("UHOMEORG1: Resolve = %q, %v", got, err)
	}
}
