package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks the local bridge's /healthz, for container health checks.
func runHealthcheck(ctx context.Context, env *runEnv, args []string) error {
	cfg, pos, err := (cmdLine{name: "healthcheck", settings: []string{"STATUSBRIDGE_LISTEN"}}).parse(env, args)
	if err != nil {
		return err
	}
	if err := wantArgs("healthcheck", pos, 0, "Usage: statusbridge healthcheck [flags]"); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: /healthz answered %s", resp.Status)
	}
	fmt.Fprintln(env.stdout, "healthy")
	return nil
}
