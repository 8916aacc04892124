package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/mapping"
	"github.com/statusbridge/statusbridge/store"
)

// importRow is one good row of an import file, its UPN resolved.
type importRow struct {
	line    int
	slackID string
	entraID string
	detail  string
}

// parseImport reads CSV rows "slack_user_id,entra" (see mapping.ReadCSV) and
// resolves the UPNs among them. It returns the good rows and one message per
// bad row, with its line number, in file order. lookupUPN resolves a UPN to
// an object id; nil when Graph is not configured.
func parseImport(ctx context.Context, r io.Reader, lookupUPN func(context.Context, string) (string, error), progress func(n int)) ([]importRow, []string, error) {
	parsed, parseBad, err := mapping.ReadCSV(r)
	if err != nil {
		return nil, nil, err
	}
	bad := append([]*mapping.RowError(nil), parseBad...)
	var rows []importRow
	next := 500 // the next progress report, in CSV records
	for _, p := range parsed {
		for ; progress != nil && next <= p.Record; next += 500 {
			progress(next)
		}
		row := importRow{line: p.Line, slackID: p.SlackUserID, entraID: p.EntraID, detail: "imported"}
		if p.UPN != "" {
			if lookupUPN == nil {
				bad = append(bad, &mapping.RowError{Line: p.Line, Reason: fmt.Sprintf("%q is a UPN, and resolving it needs the Azure settings; give the object id instead", p.UPN)})
				continue
			}
			id, err := lookupUPN(ctx, p.UPN)
			if errors.Is(err, bridge.ErrNotFound) {
				bad = append(bad, &mapping.RowError{Line: p.Line, Reason: fmt.Sprintf("no Entra user with UPN %q", p.UPN)})
				continue
			}
			if err != nil {
				bad = append(bad, &mapping.RowError{Line: p.Line, Reason: fmt.Sprintf("looking up %q failed: %v", p.UPN, err)})
				continue
			}
			row.entraID, row.detail = id, "imported: upn "+p.UPN
		}
		rows = append(rows, row)
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	msgs := make([]string, len(bad))
	for i, b := range bad {
		msgs[i] = b.Error()
	}
	return rows, msgs, nil
}

func runMappingImport(ctx context.Context, env *runEnv, args []string) error {
	var dryRun bool
	l := cmdLine{name: "mapping import", usage: "FILE.csv [--dry-run]", settings: group(storeSettings, graphSettings), azure: true,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "show what would change, store nothing")
		}}
	cfg, pos, err := l.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"mapping import takes one CSV file (or - for standard input)\n" + mappingUsage}
	}
	var in io.Reader = os.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("cannot read the import file: %v", err)
		}
		defer f.Close()
		in = f
	}
	var lookup func(context.Context, string) (string, error)
	if finder, err := newFinder(cfg, env.getenv); err != nil {
		return err
	} else if finder != nil {
		lookup = func(ctx context.Context, upn string) (string, error) {
			u, err := finder.UserByID(ctx, upn)
			return u.ID, err
		}
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	read := newProgress(env.stderr, "rows read", 0, 500)
	rows, bad, err := parseImport(ctx, in, lookup, read.Set)
	if err != nil {
		return fmt.Errorf("reading the import file: %v", err)
	}
	read.Done(len(rows) + len(bad))
	changed, same, err := applyImport(ctx, env, st, rows, dryRun, time.Now)
	if err != nil {
		return err
	}
	for _, b := range bad {
		fmt.Fprintln(env.stderr, b)
	}
	verb := "imported"
	if dryRun {
		verb = "would import"
	}
	fmt.Fprintf(env.stdout, "%s %d, unchanged %d, bad rows %d\n", verb, changed, same, len(bad))
	if len(bad) > 0 {
		return fmt.Errorf("%d bad row(s) were skipped; see the lines above", len(bad))
	}
	return nil
}

// importBatch is how many rows applyImport reads and stores per round trip
// to the store.
const importBatch = 1000

// applyImport stores the rows as admin mappings (or, on a dry run, says what
// it would store) and counts the changed and unchanged ones. It works
// importBatch rows at a time: one read of their current entries, one
// pipelined write of the changed ones, each with SetMapping's rules. Rows
// already stored as admin entries for the same Entra id are left alone, so
// running an import again after a failure is safe.
func applyImport(ctx context.Context, env *runEnv, st store.Backend, rows []importRow, dryRun bool, now func() time.Time) (changed, same int, err error) {
	bar := newProgress(env.stderr, "rows imported", len(rows), 500)
	if dryRun {
		bar = nil
	}
	ids := make([]string, 0, importBatch)
	batch := make([]bridge.Mapping, 0, importBatch)
	for start := 0; start < len(rows); start += importBatch {
		chunk := rows[start:min(start+importBatch, len(rows))]
		ids = ids[:0]
		for _, row := range chunk {
			ids = append(ids, row.slackID)
		}
		cur, err := st.GetMappings(ctx, ids)
		if err != nil {
			return changed, same, fmt.Errorf("reading the stored mappings: %v (%d rows imported before line %d)", err, changed, chunk[0].line)
		}
		batch = batch[:0]
		t := now()
		for _, row := range chunk {
			c, ok := cur[row.slackID]
			if ok && c.Source == bridge.SourceAdmin && c.EntraID == row.entraID {
				same++
				continue
			}
			if dryRun {
				was := "new"
				if ok {
					was = fmt.Sprintf("was %s (%s)", orDash(c.EntraID), c.Source)
				}
				fmt.Fprintf(env.stdout, "would set %s → %s (%s)\n", row.slackID, row.entraID, was)
				changed++
				continue
			}
			batch = append(batch, bridge.Mapping{SlackUserID: row.slackID, EntraID: row.entraID, Source: bridge.SourceAdmin, Detail: row.detail, FoundAt: t.UTC()})
		}
		if len(batch) > 0 {
			if err := st.SetMappings(ctx, batch, t); err != nil {
				return changed, same, fmt.Errorf("storing the rows from line %d on: %v (%d rows imported before them; importing the file again is safe)", chunk[0].line, err, changed)
			}
			changed += len(batch)
		}
		bar.Set(start + len(chunk))
	}
	bar.Done(len(rows))
	return changed, same, nil
}

func runMappingExport(ctx context.Context, env *runEnv, st store.Backend) error {
	cw := mapping.NewCSVWriter(env.stdout)
	if err := st.EachMapping(ctx, cw.Write); err != nil {
		return err
	}
	return cw.Flush()
}

func runMappingResolve(ctx context.Context, env *runEnv, cfg *Config, st store.Backend, slackID string) error {
	dir, finder, err := newDiscovery(cfg, env.getenv)
	if err != nil {
		return err
	}
	if dir == nil || finder == nil {
		return errors.New("discovery needs SLACK_BOT_TOKEN and the Azure settings (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)")
	}
	r := mapping.New(st, mapping.Options{Directory: dir, Finder: finder, DomainMap: cfg.EmailDomainMap})
	if cur, ok, err := st.GetMapping(ctx, slackID); err == nil && ok {
		fmt.Fprintf(env.stdout, "stored: %s (%s, %s, %s)\n", orDash(cur.EntraID), cur.Source, cur.FoundAt.UTC().Format(time.RFC3339), cur.Detail)
		if cur.Source == bridge.SourceAdmin {
			fmt.Fprintln(env.stdout, "note: an admin-set entry always wins over discovery")
		}
	}
	m, _, err := r.Discover(ctx, slackID, func(step string) { fmt.Fprintln(env.stdout, "- "+step) })
	if err != nil {
		return err
	}
	if m.EntraID != "" {
		fmt.Fprintf(env.stdout, "result: %s → %s (%s); not stored\n", slackID, m.EntraID, m.Detail)
		return nil
	}
	fmt.Fprintf(env.stdout, "result: no mapping (%s: %s); not stored\n", m.Source, m.Detail)
	return nil
}
