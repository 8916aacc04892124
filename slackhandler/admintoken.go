package slackhandler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

// ProfileWriteScope is the scope users.profile.set needs.
const ProfileWriteScope = "users.profile:write"

// AdminTokenReport is what CheckAdminToken found out about a Slack admin's
// user token; fields it did not get to stay empty.
type AdminTokenReport struct {
	// Kind is the kind of token ("user token (xoxp)").
	Kind string
	// UserID and TeamID are the token's user and workspace (auth.test).
	UserID, TeamID string
	// Scopes are the token's scopes (the X-OAuth-Scopes header).
	Scopes []string
	// CanWriteProfiles reports whether the scopes include users.profile:write.
	CanWriteProfiles bool
	// Role is the token user's role: "primary owner", "owner", "admin" or "member".
	Role string
	// TestUser is the user whose profile was read (the token's own when none was named).
	TestUser string
	// TestStatus is that user's status as users.profile.get read it.
	TestStatus bridge.SlackStatus
}

// CheckAdminToken checks, without writing anything, that token can set
// other users' Slack statuses: it is a user token (xoxp), auth.test accepts
// it, it has users.profile:write, its user is an admin or owner (a member
// can change only their own profile), and users.profile.get reads testUser
// (the token's own user when testUser is ""). It returns what it found and,
// when something is wrong, an error naming what to fix; neither shows the token.
func CheckAdminToken(ctx context.Context, token, testUser string, opts ...AdminOption) (AdminTokenReport, error) {
	var rep AdminTokenReport
	api, _, err := newAdminClient(token, opts)
	if err != nil {
		return rep, err
	}
	rep.Kind = "user token (xoxp)"

	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		return rep, adminCallError("auth.test", err, token)
	}
	rep.UserID, rep.TeamID = auth.UserID, auth.TeamID
	for _, s := range strings.Split(auth.Header.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			rep.Scopes = append(rep.Scopes, s)
		}
	}
	rep.CanWriteProfiles = slices.Contains(rep.Scopes, ProfileWriteScope)

	var problems []error
	if !rep.CanWriteProfiles {
		problems = append(problems, fmt.Errorf("%s lacks the %s scope (it has %q): add it to the app's user token scopes and reinstall the app",
			AdminTokenSetting, ProfileWriteScope, strings.Join(rep.Scopes, ",")))
	}

	if u, err := api.GetUserInfoContext(ctx, rep.UserID); err != nil {
		problems = append(problems, adminCallError("users.info", err, token))
	} else {
		rep.Role = role(u)
		if rep.Role == "member" {
			problems = append(problems, fmt.Errorf("%s belongs to %s, a member: only an admin or owner may set other users' statuses; install the app as a workspace admin or owner",
				AdminTokenSetting, rep.UserID))
		}
	}

	rep.TestUser = testUser
	if rep.TestUser == "" {
		rep.TestUser = rep.UserID
	}
	if p, err := api.GetUserProfileContext(ctx, &slack.GetUserProfileParameters{UserID: rep.TestUser}); err != nil {
		problems = append(problems, fmt.Errorf("reading %s's profile: %w", rep.TestUser, adminCallError("users.profile.get", err, token)))
	} else {
		rep.TestStatus = bridge.SlackStatus{Text: p.StatusText, Emoji: p.StatusEmoji, Expiration: int64(p.StatusExpiration)}
	}
	return rep, errors.Join(problems...)
}

// role names a Slack user's role, taking an Enterprise Grid org role too.
func role(u *slack.User) string {
	switch {
	case u.IsPrimaryOwner || u.Enterprise.IsPrimaryOwner:
		return "primary owner"
	case u.IsOwner || u.Enterprise.IsOwner:
		return "owner"
	case u.IsAdmin || u.Enterprise.IsAdmin:
		return "admin"
	}
	return "member"
}

// adminCallError explains a failed call made with the admin token, naming
// the setting to fix and never the token.
func adminCallError(method string, err error, token string) error {
	err = classify(method, err)
	var ae *AuthError
	if errors.As(err, &ae) {
		ae.Setting = AdminTokenSetting
		return ae
	}
	if errors.Is(err, bridge.ErrNotFound) {
		return fmt.Errorf("slack %s: no such user; check the user id", method)
	}
	return errors.New(redact(err.Error(), token))
}
