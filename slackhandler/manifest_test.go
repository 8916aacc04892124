package slackhandler_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/statusbridge/statusbridge/slackhandler"
)

// TestManifestsMatchTheHandler checks that the app manifests ask Slack for
// what the handler serves: the command, the buttons, App Home, the events and
// scopes, an org-wide install, and one request URL over HTTP.
func TestManifestsMatchTheHandler(t *testing.T) {
	for _, name := range []string{"manifest-http.yaml", "manifest-socket-mode.yaml"} {
		b, err := os.ReadFile("../slack-app/" + name)
		if err != nil {
			t.Fatal(err)
		}
		m := string(b)
		for _, want := range []string{
			"- command: " + slackhandler.CommandName,
			`usage_hint: "[show|pause|resume|help]"`,
			"- commands ", "- users:read ", "- users:read.email ",
			"- user_status_changed\n", "- user_change ", "- app_home_opened\n",
			"home_tab_enabled: true", "messages_tab_enabled: false",
			"interactivity:\n    is_enabled: true",
			"org_deploy_enabled: true",
		} {
			if !strings.Contains(m, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		urls := regexp.MustCompile(`(?m)^\s*(?:url|request_url): (\S+)`).FindAllStringSubmatch(m, -1)
		if strings.Contains(name, "http") {
			if len(urls) != 3 {
				t.Errorf("%s: %d request URLs, want 3 (events, command, interactivity)", name, len(urls))
			}
			for _, u := range urls {
				if !strings.HasSuffix(u[1], "/slack/events") || u[1] != urls[0][1] {
					t.Errorf("%s: request URL %s, want the one /slack/events URL", name, u[1])
				}
			}
			if !strings.Contains(m, "socket_mode_enabled: false") {
				t.Errorf("%s: socket mode on", name)
			}
		} else {
			if len(urls) != 0 {
				t.Errorf("%s: request URLs %v in Socket Mode", name, urls)
			}
			if !strings.Contains(m, "socket_mode_enabled: true") {
				t.Errorf("%s: socket mode off", name)
			}
		}
	}
}
