package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

const mappingUsage = `Usage:
  statusbridge mapping set <slack-user-id> <entra-object-id>
  statusbridge mapping get <slack-user-id>
  statusbridge mapping rm <slack-user-id>
  statusbridge mapping ls [--json]`

// openAdminStore resolves the store settings of an admin command and opens it.
func openAdminStore(ctx context.Context, env *runEnv, name string, args []string, extra func(fs flagSet)) (*openedStore, []string, error) {
	fs := newFlagSet(env, name, "[flags]")
	resolve := registerFlags(fs, env.getenv)
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	cfg, err := resolve()
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return nil, nil, err
	}
	return st, fs.Args(), nil
}

func runMapping(ctx context.Context, env *runEnv, args []string) error {
	if len(args) == 0 {
		return usageError{"mapping needs a subcommand\n" + mappingUsage}
	}
	sub, rest := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(env.stdout, mappingUsage)
		return nil
	}
	var asJSON bool
	var extra func(fs flagSet)
	want := map[string]int{"set": 2, "get": 1, "rm": 1, "ls": 0}
	n, ok := want[sub]
	if !ok {
		return usageError{fmt.Sprintf("unknown mapping subcommand %q\n%s", sub, mappingUsage)}
	}
	if sub == "ls" {
		extra = func(fs flagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	}
	// Validate the arguments before touching the store.
	pos, _ := splitPositional(rest)
	if len(pos) != n {
		return usageError{fmt.Sprintf("mapping %s takes %d argument(s), got %d\n%s", sub, n, len(pos), mappingUsage)}
	}
	if n >= 1 && !bridge.ValidSlackUserID(pos[0]) {
		return usageError{fmt.Sprintf("%q is not a Slack user id: want U or W followed by letters and digits, such as U024BE7LH (Slack: profile → ⋮ → Copy member ID)", pos[0])}
	}
	if n == 2 && !bridge.ValidEntraObjectID(pos[1]) {
		return usageError{fmt.Sprintf("%q is not an Entra object id: want a GUID such as fa8bf3dc-eca7-46b7-bad1-db199b62afc3 (Entra admin center → Users → Object ID)", pos[1])}
	}
	st, _, err := openAdminStore(ctx, env, "mapping "+sub, flagsOnly(rest), extra)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch sub {
	case "set":
		m := bridge.Mapping{SlackUserID: pos[0], EntraID: pos[1], Source: bridge.SourceAdmin, Detail: "set by admin", FoundAt: now.UTC()}
		if err := st.SetMapping(ctx, m, now); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s → %s (admin)\n", pos[0], pos[1])
	case "get":
		m, ok, err := st.GetMapping(ctx, pos[0])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no mapping for %s", pos[0])
		}
		printMappings(env.stdout, []bridge.Mapping{m}, false)
	case "rm":
		ok, err := st.DeleteMapping(ctx, pos[0], now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no mapping for %s", pos[0])
		}
		fmt.Fprintf(env.stdout, "removed mapping of %s\n", pos[0])
	case "ls":
		ms, err := st.ListMappings(ctx)
		if err != nil {
			return err
		}
		printMappings(env.stdout, ms, asJSON)
	}
	return nil
}

func printMappings(w io.Writer, ms []bridge.Mapping, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if ms == nil {
			ms = []bridge.Mapping{}
		}
		enc.Encode(ms)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLACK USER\tENTRA OBJECT ID\tSOURCE\tFOUND AT\tDETAIL")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.SlackUserID, orDash(m.EntraID), m.Source, m.FoundAt.UTC().Format(time.RFC3339), m.Detail)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
