package slacktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// SocketServer is the Socket Mode side of the stand-in: the WebSocket that
// apps.connections.open hands out, speaking Slack's envelope protocol
// (https://api.slack.com/apis/socket-mode): hello on connect, events_api and
// other envelopes, acks by envelope_id, disconnect messages and pings.
//
// Like Slack, it keeps every envelope until it is acked: an envelope whose
// connection ends unacked goes again, with retry_attempt+1, to another live
// connection or, when there is none, to the next one that opens.
type SocketServer struct {
	mu         sync.Mutex
	tickets    map[string]bool
	conns      []*sockConn
	opens      int
	pending    map[string]*envelope
	order      []string
	acks       []Ack
	deliveries []Delivery
	rr         int
	pongs      int
	pingEvery  time.Duration
	redeliver  time.Duration
	noHello    bool
	closed     bool
	stop       chan struct{}
	wg         sync.WaitGroup
	upgrader   websocket.Upgrader
}

// Ack is an acknowledgement the stand-in received.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload (a slash command's reply); nil when none.
	Payload json.RawMessage
	// Conn is the number of the connection the ack came on (1 for the first connection).
	Conn int
}

// Delivery is one sending of an envelope.
type Delivery struct {
	EnvelopeID   string
	Conn         int
	RetryAttempt int
}

type envelope struct {
	id      string
	typ     string
	payload json.RawMessage
	attempt int // retry_attempt of the next sending
	conn    int // connection it was last sent on; 0 when waiting for one
	sentAt  time.Time
}

type sockConn struct {
	id     int
	ws     *websocket.Conn
	wmu    sync.Mutex
	silent bool
	done   chan struct{}
}

func newSocketServer() *SocketServer {
	s := &SocketServer{
		tickets: map[string]bool{},
		pending: map[string]*envelope{},
		stop:    make(chan struct{}),
		// The default CheckOrigin, like many WebSocket servers: a foreign
		// Origin header is refused with 403.
		upgrader: websocket.Upgrader{HandshakeTimeout: 5 * time.Second},
	}
	s.wg.Add(1)
	go s.timers()
	return s
}

// close ends every connection and background loop.
func (s *SocketServer) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	close(s.stop)
	for _, c := range conns {
		c.ws.Close()
	}
	s.wg.Wait()
}

// newTicket returns a one-time ticket for a WebSocket URL.
func (s *SocketServer) newTicket() string {
	t := newID()
	s.mu.Lock()
	s.tickets[t] = true
	s.mu.Unlock()
	return t
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SetPingInterval makes the stand-in ping every live, non-silent connection
// every d (0, the default, turns automatic pings off; Ping sends one).
func (s *SocketServer) SetPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingEvery = d
}

// SetHello makes the stand-in send hello on connections opened later (true,
// the default) or not.
func (s *SocketServer) SetHello(send bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noHello = !send
}

// SetRedeliverAfter makes the stand-in send an envelope again, with
// retry_attempt+1, when it was not acked d after it was sent, as Slack
// retries unacknowledged envelopes (0, the default, turns this off).
func (s *SocketServer) SetRedeliverAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redeliver = d
}

func (s *SocketServer) serveWS(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &sockConn{ws: ws, done: make(chan struct{})}
	ws.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.pongs++
		s.mu.Unlock()
		return nil
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.opens++
	c.id = s.opens
	s.wg.Add(1)
	defer s.wg.Done()
	// hello first, then what waits for a connection; both under s.mu so that
	// no Push overtakes them.
	if !s.noHello {
		_ = c.write(map[string]any{
			"type":            "hello",
			"num_connections": len(s.conns) + 1,
			"debug_info": map[string]any{
				"host":                        "applink-7fc4fdbb64-4x5xq",
				"build_number":                105,
				"approximate_connection_time": 18060,
			},
			"connection_info": map[string]any{"app_id": AppID},
		})
	}
	s.conns = append(s.conns, c)
	for _, id := range s.order {
		if e := s.pending[id]; e != nil && !s.liveLocked(e.conn) {
			s.sendLocked(c, e)
		}
	}
	s.mu.Unlock()

	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(msg, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Conn: c.id})
		delete(s.pending, ack.EnvelopeID)
		s.mu.Unlock()
	}
	ws.Close()
	close(c.done)

	// Like Slack, send what this connection left unacked to another one.
	s.mu.Lock()
	s.conns = slices.DeleteFunc(s.conns, func(o *sockConn) bool { return o == c })
	for _, id := range s.order {
		if e := s.pending[id]; e != nil && e.conn == c.id {
			e.conn = 0
			if to := s.pickLocked(); to != nil {
				s.sendLocked(to, e)
			}
		}
	}
	s.mu.Unlock()
}

// timers sends automatic pings and redeliveries.
func (s *SocketServer) timers() {
	defer s.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var lastPing time.Time
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			if s.pingEvery > 0 && now.Sub(lastPing) >= s.pingEvery {
				lastPing = now
				s.pingLocked()
			}
			if s.redeliver > 0 {
				for _, id := range s.order {
					if e := s.pending[id]; e != nil && e.conn != 0 && now.Sub(e.sentAt) >= s.redeliver {
						if to := s.pickLocked(); to != nil {
							s.sendLocked(to, e)
						}
					}
				}
			}
			s.mu.Unlock()
		}
	}
}

func (c *sockConn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// liveLocked reports whether connection id is open and not silent.
func (s *SocketServer) liveLocked(id int) bool {
	for _, c := range s.conns {
		if c.id == id {
			return !c.silent
		}
	}
	return false
}

// pickLocked chooses the next live, non-silent connection, alternating.
func (s *SocketServer) pickLocked() *sockConn {
	var live []*sockConn
	for _, c := range s.conns {
		if !c.silent {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	s.rr++
	return live[s.rr%len(live)]
}

// sendLocked sends e on c; a redelivery carries retry_attempt+1.
func (s *SocketServer) sendLocked(c *sockConn, e *envelope) {
	reason := ""
	if e.attempt > 0 {
		reason = "timeout"
	}
	msg := map[string]any{
		"envelope_id":              e.id,
		"type":                     e.typ,
		"payload":                  e.payload,
		"accepts_response_payload": false,
		"retry_attempt":            e.attempt,
		"retry_reason":             reason,
	}
	s.deliveries = append(s.deliveries, Delivery{EnvelopeID: e.id, Conn: c.id, RetryAttempt: e.attempt})
	e.conn, e.sentAt = c.id, time.Now()
	e.attempt++
	// Writing under s.mu keeps deliveries in order; writes are small and bounded by a deadline.
	_ = c.write(msg)
}

func (s *SocketServer) pingLocked() {
	for _, c := range s.conns {
		if !c.silent {
			_ = c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
		}
	}
}

// Push sends an events_api envelope with payload (an event_callback body) to
// the next live connection, alternating between connections, and returns its
// envelope id. With no live connection it waits for the next one.
func (s *SocketServer) Push(payload []byte) string {
	return s.PushEnvelope("events_api", payload)
}

// PushEnvelope is Push for any envelope type ("events_api", "slash_commands", "interactive", …).
func (s *SocketServer) PushEnvelope(typ string, payload []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.addLocked(typ, payload)
	if c := s.pickLocked(); c != nil {
		s.sendLocked(c, e)
	}
	return e.id
}

// SlashCommand sends a slash_commands envelope with payload (see
// SlashCommandPayload) and waits up to timeout for its ack; it returns the
// ack's payload (the ephemeral reply), nil when the ack carried none.
func (s *SocketServer) SlashCommand(payload []byte, timeout time.Duration) (json.RawMessage, error) {
	return s.PushAndWait("slash_commands", payload, timeout)
}

// Interactive sends an interactive envelope with payload (see BlockActions)
// and waits up to timeout for its ack, whose payload it returns.
func (s *SocketServer) Interactive(payload []byte, timeout time.Duration) (json.RawMessage, error) {
	return s.PushAndWait("interactive", payload, timeout)
}

// PushAndWait sends an envelope of typ and waits up to timeout for its first
// ack; it returns the ack's payload.
func (s *SocketServer) PushAndWait(typ string, payload []byte, timeout time.Duration) (json.RawMessage, error) {
	id := s.PushEnvelope(typ, payload)
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		for _, a := range s.acks {
			if a.EnvelopeID == id {
				s.mu.Unlock()
				return a.Payload, nil
			}
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("slacktest: %s envelope %s not acked within %v", typ, id, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PushTo sends an events_api envelope on connection conn (numbered from 1);
// it returns false when that connection is not live.
func (s *SocketServer) PushTo(conn int, payload []byte) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.id == conn && !c.silent {
			e := s.addLocked("events_api", payload)
			s.sendLocked(c, e)
			return e.id, true
		}
	}
	return "", false
}

func (s *SocketServer) addLocked(typ string, payload []byte) *envelope {
	e := &envelope{id: newID(), typ: typ, payload: json.RawMessage(payload)}
	s.pending[e.id] = e
	s.order = append(s.order, e.id)
	return e
}

// Redeliver sends every unacked envelope again, with retry_attempt+1, to the
// live connections.
func (s *SocketServer) Redeliver() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if e := s.pending[id]; e != nil {
			if c := s.pickLocked(); c != nil {
				s.sendLocked(c, e)
			}
		}
	}
}

// Send sends msg as it is, as one text message, on every live, non-silent
// connection. An ack of an envelope_id it carries is recorded like any other,
// but it is not kept for redelivery.
func (s *SocketServer) Send(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if !c.silent {
			c.wmu.Lock()
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_ = c.ws.WriteMessage(websocket.TextMessage, msg)
			c.wmu.Unlock()
		}
	}
}

// Ping sends a WebSocket ping to every live, non-silent connection.
func (s *SocketServer) Ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingLocked()
}

// Disconnect sends a disconnect message with reason ("refresh_requested",
// "warning", "link_disabled", …) on every live connection, and closes those
// connections after closeAfter (0: leaves them to the client).
func (s *SocketServer) Disconnect(reason string, closeAfter time.Duration) {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{
			"type":       "disconnect",
			"reason":     reason,
			"debug_info": map[string]any{"host": "applink-7fc4fdbb64-4x5xq"},
		})
		if closeAfter > 0 {
			time.AfterFunc(closeAfter, func() {
				c.wmu.Lock()
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				c.wmu.Unlock()
				c.ws.Close()
			})
		}
	}
}

// Drop ends every live connection abruptly, without a close frame.
func (s *SocketServer) Drop() {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
}

// Silence makes every current connection go quiet: no pings, no envelopes,
// while its TCP connection stays open. Connections opened later are normal.
func (s *SocketServer) Silence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.silent = true
	}
}

// Opens counts the WebSocket connections accepted so far.
func (s *SocketServer) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Live returns the numbers of the connections that are open now.
func (s *SocketServer) Live() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for _, c := range s.conns {
		ids = append(ids, c.id)
	}
	return ids
}

// Acks returns the acknowledgements received, in order.
func (s *SocketServer) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acks)
}

// Acked returns the envelope ids acknowledged so far, in order (with repeats
// when an envelope was acked more than once).
func (s *SocketServer) Acked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.acks))
	for i, a := range s.acks {
		ids[i] = a.EnvelopeID
	}
	return ids
}

// IsAcked reports whether envelope id was acknowledged.
func (s *SocketServer) IsAcked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.acks, func(a Ack) bool { return a.EnvelopeID == id })
}

// Unacked returns the ids of the envelopes not acknowledged yet, in push order.
func (s *SocketServer) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, id := range s.order {
		if s.pending[id] != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// Deliveries returns every sending of an envelope, in order.
func (s *SocketServer) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Pongs counts the pongs received in answer to pings.
func (s *SocketServer) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pongs
}
