package e2e

import (
	"strings"
	"testing"
)

// TestBadSettingsStopStartup: a missing or invalid setting stops start-up with
// one line that names it and says what to do.
func TestBadSettingsStopStartup(t *testing.T) {
	dir := t.TempDir()
	base := baseEnv("STATUSBRIDGE_DATA_DIR="+dir, "SLACK_SIGNING_SECRET="+signingSecret)
	tests := []struct {
		name  string
		env   []string
		args  []string
		names string
	}{
		{"no intake", baseEnv("STATUSBRIDGE_DATA_DIR=" + dir), nil, "SLACK_SIGNING_SECRET"},
		{"bad workers", with(base, "STATUSBRIDGE_WORKERS=lots"), nil, "STATUSBRIDGE_WORKERS"},
		{"bad lease", with(base, "STATUSBRIDGE_LEASE=10"), nil, "STATUSBRIDGE_LEASE"},
		{"lease under 10 s", with(base, "STATUSBRIDGE_LEASE=5s"), nil, "STATUSBRIDGE_LEASE"},
		{"slack api in clear text", with(base, "SLACK_API_URL=http://slack.example.com/api/"), nil, "SLACK_API_URL"},
		{"bad allowed teams", with(base, "SLACK_ALLOWED_TEAMS=T0OURS,partner"), nil, "SLACK_ALLOWED_TEAMS"},
		{"bad conflict policy", with(base, "STATUSBRIDGE_TEAMS_CONFLICT=sometimes"), nil, "STATUSBRIDGE_TEAMS_CONFLICT"},
		{"bad mirror default", with(base, "STATUSBRIDGE_MIRROR_DEFAULT=maybe"), nil, "STATUSBRIDGE_MIRROR_DEFAULT"},
		{"bad listen", with(base, "STATUSBRIDGE_LISTEN=8080"), nil, "STATUSBRIDGE_LISTEN"},
		{"bad dry run", with(base, "STATUSBRIDGE_DRY_RUN=maybe"), nil, "STATUSBRIDGE_DRY_RUN"},
		{"bad graph url", with(base, "STATUSBRIDGE_GRAPH_URL=graph.microsoft.com"), nil, "STATUSBRIDGE_GRAPH_URL"},
		{"bad rate", with(base, "STATUSBRIDGE_GRAPH_RATE=fast"), nil, "STATUSBRIDGE_GRAPH_RATE"},
		{"bad redis url", with(base, "REDIS_URL=localhost:6379"), nil, "REDIS_URL"},
		{"bad log level", with(base, "STATUSBRIDGE_LOG_LEVEL=loud"), nil, "STATUSBRIDGE_LOG_LEVEL"},
		{"bad app token", with(base, "SLACK_APP_TOKEN=xoxb-wrong-kind"), nil, "SLACK_APP_TOKEN"},
		{"app token without bot token", append(baseEnv("STATUSBRIDGE_DATA_DIR="+dir), "SLACK_APP_TOKEN=xapp-1-A-1-abc"), nil, "SLACK_BOT_TOKEN"},
		{"bad flag value", base, []string{"--workers", "0"}, "--workers"},
		{"unknown flag", base, []string{"--wrokers", "3"}, "wrokers"},
		{"partial azure", with(base, "AZURE_TENANT_ID=contoso.onmicrosoft.com"), nil, "AZURE_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := cli(t, tt.env, append([]string{"serve"}, tt.args...)...)
			if code == 0 {
				t.Fatalf("serve started; stdout %q stderr %q", out, errOut)
			}
			if !strings.Contains(errOut, tt.names) {
				t.Fatalf("error does not name %s:\n%s", tt.names, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "statusbridge:") {
				t.Fatalf("last line is not the error: %q", last)
			}
		})
	}
}

// with returns a copy of env with extra appended.
func with(env []string, extra ...string) []string {
	return append(append([]string(nil), env...), extra...)
}

// TestMappingCLIValidates: the admin commands reject bad ids with a clear
// error and a non-zero exit, and round-trip good ones.
func TestMappingCLIValidates(t *testing.T) {
	w := newWorld(t)
	for _, args := range [][]string{
		{"mapping", "set", "alice", aliceID},
		{"mapping", "set", alice, "alice@corp.example"},
		{"mapping", "set", alice},
		{"mapping", "get"},
		{"mapping", "frob"},
		{"mapping"},
		{"parked", "retry"},
		{"nonsense"},
	} {
		_, errOut, code := cli(t, w.env, args...)
		if code == 0 || !strings.Contains(errOut, "statusbridge:") {
			t.Errorf("statusbridge %v: exit %d, stderr %q", args, code, errOut)
		}
	}
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	if out := mustCLI(t, w.env, "mapping", "get", alice); !strings.Contains(out, aliceID) || !strings.Contains(out, "admin") {
		t.Fatalf("get: %q", out)
	}
	if out := mustCLI(t, w.env, "mapping", "ls", "--json"); !strings.Contains(out, `"entra_id": "`+aliceID+`"`) {
		t.Fatalf("ls --json: %q", out)
	}
	mustCLI(t, w.env, "mapping", "rm", alice)
	if _, _, code := cli(t, w.env, "mapping", "get", alice); code == 0 {
		t.Fatal("get after rm succeeded")
	}
	if _, _, code := cli(t, w.env, "mapping", "rm", alice); code == 0 {
		t.Fatal("rm of a missing mapping succeeded")
	}
}

// TestHelpDocumentsEverySetting: --help names every setting.
func TestHelpDocumentsEverySetting(t *testing.T) {
	out := mustCLI(t, baseEnv(), "--help")
	for _, name := range []string{"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
		"REDIS_URL", "STATUSBRIDGE_DATA_DIR", "STATUSBRIDGE_LISTEN", "STATUSBRIDGE_METRICS_LISTEN", "STATUSBRIDGE_DRY_RUN",
		"STATUSBRIDGE_GRAPH_URL", "STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY", "STATUSBRIDGE_WORKERS", "STATUSBRIDGE_GRAPH_RATE",
		"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_AUTHORITY_HOST",
		"serve", "mapping", "parked", "version"} {
		if !strings.Contains(out, name) {
			t.Errorf("--help does not mention %s", name)
		}
	}
}
