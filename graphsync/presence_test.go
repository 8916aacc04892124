package graphsync

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
)

func TestPlainText(t *testing.T) {
	tests := []struct{ content, contentType, want string }{
		{"In a meeting", "text", "In a meeting"},
		{"  two  spaces kept ", "text", "  two  spaces kept "},
		{"I <3 cats & dogs", "text", "I <3 cats & dogs"},
		{"<p>Out sick &amp; offline</p>", "html", "Out sick & offline"},
		{"<p>Out sick &amp; offline</p>", "text", "Out sick & offline"},
		{"Line one<br>line two<br/>three", "html", "Line one line two three"},
		{"<p>a</p><p>b</p>", "html", "a b"},
		{"Back&nbsp;at&#160;3&#x20;pm &lt;ish&gt; &#39;ok&#39;", "html", "Back at 3 pm <ish> 'ok'"},
		{"<div><span style=\"color:red\">Busy</span> \n\t now</div>", "html", "Busy now"},
		{"Vacationing<pinnednote></pinnednote>", "html", "Vacationing"},
		{"🌴 Vacationing", "html", "🌴 Vacationing"},
		{"", "html", ""},
	}
	for _, tt := range tests {
		if got := PlainText(tt.content, tt.contentType); got != tt.want {
			t.Errorf("PlainText(%q, %q) = %q, want %q", tt.content, tt.contentType, got, tt.want)
		}
	}
}

func TestRoleChecks(t *testing.T) {
	tests := []struct {
		roles       []string
		read, write bool
	}{
		{nil, false, false},
		{[]string{"User.Read.All"}, false, false},
		{[]string{"Presence.Read.All"}, true, false},
		{[]string{"User.Read.All", "Presence.ReadWrite.All"}, true, true},
		{[]string{"presence.readwrite.all"}, true, true},
		{[]string{"Presence.Read"}, false, false},
	}
	for _, tt := range tests {
		if got := CanReadPresence(tt.roles); got != tt.read {
			t.Errorf("CanReadPresence(%v) = %v", tt.roles, got)
		}
		if got := CanWritePresence(tt.roles); got != tt.write {
			t.Errorf("CanWritePresence(%v) = %v", tt.roles, got)
		}
	}
}

// presenceIDs makes n distinct object ids known to the stand-in.
func presenceIDs(fg *fakegraph.Server, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("6a0e9c1d-0000-4000-8000-%012x", i+1)
		fg.AddUser(fakegraph.User{ID: ids[i], UPN: fmt.Sprintf("p%d@contoso.example", i+1)})
	}
	return ids
}

func TestStatusMessages(t *testing.T) {
	fg, c := setup(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	fg.SetNow(func() time.Time { return now })
	if err := c.SetStatusMessage(ctx, alice, bridge.Message{Content: "🌴 Vacationing", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	fg.SetMessageByHand(bob, fakegraph.TeamsMessage{Content: "<p>Out sick &amp; offline</p>", ContentType: "html"})
	quiet := presenceIDs(fg, 1)[0]
	unknown := "00000000-0000-4000-8000-000000000404"

	got, err := c.StatusMessages(ctx, []string{alice, strings.ToUpper(bob), quiet, unknown, "alice@contoso.example", alice})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{alice: "🌴 Vacationing", strings.ToUpper(bob): "Out sick & offline", quiet: ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if r := fg.PresenceReads(); r.Calls != 1 || r.IDs != 4 || r.Gzipped != 1 {
		t.Errorf("reads = %+v, want one call for 4 ids, answered with a gzip body", r)
	}
	posts := 0
	for _, req := range fg.Requests() {
		if req.Method == http.MethodPost && req.Path == "/v1.0/communications/getPresencesByUserId" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("getPresencesByUserId requests = %d, want 1", posts)
	}

	// Unknown ids answered as PresenceUnknown read as unknown too.
	fg.SetUnknownIDsAsPresenceUnknown(true)
	got, err = c.StatusMessages(ctx, []string{unknown, alice})
	if err != nil || !reflect.DeepEqual(got, map[string]string{alice: "🌴 Vacationing"}) {
		t.Errorf("with PresenceUnknown: %q, %v", got, err)
	}

	// The message expires by Graph's clock.
	now = now.Add(2 * time.Hour)
	got, err = c.StatusMessages(ctx, []string{alice})
	if err != nil || !reflect.DeepEqual(got, map[string]string{alice: ""}) {
		t.Errorf("after expiry: %q, %v", got, err)
	}

	got, err = c.StatusMessages(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("no ids: %q, %v", got, err)
	}
}

func TestStatusMessagesChunks(t *testing.T) {
	fg, c := setup(t)
	ids := presenceIDs(fg, 2*MaxPresenceIDs+1)
	fg.SetMessageByHand(ids[len(ids)-1], fakegraph.TeamsMessage{Content: "last"})
	got, err := c.StatusMessages(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got[ids[len(ids)-1]] != "last" || got[ids[0]] != "" {
		t.Errorf("got %d messages, last %q", len(got), got[ids[len(ids)-1]])
	}
	if r := fg.PresenceReads(); r.Calls != 3 || r.IDs != len(ids) || r.Failed != 0 {
		t.Errorf("reads = %+v, want 3 calls (650+650+1)", r)
	}
}

func TestStatusMessagesFailures(t *testing.T) {
	fg := start(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := newClient(t, fg, Config{Now: func() time.Time { return now }})
	tests := []struct {
		name       string
		status     int
		retryAfter string
		check      func(t *testing.T, err error)
	}{
		{"429", 429, "7", throttled(7 * time.Second)},
		{"503", 503, "", transient},
		{"500", 500, "", transient},
		{"400", 400, "", permanent("400")},
		{"403", 403, "", permanent("Presence.Read.All")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fg.Reset()
			fg.FailNextReads(1, tt.status, tt.retryAfter)
			_, err := c.StatusMessages(context.Background(), []string{alice})
			tt.check(t, err)
			if r := fg.PresenceReads(); r.Calls != 1 {
				t.Errorf("%d reads reached Graph, want exactly 1 (no SDK retry)", r.Calls)
			}
		})
	}
}

// TestStatusMessagesGarbled: an answer cut off mid-body is a transient
// failure (the read is tried again), never an empty presence.
func TestStatusMessagesGarbled(t *testing.T) {
	fg, c := setup(t)
	fg.SetMessageByHand(bob, fakegraph.TeamsMessage{Content: "Out sick", ContentType: "text"})
	fg.GarbleNextReads(1)
	got, err := c.StatusMessages(context.Background(), []string{alice, bob})
	transient(t, err)
	if len(got) != 0 {
		t.Errorf("a garbled answer read as %q", got)
	}
	if err != nil && !strings.Contains(err.Error(), "unreadable answer") {
		t.Errorf("error %q does not say the answer was unreadable", err)
	}
	got, err = c.StatusMessages(context.Background(), []string{alice, bob})
	if err != nil || got[bob] != "Out sick" {
		t.Errorf("the next read: %q, %v", got, err)
	}
}

func TestStatusMessagesShareThrottling(t *testing.T) {
	fg, c := setup(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fg.SetNow(func() time.Time { return now })
	fg.SetRateLimit(1, 30*time.Second)
	if err := c.SetStatusMessage(ctx, alice, bridge.Message{Content: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.StatusMessages(ctx, []string{alice})
	throttled(30*time.Second)(t, err)
}
