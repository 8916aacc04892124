package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

const mappingUsage = `Usage:
  statusbridge mapping set <slack-user-id> <entra-object-id>
  statusbridge mapping get <slack-user-id>
  statusbridge mapping rm <slack-user-id>          (admin-set or discovered)
  statusbridge mapping ls [--source admin|email|none|skipped] [--json]
  statusbridge mapping import FILE.csv [--dry-run] (columns slack_user_id,entra; entra is an object id or a UPN)
  statusbridge mapping export                      (CSV on standard output)
  statusbridge mapping resolve <slack-user-id>     (runs discovery, explains each step, stores nothing)`

// openAdminStore parses an admin command's line and opens the store beside serve.
func openAdminStore(ctx context.Context, env *runEnv, l cmdLine, args []string) (store.Backend, *Config, []string, error) {
	cfg, pos, err := l.parse(env, args)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return nil, nil, nil, err
	}
	return st, cfg, pos, nil
}

// quietLogger logs only errors, for admin commands.
func quietLogger(env *runEnv) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// mappingArgs is how many arguments each mapping subcommand takes.
var mappingArgs = map[string]int{"set": 2, "get": 1, "rm": 1, "ls": 0, "export": 0, "resolve": 1}

func runMapping(ctx context.Context, env *runEnv, args []string) error {
	if len(args) == 0 {
		return usageError{"mapping needs a subcommand\n" + mappingUsage}
	}
	sub, rest := args[0], args[1:]
	if isHelp(sub) {
		fmt.Fprintln(env.stdout, mappingUsage)
		return nil
	}
	if sub == "import" {
		return runMappingImport(ctx, env, rest)
	}
	n, ok := mappingArgs[sub]
	if !ok {
		return usageError{fmt.Sprintf("unknown mapping subcommand %q\n%s", sub, mappingUsage)}
	}
	var asJSON bool
	var source string
	l := cmdLine{name: "mapping " + sub, settings: storeSettings}
	switch sub {
	case "ls":
		l.usage = "[--source admin|email|none|skipped] [--json]"
		l.flags = func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON")
			fs.StringVar(&source, "source", "", "only entries of this source: admin, email, none or skipped")
		}
	case "resolve":
		l.usage, l.azure = "<slack-user-id>", true
		l.settings = group(storeSettings, slackAPISettings, graphSettings, discoverySettings)
	case "set":
		l.usage = "<slack-user-id> <entra-object-id>"
	case "get", "rm":
		l.usage = "<slack-user-id>"
	}
	cfg, pos, err := l.parse(env, rest)
	if err != nil {
		return err
	}
	// Validate the arguments before touching the store.
	if err := checkMappingArgs(sub, n, pos, source); err != nil {
		return err
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "resolve" {
		return runMappingResolve(ctx, env, cfg, st, pos[0])
	}
	return mappingOp(ctx, env, st, sub, pos, source, asJSON)
}

// checkMappingArgs checks a mapping subcommand's arguments.
func checkMappingArgs(sub string, n int, pos []string, source string) error {
	if len(pos) != n {
		return usageError{fmt.Sprintf("mapping %s takes %d argument(s), got %d\n%s", sub, n, len(pos), mappingUsage)}
	}
	if n >= 1 && !bridge.ValidSlackUserID(pos[0]) {
		return usageError{fmt.Sprintf("%q is not a Slack user id: want U or W followed by letters and digits, such as U024BE7LH (Slack: profile → ⋮ → Copy member ID)", pos[0])}
	}
	if n == 2 && !bridge.ValidEntraObjectID(pos[1]) {
		return usageError{fmt.Sprintf("%q is not an Entra object id: want a GUID such as fa8bf3dc-eca7-46b7-bad1-db199b62afc3 (Entra admin center → Users → Object ID)", pos[1])}
	}
	switch source {
	case "", "admin", "email", "none", "skipped":
	default:
		return usageError{fmt.Sprintf("--source %q: want admin, email, none or skipped", source)}
	}
	return nil
}

// mappingOp runs set, get, rm, ls or export.
func mappingOp(ctx context.Context, env *runEnv, st store.Backend, sub string, pos []string, source string, asJSON bool) error {
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
		return listMappings(ctx, env.stdout, st, bridge.MappingSource(source), asJSON)
	case "export":
		return runMappingExport(ctx, env, st)
	}
	return nil
}

func printMappings(w io.Writer, ms []bridge.Mapping, asJSON bool) {
	out := newMappingWriter(w, asJSON)
	for _, m := range ms {
		out.write(m)
	}
	out.close()
}

// listMappings streams the store's mappings (only those of source, when
// set) to w as a table or a JSON array, a row at a time.
func listMappings(ctx context.Context, w io.Writer, st store.Backend, source bridge.MappingSource, asJSON bool) error {
	bw := bufio.NewWriter(w)
	out := newMappingWriter(bw, asJSON)
	err := st.EachMapping(ctx, func(m bridge.Mapping) error {
		if source != "" && m.Source != source {
			return nil
		}
		return out.write(m)
	})
	if err != nil {
		return err
	}
	return out.close()
}

// mappingWriter writes mappings one at a time, as a table or a JSON array,
// without holding them: the table's columns have fixed widths, and the
// array is written element by element.
type mappingWriter struct {
	w      io.Writer
	asJSON bool
	n      int
	err    error
}

func newMappingWriter(w io.Writer, asJSON bool) *mappingWriter {
	return &mappingWriter{w: w, asJSON: asJSON}
}

// mappingRow is the table's row format: a Slack user id, an Entra object id
// (36 characters), a source, a time (20), a detail.
const mappingRow = "%-11s  %-36s  %-7s  %-20s  %s\n"

func (mw *mappingWriter) write(m bridge.Mapping) error {
	if mw.err != nil {
		return mw.err
	}
	if mw.asJSON {
		b, err := json.MarshalIndent(m, "  ", "  ")
		if err != nil {
			mw.err = err
			return err
		}
		sep := ",\n  "
		if mw.n == 0 {
			sep = "[\n  "
		}
		_, mw.err = fmt.Fprintf(mw.w, "%s%s", sep, b)
	} else {
		if mw.n == 0 {
			_, mw.err = fmt.Fprintf(mw.w, mappingRow, "SLACK USER", "ENTRA OBJECT ID", "SOURCE", "FOUND AT", "DETAIL")
		}
		if mw.err == nil {
			_, mw.err = fmt.Fprintf(mw.w, mappingRow, m.SlackUserID, orDash(m.EntraID), m.Source, m.FoundAt.UTC().Format(time.RFC3339), m.Detail)
		}
	}
	mw.n++
	return mw.err
}

// close ends the table or the array (an empty list is "[]" in JSON, a
// header alone as a table) and flushes a buffered writer.
func (mw *mappingWriter) close() error {
	if mw.err != nil {
		return mw.err
	}
	switch {
	case mw.asJSON && mw.n == 0:
		_, mw.err = io.WriteString(mw.w, "[]\n")
	case mw.asJSON:
		_, mw.err = io.WriteString(mw.w, "\n]\n")
	case mw.n == 0:
		_, mw.err = fmt.Fprintf(mw.w, mappingRow, "SLACK USER", "ENTRA OBJECT ID", "SOURCE", "FOUND AT", "DETAIL")
	}
	if f, ok := mw.w.(interface{ Flush() error }); ok && mw.err == nil {
		mw.err = f.Flush()
	}
	return mw.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
