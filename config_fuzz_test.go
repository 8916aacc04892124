package main

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// settingField names the Config field each setting stores.
var settingField = map[string]func(c *Config) any{
	"SLACK_SIGNING_SECRET":                    func(c *Config) any { return c.SlackSigningSecret },
	"SLACK_APP_TOKEN":                         func(c *Config) any { return c.SlackAppToken },
	"SLACK_BOT_TOKEN":                         func(c *Config) any { return c.SlackBotToken },
	"SLACK_API_URL":                           func(c *Config) any { return c.SlackAPIURL },
	"SLACK_ALLOWED_TEAMS":                     func(c *Config) any { return c.SlackAllowedTeams },
	"SLACK_ADMIN_USER_TOKEN":                  func(c *Config) any { return c.SlackAdminUserToken },
	"STATUSBRIDGE_TEAMS_TO_SLACK":             func(c *Config) any { return c.TeamsToSlack },
	"STATUSBRIDGE_TEAMS_POLL_INTERVAL":        func(c *Config) any { return c.TeamsPollInterval },
	"STATUSBRIDGE_SLACK_PROFILE_RATE":         func(c *Config) any { return c.SlackProfileRate },
	"STATUSBRIDGE_SLACK_PROFILE_USER_RATE":    func(c *Config) any { return c.SlackProfileUserRate },
	"REDIS_URL":                               func(c *Config) any { return c.RedisURL },
	"STATUSBRIDGE_DATA_DIR":                   func(c *Config) any { return c.DataDir },
	"STATUSBRIDGE_LISTEN":                     func(c *Config) any { return c.Listen },
	"STATUSBRIDGE_METRICS_LISTEN":             func(c *Config) any { return c.MetricsListen },
	"STATUSBRIDGE_PUBLIC_URL":                 func(c *Config) any { return c.PublicURL },
	"STATUSBRIDGE_DRY_RUN":                    func(c *Config) any { return c.DryRun },
	"STATUSBRIDGE_GRAPH_URL":                  func(c *Config) any { return c.GraphURL },
	"STATUSBRIDGE_GRAPH_SCOPE":                func(c *Config) any { return c.GraphScope },
	"STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY": func(c *Config) any { return c.DisableInstanceDiscovery },
	"STATUSBRIDGE_MANAGED_IDENTITY":           func(c *Config) any { return c.ManagedIdentity },
	"STATUSBRIDGE_SOCKET_STALE_AFTER":         func(c *Config) any { return c.SocketStaleAfter },
	"STATUSBRIDGE_RECONCILE_INTERVAL":         func(c *Config) any { return c.ReconcileInterval },
	"STATUSBRIDGE_WORKERS":                    func(c *Config) any { return c.Workers },
	"STATUSBRIDGE_WORKERS_MAX":                func(c *Config) any { return c.WorkersMax },
	"STATUSBRIDGE_LEASE":                      func(c *Config) any { return c.Lease },
	"STATUSBRIDGE_TEAMS_CONFLICT":             func(c *Config) any { return c.TeamsConflict },
	"STATUSBRIDGE_MIRROR_DEFAULT":             func(c *Config) any { return c.MirrorDefault },
	"STATUSBRIDGE_GRAPH_RATE":                 func(c *Config) any { return c.GraphRate },
	"STATUSBRIDGE_GRAPH_RATE_MAX":             func(c *Config) any { return c.GraphRateMax },
	"STATUSBRIDGE_CLOUD":                      func(c *Config) any { return c.Cloud },
	"STATUSBRIDGE_EMAIL_DOMAIN_MAP":           func(c *Config) any { return c.EmailDomainMap },
	"STATUSBRIDGE_MAPPING_MAX_AGE":            func(c *Config) any { return c.MappingMaxAge },
	"STATUSBRIDGE_NEGATIVE_CACHE":             func(c *Config) any { return c.NegativeCache },
	"STATUSBRIDGE_SHUTDOWN_GRACE":             func(c *Config) any { return c.ShutdownGrace },
	"STATUSBRIDGE_LOG_FORMAT":                 func(c *Config) any { return c.LogFormat },
	"STATUSBRIDGE_LOG_LEVEL":                  func(c *Config) any { return c.LogLevel },
}

// formatSetting writes a setting's typed value back as the text a user
// would give for it.
func formatSetting(t *testing.T, c *Config, env string) string {
	t.Helper()
	get, ok := settingField[env]
	if !ok {
		t.Fatalf("the fuzz test does not know setting %s: add it to settingField", env)
	}
	switch v := get(c).(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case time.Duration:
		if v == 0 {
			return "0"
		}
		return v.String()
	case Rate:
		return v.String()
	case []string:
		return strings.Join(v, ",")
	case map[string]string:
		var pairs []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			pairs = append(pairs, k+"="+v[k])
		}
		return strings.Join(pairs, ",")
	default:
		t.Fatalf("setting %s has a type (%T) the fuzz test cannot write back", env, v)
		return ""
	}
}

// FuzzSettingValue feeds one value to every setting's parser: none panics,
// and a value accepted, written back as text, parses to the same typed value.
func FuzzSettingValue(f *testing.F) {
	for _, s := range settings {
		if s.def != "" {
			f.Add(s.def)
		}
	}
	for _, v := range []string{"0", "0s", "-1", "1e9", "9223372036854775807", "5s", "168h", "1/1s", "0/30s", "1200/-30s",
		"xoxb-1", "xapp-", "https://slack.com/api/", "http://127.0.0.1:1/", "http://[::1]:80", "redis://:pw@h:6379/0",
		"unix:///tmp/r.sock", ":0", "host:", "T0123,E0456", "T0123,,", "t0123", "a.com=b.com", "A.COM = B.com ,c.com=d.com",
		"a.com=b.com,a.com=c.com", "https://graph.example/.default", "true", "T", "off", " on", "json", "%zz", "\x00"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, s := range settings {
			c := defaults()
			if err := s.parse(c, v); err != nil {
				if err.Error() == "" {
					t.Fatalf("%s=%q: an empty error", s.env, v)
				}
				if s.secret && len(v) >= 8 && strings.Contains(err.Error(), v) {
					t.Fatalf("%s: the error repeats the secret: %v", s.env, err)
				}
				continue
			}
			text := formatSetting(t, c, s.env)
			again := defaults()
			if err := s.parse(again, text); err != nil {
				t.Fatalf("%s accepted %q as %#v, but not its own text %q: %v", s.env, v, settingField[s.env](c), text, err)
			}
			if a, b := fmt.Sprintf("%#v", settingField[s.env](c)), fmt.Sprintf("%#v", settingField[s.env](again)); a != b {
				t.Fatalf("%s: %q parsed to %s, its text %q to %s", s.env, v, a, text, b)
			}
		}
	})
}

// FuzzCommandLine runs the command line of a command that takes every
// setting over random arguments (NUL-separated) and one random environment
// value for every setting: it never panics, and a configuration it accepts,
// written back as flags, parses to the same configuration.
func FuzzCommandLine(f *testing.F) {
	f.Add("--workers=4\x00--lease\x0045s\x00pos", "")
	f.Add("--dry-run\x00--graph-rate=10/1s\x00--slack-allowed-teams=T1,E2", "30s")
	f.Add("-h", "")
	f.Add("--workers\x00--dry-run=maybe", "x")
	f.Add("--no-such-flag", "")
	f.Add("--\x00--workers=2", "")
	f.Add("--email-domain-map= a.com=b.com \x00--reconcile-interval=0", "")
	f.Add("-listen=:1\x00-metrics-listen\x00:2", "T0123")
	line := cmdLine{name: "fuzz", usage: "[args]", settings: allSettings}
	f.Fuzz(func(t *testing.T, argText, envValue string) {
		var args []string
		if argText != "" {
			args = strings.Split(argText, "\x00")
		}
		getenv := func(string) string { return envValue }
		var out bytes.Buffer
		cfg, pos, err := line.parse(&runEnv{getenv: getenv, stdout: &out, stderr: &out}, args)
		if err != nil {
			if cfg != nil {
				t.Fatalf("parse(%q) failed (%v) but returned a configuration", args, err)
			}
			return
		}
		if cfg == nil {
			t.Fatalf("parse(%q) returned neither a configuration nor an error", args)
		}
		var flags []string
		for _, s := range settings {
			if v := formatSetting(t, cfg, s.env); v != "" {
				flags = append(flags, "--"+s.flag+"="+v)
			}
		}
		again, pos2, err := line.parse(&runEnv{getenv: func(string) string { return "" }, stdout: &out, stderr: &out}, append(append(flags, "--"), pos...))
		if err != nil {
			t.Fatalf("parse(%q) accepted, its flags %q refused: %v", args, flags, err)
		}
		for _, s := range settings {
			if a, b := formatSetting(t, cfg, s.env), formatSetting(t, again, s.env); a != b {
				t.Fatalf("parse(%q): %s is %q, from its own flags %q", args, s.env, a, b)
			}
		}
		if !slices.Equal(pos, pos2) {
			t.Fatalf("positional arguments %q came back as %q", pos, pos2)
		}
	})
}

// TestSettingFieldCoversEverySetting keeps the fuzz tests' field table in
// step with the settings table.
func TestSettingFieldCoversEverySetting(t *testing.T) {
	for _, s := range settings {
		if _, ok := settingField[s.env]; !ok {
			t.Errorf("setting %s is missing from settingField", s.env)
		}
	}
	if len(settingField) != len(settings) {
		t.Errorf("settingField has %d entries, settings %d", len(settingField), len(settings))
	}
}
