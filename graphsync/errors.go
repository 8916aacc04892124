package graphsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/statusbridge/statusbridge/bridge"
)

// maxRetryAfter caps the wait taken from a Retry-After header.
const maxRetryAfter = time.Hour

// GraphError is a failed Graph call: the HTTP status and Graph's error code
// and message. Workers should look only at bridge's error types; this one is
// for diagnostics (the doctor command).
type GraphError struct {
	// Op names the call, such as "setStatusMessage".
	Op string
	// Status is the HTTP status code.
	Status int
	// Code and Message are Graph's error code and message, when Graph sent them.
	Code, Message string
}

// Error returns a short, secret-free description.
func (e *GraphError) Error() string {
	s := fmt.Sprintf("graph %s: %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// AuthError is a failure to obtain a token from Entra ID. It carries the
// Entra error code and description (AADSTS…) and never the credential.
type AuthError struct {
	// Code is Entra's error, such as "invalid_client", when Entra answered.
	Code string
	// Description is Entra's description or the local failure, on one line.
	Description string
}

// Error returns a short, secret-free description.
func (e *AuthError) Error() string {
	if e.Code != "" {
		return "graph token: " + e.Code + ": " + e.Description
	}
	return "graph token: " + e.Description
}

// callInfo holds what the recorder saw of one call's final HTTP response.
type callInfo struct {
	status int
	header http.Header
}

type callInfoKey struct{}

// recorder is the innermost middleware: it notes the status and headers of
// the response into the call's callInfo, whatever kiota makes of the body.
type recorder struct{}

// Intercept passes the request on and records the response.
func (recorder) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if ci, ok := req.Context().Value(callInfoKey{}).(*callInfo); ok && resp != nil {
		ci.status, ci.header = resp.StatusCode, resp.Header.Clone()
	}
	return resp, err
}

// begin prepares the context of one call: its timeout and its callInfo.
func (c *Client) begin(ctx context.Context) (context.Context, *callInfo, context.CancelFunc) {
	ci := &callInfo{}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, callInfoKey{}, ci), c.timeout)
	return ctx, ci, cancel
}

// classify turns the outcome of one call into bridge's typed errors:
//   - 429: *bridge.ThrottledError with the Retry-After wait;
//   - 408, 5xx, 401, network errors, timeouts: *bridge.TransientError, and
//     bridge.ErrUnanswered too when the call went out and no answer came
//     (a timeout, a broken connection, a 504);
//   - token failures: *bridge.TransientError wrapping *AuthError, because a
//     credential fix makes them pass and users must not be parked for them;
//   - any other 4xx (400, 403, 404, …): *bridge.PermanentError.
func (c *Client) classify(op string, err error, ci *callInfo) error {
	if err == nil {
		return nil
	}
	if ci.status >= 400 {
		ge := &GraphError{Op: op, Status: ci.status}
		var oe *odataerrors.ODataError
		if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
			if p := oe.GetErrorEscaped().GetCode(); p != nil {
				ge.Code = *p
			}
			if p := oe.GetErrorEscaped().GetMessage(); p != nil {
				ge.Message = firstLine(*p)
			}
		}
		switch s := ci.status; {
		case s == http.StatusTooManyRequests:
			return &bridge.ThrottledError{RetryAfter: c.retryAfter(ci.header), Err: ge}
		case s == http.StatusGatewayTimeout:
			// Graph's front end gave up waiting; the call may still be applied.
			return &bridge.TransientError{Reason: ge.Error(), Err: errors.Join(ge, bridge.ErrUnanswered)}
		case s == http.StatusRequestTimeout || s >= 500:
			return &bridge.TransientError{Reason: ge.Error(), Err: ge}
		case s == http.StatusUnauthorized:
			return &bridge.TransientError{Reason: ge.Error() + " (token rejected; check the tenant and the app registration)", Err: ge}
		case s == http.StatusForbidden:
			return &bridge.PermanentError{Reason: ge.Error() + " (" + permissionHint(op) + ")", Err: ge}
		case s == http.StatusNotFound:
			return &bridge.PermanentError{Reason: ge.Error(), Err: errors.Join(ge, bridge.ErrNotFound)}
		default:
			return &bridge.PermanentError{Reason: ge.Error(), Err: ge}
		}
	}
	if ae := authError(err); ae != nil {
		return &bridge.TransientError{Reason: ae.Error(), Err: ae}
	}
	if ci.status != 0 {
		// A 2xx/3xx answer whose handling failed (for example an unreadable body).
		return &bridge.TransientError{Reason: fmt.Sprintf("graph %s: %d: %s", op, ci.status, firstLine(err.Error())), Err: err}
	}
	reason := "network error"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timed out"
	case errors.Is(err, context.Canceled):
		reason = "canceled"
	}
	te := &bridge.TransientError{Reason: fmt.Sprintf("graph %s: %s: %s", op, reason, firstLine(err.Error())), Err: err}
	if dial := (*net.OpError)(nil); !errors.As(err, &dial) || dial.Op != "dial" {
		// The call went out and no answer came: Graph may still apply it.
		// (With no connection made, it never went out.)
		te.Err = errors.Join(err, bridge.ErrUnanswered)
	}
	return te
}

// permissionHint names the application permission a call needs.
func permissionHint(op string) string {
	switch op {
	case opSetStatus:
		return "the app needs the application permission Presence.ReadWrite.All with admin consent"
	case opGetPresences:
		return "the app needs the application permission Presence.Read.All or Presence.ReadWrite.All with admin consent"
	}
	return "the app needs the application permission User.Read.All with admin consent"
}

// retryAfter reads Retry-After as seconds or an HTTP date; it falls back to
// the default when absent or unreadable, is at least one second and at most maxRetryAfter.
// See https://learn.microsoft.com/graph/throttling.
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	d := c.defaultRetryAfter
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(c.now())
	}
	return min(max(d, time.Second), maxRetryAfter)
}

// authError extracts a secret-free description from an azidentity failure, or nil.
func authError(err error) *AuthError {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		if afe.RawResponse != nil {
			if ae := aadError(afe.RawResponse); ae != nil {
				return ae
			}
			return &AuthError{Description: fmt.Sprintf("authority answered %d", afe.RawResponse.StatusCode)}
		}
		return &AuthError{Description: firstLine(afe.Error())}
	}
	var nr interface{ NonRetriable() }
	if errors.As(err, &nr) {
		// azidentity's "credential unavailable" errors (managed identity, workload identity).
		return &AuthError{Description: firstLine(err.Error())}
	}
	return nil
}

// aadError reads Entra's OAuth error body: {"error": "...", "error_description": "AADSTS...: ..."}.
func aadError(resp *http.Response) *AuthError {
	b, err := azruntime.Payload(resp)
	if err != nil {
		return nil
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(b, &body) != nil || body.Error == "" {
		return nil
	}
	desc := firstLine(body.Description)
	// Drop the trace, correlation and time stamps Entra appends.
	if i := strings.Index(desc, " Trace ID:"); i > 0 {
		desc = desc[:i]
	}
	return &AuthError{Code: body.Error, Description: desc}
}
