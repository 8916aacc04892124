package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
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

func TestConfigSecretsIncludeRedisPassword(t *testing.T) {
	c := config{
		"SLACK_SIGNING_SECRET": "signing-secret-1",
		"REDIS_URL":            "redis://:redis-password-1@127.0.0.1:6379/0",
		"SLACK_API_URL":        "https://slack.com/api/",
	}
	env := map[string]string{"AZURE_CLIENT_SECRET": "azure-secret-1"}
	got := c.secrets(func(k string) string { return env[k] })
	for _, want := range []string{"signing-secret-1", "redis-password-1", "azure-secret-1", c["REDIS_URL"]} {
		if !slices.Contains(got, want) {
			t.Errorf("secrets() = %q, missing %q", got, want)
		}
	}
	if slices.Contains(got, "https://slack.com/api/") {
		t.Errorf("secrets() holds a setting that is not secret: %q", got)
	}
}

func TestKnownSecretsFromFlagsAndEnv(t *testing.T) {
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-env-token", "AZURE_CLIENT_CERTIFICATE_PASSWORD": "cert-password-1"}
	args := []string{"doctor", "--slack-signing-secret", "flag-secret-1", "--redis-url=redis://:pw-from-flag@h:1/0"}
	got := knownSecrets(args, func(k string) string { return env[k] })
	for _, want := range []string{"xoxb-env-token", "cert-password-1", "flag-secret-1", "redis://:pw-from-flag@h:1/0"} {
		if !slices.Contains(got, want) {
			t.Errorf("knownSecrets() = %q, missing %q", got, want)
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

func TestBoolSettingsTakeBareFlags(t *testing.T) {
	pos, flags := splitPositional([]string{"--dry-run", "U024BE7LH", "--workers", "3", "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"})
	if len(pos) != 2 || pos[0] != "U024BE7LH" || len(flags) != 3 {
		t.Fatalf("pos %v flags %v", pos, flags)
	}
	env := &runEnv{getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cfg, err := loadConfig(env, "serve", "", []string{"--dry-run", "--managed-identity=false"}, nil)
	if err != nil || !cfg.bool("STATUSBRIDGE_DRY_RUN") || cfg.bool("STATUSBRIDGE_MANAGED_IDENTITY") {
		t.Fatalf("cfg %v, err %v", cfg, err)
	}
}
