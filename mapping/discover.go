package mapping

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/statusbridge/statusbridge/bridge"
)

// Discover runs discovery for one Slack user without storing anything. It
// returns the entry that would be stored and what discovery concluded:
// Discovered (Source email with the Entra id), or Miss, Ambiguous or Skipped
// with a negative entry (SourceNone, SourceSkipped) saying why. explain, when
// set, hears each step. An error means discovery could not finish
// (throttled, unreachable) and nothing should be cached.
func (r *Resolver) Discover(ctx context.Context, slackUserID string, explain func(string)) (bridge.Mapping, Outcome, error) {
	say := func(format string, args ...any) {
		if explain != nil {
			explain(fmt.Sprintf(format, args...))
		}
	}
	now := r.o.Now().UTC()
	result := func(src bridge.MappingSource, entra, detail string) bridge.Mapping {
		return bridge.Mapping{SlackUserID: slackUserID, EntraID: entra, Source: src, Detail: detail, FoundAt: now}
	}
	skipped := func(why string) (bridge.Mapping, Outcome, error) {
		return result(bridge.SourceSkipped, "", why), Skipped, nil
	}
	if !r.Discovers() {
		return bridge.Mapping{}, 0, errors.New("discovery is off: it needs SLACK_BOT_TOKEN and the Azure settings")
	}
	if slackUserID == SlackbotID {
		say("Slackbot is never mirrored")
		return skipped("Slackbot")
	}
	u, err := r.o.Directory.SlackUser(ctx, slackUserID)
	if errors.Is(err, bridge.ErrNotFound) {
		say("Slack users.info: no such user")
		return skipped("not found in Slack")
	}
	if err != nil {
		say("Slack users.info failed: %v", err)
		return bridge.Mapping{}, 0, fmt.Errorf("slack users.info: %w", err)
	}
	if u.ID == "" {
		u.ID = slackUserID
	}
	say("Slack users.info: team %s, email %q, bot %v, deleted %v, guest %v, external %v, enterprise %s",
		u.TeamID, u.Email, u.Bot, u.Deleted, u.Guest, u.External, orNone(u.EnterpriseID))
	if ok, why := Mirrored(u, r.o.AllowOrg); !ok {
		say("not mirrored: %s", why)
		return skipped(why)
	}
	addr := RewriteDomain(u.Email, r.o.DomainMap)
	if addr != strings.ToLower(u.Email) {
		say("domain rewrite: %s → %s", u.Email, addr)
	}
	pick := func(how string, us []bridge.EntraUser) (bridge.Mapping, Outcome, bool) {
		switch len(us) {
		case 0:
			say("Graph %s: no match", how)
			return bridge.Mapping{}, 0, false
		case 1:
			if us[0].AccountEnabled != nil && !*us[0].AccountEnabled {
				say("Graph %s: %s, but the account is disabled", how, us[0].ID)
				return result(bridge.SourceSkipped, "", "Entra account "+us[0].ID+" is disabled"), Skipped, true
			}
			say("Graph %s: %s (%s)", how, us[0].ID, us[0].UserPrincipalName)
			return result(bridge.SourceEmail, us[0].ID, how+" "+addr), Discovered, true
		}
		ids := make([]string, len(us))
		for i, x := range us {
			ids[i] = x.ID
		}
		say("Graph %s: %d users match: %s", how, len(us), strings.Join(ids, ", "))
		return result(bridge.SourceNone, "", fmt.Sprintf("ambiguous: %d Entra users match %s by %s", len(us), addr, how)), Ambiguous, true
	}
	eu, err := r.o.Finder.UserByID(ctx, addr)
	switch {
	case err == nil:
		if m, o, ok := pick("upn", []bridge.EntraUser{eu}); ok {
			return m, o, nil
		}
	case errors.Is(err, bridge.ErrNotFound):
		say("Graph upn: no user %s", addr)
	default:
		say("Graph upn lookup failed: %v", err)
		return bridge.Mapping{}, 0, fmt.Errorf("graph user lookup: %w", err)
	}
	us, err := r.o.Finder.UsersByMail(ctx, addr)
	if err != nil {
		say("Graph mail lookup failed: %v", err)
		return bridge.Mapping{}, 0, fmt.Errorf("graph mail lookup: %w", err)
	}
	if m, o, ok := pick("mail", us); ok {
		return m, o, nil
	}
	us, err = r.o.Finder.UsersByProxyAddress(ctx, addr)
	if err != nil {
		say("Graph proxyAddresses lookup failed: %v", err)
		return bridge.Mapping{}, 0, fmt.Errorf("graph proxyAddresses lookup: %w", err)
	}
	if m, o, ok := pick("proxyAddresses", us); ok {
		return m, o, nil
	}
	return result(bridge.SourceNone, "", "no Entra user with UPN, mail or proxy address "+addr), Miss, nil
}
