package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRedactorReplacesSecrets(t *testing.T) {
	var buf bytes.Buffer
	w := newRedactor(&buf, []string{"s3cr3t-signing", "xoxb-1-2-abc", "short", ""})
	in := "sig=s3cr3t-signing tok=xoxb-1-2-abc again s3cr3t-signing short\n"
	n, err := w.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(in))
	}
	want := "sig=[redacted] tok=[redacted] again [redacted] short\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

func TestRedactorWithoutSecretsPassesThrough(t *testing.T) {
	var buf bytes.Buffer
	if w := newRedactor(&buf, []string{"tiny"}); w != &buf {
		t.Fatalf("a redactor with only short values should be the writer itself, got %T", w)
	}
}

func TestSecretValuesIncludeRedisPassword(t *testing.T) {
	env := map[string]string{
		"SLACK_SIGNING_SECRET":       "signing-secret-1",
		"REDIS_URL":                  "redis://:redis-password-1@127.0.0.1:6379/0",
		"SLACK_API_URL":              "https://slack.com/api/",
		"AZURE_CLIENT_SECRET":        "azure-secret-1",
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=otel-api-key-1,x-team=ops",
	}
	got := secretValues(nil, func(k string) string { return env[k] })
	for _, want := range []string{"signing-secret-1", "redis-password-1", "azure-secret-1", env["REDIS_URL"], "otel-api-key-1"} {
		if !slices.Contains(got, want) {
			t.Errorf("secretValues() = %q, missing %q", got, want)
		}
	}
	if slices.Contains(got, "https://slack.com/api/") {
		t.Errorf("secretValues() holds a setting that is not secret: %q", got)
	}
}

func TestKnownSecretsFromFlagsAndEnv(t *testing.T) {
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-env-token", "AZURE_CLIENT_CERTIFICATE_PASSWORD": "cert-password-1"}
	args := []string{"doctor", "--slack-signing-secret", "flag-secret-1", "--redis-url=redis://:pw-from-flag@h:1/0"}
	got := secretValues(args, func(k string) string { return env[k] })
	for _, want := range []string{"xoxb-env-token", "cert-password-1", "flag-secret-1", "redis://:pw-from-flag@h:1/0"} {
		if !slices.Contains(got, want) {
			t.Errorf("secretValues() = %q, missing %q", got, want)
		}
	}
}

func TestScrubKeepsUsageErrors(t *testing.T) {
	err := scrub(usageError{"bad value xoxb-secret-token"}, []string{"xoxb-secret-token"})
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("scrub lost the usage error: %T", err)
	}
	if strings.Contains(err.Error(), "xoxb-secret-token") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("scrub left %q", err)
	}
	plain := errors.New("nothing secret here")
	if got := scrub(plain, []string{"xoxb-secret-token"}); got != plain {
		t.Fatalf("scrub replaced an error without secrets: %v", got)
	}
	if scrub(nil, []string{"x"}) != nil {
		t.Fatal("scrub(nil) is not nil")
	}
}

func testEnv(vars map[string]string) (*runEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &runEnv{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errOut}, &out, &errOut
}

func TestBoolSettingsTakeBareFlags(t *testing.T) {
	env, _, _ := testEnv(nil)
	l := cmdLine{name: "serve", settings: allSettings}
	cfg, pos, err := l.parse(env, []string{"--dry-run", "U024BE7LH", "--workers", "3", "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", "--managed-identity=false"})
	if err != nil || !cfg.DryRun || cfg.ManagedIdentity || cfg.Workers != 3 {
		t.Fatalf("cfg %+v, err %v", cfg, err)
	}
	if len(pos) != 2 || pos[0] != "U024BE7LH" {
		t.Fatalf("positional %v", pos)
	}
}

func TestConfigIsTypedWithDefaults(t *testing.T) {
	env, _, _ := testEnv(map[string]string{"STATUSBRIDGE_GRAPH_RATE": "600/10s", "STATUSBRIDGE_EMAIL_DOMAIN_MAP": "corp.com=corp.onmicrosoft.com"})
	cfg, _, err := (cmdLine{name: "serve", settings: allSettings}).parse(env, []string{"--lease", "45s"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphRate != (Rate{N: 600, Per: 10 * time.Second}) || cfg.Lease != 45*time.Second || cfg.Workers != 8 ||
		cfg.EmailDomainMap["corp.com"] != "corp.onmicrosoft.com" || cfg.SlackAPIURL != "https://slack.com/api/" || cfg.ReconcileInterval != 0 {
		t.Fatalf("cfg %+v", cfg)
	}
}

func TestCommandRefusesFlagsItDoesNotTake(t *testing.T) {
	env, _, _ := testEnv(nil)
	_, _, err := (cmdLine{name: "mapping get", settings: storeSettings}).parse(env, []string{"U024BE7LH", "--workers", "3"})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "workers") {
		t.Fatalf("err %v: want a usage error naming --workers", err)
	}
	if exitCode(err, &bytes.Buffer{}) != 2 {
		t.Fatal("exit code is not 2")
	}
}

func TestCommandHelpListsOnlyItsSettings(t *testing.T) {
	env, out, _ := testEnv(nil)
	err := run(context.Background(), []string{"mapping", "get", "--help"}, env.getenv, env.stdout, env.stderr)
	if !isFlagHelp(err) && err != nil {
		t.Fatal(err)
	}
	help := out.String()
	if !strings.Contains(help, "REDIS_URL") || strings.Contains(help, "STATUSBRIDGE_WORKERS") || strings.Contains(help, "SLACK_SIGNING_SECRET") {
		t.Fatalf("mapping get --help:\n%s", help)
	}
	out.Reset()
	run(context.Background(), []string{"serve", "--help"}, env.getenv, env.stdout, env.stderr)
	if !strings.Contains(out.String(), "STATUSBRIDGE_WORKERS") || !strings.Contains(out.String(), "AZURE_TENANT_ID") {
		t.Fatalf("serve --help:\n%s", out.String())
	}
}

func TestEnvOfSettingsACommandDoesNotTakeIsIgnored(t *testing.T) {
	env, _, _ := testEnv(map[string]string{"STATUSBRIDGE_WORKERS": "not-a-number", "STATUSBRIDGE_DATA_DIR": "/tmp/x"})
	cfg, _, err := (cmdLine{name: "mapping ls", settings: storeSettings}).parse(env, nil)
	if err != nil || cfg.DataDir != "/tmp/x" {
		t.Fatalf("cfg %+v err %v", cfg, err)
	}
	if _, _, err := (cmdLine{name: "serve", settings: allSettings}).parse(env, nil); err == nil || !strings.Contains(err.Error(), "STATUSBRIDGE_WORKERS") {
		t.Fatalf("serve took a bad STATUSBRIDGE_WORKERS: %v", err)
	}
}

func TestCloudInOneWord(t *testing.T) {
	env, _, _ := testEnv(map[string]string{"STATUSBRIDGE_CLOUD": "usgov"})
	cfg, _, err := (cmdLine{name: "serve", settings: allSettings}).parse(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphURL != "https://graph.microsoft.us/v1.0" || cfg.GraphScope != "https://graph.microsoft.us/.default" ||
		cfg.azureEnv(env.getenv)("AZURE_AUTHORITY_HOST") != "https://login.microsoftonline.us/" || len(cfg.warnings) != 0 {
		t.Fatalf("usgov: url %s scope %s authority %s warnings %v", cfg.GraphURL, cfg.GraphScope,
			cfg.azureEnv(env.getenv)("AZURE_AUTHORITY_HOST"), cfg.warnings)
	}
	if cfg.cloudInUse() != "usgov" {
		t.Fatalf("cloud in use %q", cfg.cloudInUse())
	}

	// Explicit settings win, with a warning when they contradict the cloud.
	env, _, _ = testEnv(map[string]string{"STATUSBRIDGE_CLOUD": "china", "STATUSBRIDGE_GRAPH_URL": "https://graph.microsoft.us/v1.0",
		"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us/"})
	cfg, _, err = (cmdLine{name: "serve", settings: allSettings}).parse(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphURL != "https://graph.microsoft.us/v1.0" || len(cfg.warnings) != 2 ||
		!strings.Contains(cfg.warnings[0], "STATUSBRIDGE_GRAPH_URL") || !strings.Contains(cfg.warnings[1], "AZURE_AUTHORITY_HOST") {
		t.Fatalf("url %s warnings %q", cfg.GraphURL, cfg.warnings)
	}
	env, _, _ = testEnv(map[string]string{"STATUSBRIDGE_CLOUD": "mars"})
	if _, _, err := (cmdLine{name: "serve", settings: allSettings}).parse(env, nil); err == nil || !strings.Contains(err.Error(), "usgovdod") {
		t.Fatalf("an unknown cloud: %v", err)
	}
}
