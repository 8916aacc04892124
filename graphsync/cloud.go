package graphsync

import (
	"net/url"
	"strings"
)

// Cloud is one Microsoft cloud's Graph endpoint, Entra authority and token scope.
type Cloud struct {
	// Name is the one word that selects the cloud: global, usgov, usgovdod or china.
	Name string
	// GraphURL is the Graph v1.0 base URL.
	GraphURL string
	// AuthorityHost is the Entra ID authority, with a trailing slash.
	AuthorityHost string
	// Scope is the app-only token scope for the cloud's Graph.
	Scope string
}

// clouds lists the public and national clouds, from
// https://learn.microsoft.com/graph/deployments (Graph and Entra endpoints)
// and https://learn.microsoft.com/graph/sdks/national-clouds (scopes use the
// national Graph host).
var clouds = []Cloud{
	{Name: "global", GraphURL: "https://graph.microsoft.com/v1.0",
		AuthorityHost: "https://login.microsoftonline.com/", Scope: "https://graph.microsoft.com/.default"},
	{Name: "usgov", GraphURL: "https://graph.microsoft.us/v1.0",
		AuthorityHost: "https://login.microsoftonline.us/", Scope: "https://graph.microsoft.us/.default"},
	{Name: "usgovdod", GraphURL: "https://dod-graph.microsoft.us/v1.0",
		AuthorityHost: "https://login.microsoftonline.us/", Scope: "https://dod-graph.microsoft.us/.default"},
	{Name: "china", GraphURL: "https://microsoftgraph.chinacloudapi.cn/v1.0",
		AuthorityHost: "https://login.chinacloudapi.cn/", Scope: "https://microsoftgraph.chinacloudapi.cn/.default"},
}

// CloudNames lists the names CloudByName knows, global first.
func CloudNames() []string {
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return names
}

// CloudByName returns the cloud called name (global, usgov, usgovdod or
// china; case and surrounding space do not matter).
func CloudByName(name string) (Cloud, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, c := range clouds {
		if c.Name == name {
			return c, true
		}
	}
	return Cloud{}, false
}

// CloudOfGraphURL returns the cloud whose Graph host an https URL names
// (any path, such as /v1.0 or /beta; the default port only).
func CloudOfGraphURL(u string) (Cloud, bool) {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || !strings.EqualFold(p.Scheme, "https") {
		return Cloud{}, false
	}
	if port := p.Port(); port != "" && port != "443" {
		return Cloud{}, false
	}
	return cloudOfHost(p.Hostname())
}

// cloudOfHost returns the cloud whose Graph host is host.
func cloudOfHost(host string) (Cloud, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, c := range clouds {
		if graphHost(c) == host {
			return c, true
		}
	}
	return Cloud{}, false
}

// graphHost returns the host of a cloud's Graph URL.
func graphHost(c Cloud) string {
	h := strings.TrimPrefix(c.GraphURL, "https://")
	h, _, _ = strings.Cut(h, "/")
	return h
}
