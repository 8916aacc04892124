package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// open asks apps.connections.open for a URL and dials it, as a client would.
func open(t *testing.T, a *API, token string) (*websocket.Conn, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.URL+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &r) != nil || !r.OK {
		t.Fatalf("apps.connections.open: %s", b)
	}
	ws, _, err := websocket.DefaultDialer.Dial(r.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, r.URL
}

type msg struct {
	Type         string          `json:"type"`
	EnvelopeID   string          `json:"envelope_id"`
	Payload      json.RawMessage `json:"payload"`
	RetryAttempt int             `json:"retry_attempt"`
	RetryReason  string          `json:"retry_reason"`
	Reason       string          `json:"reason"`
}

func read(t *testing.T, ws *websocket.Conn) msg {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m msg
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSocketProtocol(t *testing.T) {
	a := StartAPI(t, "xoxb-1")
	a.SetAppToken("xapp-1")
	s := a.Socket()
	ws, url := open(t, a, "xapp-1")
	if m := read(t, ws); m.Type != "hello" {
		t.Fatalf("first message %+v, want hello", m)
	}
	if _, _, err := websocket.DefaultDialer.Dial(url, nil); err == nil {
		t.Error("a ticket was accepted twice")
	}

	body := StatusEvent("user_change", "Ev1", "T1", "U0ABC", time.Unix(1741944410, 0), "Hi", "", 0)
	id := s.Push(body)
	m := read(t, ws)
	if m.Type != "events_api" || m.EnvelopeID != id || m.RetryAttempt != 0 || !strings.Contains(string(m.Payload), `"event_id":"Ev1"`) {
		t.Fatalf("envelope %+v", m)
	}

	// Unacked when the connection drops: it comes again on the next one.
	ws.Close()
	ws2, _ := open(t, a, "xapp-1")
	if m := read(t, ws2); m.Type != "hello" {
		t.Fatalf("first message %+v, want hello", m)
	}
	m = read(t, ws2)
	if m.EnvelopeID != id || m.RetryAttempt != 1 || m.RetryReason == "" {
		t.Fatalf("redelivery %+v", m)
	}
	if err := ws2.WriteJSON(map[string]string{"envelope_id": id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.IsAcked(id) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if acks := s.Acks(); len(acks) != 1 || acks[0].Conn != 2 || len(s.Unacked()) != 0 {
		t.Fatalf("acks %+v, unacked %v", acks, s.Unacked())
	}

	s.Disconnect("refresh_requested", 0)
	if m := read(t, ws2); m.Type != "disconnect" || m.Reason != "refresh_requested" {
		t.Fatalf("got %+v, want a disconnect", m)
	}
	if s.Opens() != 2 {
		t.Errorf("Opens = %d", s.Opens())
	}
}
