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
	url := openURL(t, a, token)
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, url
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

// openURL asks apps.connections.open for a WebSocket URL.
func openURL(t *testing.T, a *API, token string) string {
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
	return r.URL
}

// TestSocketRefusesForeignOrigin: like a WebSocket server with default
// settings, the stand-in refuses a foreign Origin header, so a client that
// sends one fails against it.
func TestSocketRefusesForeignOrigin(t *testing.T) {
	a := StartAPI(t, "xoxb-1")
	a.SetAppToken("xapp-1")
	ws, resp, err := websocket.DefaultDialer.Dial(openURL(t, a, "xapp-1"), http.Header{"Origin": {"https://api.slack.com"}})
	if err == nil {
		ws.Close()
		t.Fatal("a foreign Origin was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, %v; want 403", resp, err)
	}
	if a.Socket().Opens() != 0 {
		t.Error("connection counted")
	}
	ws, _, err = websocket.DefaultDialer.Dial(openURL(t, a, "xapp-1"), nil)
	if err != nil {
		t.Fatalf("without Origin: %v", err)
	}
	defer ws.Close()
	if m := read(t, ws); m.Type != "hello" {
		t.Fatalf("first message %+v, want hello", m)
	}
}

// TestSocketNoHelloAndSend: SetHello(false) opens connections without hello;
// Send delivers a message as it is, and its envelope_id can be acked.
func TestSocketNoHelloAndSend(t *testing.T) {
	a := StartAPI(t, "xoxb-1")
	a.SetAppToken("xapp-1")
	s := a.Socket()
	s.SetHello(false)
	ws, _ := open(t, a, "xapp-1")
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Live()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	raw := `{"envelope_id":"e-raw-1","type":"events_api","retry_attempt":"0","payload":{}}`
	s.Send([]byte(raw))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != raw {
		t.Fatalf("first message %s, want %s", b, raw)
	}
	if err := ws.WriteJSON(map[string]string{"envelope_id": "e-raw-1"}); err != nil {
		t.Fatal(err)
	}
	for !s.IsAcked("e-raw-1") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !s.IsAcked("e-raw-1") || len(s.Unacked()) != 0 {
		t.Fatalf("acks %+v, unacked %v", s.Acks(), s.Unacked())
	}
}
