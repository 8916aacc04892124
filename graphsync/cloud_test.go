package graphsync

import (
	"context"
	"strings"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
)

func TestCloudByName(t *testing.T) {
	tests := []struct{ name, graph, authority, scope string }{
		{"global", "https://graph.microsoft.com/v1.0", "https://login.microsoftonline.com/", "https://graph.microsoft.com/.default"},
		{"usgov", "https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us/", "https://graph.microsoft.us/.default"},
		{"usgovdod", "https://dod-graph.microsoft.us/v1.0", "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/.default"},
		{"china", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/.default"},
		{" China ", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	for _, tt := range tests {
		c, ok := CloudByName(tt.name)
		if !ok || c.GraphURL != tt.graph || c.AuthorityHost != tt.authority || c.Scope != tt.scope {
			t.Errorf("CloudByName(%q) = %+v, %v", tt.name, c, ok)
		}
		back, ok := CloudOfGraphURL(c.GraphURL)
		if !ok || back != c {
			t.Errorf("CloudOfGraphURL(%q) = %+v, %v", c.GraphURL, back, ok)
		}
	}
	for _, bad := range []string{"", "public", "gcc", "azurechina"} {
		if c, ok := CloudByName(bad); ok {
			t.Errorf("CloudByName(%q) = %+v", bad, c)
		}
	}
	if got := strings.Join(CloudNames(), ","); got != "global,usgov,usgovdod,china" {
		t.Errorf("CloudNames() = %s", got)
	}
}

func TestCloudOfGraphURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://graph.microsoft.com/v1.0", "global"},
		{"https://GRAPH.microsoft.com/beta", "global"},
		{"https://graph.microsoft.com:443/v1.0", "global"},
		{"https://graph.microsoft.com", "global"},
		{"https://dod-graph.microsoft.us/v1.0", "usgovdod"},
		{"https://graph.microsoft.us/v1.0/", "usgov"},
		{"https://microsoftgraph.chinacloudapi.cn/v1.0", "china"},
		{"http://graph.microsoft.com/v1.0", ""},
		{"https://graph.microsoft.com:8443/v1.0", ""},
		{"https://graph.microsoft.co/v1.0", ""},
		{"https://graph.microsoft.com.evil.example/v1.0", ""},
		{"https://127.0.0.1:8443/v1.0", ""},
		{"graph.microsoft.com", ""},
	}
	for _, tt := range tests {
		c, ok := CloudOfGraphURL(tt.url)
		if ok != (tt.want != "") || c.Name != tt.want {
			t.Errorf("CloudOfGraphURL(%q) = %q, %v; want %q", tt.url, c.Name, ok, tt.want)
		}
	}
}

// TestNoTokenToAStranger: a Graph URL whose host is no Microsoft Graph host
// is refused without an explicit scope, before any token is asked for.
func TestNoTokenToAStranger(t *testing.T) {
	fg := start(t)
	for _, u := range []string{"https://graph.microsoft.co/v1.0", "https://graph.mircosoft.com/v1.0", "https://graph.microsoft.com.evil.example/v1.0"} {
		_, err := New(Config{GraphURL: u, DisableInstanceDiscovery: true, HTTPClient: loopbackClient(t, fg)}, envOf(fg.Env()))
		if err == nil || !strings.Contains(err.Error(), EnvGraphScope) || !strings.Contains(err.Error(), EnvGraphURL) {
			t.Errorf("New(%s) = %v, want an error naming %s and %s", u, err, EnvGraphScope, EnvGraphURL)
		}
		if err != nil && strings.Contains(err.Error(), fg.ClientSecret) {
			t.Errorf("error carries the secret: %v", err)
		}
	}
	if n := fg.TokenRequests(); n != 0 {
		t.Errorf("token requests = %d, want 0", n)
	}

	// An explicit scope allows a private cloud's host.
	c, err := New(Config{GraphURL: "https://graph.example.internal/v1.0", Scope: "https://graph.example.internal/.default",
		DisableInstanceDiscovery: true, HTTPClient: loopbackClient(t, fg)}, envOf(fg.Env()))
	if err != nil || c.Scope() != "https://graph.example.internal/.default" {
		t.Fatalf("private cloud with a scope: %v", err)
	}

	// Loopback stand-ins need no scope: 127.0.0.1 and localhost.
	fg.AddUser(fakegraph.User{ID: "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"})
	local := strings.Replace(fg.GraphURL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{fg.GraphURL, local} {
		c, err := New(Config{GraphURL: u, DisableInstanceDiscovery: true, HTTPClient: loopbackClient(t, fg)}, envOf(fg.Env()))
		if err != nil {
			t.Fatalf("New(%s): %v", u, err)
		}
		if err := c.SetStatusMessage(context.Background(), "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", bridge.Message{Content: "x"}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
