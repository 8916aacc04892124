package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/statusbridge/statusbridge/graphsync"
)

func cloudName(v string) error {
	if _, ok := graphsync.CloudByName(v); !ok {
		return fmt.Errorf("want one of %s", strings.Join(graphsync.CloudNames(), ", "))
	}
	return nil
}

// applyCloud fills the Graph URL, the token scope and the Entra authority
// host from STATUSBRIDGE_CLOUD. Settings given explicitly win; where they
// contradict the cloud, a warning says so.
func (c *Config) applyCloud(getenv func(string) string) {
	if c.Cloud == "" {
		return
	}
	cloud, _ := graphsync.CloudByName(c.Cloud)
	c.Cloud = cloud.Name
	if !c.explicit["STATUSBRIDGE_GRAPH_URL"] {
		c.GraphURL = cloud.GraphURL
	} else if !sameHost(c.GraphURL, cloud.GraphURL) {
		c.warnings = append(c.warnings, fmt.Sprintf("STATUSBRIDGE_GRAPH_URL %s is not the %s cloud's Graph (%s); the explicit setting wins", c.GraphURL, cloud.Name, cloud.GraphURL))
	}
	if !c.explicit["STATUSBRIDGE_GRAPH_SCOPE"] {
		if sameHost(c.GraphURL, cloud.GraphURL) {
			c.GraphScope = cloud.Scope
		}
	} else if c.GraphScope != cloud.Scope {
		c.warnings = append(c.warnings, fmt.Sprintf("STATUSBRIDGE_GRAPH_SCOPE %s is not the %s cloud's scope (%s); the explicit setting wins", c.GraphScope, cloud.Name, cloud.Scope))
	}
	if h := getenv("AZURE_AUTHORITY_HOST"); h == "" {
		c.authorityHost = cloud.AuthorityHost
	} else if !sameHost(h, cloud.AuthorityHost) {
		c.warnings = append(c.warnings, fmt.Sprintf("AZURE_AUTHORITY_HOST %s is not the %s cloud's (%s); the explicit setting wins", h, cloud.Name, cloud.AuthorityHost))
	}
}

// azureEnv is getenv with the authority host the cloud implies, for azidentity.
func (c *Config) azureEnv(getenv func(string) string) func(string) string {
	if c.authorityHost == "" {
		return getenv
	}
	return func(k string) string {
		if k == "AZURE_AUTHORITY_HOST" {
			return c.authorityHost
		}
		return getenv(k)
	}
}

// cloudInUse names the cloud the Graph URL belongs to, for doctor and the log.
func (c *Config) cloudInUse() string {
	if cl, ok := graphsync.CloudOfGraphURL(c.GraphURL); ok {
		return cl.Name
	}
	return "custom (" + c.GraphURL + ")"
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}
