package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/graphsync"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store"
)

// neededScopes are the bot scopes the bridge uses.
var neededScopes = []string{"users:read", "users:read.email", "commands"}

// doctor prints one line per check and counts failures.
type doctor struct {
	w     io.Writer
	fails int
}

func (d *doctor) pass(check, format string, args ...any) {
	fmt.Fprintf(d.w, "PASS  %-14s %s\n", check, fmt.Sprintf(format, args...))
}

func (d *doctor) warn(check, format string, args ...any) {
	fmt.Fprintf(d.w, "WARN  %-14s %s\n", check, fmt.Sprintf(format, args...))
}

func (d *doctor) fail(check, fix, format string, args ...any) {
	d.fails++
	fmt.Fprintf(d.w, "FAIL  %-14s %s\n      fix: %s\n", check, fmt.Sprintf(format, args...), fix)
}

// doctorLine is doctor's command line: every setting.
var doctorLine = cmdLine{name: "doctor", settings: allSettings, azure: true}

func runDoctor(ctx context.Context, env *runEnv, args []string) error {
	out := newRedactor(env.stdout, secretValues(args, env.getenv))
	d := &doctor{w: out}
	cfg, pos, err := doctorLine.parse(env, args)
	if isFlagHelp(err) {
		return err
	}
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	if err != nil {
		d.fail("config", "correct the setting; `statusbridge --help` documents each one", "%v", err)
		return fmt.Errorf("%d check(s) failed", d.fails)
	}
	if err := wantArgs("doctor", pos, 0, "Usage: statusbridge doctor [flags]"); err != nil {
		return err
	}
	d.checkConfig(cfg)
	d.checkSlack(ctx, cfg)
	d.checkTwoWay(ctx, cfg)
	d.checkGraph(ctx, cfg, env.getenv)
	d.checkStore(ctx, cfg)
	d.checkIntake(ctx, cfg)
	if d.fails > 0 {
		return fmt.Errorf("%d check(s) failed", d.fails)
	}
	fmt.Fprintln(out, "all checks passed")
	return nil
}

func (d *doctor) checkConfig(cfg *Config) {
	secret, app, bot := cfg.SlackSigningSecret, cfg.SlackAppToken, cfg.SlackBotToken
	switch {
	case secret == "" && app == "":
		d.fail("config", "set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN and SLACK_BOT_TOKEN (Socket Mode)", "no Slack intake is configured")
	case app != "" && bot == "":
		d.fail("config", "set SLACK_BOT_TOKEN (OAuth & Permissions → Bot User OAuth Token)", "Socket Mode needs the bot token too")
	default:
		var modes []string
		if secret != "" {
			modes = append(modes, "HTTP on "+cfg.Listen)
		}
		if app != "" {
			modes = append(modes, "Socket Mode")
		}
		store := "embedded store in " + cfg.DataDir
		if cfg.RedisURL != "" {
			store = "Redis"
		}
		d.pass("config", "intake: %s; %s; Graph %s", strings.Join(modes, " and "), store, cfg.GraphURL)
		d.pass("cloud", "%s", cfg.cloudInUse())
		for _, w := range cfg.warnings {
			d.warn("cloud", "%s", w)
		}
	}
}

func (d *doctor) checkSlack(ctx context.Context, cfg *Config) {
	tok := cfg.SlackBotToken
	if tok == "" {
		d.warn("slack auth", "SLACK_BOT_TOKEN is not set: no Socket Mode and no email discovery (admin-set mappings only)")
		return
	}
	dir := slackhandler.NewDirectory(tok, cfg.SlackAPIURL)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	team, user, scopes, err := dir.AuthTest(ctx)
	if err != nil {
		d.fail("slack auth", "set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (OAuth & Permissions), and reinstall the app if it was revoked", "auth.test failed: %v", err)
		return
	}
	d.pass("slack auth", "team %s, bot user %s", team, user)
	var missing []string
	for _, s := range neededScopes {
		if !slices.Contains(scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		d.fail("slack scopes", "add the bot scopes "+strings.Join(missing, ", ")+" under OAuth & Permissions (or use slack-app/manifest-*.yaml) and reinstall the app",
			"missing %s (granted: %s)", strings.Join(missing, ", "), strings.Join(scopes, ", "))
		return
	}
	d.pass("slack scopes", "%s granted", strings.Join(neededScopes, ", "))
}

func (d *doctor) checkGraph(ctx context.Context, cfg *Config, getenv func(string) string) {
	if cfg.DryRun {
		d.warn("graph", "dry run is on (STATUSBRIDGE_DRY_RUN): Teams updates are logged, not sent")
	}
	client, err := newFinder(cfg, getenv)
	if err != nil {
		d.fail("graph", "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET", "%v", err)
		return
	}
	if client == nil {
		d.warn("graph", "no Azure settings: the bridge runs in dry run until AZURE_TENANT_ID, AZURE_CLIENT_ID and a certificate or secret are set")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := client.Probe(ctx); err != nil {
		fix := "grant the application permissions Presence.ReadWrite.All and User.Read.All with admin consent (Entra admin center → App registrations → API permissions), and check the tenant, client id and credential"
		var ae *graphsync.AuthError
		if errors.As(err, &ae) {
			// No token: permissions are not the problem yet.
			fix = "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH against the app registration (Entra admin center → App registrations → Certificates & secrets), and AZURE_AUTHORITY_HOST for national clouds"
		}
		d.fail("graph", fix, "%v", err)
		return
	}
	d.pass("graph", "token obtained and a Graph read succeeded at %s", cfg.GraphURL)

	// The token lists the application permissions granted: check the one that
	// sets status messages without writing anyone's status.
	roles, known, err := client.Roles(ctx)
	switch {
	case err != nil:
		d.warn("graph perms", "could not read the token's permissions: %v", err)
	case !known:
		d.warn("graph perms", "the token does not list its permissions; Presence.ReadWrite.All is checked only when the first status is set")
	default:
		var missing []string
		for _, need := range []string{"Presence.ReadWrite.All", "User.Read.All"} {
			if !slices.Contains(roles, need) {
				missing = append(missing, need)
			}
		}
		if len(missing) > 0 {
			d.fail("graph perms", "add the Microsoft Graph application permission(s) "+strings.Join(missing, ", ")+
				" and grant admin consent (Entra admin center → App registrations → API permissions)",
				"the app lacks %s (granted: %s)", strings.Join(missing, ", "), strings.Join(roles, ", "))
			return
		}
		if !graphsync.CanReadPresence(roles) {
			d.fail("graph perms", "add the Microsoft Graph application permission Presence.Read.All (or Presence.ReadWrite.All) and grant admin consent",
				"the app cannot read what Teams shows (granted: %s)", strings.Join(roles, ", "))
			return
		}
		d.pass("graph perms", "Presence.ReadWrite.All (set and read Teams status messages) and User.Read.All granted")
	}
}

func (d *doctor) checkStore(ctx context.Context, cfg *Config) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := openAdmin(ctx, cfg, discardLogger())
	if err != nil {
		d.fail("store", "check REDIS_URL (or STATUSBRIDGE_DATA_DIR) and that the store is running", "%v", err)
		return
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		d.fail("store", "check REDIS_URL and that Redis is running", "%v", err)
		return
	}
	if checker, ok := st.(store.ConfigChecker); ok {
		warnings, err := checker.CheckConfig(ctx)
		if err != nil {
			d.warn("store", "reachable, but its configuration could not be read: %v", err)
			return
		}
		if len(warnings) > 0 {
			d.fail("store", "run Redis with maxmemory-policy noeviction and appendonly yes (redis.conf, or CONFIG SET … then CONFIG REWRITE)",
				"%s", strings.Join(warnings, "; "))
			return
		}
		d.pass("store", "Redis reachable, noeviction, AOF on")
		if dur, ok := st.(interface {
			Durability(context.Context) (string, error)
		}); ok {
			if line, err := dur.Durability(ctx); err != nil {
				d.warn("durability", "could not read appendfsync and replication: %v", err)
			} else {
				d.pass("durability", "%s", line)
			}
		}
		return
	}
	d.pass("store", "embedded store reachable (%s)", cfg.DataDir)
	d.pass("durability", "embedded store: every acknowledged change is synced to disk before Slack is answered; a lost disk loses the queue (one replica only)")
}

func (d *doctor) checkIntake(ctx context.Context, cfg *Config) {
	if cfg.SlackAppToken != "" {
		d.checkSocketMode(ctx, cfg)
	}
	secret, publicURL := cfg.SlackSigningSecret, cfg.PublicURL
	if secret == "" {
		return
	}
	if publicURL == "" {
		d.warn("public url", "not checked: pass --public-url https://<host>/slack/events to check that Slack can reach the bridge")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	challenge := fmt.Sprintf("doctor-%d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]string{"type": "url_verification", "token": "doctor", "challenge": challenge})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, publicURL, bytes.NewReader(body))
	if err != nil {
		d.fail("public url", "give an absolute https URL ending in /slack/events", "%v", err)
		return
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", slackhandler.Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.fail("public url", "make the URL reachable from the internet (load balancer, DNS, TLS) and point it at the bridge", "%v", err)
		return
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		d.fail("public url", "the bridge behind the URL uses another SLACK_SIGNING_SECRET", "answered 401")
	case resp.StatusCode != http.StatusOK || !strings.Contains(string(got), challenge):
		d.fail("public url", "point the URL at the bridge's /slack/events", "answered %s without the challenge", resp.Status)
	default:
		d.pass("public url", "%s answers Slack's url_verification", publicURL)
	}
}

func (d *doctor) checkSocketMode(ctx context.Context, cfg *Config) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := socketModeReachable(ctx, cfg); err != nil {
		fix := "set SLACK_APP_TOKEN to an app-level token with connections:write (Basic Information → App-Level Tokens), enable Socket Mode, and allow outbound HTTPS to Slack"
		d.fail("socket mode", fix, "%v", err)
		return
	}
	d.pass("socket mode", "apps.connections.open answered with a WebSocket URL")
}

// socketModeReachable asks Slack for a Socket Mode URL with the app token.
func socketModeReachable(ctx context.Context, cfg *Config) error {
	url, err := slackhandler.OpenConnection(ctx, cfg.SlackAppToken, cfg.SlackAPIURL)
	if err != nil {
		return err
	}
	if url == "" {
		return errors.New("apps.connections.open gave no URL")
	}
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
