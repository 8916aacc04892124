// Command statusbridge mirrors each employee's Slack status into their
// Microsoft Teams status message.
//
// Run `statusbridge --help` for the commands and settings.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

func exitCode(err error, stderr io.Writer) int {
	if err == nil || isFlagHelp(err) {
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

func commands() []command {
	return []command{
		{"serve", "", "run the bridge: Slack intake, workers, health and metrics", runServe},
		{"mapping", "set|get|rm|ls …", "manage Slack user → Entra object id mappings", runMapping},
		{"users", "show|pause|resume …", "see one employee's state; pause or resume their mirror", runUsers},
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
		return runVersion(ctx, env, args[1:])
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return scrub(c.run(ctx, env, args[1:]), secretValues(args, getenv))
		}
	}
	usage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
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
	writeSettingsHelp(w, allSettings, true)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `statusbridge <command> --help` for the flags and settings a command takes.")
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(_ context.Context, env *runEnv, args []string) error {
	if _, _, err := (cmdLine{name: "version"}).parse(env, args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "statusbridge %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
	return nil
}
