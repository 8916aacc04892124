package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/mapping"
)

// Config is every setting, parsed once and typed. A command reads only the
// settings it declares; the others keep their defaults.
type Config struct {
	SlackSigningSecret string
	SlackAppToken      string
	SlackBotToken      string
	SlackAPIURL        string
	// SlackAdminUserToken is a Slack admin's user token (xoxp-…) for Teams → Slack.
	SlackAdminUserToken string
	// SlackAllowedTeams lists T… and E… ids mirrored beside the installed one.
	SlackAllowedTeams []string

	RedisURL string
	DataDir  string

	Listen        string
	MetricsListen string
	PublicURL     string

	DryRun bool
	// Cloud is the Microsoft cloud named in one word; "" when not set.
	Cloud                    string
	GraphURL                 string
	GraphScope               string
	DisableInstanceDiscovery bool
	ManagedIdentity          bool
	GraphRate                Rate
	GraphRateMax             Rate
	// TeamsConflict is "respect" or "overwrite".
	TeamsConflict string
	// MirrorDefault is "on" or "off".
	MirrorDefault string
	// TeamsToSlack turns on the Teams → Slack flow.
	TeamsToSlack bool
	// TeamsPollInterval is how often Teams is read for Teams → Slack.
	TeamsPollInterval time.Duration
	// SlackProfileRate paces users.profile.set across replicas (per token).
	SlackProfileRate Rate
	// SlackProfileUserRate paces writes to one user's profile.
	SlackProfileUserRate Rate

	SocketStaleAfter  time.Duration
	ReconcileInterval time.Duration
	Workers           int
	WorkersMax        int
	Lease             time.Duration
	ShutdownGrace     time.Duration

	EmailDomainMap map[string]string
	MappingMaxAge  time.Duration
	NegativeCache  time.Duration

	LogFormat string
	LogLevel  string

	// explicit names the settings given in the environment or as flags.
	explicit map[string]bool
	// authorityHost is the Entra login host the cloud implies, for azidentity.
	authorityHost string
	// warnings are contradictions found while resolving, logged by serve and doctor.
	warnings []string
}

// Rate is a number of calls per period, such as 1200/30s.
type Rate struct {
	N   int
	Per time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.N, r.Per) }

// setting is one row of the settings table: an environment variable, its
// flag, default, help, and the parser that checks a value and stores it in
// Config. Flags win over the environment.
type setting struct {
	env, flag, def, help string
	secret               bool
	isBool               bool
	// parse checks a non-empty value, says what to do when it is wrong, and
	// stores it.
	parse func(c *Config, v string) error
}

// settings lists every setting of every command, in the order --help shows them.
var settings = []setting{
	{env: "SLACK_SIGNING_SECRET", flag: "slack-signing-secret", secret: true, parse: text(func(c *Config) *string { return &c.SlackSigningSecret }, nil),
		help: "Slack app signing secret (Basic Information → App Credentials); enables the HTTP Events API intake on /slack/events"},
	{env: "SLACK_APP_TOKEN", flag: "slack-app-token", secret: true, parse: text(func(c *Config) *string { return &c.SlackAppToken }, prefixed("xapp-")),
		help: "app-level token (xapp-…, scope connections:write); enables Socket Mode intake"},
	{env: "SLACK_BOT_TOKEN", flag: "slack-bot-token", secret: true, parse: text(func(c *Config) *string { return &c.SlackBotToken }, prefixed("xoxb-")),
		help: "bot token (xoxb-…); used for Socket Mode, email discovery (users.info) and doctor"},
	{env: "SLACK_API_URL", flag: "slack-api-url", def: "https://slack.com/api/", parse: text(func(c *Config) *string { return &c.SlackAPIURL }, tokenURL),
		help: "Slack Web API base URL; https (plain http only on loopback: the tokens never travel in clear text)"},
	{env: "SLACK_ALLOWED_TEAMS", flag: "slack-allowed-teams", parse: teamList,
		help: "Slack workspace (T…) and Enterprise Grid org (E…) ids whose users are mirrored, comma-separated; adds to the workspace or org that auth.test reports for SLACK_BOT_TOKEN (without a bot token, the only list)"},
	{env: "SLACK_ADMIN_USER_TOKEN", flag: "slack-admin-user-token", secret: true, parse: text(func(c *Config) *string { return &c.SlackAdminUserToken }, prefixed("xoxp-")),
		help: "a Slack admin's user token (xoxp-…, scopes users.profile:write and users.profile:read, paid plans) that sets employees' Slack status for Teams → Slack"},
	{env: "REDIS_URL", flag: "redis-url", secret: true, parse: text(func(c *Config) *string { return &c.RedisURL }, redisURL),
		help: "Redis to keep the queue and mappings in (redis://, rediss://, redis+sentinel://, redis+cluster://); unset: the embedded store in STATUSBRIDGE_DATA_DIR"},
	{env: "STATUSBRIDGE_DATA_DIR", flag: "data-dir", def: "data", parse: text(func(c *Config) *string { return &c.DataDir }, nil),
		help: "folder of the embedded single-file store, used when REDIS_URL is unset"},
	{env: "STATUSBRIDGE_LISTEN", flag: "listen", def: ":8080", parse: text(func(c *Config) *string { return &c.Listen }, listenAddr),
		help: "address of the HTTP server: /slack/events, /healthz, /readyz, /metrics"},
	{env: "STATUSBRIDGE_METRICS_LISTEN", flag: "metrics-listen", parse: text(func(c *Config) *string { return &c.MetricsListen }, listenAddr),
		help: "separate address for /metrics, so it need not be public (default: on STATUSBRIDGE_LISTEN)"},
	{env: "STATUSBRIDGE_PUBLIC_URL", flag: "public-url", parse: text(func(c *Config) *string { return &c.PublicURL }, httpURL),
		help: "the bridge's public https://…/slack/events URL; doctor checks that it answers as Slack expects"},
	{env: "STATUSBRIDGE_DRY_RUN", flag: "dry-run", def: "false", isBool: true, parse: boolean(func(c *Config) *bool { return &c.DryRun }),
		help: "log each Teams update instead of sending it (also the mode when no Azure settings are given)"},
	{env: "STATUSBRIDGE_CLOUD", flag: "cloud", parse: text(func(c *Config) *string { return &c.Cloud }, cloudName),
		help: "Microsoft cloud in one word: global, usgov, usgovdod or china; sets the Graph URL, the Entra authority host and the token scope together (explicit settings still win)"},
	{env: "STATUSBRIDGE_GRAPH_URL", flag: "graph-url", def: "https://graph.microsoft.com/v1.0", parse: text(func(c *Config) *string { return &c.GraphURL }, httpURL),
		help: "Microsoft Graph endpoint; national clouds: https://graph.microsoft.us/v1.0, https://dod-graph.microsoft.us/v1.0, https://microsoftgraph.chinacloudapi.cn/v1.0"},
	{env: "STATUSBRIDGE_GRAPH_SCOPE", flag: "graph-scope", parse: text(func(c *Config) *string { return &c.GraphScope }, graphScope),
		help: "token scope for a private cloud's Graph (such as https://graph.example.internal/.default); default: the Graph host's own for the public and national clouds"},
	{env: "STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY", flag: "disable-instance-discovery", def: "false", isBool: true, parse: boolean(func(c *Config) *bool { return &c.DisableInstanceDiscovery }),
		help: "skip Entra instance discovery, for private and disconnected clouds (with AZURE_AUTHORITY_HOST)"},
	{env: "STATUSBRIDGE_MANAGED_IDENTITY", flag: "managed-identity", def: "false", isBool: true, parse: boolean(func(c *Config) *bool { return &c.ManagedIdentity }),
		help: "authenticate to Graph with the Azure managed identity (AZURE_CLIENT_ID picks a user-assigned one)"},
	{env: "STATUSBRIDGE_SOCKET_STALE_AFTER", flag: "socket-stale-after", def: "2m", parse: duration(func(c *Config) *time.Duration { return &c.SocketStaleAfter }, time.Second, time.Hour, false),
		help: "Socket Mode watchdog: reconnect when nothing, not even a ping, arrived for this long"},
	{env: "STATUSBRIDGE_RECONCILE_INTERVAL", flag: "reconcile-interval", def: "0", parse: duration(func(c *Config) *time.Duration { return &c.ReconcileInterval }, 5*time.Second, 7*24*time.Hour, true),
		help: "run a reconcile pass (Slack's directory → queue) this often inside serve, to repair lost events; 0 turns it off (it needs SLACK_BOT_TOKEN; one replica at a time runs it, through a lock in the store)"},
	{env: "STATUSBRIDGE_WORKERS", flag: "workers", def: "8", parse: integer(func(c *Config) *int { return &c.Workers }, 1, 256),
		help: "concurrent Teams updates per process that always run"},
	{env: "STATUSBRIDGE_WORKERS_MAX", flag: "workers-max", def: "128", parse: integer(func(c *Config) *int { return &c.WorkersMax }, 1, 256),
		help: "the most concurrent Teams updates per process: while every worker is busy, the pool grows to what the Graph rate times Graph's answer time calls for (never below STATUSBRIDGE_WORKERS)"},
	{env: "STATUSBRIDGE_LEASE", flag: "lease", def: "30s", parse: duration(func(c *Config) *time.Duration { return &c.Lease }, 10*time.Second, time.Hour, false),
		help: "how long a worker holds a user; a crashed process's users are taken over after it"},
	{env: "STATUSBRIDGE_TEAMS_CONFLICT", flag: "teams-conflict", def: "respect", parse: text(func(c *Config) *string { return &c.TeamsConflict }, oneOf("respect", "overwrite")),
		help: "a Teams message a person set (not the bridge): respect leaves it alone until it is gone, overwrite replaces it"},
	{env: "STATUSBRIDGE_MIRROR_DEFAULT", flag: "mirror-default", def: "on", parse: text(func(c *Config) *string { return &c.MirrorDefault }, oneOf("on", "off")),
		help: "on: every employee is mirrored unless they pause (/teams-status pause); off: only employees who chose /teams-status resume"},
	{env: "STATUSBRIDGE_TEAMS_TO_SLACK", flag: "teams-to-slack", def: "false", isBool: true, parse: boolean(func(c *Config) *bool { return &c.TeamsToSlack }),
		help: "also carry messages people set in Teams to their Slack status (polls Teams; needs SLACK_ADMIN_USER_TOKEN and Presence.Read.All); the most recent human change on either side wins"},
	{env: "STATUSBRIDGE_TEAMS_POLL_INTERVAL", flag: "teams-poll-interval", def: "1m", parse: duration(func(c *Config) *time.Duration { return &c.TeamsPollInterval }, time.Second, time.Hour, false),
		help: "how often Teams is read for Teams → Slack; each poll costs one Graph call per 650 mapped accounts"},
	{env: "STATUSBRIDGE_SLACK_PROFILE_RATE", flag: "slack-profile-rate", def: "30/1m", parse: rate(func(c *Config) *Rate { return &c.SlackProfileRate }),
		help: "Slack status writes allowed for the admin token across all replicas, as N/period; Slack allows about 30 profile updates a minute per token"},
	{env: "STATUSBRIDGE_SLACK_PROFILE_USER_RATE", flag: "slack-profile-user-rate", def: "10/1m", parse: rate(func(c *Config) *Rate { return &c.SlackProfileUserRate }),
		help: "Slack status writes allowed to one user's profile, as N/period; Slack allows about 10 a minute per user"},
	{env: "STATUSBRIDGE_GRAPH_RATE", flag: "graph-rate", def: "1200/30s", parse: rate(func(c *Config) *Rate { return &c.GraphRate }),
		help: "Graph calls allowed across all replicas, as N/period; Graph documents 1,500 presence calls / 30 s per app and tenant"},
	{env: "STATUSBRIDGE_GRAPH_RATE_MAX", flag: "graph-rate-max", def: "10000/30s", parse: rate(func(c *Config) *Rate { return &c.GraphRateMax }),
		help: "ceiling of the adaptive Graph rate: it starts at STATUSBRIDGE_GRAPH_RATE, rises while Graph accepts and drops on 429; Graph's throttling page gives 10,000 presence calls / 30 s per app and tenant"},
	{env: "STATUSBRIDGE_EMAIL_DOMAIN_MAP", flag: "email-domain-map", parse: domainMap,
		help: "rewrite Slack email domains to tenant domains for discovery, such as corp.com=corp.onmicrosoft.com,eu.corp.com=corp.onmicrosoft.com"},
	{env: "STATUSBRIDGE_MAPPING_MAX_AGE", flag: "mapping-max-age", def: "168h", parse: duration(func(c *Config) *time.Duration { return &c.MappingMaxAge }, time.Second, 365*24*time.Hour, false),
		help: "age after which a discovered mapping is re-verified in the background"},
	{env: "STATUSBRIDGE_NEGATIVE_CACHE", flag: "negative-cache", def: "1h", parse: duration(func(c *Config) *time.Duration { return &c.NegativeCache }, 0, 30*24*time.Hour, false),
		help: "how long a user without an Entra match (or never mirrored) is remembered before discovery tries again"},
	{env: "STATUSBRIDGE_SHUTDOWN_GRACE", flag: "shutdown-grace", def: "20s", parse: duration(func(c *Config) *time.Duration { return &c.ShutdownGrace }, 0, 10*time.Minute, false),
		help: "on SIGTERM, how long in-flight Teams updates may take to finish"},
	{env: "STATUSBRIDGE_LOG_FORMAT", flag: "log-format", def: "text", parse: text(func(c *Config) *string { return &c.LogFormat }, oneOf("text", "json")),
		help: "log format: text or json"},
	{env: "STATUSBRIDGE_LOG_LEVEL", flag: "log-level", def: "info", parse: text(func(c *Config) *string { return &c.LogLevel }, oneOf("debug", "info", "warn", "error")),
		help: "log level: debug, info, warn or error"},
}

// azureSettings are azidentity's own variables: read by the Graph adapter
// through azidentity, documented here, never flags.
var azureSettings = []struct {
	env    string
	secret bool
}{
	{"AZURE_TENANT_ID", false}, {"AZURE_CLIENT_ID", false}, {"AZURE_CLIENT_SECRET", true},
	{"AZURE_CLIENT_CERTIFICATE_PATH", false}, {"AZURE_CLIENT_CERTIFICATE_PASSWORD", true},
	{"AZURE_FEDERATED_TOKEN_FILE", false}, {"AZURE_AUTHORITY_HOST", false},
}

// Groups of settings that commands declare.
var (
	storeSettings     = []string{"REDIS_URL", "STATUSBRIDGE_DATA_DIR"}
	slackAPISettings  = []string{"SLACK_BOT_TOKEN", "SLACK_API_URL", "SLACK_ALLOWED_TEAMS"}
	graphSettings     = []string{"STATUSBRIDGE_CLOUD", "STATUSBRIDGE_GRAPH_URL", "STATUSBRIDGE_GRAPH_SCOPE", "STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY", "STATUSBRIDGE_MANAGED_IDENTITY", "STATUSBRIDGE_GRAPH_RATE", "STATUSBRIDGE_GRAPH_RATE_MAX"}
	discoverySettings = []string{"STATUSBRIDGE_EMAIL_DOMAIN_MAP", "STATUSBRIDGE_MAPPING_MAX_AGE", "STATUSBRIDGE_NEGATIVE_CACHE"}
	allSettings       = func() []string {
		var out []string
		for _, s := range settings {
			out = append(out, s.env)
		}
		return out
	}()
)

// withoutSetting returns names less drop.
func withoutSetting(names []string, drop string) []string {
	var out []string
	for _, n := range names {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

// group joins groups of setting names.
func group(gs ...[]string) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g...)
	}
	return out
}

func settingByEnv(env string) setting {
	for _, s := range settings {
		if s.env == env {
			return s
		}
	}
	panic("statusbridge: no setting " + env)
}

// defaults returns a Config with every setting at its default.
func defaults() *Config {
	c := &Config{}
	for _, s := range settings {
		if s.def != "" {
			if err := s.parse(c, s.def); err != nil {
				panic(fmt.Sprintf("statusbridge: default of %s: %v", s.env, err))
			}
		}
	}
	return c
}

// registerFlags adds a flag for each named setting to fs; the returned
// function resolves the configuration after fs.Parse.
func registerFlags(fs *flag.FlagSet, names []string, getenv func(string) string) func() (*Config, error) {
	vals := map[string]*settingFlag{}
	for _, name := range names {
		s := settingByEnv(name)
		help := s.help + " (env " + s.env
		if s.def != "" {
			help += ", default " + s.def
		}
		help += ")"
		v := &settingFlag{isBool: s.isBool}
		fs.Var(v, s.flag, help)
		vals[s.env] = v
	}
	return func() (*Config, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		c := defaults()
		for _, name := range names {
			s := settingByEnv(name)
			v, from := getenv(s.env), s.env
			if set[s.flag] {
				v, from = vals[s.env].value, "--"+s.flag
			}
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if err := s.parse(c, v); err != nil {
				if s.secret {
					return nil, fmt.Errorf("invalid %s: %v", from, err)
				}
				return nil, fmt.Errorf("invalid %s=%q: %v", from, v, err)
			}
			if c.explicit == nil {
				c.explicit = map[string]bool{}
			}
			c.explicit[s.env] = true
		}
		c.applyCloud(getenv)
		return c, nil
	}
}

// settingFlag is a setting's flag; a true/false setting may be given as a
// bare --flag, meaning true.
type settingFlag struct {
	value  string
	isBool bool
}

func (f *settingFlag) String() string     { return f.value }
func (f *settingFlag) Set(v string) error { f.value = v; return nil }
func (f *settingFlag) IsBoolFlag() bool   { return f.isBool }

// secretValues lists the secret values given in the environment or on the
// command line (and the passwords inside URLs such as REDIS_URL), so that
// output and errors can be scrubbed of them. It is the one list of secrets.
func secretValues(args []string, getenv func(string) string) []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, v)
			if pw := urlPassword(v); pw != "" {
				out = append(out, pw)
			}
		}
	}
	for _, s := range settings {
		if !s.secret {
			continue
		}
		add(getenv(s.env))
		for i, a := range args {
			name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || name != s.flag {
				continue
			}
			if hasVal {
				add(val)
			} else if i+1 < len(args) {
				add(args[i+1])
			}
		}
	}
	for _, a := range azureSettings {
		if a.secret {
			add(getenv(a.env))
		}
	}
	// OpenTelemetry exporter headers often carry an API key: "k=v,k2=v2".
	for _, env := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		v := getenv(env)
		add(v)
		for _, kv := range strings.Split(v, ",") {
			if _, val, ok := strings.Cut(kv, "="); ok {
				add(strings.TrimSpace(val))
			}
		}
	}
	return out
}

// urlPassword returns the password of a URL such as REDIS_URL, or "".
func urlPassword(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	return ""
}

// writeSettingsHelp documents the named settings (and Azure's, when withAzure).
func writeSettingsHelp(w io.Writer, names []string, withAzure bool) {
	if len(names) == 0 && !withAzure {
		return
	}
	fmt.Fprintln(w, "Settings (flag, environment variable, default):")
	for _, name := range names {
		s := settingByEnv(name)
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  --%s, %s%s\n      %s\n", s.flag, s.env, def, s.help)
	}
	if withAzure {
		fmt.Fprintln(w, "  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
		fmt.Fprintln(w, "  (+ AZURE_CLIENT_CERTIFICATE_PASSWORD), AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST")
		fmt.Fprintln(w, "      the Entra app that sets Teams status messages (azidentity's own variables, no flags);")
		fmt.Fprintln(w, "      none set: dry run")
	}
}

// Parsers: each checks a value, says what to do when it is wrong, and stores it.

func text(field func(*Config) *string, check func(string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if check != nil {
			if err := check(v); err != nil {
				return err
			}
		}
		*field(c) = v
		return nil
	}
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*field(c) = b
		return nil
	}
}

func integer(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// duration parses a duration from lo to hi; with zeroOff, "0" (off) too.
func duration(field func(*Config) *time.Duration, lo, hi time.Duration, zeroOff bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if zeroOff && (v == "0" || (err == nil && d == 0)) {
			*field(c) = 0
			return nil
		}
		if err != nil || d < lo || d > hi {
			if zeroOff {
				return fmt.Errorf("want 0 (off) or a duration such as 6h, from %s to %s", lo, hi)
			}
			return fmt.Errorf("want a duration such as 30s, from %s to %s", lo, hi)
		}
		*field(c) = d
		return nil
	}
}

func rate(field func(*Config) *Rate) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, p, ok := strings.Cut(v, "/")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 1 {
			return errors.New("want N/period, such as 1200/30s")
		}
		per, err := time.ParseDuration(p)
		if err != nil || per < time.Second {
			return errors.New("want N/period, such as 1200/30s, with a period of 1s or more")
		}
		*field(c) = Rate{N: count, Per: per}
		return nil
	}
}

func domainMap(c *Config, v string) error {
	m, err := mapping.ParseDomainMap(v)
	if err != nil {
		return err
	}
	c.EmailDomainMap = m
	return nil
}

func prefixed(p string) func(string) error {
	return func(v string) error {
		if !strings.HasPrefix(v, p) {
			return fmt.Errorf("want a token that starts with %q", p)
		}
		return nil
	}
}

func httpURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	return nil
}

func redisURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("want a URL such as redis://host:6379/0")
	}
	switch u.Scheme {
	case "redis", "rediss", "redis+sentinel", "redis+cluster", "unix":
		return nil
	}
	return errors.New("want a URL such as redis://host:6379/0 (schemes redis, rediss, redis+sentinel, redis+cluster)")
}

// tokenURL is an https URL, or an http one on loopback, for URLs that
// receive tokens.
func tokenURL(v string) error {
	if err := httpURL(v); err != nil {
		return err
	}
	u, _ := url.Parse(v)
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return errors.New("want https (plain http only on loopback): the Slack tokens must not travel in clear text")
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// teamList reads "T0123,E0456".
func teamList(c *Config, v string) error {
	var out []string
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !validTeamID(id) {
			return fmt.Errorf("%q is not a Slack workspace (T…) or Enterprise Grid org (E…) id", id)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return errors.New("want workspace (T…) or org (E…) ids, comma-separated")
	}
	c.SlackAllowedTeams = out
	return nil
}

func validTeamID(id string) bool {
	if len(id) < 3 || len(id) > 32 || (id[0] != 'T' && id[0] != 'E') {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func listenAddr(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return errors.New("want host:port or :port, such as :8080")
	}
	return nil
}

func oneOf(opts ...string) func(string) error {
	return func(v string) error {
		for _, o := range opts {
			if v == o {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(opts, ", "))
	}
}

func graphScope(v string) error {
	if !strings.HasSuffix(v, "/.default") || httpURL(strings.TrimSuffix(v, ".default")) != nil {
		return errors.New("want the Graph resource followed by /.default, such as https://graph.microsoft.us/.default")
	}
	return nil
}
