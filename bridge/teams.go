package bridge

import (
	"context"
	"time"
)

// Message is a Teams status message as Graph's setStatusMessage takes it.
type Message struct {
	// Content is the text shown in Teams; empty clears the message.
	Content string `json:"content"`
	// Expiry is when Teams drops the message; zero means never.
	Expiry time.Time `json:"expiry,omitempty"`
}

// Clear reports whether the message clears the Teams status message.
func (m Message) Clear() bool { return m.Content == "" }

// Equal reports whether two messages set the same thing in Teams.
func (m Message) Equal(o Message) bool {
	return m.Content == o.Content && m.Expiry.Equal(o.Expiry)
}

// Publisher sets a Teams status message.
type Publisher interface {
	SetStatusMessage(ctx context.Context, entraID string, m Message) error
}

// Limiter spaces calls to Graph; it is shared by every worker (and every
// replica, when it lives in Redis).
type Limiter interface {
	// Wait blocks until a call may be made or ctx ends.
	Wait(ctx context.Context) error
	// Penalize stops all calls for d, after Graph answered 429 with Retry-After d.
	Penalize(ctx context.Context, d time.Duration) error
}

// Lander is a Limiter that counts each call in its window from when the
// call was answered, not from when it was allowed. Graph counts a call from
// when it arrived there, somewhere in between; a window counted from the
// answer frees a slot no earlier than Graph's does, however long the call
// took on its way (a new connection's handshake, a busy machine), so the
// first calls of a burst cause no 429 when the next window opens.
type Lander interface {
	// Acquire is Wait that also returns landed, to be called once the
	// call was answered, whatever the answer.
	Acquire(ctx context.Context) (landed func(), err error)
}
