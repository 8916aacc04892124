package slackhandler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

// AdminTokenSetting names the Slack admin's user token in errors.
const AdminTokenSetting = "SLACK_ADMIN_USER_TOKEN"

// MaxStatusText is the longest status_text users.profile.set takes, in
// characters; a longer one is refused with too_long
// (https://docs.slack.dev/reference/methods/users.profile.set).
const MaxStatusText = 100

// defaultRetryAfter is the wait after a 429 or ratelimited answer that
// names none: Slack's profile write limits are per minute.
const defaultRetryAfter = time.Minute

// AdminOption configures a StatusWriter or CheckAdminToken.
type AdminOption func(*adminConfig)

type adminConfig struct {
	apiURL string
	http   *http.Client
	log    *slog.Logger
	now    func() time.Time
}

// WithAdminAPIURL sets Slack's Web API base URL (default DefaultAPIURL).
func WithAdminAPIURL(u string) AdminOption { return func(c *adminConfig) { c.apiURL = u } }

// WithAdminHTTPClient sets the HTTP client for Web API calls (default: 10 s timeout).
func WithAdminHTTPClient(h *http.Client) AdminOption { return func(c *adminConfig) { c.http = h } }

// WithAdminLogger sets the logger (default: discard).
func WithAdminLogger(l *slog.Logger) AdminOption { return func(c *adminConfig) { c.log = l } }

// WithAdminClock sets the clock that turns an HTTP-date Retry-After into a wait (default time.Now).
func WithAdminClock(now func() time.Time) AdminOption { return func(c *adminConfig) { c.now = now } }

// newAdminClient checks that token is a user token and builds a slack-go
// client for it that lets 429s through to the caller (no slack-go retries)
// and keeps each 429's Retry-After for the classifier.
func newAdminClient(token string, opts []AdminOption) (*slack.Client, adminConfig, error) {
	c := adminConfig{http: &http.Client{Timeout: 10 * time.Second}, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if err := checkUserToken(token); err != nil {
		return nil, c, err
	}
	c.apiURL = normalizeAPIURL(c.apiURL)
	hc := *c.http
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = retryAfterTransport{base: base}
	api := slack.New(token, slack.OptionAPIURL(c.apiURL), slack.OptionHTTPClient(&hc))
	return api, c, nil
}

// checkUserToken refuses anything but a user token (xoxp-…), naming only
// the kind of token it got.
func checkUserToken(token string) error {
	if token == "" {
		return fmt.Errorf("%s is empty; set it to a Slack admin's user token (xoxp-…) with the users.profile:write scope", AdminTokenSetting)
	}
	if strings.HasPrefix(token, "xoxp-") && !strings.ContainsAny(token, " \t\r\n") {
		return nil
	}
	kind := "not a Slack token"
	switch {
	case strings.HasPrefix(token, "xoxb-"):
		kind = "a bot token (xoxb-…)"
	case strings.HasPrefix(token, "xapp-"):
		kind = "an app-level token (xapp-…)"
	case strings.HasPrefix(token, "xoxe"):
		kind = "a refresh or configuration token (xoxe…)"
	case strings.HasPrefix(token, "xoxp-"):
		kind = "a user token with spaces in it"
	}
	return fmt.Errorf("%s is %s; it must be a Slack admin's user token (xoxp-…) with the users.profile:write scope", AdminTokenSetting, kind)
}

// retryAfterKey carries a *string in a request's context into which
// retryAfterTransport stores a 429's Retry-After header, in whatever form
// it came (slack-go reads only whole seconds).
type retryAfterKey struct{}

type retryAfterTransport struct{ base http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if p, ok := req.Context().Value(retryAfterKey{}).(*string); ok {
			*p = resp.Header.Get("Retry-After")
		}
	}
	return resp, err
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date; a
// missing or unreadable one is defaultRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && secs < 1e6 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return defaultRetryAfter
}

// StatusWriter sets Slack users' statuses with a Slack admin's user token
// (users.profile.set with the user argument).
type StatusWriter struct {
	api   *slack.Client
	token string
	log   *slog.Logger
	now   func() time.Time
}

var _ bridge.SlackStatusWriter = (*StatusWriter)(nil)

// NewStatusWriter returns a writer for token, which must be a user token
// (xoxp-…) of a Slack admin or owner with the users.profile:write scope.
func NewStatusWriter(token string, opts ...AdminOption) (*StatusWriter, error) {
	api, c, err := newAdminClient(token, opts)
	if err != nil {
		return nil, err
	}
	return &StatusWriter{api: api, token: token, log: c.log, now: c.now}, nil
}

// slackUserID matches a Slack user id (U… or W…).
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)

// SetUserStatus sets userID's status to s with users.profile.set
// (https://docs.slack.dev/reference/methods/users.profile.set). Text longer
// than Slack takes is cut to MaxStatusText characters without splitting an
// emoji; an empty text and emoji clear the status (and its expiration).
//
// A 429 or ratelimited answer is a *bridge.ThrottledError with Slack's
// Retry-After. A refusal for good is a *bridge.PermanentError whose Reason
// names Slack's error; when the token itself is refused (revoked, missing
// scope, not an admin's, …) it also wraps an *AuthError, so that
// errors.Is(err, ErrAuth) tells a token problem from one user's. Anything
// else is a *bridge.TransientError.
func (w *StatusWriter) SetUserStatus(ctx context.Context, userID string, s bridge.SlackStatus) error {
	if !slackUserID.MatchString(userID) {
		// Without a valid user, users.profile.set would change the admin's own status.
		return &bridge.PermanentError{Reason: fmt.Sprintf("slack users.profile.set: %q is not a Slack user id", userID)}
	}
	s.Emoji = strings.TrimSpace(s.Emoji)
	if s.Emoji != "" && !shortcode.MatchString(s.Emoji) {
		return &bridge.PermanentError{Reason: fmt.Sprintf("slack users.profile.set: emoji %q is not a shortcode such as :palm_tree:", s.Emoji)}
	}
	s.Text = bridge.Truncate(strings.TrimSpace(s.Text), MaxStatusText)
	if s.Expiration < 0 || s.Clear() {
		s.Expiration = 0
	}
	var retryAfter string
	ctx = context.WithValue(ctx, retryAfterKey{}, &retryAfter)
	err := w.api.SetUserCustomStatusContextWithUser(ctx, userID, s.Text, s.Emoji, s.Expiration)
	if err == nil {
		return nil
	}
	err = classifyProfileSet(err, retryAfter, w.now(), w.token)
	w.log.Debug("slack users.profile.set failed", "user", userID, "err", err)
	return err
}

// tokenErrors are users.profile.set errors that refuse the token itself:
// every user's write would fail the same way.
var tokenErrors = map[string]bool{
	"not_allowed_token_type": true, "missing_scope": true, "paid_only": true, "no_permission": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "not_admin": true, "access_denied": true, "ekm_access_denied": true,
	"two_factor_setup_required": true, "enterprise_is_restricted": true, "is_bot": true,
	"method_deprecated": true, "deprecated_endpoint": true, "accesslimited": true,
	"invalid_arg_name": true, "invalid_charset": true, "invalid_form_data": true,
	"invalid_post_type": true, "missing_post_type": true,
}

// userErrors are users.profile.set errors that refuse this write for this
// user: retrying the same write will not help.
var userErrors = map[string]bool{
	"cannot_update_admin_user": true, "user_not_found": true, "users_not_found": true,
	"user_not_visible": true, "not_app_admin": true, "too_long": true, "invalid_profile": true,
	"must_clear_both_status_text_and_status_emoji": true, "invalid_arguments": true,
	"profile_set_failed": true, "partial_profile_set_failed": true, "reserved_name": true,
	"user_is_bot": true, "invalid_emoji": true,
}

// classifyProfileSet turns a users.profile.set error into the bridge's
// error kinds; retryAfter is the 429's Retry-After header, if one came.
func classifyProfileSet(err error, retryAfter string, now time.Time, token string) error {
	const method = "slack users.profile.set"
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", method, err)
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return &bridge.ThrottledError{RetryAfter: rl.RetryAfter, Err: errors.New(method + ": HTTP 429")}
	case retryAfter != "" || (errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests):
		return &bridge.ThrottledError{RetryAfter: parseRetryAfter(retryAfter, now), Err: errors.New(method + ": HTTP 429")}
	case errors.As(err, &sc):
		return &bridge.TransientError{Reason: fmt.Sprintf("%s: HTTP %d", method, sc.Code)}
	case errors.As(err, &se):
		code := se.Err
		switch {
		case code == "ratelimited" || code == "rate_limited":
			return &bridge.ThrottledError{RetryAfter: defaultRetryAfter, Err: errors.New(method + ": ratelimited")}
		case tokenErrors[code]:
			ae := &AuthError{Code: code, Needed: se.Needed, Setting: AdminTokenSetting}
			reason := method + ": " + code
			if se.Needed != "" {
				reason += " (needs scope " + se.Needed + ")"
			}
			return &bridge.PermanentError{Reason: reason + "; check " + AdminTokenSetting, Err: ae}
		case code == "user_not_found" || code == "users_not_found" || code == "user_not_visible":
			return &bridge.PermanentError{Reason: method + ": " + code, Err: fmt.Errorf("%s: %s: %w", method, code, bridge.ErrNotFound)}
		case userErrors[code]:
			return &bridge.PermanentError{Reason: method + ": " + code, Err: errors.New(method + ": " + code)}
		}
		return &bridge.TransientError{Reason: method + ": " + redact(code, token)}
	}
	// Network errors name the URL; the token travels in the body, but make sure.
	return &bridge.TransientError{Reason: method + ": " + redact(err.Error(), token)}
}

// redact removes token from s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// UserStatus reads userID's current status with users.profile.get (scope
// users.profile:read), for a Teams message first seen when the bridge
// starts: it goes to Slack only when Slack shows no status. Errors are
// classified as SetUserStatus's are; the token never shows.
func (w *StatusWriter) UserStatus(ctx context.Context, userID string) (bridge.SlackStatus, error) {
	if !slackUserID.MatchString(userID) {
		return bridge.SlackStatus{}, &bridge.PermanentError{Reason: fmt.Sprintf("slack users.profile.get: %q is not a Slack user id", userID)}
	}
	var retryAfter string
	ctx = context.WithValue(ctx, retryAfterKey{}, &retryAfter)
	p, err := w.api.GetUserProfileContext(ctx, &slack.GetUserProfileParameters{UserID: userID})
	if err != nil {
		err = classifyProfileSet(err, retryAfter, w.now(), w.token)
		w.log.Debug("slack users.profile.get failed", "user", userID, "err", err)
		return bridge.SlackStatus{}, err
	}
	return bridge.SlackStatus{Text: p.StatusText, Emoji: p.StatusEmoji, Expiration: int64(p.StatusExpiration)}, nil
}
