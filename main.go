// Command statusbridge mirrors each employee's Slack status into their
// Microsoft Teams status message.
//
// Run `statusbridge --help` for the commands and settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "statusbridge:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *runEnv, args []string) error
}

// runEnv is what every command gets from the process.
type runEnv struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "", "run the bridge: Slack intake, workers, health and metrics", runServe},
		{"mapping", "set|get|rm|ls …", "manage Slack user → Entra object id mappings", runMapping},
		{"parked", "ls|retry …", "list users set aside after a permanent failure, and retry them", runParked},
		{"reconcile", "", "submit every Slack user's current status (repairs missed events; run from cron)", runReconcile},
		{"doctor", "[--public-url URL]", "check the settings, Slack, Graph, the store and the intake; one line each", runDoctor},
		{"healthcheck", "", "exit 0 when the local bridge answers /healthz (for container health checks)", runHealthcheck},
		{"version", "", "print the version", runVersion},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := &runEnv{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		usage(stdout)
		return nil
	case "-version", "--version":
		return runVersion(ctx, env, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return scrub(c.run(ctx, env, args[1:]), knownSecrets(args, getenv))
		}
	}
	usage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// knownSecrets lists the secret values given in the environment or on the
// command line.
func knownSecrets(args []string, getenv func(string) string) []string {
	var out []string
	for _, s := range settings {
		if !s.secret {
			continue
		}
		if v := getenv(s.env); v != "" {
			out = append(out, v, urlPassword(v))
		}
		for i, a := range args {
			name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || name != s.flag {
				continue
			}
			if hasVal {
				out = append(out, val, urlPassword(val))
			} else if i+1 < len(args) {
				out = append(out, args[i+1], urlPassword(args[i+1]))
			}
		}
	}
	for _, env := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"} {
		if v := getenv(env); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// urlPassword returns the password of a URL such as REDIS_URL, or "".
func urlPassword(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	return ""
}

// scrub removes secret values from an error's text.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if len(s) >= 8 {
			clean = strings.ReplaceAll(clean, s, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	var ue usageError
	if errors.As(err, &ue) {
		return usageError{clean}
	}
	return errors.New(clean)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "statusbridge mirrors each employee's Slack status into their Microsoft Teams status message.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: statusbridge <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %-18s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w)
	writeSettingsHelp(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `statusbridge <command> --help` for a command's own flags.")
}

// newFlagSet returns a flag set for a command whose errors say how to get help.
func newFlagSet(env *runEnv, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("statusbridge "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: statusbridge %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag mistakes into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.get("STATUSBRIDGE_LOG_LEVEL")))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.get("STATUSBRIDGE_LOG_FORMAT") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(_ context.Context, env *runEnv, _ []string) error {
	fmt.Fprintf(env.stdout, "statusbridge %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
	return nil
}
