package bridge

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnanswered marks a failed call that got no answer (it timed out, or the
// connection broke after the request went out): Teams may still apply it.
var ErrUnanswered = errors.New("no answer: the call may still be applied")

// PermanentError is a failure that retrying will not fix (Graph 400, 403, 404).
type PermanentError struct {
	// Reason is a short, secret-free description, such as "graph 404: user not found".
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Reason }
func (e *PermanentError) Unwrap() error { return e.Err }

// ThrottledError is a 429 with the wait the remote side asked for.
type ThrottledError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled: retry after %s", e.RetryAfter)
}
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryLaterError asks for the user to be tried again after a while without
// counting a failed attempt; for example an Entra account that discovery
// did not find yet, looked for again when the negative cache expires.
type RetryLaterError struct {
	After  time.Duration
	Reason string
	Err    error
}

func (e *RetryLaterError) Error() string {
	return fmt.Sprintf("%s; trying again in %s", e.Reason, e.After)
}
func (e *RetryLaterError) Unwrap() error { return e.Err }

// TransientError is a failure that may pass (5xx, network errors).
type TransientError struct {
	Reason string
	Err    error
}

func (e *TransientError) Error() string { return "transient: " + e.Reason }
func (e *TransientError) Unwrap() error { return e.Err }
