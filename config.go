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

// setting is one configuration value: an environment variable with a flag of
// the same meaning. Flags win over the environment.
type setting struct {
	env, flag, def, help string
	secret               bool
	// check validates a non-empty value and says what to do when it is wrong.
	check func(string) error
}

// settings lists every setting of every command, in the order --help shows them.
var settings = []setting{
	{env: "SLACK_SIGNING_SECRET", flag: "slack-signing-secret", secret: true,
		help: "Slack app signing secret (Basic Information → App Credentials); enables the HTTP Events API intake on /slack/events"},
	{env: "SLACK_APP_TOKEN", flag: "slack-app-token", secret: true, check: prefixed("xapp-"),
		help: "app-level token (xapp-…, scope connections:write); enables Socket Mode intake"},
	{env: "SLACK_BOT_TOKEN", flag: "slack-bot-token", secret: true, check: prefixed("xoxb-"),
		help: "bot token (xoxb-…); used for Socket Mode, email discovery (users.info) and doctor"},
	{env: "SLACK_API_URL", flag: "slack-api-url", def: "https://slack.com/api/", check: httpURL,
		help: "Slack Web API base URL"},
	{env: "REDIS_URL", flag: "redis-url", secret: true, check: redisURL,
		help: "Redis to keep the queue and mappings in (redis://, rediss://, redis+sentinel://, redis+cluster://); unset: the embedded store in STATUSBRIDGE_DATA_DIR"},
	{env: "STATUSBRIDGE_DATA_DIR", flag: "data-dir", def: "data",
		help: "folder of the embedded single-file store, used when REDIS_URL is unset"},
	{env: "STATUSBRIDGE_LISTEN", flag: "listen", def: ":8080", check: listenAddr,
		help: "address of the HTTP server: /slack/events, /healthz, /readyz, /metrics"},
	{env: "STATUSBRIDGE_METRICS_LISTEN", flag: "metrics-listen", check: listenAddr,
		help: "separate address for /metrics, so it need not be public (default: on STATUSBRIDGE_LISTEN)"},
	{env: "STATUSBRIDGE_DRY_RUN", flag: "dry-run", def: "false", check: boolean,
		help: "log each Teams update instead of sending it (also the mode when no Azure settings are given)"},
	{env: "STATUSBRIDGE_GRAPH_URL", flag: "graph-url", def: "https://graph.microsoft.com/v1.0", check: httpURL,
		help: "Microsoft Graph endpoint; national clouds: https://graph.microsoft.us/v1.0, https://dod-graph.microsoft.us/v1.0, https://microsoftgraph.chinacloudapi.cn/v1.0"},
	{env: "STATUSBRIDGE_GRAPH_SCOPE", flag: "graph-scope", check: graphScope,
		help: "token scope for a private cloud's Graph (such as https://graph.example.internal/.default); default: the Graph host's own for the public and national clouds"},
	{env: "STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY", flag: "disable-instance-discovery", def: "false", check: boolean,
		help: "skip Entra instance discovery, for private and disconnected clouds (with AZURE_AUTHORITY_HOST)"},
	{env: "STATUSBRIDGE_MANAGED_IDENTITY", flag: "managed-identity", def: "false", check: boolean,
		help: "authenticate to Graph with the Azure managed identity (AZURE_CLIENT_ID picks a user-assigned one)"},
	{env: "STATUSBRIDGE_SOCKET_STALE_AFTER", flag: "socket-stale-after", def: "2m", check: durationRange(time.Second, time.Hour),
		help: "Socket Mode watchdog: reconnect when nothing, not even a ping, arrived for this long"},
	{env: "STATUSBRIDGE_RECONCILE_INTERVAL", flag: "reconcile-interval", def: "0", check: durationOrZero(5*time.Second, 7*24*time.Hour),
		help: "run a reconcile pass (Slack's directory → queue) this often inside serve, to repair lost events; 0 turns it off (it needs SLACK_BOT_TOKEN; every replica runs its own)"},
	{env: "STATUSBRIDGE_WORKERS", flag: "workers", def: "8", check: intRange(1, 256),
		help: "concurrent Teams updates per process"},
	{env: "STATUSBRIDGE_LEASE", flag: "lease", def: "30s", check: durationRange(3*time.Second, time.Hour),
		help: "how long a worker holds a user; a crashed process's users are taken over after it"},
	{env: "STATUSBRIDGE_GRAPH_RATE", flag: "graph-rate", def: "1200/30s", check: rateSpec,
		help: "Graph calls allowed across all replicas, as N/period; Graph documents 1,500 presence calls / 30 s per app and tenant"},
	{env: "STATUSBRIDGE_EMAIL_DOMAIN_MAP", flag: "email-domain-map", check: domainMap,
		help: "rewrite Slack email domains to tenant domains for discovery, such as corp.com=corp.onmicrosoft.com,eu.corp.com=corp.onmicrosoft.com"},
	{env: "STATUSBRIDGE_MAPPING_MAX_AGE", flag: "mapping-max-age", def: "168h", check: durationRange(time.Second, 365*24*time.Hour),
		help: "age after which a discovered mapping is re-verified in the background"},
	{env: "STATUSBRIDGE_NEGATIVE_CACHE", flag: "negative-cache", def: "1h", check: durationRange(0, 30*24*time.Hour),
		help: "how long a user without an Entra match (or never mirrored) is remembered before discovery tries again"},
	{env: "STATUSBRIDGE_SHUTDOWN_GRACE", flag: "shutdown-grace", def: "20s", check: durationRange(0, 10*time.Minute),
		help: "on SIGTERM, how long in-flight Teams updates may take to finish"},
	{env: "STATUSBRIDGE_LOG_FORMAT", flag: "log-format", def: "text", check: oneOf("text", "json"),
		help: "log format: text or json"},
	{env: "STATUSBRIDGE_LOG_LEVEL", flag: "log-level", def: "info", check: oneOf("debug", "info", "warn", "error"),
		help: "log level: debug, info, warn or error"},
}

// config is the resolved value of every setting.
type config map[string]string

func (c config) get(env string) string { return c[env] }

func (c config) bool(env string) bool {
	b, _ := strconv.ParseBool(c[env])
	return b
}

func (c config) int(env string) int {
	n, _ := strconv.Atoi(c[env])
	return n
}

func (c config) duration(env string) time.Duration {
	d, _ := time.ParseDuration(c[env])
	return d
}

// secrets returns the configured secret values, and Azure's, so that output
// can be scrubbed of them.
func (c config) secrets(getenv func(string) string) []string {
	var out []string
	for _, s := range settings {
		if s.secret && c[s.env] != "" {
			out = append(out, c[s.env], urlPassword(c[s.env]))
		}
	}
	for _, env := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"} {
		if v := getenv(env); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// registerFlags adds a flag for every setting to fs; the returned function
// resolves the configuration after fs.Parse.
func registerFlags(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	vals := map[string]*string{}
	for _, s := range settings {
		help := s.help + " (env " + s.env
		if s.def != "" {
			help += ", default " + s.def
		}
		help += ")"
		v := &settingFlag{isBool: s.def == "false" || s.def == "true"}
		fs.Var(v, s.flag, help)
		vals[s.env] = &v.value
	}
	return func() (config, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		c := config{}
		for _, s := range settings {
			v, from := getenv(s.env), s.env
			if set[s.flag] {
				v, from = *vals[s.env], "--"+s.flag
			}
			v = strings.TrimSpace(v)
			if v == "" {
				v = s.def
			} else if s.check != nil {
				if err := s.check(v); err != nil {
					if s.secret {
						return nil, fmt.Errorf("invalid %s: %v", from, err)
					}
					return nil, fmt.Errorf("invalid %s=%q: %v", from, v, err)
				}
			}
			c[s.env] = v
		}
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

// writeSettingsHelp documents every setting.
func writeSettingsHelp(w io.Writer) {
	fmt.Fprintln(w, "Settings (flag, environment variable, default):")
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  --%s, %s%s\n      %s\n", s.flag, s.env, def, s.help)
	}
	fmt.Fprintln(w, "  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
	fmt.Fprintln(w, "  (+ AZURE_CLIENT_CERTIFICATE_PASSWORD), AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST")
	fmt.Fprintln(w, "      the Entra app that sets Teams status messages (azidentity's own variables);")
	fmt.Fprintln(w, "      none set: dry run")
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

func listenAddr(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return errors.New("want host:port or :port, such as :8080")
	}
	return nil
}

func boolean(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return errors.New("want true or false")
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

func intRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

func durationOrZero(lo, hi time.Duration) func(string) error {
	inner := durationRange(lo, hi)
	return func(v string) error {
		if v == "0" {
			return nil
		}
		if err := inner(v); err != nil {
			return fmt.Errorf("want 0 (off) or a duration such as 6h, from %s to %s", lo, hi)
		}
		return nil
	}
}

func durationRange(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration such as 30s, from %s to %s", lo, hi)
		}
		return nil
	}
}

// parseRate reads "N/period", such as "1200/30s".
func parseRate(v string) (int, time.Duration, error) {
	n, p, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return 0, 0, errors.New("want N/period, such as 1200/30s")
	}
	per, err := time.ParseDuration(p)
	if err != nil || per < time.Second {
		return 0, 0, errors.New("want N/period, such as 1200/30s, with a period of 1s or more")
	}
	return count, per, nil
}

func rateSpec(v string) error { _, _, err := parseRate(v); return err }

func graphScope(v string) error {
	if !strings.HasSuffix(v, "/.default") || httpURL(strings.TrimSuffix(v, ".default")) != nil {
		return errors.New("want the Graph resource followed by /.default, such as https://graph.microsoft.us/.default")
	}
	return nil
}

func domainMap(v string) error { _, err := mapping.ParseDomainMap(v); return err }
