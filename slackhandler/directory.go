package slackhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// normalizeAPIURL defaults an empty Web API base URL and ends it with "/".
func normalizeAPIURL(apiURL string) string {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	return apiURL
}

// slackbotID is Slackbot's user id, which Slack does not mark as a bot.
const slackbotID = "USLACKBOT"

// ErrAuth is wrapped by errors that mean Slack refused a token or its scopes.
var ErrAuth = errors.New("slack refused the token")

// AuthError says why Slack refused the bot token ("invalid_auth",
// "token_revoked", "missing_scope", …); it never carries the token.
type AuthError struct {
	// Code is Slack's error code.
	Code string
	// Needed is the scope Slack asked for, on missing_scope.
	Needed string
	// Setting names the token Slack refused (SLACK_BOT_TOKEN when empty).
	Setting string
}

func (e *AuthError) Error() string {
	setting := e.Setting
	if setting == "" {
		setting = "SLACK_BOT_TOKEN"
	}
	msg := "slack refused " + setting + ": " + e.Code
	if e.Needed != "" {
		msg += " (needs scope " + e.Needed + ")"
	}
	return msg + "; check " + setting + " and the app's scopes"
}

// Is makes errors.Is(err, ErrAuth) true for every AuthError.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }

// DirectoryOption configures a Directory.
type DirectoryOption func(*Directory)

// WithHTTPClient sets the HTTP client for Web API calls (default: 10 s timeout).
func WithHTTPClient(c *http.Client) DirectoryOption { return func(d *Directory) { d.http = c } }

// WithDirectoryLogger sets the directory's logger (default: discard).
func WithDirectoryLogger(l *slog.Logger) DirectoryOption { return func(d *Directory) { d.log = l } }

// WithDirectoryClock sets the clock that times Slack's Retry-After (default time.Now).
func WithDirectoryClock(now func() time.Time) DirectoryOption {
	return func(d *Directory) { d.now = now }
}

// Directory reads users from Slack's Web API with the bot token.
type Directory struct {
	token  string
	apiURL string
	api    *slack.Client
	http   *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu sync.Mutex
	// throttledUntil is when users.info may be called again after a 429:
	// every lookup waits out Slack's Retry-After, not only the one that got it.
	throttledUntil time.Time
	// inst is auth.test's last answer, learnt once: a token's install does not change.
	inst *installInfo
}

// NewDirectory returns a directory that calls the Web API at apiURL (DefaultAPIURL when empty).
func NewDirectory(botToken, apiURL string, opts ...DirectoryOption) *Directory {
	d := &Directory{
		http: &http.Client{Timeout: 10 * time.Second},
		log:  slog.New(slog.DiscardHandler),
		now:  time.Now,
	}
	for _, o := range opts {
		o(d)
	}
	apiURL = normalizeAPIURL(apiURL)
	d.token, d.apiURL = botToken, apiURL
	// No slack-go retries: a 429 goes back to the caller as a ThrottledError,
	// so the one retry layer (the bridge's) decides.
	d.api = slack.New(botToken, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(d.http))
	return d
}

// SlackUser reads one user with users.info. An unknown user is bridge.ErrNotFound,
// a 429 is a *bridge.ThrottledError, a refused token is an *AuthError and
// anything else is a *bridge.TransientError.
//
// users.info takes no team_id, with an org-wide token too: its arguments
// are user and include_locale alone (https://docs.slack.dev/reference/methods/users.info),
// it is not among the methods that need one
// (https://api.slack.com/enterprise/apps/changes-apis), and user ids are
// unique across the org.
func (d *Directory) SlackUser(ctx context.Context, id string) (bridge.SlackUser, error) {
	d.mu.Lock()
	wait := d.throttledUntil.Sub(d.now())
	d.mu.Unlock()
	if wait > 0 {
		return bridge.SlackUser{}, &bridge.ThrottledError{RetryAfter: wait, Err: errors.New("slack users.info: still rate limited")}
	}
	u, err := d.api.GetUserInfoContext(ctx, id)
	if err != nil {
		err = classify("users.info", err)
		var thr *bridge.ThrottledError
		if errors.As(err, &thr) {
			d.mu.Lock()
			if until := d.now().Add(thr.RetryAfter); until.After(d.throttledUntil) {
				d.throttledUntil = until
			}
			d.mu.Unlock()
		}
		d.log.Debug("slack users.info failed", "user", id, "err", err)
		return bridge.SlackUser{}, err
	}
	return slackUser(u), nil
}

// AuthTest calls auth.test and reports the bot's team id, its user id and the
// token's scopes (from the X-OAuth-Scopes header).
func (d *Directory) AuthTest(ctx context.Context) (team, user string, scopes []string, err error) {
	r, err := d.api.AuthTestContext(ctx)
	if err != nil {
		err = classify("auth.test", err)
		d.log.Debug("slack auth.test failed", "err", err)
		return "", "", nil, err
	}
	for _, s := range strings.Split(r.Header.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return r.TeamID, r.UserID, scopes, nil
}

// Installed calls auth.test and reports where the bot token is installed:
// the workspace (T…) and, on Enterprise Grid, the org (E…). An org-wide
// install reports the org and may have no workspace. The answer is kept
// for Users, which then needs no auth.test of its own.
func (d *Directory) Installed(ctx context.Context) (teamID, enterpriseID string, err error) {
	var r struct {
		OK                  bool    `json:"ok"`
		Error               string  `json:"error"`
		Needed              string  `json:"needed"`
		TeamID              lstring `json:"team_id"`
		EnterpriseID        lstring `json:"enterprise_id"`
		IsEnterpriseInstall lbool   `json:"is_enterprise_install"`
	}
	if err := d.call(ctx, "auth.test", &r); err != nil {
		d.log.Debug("slack auth.test failed", "err", err)
		return "", "", err
	}
	if !r.OK {
		return "", "", classify("auth.test", slack.SlackErrorResponse{Err: r.Error, Needed: r.Needed})
	}
	teamID, enterpriseID = splitOrg(string(r.TeamID), string(r.EnterpriseID))
	if bool(r.IsEnterpriseInstall) && enterpriseID == "" {
		return "", "", &bridge.TransientError{Reason: "slack auth.test: an org-wide install without an enterprise_id"}
	}
	d.mu.Lock()
	d.inst = &installInfo{team: teamID, enterprise: enterpriseID, orgWide: bool(r.IsEnterpriseInstall)}
	d.mu.Unlock()
	return teamID, enterpriseID, nil
}

// InstalledOrg names whose users the installation covers: the org (E…) for
// an org-wide Enterprise Grid install, else the workspace (T…).
func (d *Directory) InstalledOrg(ctx context.Context) (string, error) {
	team, enterprise, err := d.Installed(ctx)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	orgWide := d.inst != nil && d.inst.orgWide
	d.mu.Unlock()
	if orgWide || team == "" {
		return enterprise, nil
	}
	return team, nil
}

// call POSTs a Web API method without arguments with the bot token and
// decodes its JSON answer into v.
func (d *Directory) call(ctx context.Context, method string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.apiURL+method, strings.NewReader(""))
	if err != nil {
		return &bridge.TransientError{Reason: "slack " + method + ": bad API URL"}
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("slack %s: %w", method, ctx.Err())
		}
		// The error names the URL, never the token.
		return &bridge.TransientError{Reason: "slack " + method + ": " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		return &bridge.ThrottledError{RetryAfter: time.Duration(secs) * time.Second, Err: fmt.Errorf("slack %s: HTTP 429", method)}
	}
	if resp.StatusCode != http.StatusOK {
		return &bridge.TransientError{Reason: fmt.Sprintf("slack %s: HTTP %d", method, resp.StatusCode)}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxBodyBytes)).Decode(v); err != nil {
		return &bridge.TransientError{Reason: "slack " + method + ": unreadable answer", Err: err}
	}
	return nil
}

// maxThrottles is how many 429s in a row Users waits out before giving up.
const maxThrottles = 5

// Users pages through Slack's directory (users.list) and calls fn with each
// user and their current status, stopping at fn's first error. A 429 is
// waited out (Retry-After, at most maxThrottles times in a row) and the
// listing resumes where it stopped. With an org-wide Enterprise Grid
// install it lists every workspace the app was added to (see orgUsers).
func (d *Directory) Users(ctx context.Context, fn func(u bridge.SlackUser, s bridge.Status) error) error {
	inst, err := d.install(ctx)
	if err != nil {
		return err
	}
	if inst.orgWide {
		return d.orgUsers(ctx, fn)
	}
	return d.listUsers(ctx, "", fn)
}

// listUsers pages users.list, for workspace team when it is not empty.
func (d *Directory) listUsers(ctx context.Context, team string, fn func(u bridge.SlackUser, s bridge.Status) error) error {
	opts := []slack.GetUsersOption{slack.GetUsersOptionLimit(200), slack.GetUsersOptionIncludeLocale(false)}
	if team != "" {
		opts = append(opts, slack.GetUsersOptionTeamID(team))
	}
	p := d.api.GetUsersPaginated(opts...)
	throttles := 0
	for {
		next, err := p.Next(ctx)
		if p.Done(err) {
			return nil
		}
		if err != nil {
			if werr := d.waitThrottle(ctx, "users.list", classify("users.list", err), &throttles); werr != nil {
				return werr
			}
			continue
		}
		throttles = 0
		for i := range next.Users {
			u := &next.Users[i]
			if err := fn(slackUser(u), StatusFromProfile(profileOf(u))); err != nil {
				return err
			}
		}
		p = next
	}
}

// waitThrottle waits out err's Retry-After when err is a 429 and fewer than
// maxThrottles came in a row (counted in throttles), returning nil to try
// again; otherwise it returns the error to give up with.
func (d *Directory) waitThrottle(ctx context.Context, method string, err error, throttles *int) error {
	var thr *bridge.ThrottledError
	if !errors.As(err, &thr) || *throttles >= maxThrottles {
		return err
	}
	*throttles++
	d.log.Debug("slack "+method+" throttled; waiting", "retry_after", thr.RetryAfter)
	if werr := bridge.Sleep(ctx, thr.RetryAfter); werr != nil {
		return fmt.Errorf("slack %s: %w", method, werr)
	}
	return nil
}

// Current reads a user's Slack status now (users.info), as a change dated
// now, so that a resumed mirror starts from it. Like SlackUser it sends no
// team_id, which users.info does not take.
func (d *Directory) Current(ctx context.Context, id string) (bridge.Change, error) {
	u, err := d.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return bridge.Change{}, classify("users.info", err)
	}
	su := slackUser(u)
	return bridge.Change{UserID: su.ID, TeamID: su.TeamID, EnterpriseID: su.EnterpriseID,
		Status: StatusFromProfile(profileOf(u)), EventTime: d.now(), Deactivated: su.Deleted}, nil
}

// profileOf converts slack-go's profile to the fields StatusFromProfile reads.
func profileOf(u *slack.User) Profile {
	p := Profile{
		StatusText:       u.Profile.StatusText,
		StatusEmoji:      u.Profile.StatusEmoji,
		StatusExpiration: int64(u.Profile.StatusExpiration),
		Email:            u.Profile.Email,
	}
	for _, d := range u.Profile.StatusEmojiDisplayInfo {
		p.StatusEmojiDisplayInfo = append(p.StatusEmojiDisplayInfo, EmojiDisplayInfo{
			EmojiName: d.EmojiName, DisplayAlias: d.DisplayAlias, Unicode: d.Unicode, DisplayURL: d.DisplayURL,
		})
	}
	return p
}

func slackUser(u *slack.User) bridge.SlackUser {
	team, enterprise := splitOrg(u.TeamID, u.Enterprise.EnterpriseID)
	return bridge.SlackUser{
		ID:           u.ID,
		TeamID:       team,
		EnterpriseID: enterprise,
		Email:        u.Profile.Email,
		Deleted:      u.Deleted,
		Bot:          u.IsBot || u.ID == slackbotID,
		Guest:        u.IsRestricted || u.IsUltraRestricted,
		External:     u.IsStranger,
	}
}

// classify turns a slack-go error into the bridge's error kinds.
func classify(method string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &bridge.ThrottledError{RetryAfter: rl.RetryAfter, Err: err}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "user_not_found", "users_not_found", "user_not_visible":
			return fmt.Errorf("slack %s: %s: %w", method, se.Err, bridge.ErrNotFound)
		case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
			"missing_scope", "no_permission", "not_allowed_token_type", "ekm_access_denied":
			return &AuthError{Code: se.Err, Needed: se.Needed}
		case "ratelimited":
			return &bridge.ThrottledError{Err: err}
		}
		return &bridge.TransientError{Reason: "slack " + method + ": " + se.Err, Err: err}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code == http.StatusTooManyRequests {
			return &bridge.ThrottledError{Err: err}
		}
		return &bridge.TransientError{Reason: fmt.Sprintf("slack %s: HTTP %d", method, sc.Code), Err: err}
	}
	return &bridge.TransientError{Reason: "slack " + method + ": " + err.Error(), Err: err}
}

// OpenConnection asks Slack for a Socket Mode WebSocket URL
// (apps.connections.open) with an app-level token (xapp-…, scope
// connections:write). The URL carries a one-time ticket: do not log it.
func OpenConnection(ctx context.Context, appToken, apiURL string) (string, error) {
	apiURL = normalizeAPIURL(apiURL)
	api := slack.New("", slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(apiURL),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	_, url, err := api.StartSocketModeContext(ctx)
	if err != nil {
		err = classify("apps.connections.open", err)
		var ae *AuthError
		if errors.As(err, &ae) {
			ae.Setting = "SLACK_APP_TOKEN"
		}
		return "", err
	}
	return url, nil
}
