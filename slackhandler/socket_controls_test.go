package slackhandler_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

func TestSocketSlashCommandAckCarriesTheReply(t *testing.T) {
	p := newPeople()
	f := startSocket(t, slackhandler.WithSocketControls(p), slackhandler.WithSocketOrg(slackhandler.OrgAllows([]string{ourTeam})))
	ack, err := f.sock.SlashCommand(slacktest.SlashCommandPayload(ourTeam, "", employee, "pause"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(ack, &r); err != nil {
		t.Fatalf("ack payload %s: %v", ack, err)
	}
	if r.ResponseType != "ephemeral" || !strings.HasPrefix(r.Text, "Paused.") || !strings.Contains(r.Text, "*State:* paused") || len(r.Blocks) == 0 {
		t.Errorf("reply %+v", r)
	}
	// Another org's user is refused and nothing happens.
	ack, err = f.sock.SlashCommand(slacktest.SlashCommandPayload("T0FOREIGN1", "", "U0STRANGER", "resume"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack), "another") {
		t.Errorf("foreign reply %s", ack)
	}
	f.stop(t)
	if got := p.got(); len(got) != 1 || got[0] != "pause "+employee {
		t.Errorf("controls got %v", got)
	}
	// The pause re-published App Home with the bot token.
	if pub := f.api.Published(); len(pub) != 1 || !contains(pub[0].ActionIDs, slackhandler.ActionResume) {
		t.Errorf("published %+v", pub)
	}
	envs, _ := f.obs.got()
	if !contains(envs, "command") || !contains(envs, "foreign_team") {
		t.Errorf("outcomes %v", envs)
	}
}

func TestSocketClickIsAckedAtOnceThenActs(t *testing.T) {
	p := newPeople()
	f := startSocket(t, slackhandler.WithSocketControls(p))
	ack, err := f.sock.Interactive(slacktest.BlockActions(ourTeam, "", employee, slackhandler.ActionPause), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack) != 0 {
		t.Errorf("click ack carried %s", ack)
	}
	waitFor(t, "the new view", func() bool { return len(f.api.Published()) == 1 })
	f.stop(t)
	if got := p.got(); len(got) != 1 || got[0] != "pause "+employee {
		t.Errorf("controls got %v", got)
	}
	if pub := f.api.Published(); !contains(pub[0].ActionIDs, slackhandler.ActionResume) || pub[0].UserID != employee {
		t.Errorf("published %+v", pub)
	}
}

func TestSocketAppHomeOpened(t *testing.T) {
	p := newPeople()
	f := startSocket(t, slackhandler.WithSocketControls(p), slackhandler.WithSocketOrg(slackhandler.OrgAllows([]string{ourOrg})))
	own := f.sock.Push(slacktest.AppHomeOpened("Ev0HOME1", "T0OTHERWS1", ourOrg, employee, "home", now))
	foreign := f.sock.Push(slacktest.AppHomeOpened("Ev0HOME2", "T0FOREIGN1", "E0FOREIGN1", "U0STRANGER", "home", now))
	waitFor(t, "both acks", func() bool { return f.sock.IsAcked(own) && f.sock.IsAcked(foreign) })
	waitFor(t, "the view", func() bool { return len(f.api.Published()) == 1 })
	f.stop(t)
	pub := f.api.Published()
	if len(pub) != 1 || pub[0].UserID != employee || !strings.Contains(pub[0].Text, "mirrored") {
		t.Errorf("published %+v", pub)
	}
	if n := f.store.submits(); n != 0 {
		t.Errorf("%d submits", n)
	}
}

func TestSocketForeignUserIsAckedNotSubmitted(t *testing.T) {
	f := startSocket(t, slackhandler.WithSocketOrg(slackhandler.OrgAllows([]string{ourTeam})))
	t0 := now.Add(-time.Second)
	foreign := f.sock.Push(slacktest.StatusEvent("user_change", "Ev0F1", "T0FOREIGN1", employee, t0, "Out", "", 0))
	stranger := f.sock.Push(slacktest.StrangerEvent("Ev0F2", ourTeam, "T0FOREIGN1", "U0STRANGER", t0, "Out", ""))
	own := f.sock.Push(slacktest.StatusEvent("user_change", "Ev0F3", ourTeam, employee, t0, "Out", "", 0))
	dead := f.sock.Push(slacktest.DeactivatedEvent("Ev0F4", ourTeam, "U0GONE123", t0))
	waitFor(t, "every ack", func() bool {
		return f.sock.IsAcked(foreign) && f.sock.IsAcked(stranger) && f.sock.IsAcked(own) && f.sock.IsAcked(dead)
	})
	got := f.store.changes()
	if len(got) != 2 {
		t.Fatalf("stored %+v, want our employee's change and the deactivation", got)
	}
	for _, c := range got {
		if c.UserID == "U0GONE123" && !c.Deactivated {
			t.Errorf("deactivation stored as %+v", c)
		}
	}
	envs, _ := f.obs.got()
	if n := count(envs, "foreign_team"); n != 2 {
		t.Errorf("outcomes %v, want 2 foreign_team", envs)
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}
