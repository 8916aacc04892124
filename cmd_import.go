package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/mapping"
)

// importRow is one good row of an import file.
type importRow struct {
	line    int
	slackID string
	entraID string
	detail  string
}

// parseImport reads CSV rows "slack_user_id,entra" (extra columns are
// ignored, a header row is optional). It returns the good rows and one
// message per bad row, with its line number. lookupUPN resolves a UPN to an
// object id; nil when Graph is not configured.
func parseImport(ctx context.Context, r io.Reader, lookupUPN func(context.Context, string) (string, error), progress func(n int)) ([]importRow, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	var rows []importRow
	var bad []string
	seen := map[string]int{}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, fmt.Sprintf("line %d: not valid CSV: %v", pe.StartLine, pe.Err))
				continue
			}
			return nil, nil, err
		}
		// Only after a good read: a record that failed in its first field has no positions.
		line, _ := cr.FieldPos(0)
		if progress != nil && n > 0 && n%500 == 0 {
			progress(n)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		if n == 0 && len(rec) >= 1 && strings.EqualFold(strings.TrimPrefix(rec[0], "\ufeff"), "slack_user_id") {
			continue // header
		}
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		if len(rec) < 2 || rec[1] == "" {
			bad = append(bad, fmt.Sprintf("line %d: want slack_user_id,entra", line))
			continue
		}
		slackID, entra := rec[0], rec[1]
		if !bridge.ValidSlackUserID(slackID) {
			bad = append(bad, fmt.Sprintf("line %d: %q is not a Slack user id (U… or W…)", line, slackID))
			continue
		}
		if prev, ok := seen[slackID]; ok {
			bad = append(bad, fmt.Sprintf("line %d: %s already appears on line %d; this row is skipped", line, slackID, prev))
			continue
		}
		row := importRow{line: line, slackID: slackID, detail: "imported"}
		switch {
		case bridge.ValidEntraObjectID(entra):
			row.entraID = strings.ToLower(entra)
		case strings.Contains(entra, "@"):
			if lookupUPN == nil {
				bad = append(bad, fmt.Sprintf("line %d: %q is a UPN, and resolving it needs the Azure settings; give the object id instead", line, entra))
				continue
			}
			id, err := lookupUPN(ctx, entra)
			if errors.Is(err, bridge.ErrNotFound) {
				bad = append(bad, fmt.Sprintf("line %d: no Entra user with UPN %q", line, entra))
				continue
			}
			if err != nil {
				bad = append(bad, fmt.Sprintf("line %d: looking up %q failed: %v", line, entra, err))
				continue
			}
			row.entraID, row.detail = id, "imported: upn "+entra
		default:
			bad = append(bad, fmt.Sprintf("line %d: %q is neither an Entra object id (a GUID) nor a UPN", line, entra))
			continue
		}
		seen[slackID] = line
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// takeDryRun removes the import's own --dry-run flag from args. The settings
// have a --dry-run too (STATUSBRIDGE_DRY_RUN, for serve), so the import's is
// taken out before the settings' flags are parsed.
func takeDryRun(args []string) (rest []string, dryRun bool, err error) {
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "dry-run" {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			dryRun = true
			continue
		}
		if dryRun, err = strconv.ParseBool(val); err != nil {
			return nil, false, usageError{fmt.Sprintf("--dry-run=%q: want true or false", val)}
		}
	}
	return rest, dryRun, nil
}

func runMappingImport(ctx context.Context, env *runEnv, args []string) error {
	args, dryRun, err := takeDryRun(args)
	if err != nil {
		return err
	}
	pos, _ := splitPositional(args)
	if len(pos) != 1 {
		return usageError{"mapping import takes one CSV file (or - for standard input)\n" + mappingUsage}
	}
	cfg, err := loadConfig(env, "mapping import", "FILE.csv [--dry-run]", flagsOnly(args), nil)
	if err != nil {
		return err
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
	rows, bad, err := parseImport(ctx, in, lookup, func(n int) { fmt.Fprintf(env.stderr, "… %d rows read\n", n) })
	if err != nil {
		return fmt.Errorf("reading the import file: %v", err)
	}
	var changed, same int
	for i, row := range rows {
		cur, ok, err := st.GetMapping(ctx, row.slackID)
		if err != nil {
			return err
		}
		if ok && cur.Source == bridge.SourceAdmin && cur.EntraID == row.entraID {
			same++
			continue
		}
		changed++
		was := "new"
		if ok {
			was = fmt.Sprintf("was %s (%s)", orDash(cur.EntraID), cur.Source)
		}
		if dryRun {
			fmt.Fprintf(env.stdout, "would set %s → %s (%s)\n", row.slackID, row.entraID, was)
			continue
		}
		now := time.Now()
		m := bridge.Mapping{SlackUserID: row.slackID, EntraID: row.entraID, Source: bridge.SourceAdmin, Detail: row.detail, FoundAt: now.UTC()}
		if err := st.SetMapping(ctx, m, now); err != nil {
			return fmt.Errorf("line %d: %v (%d rows imported before it)", row.line, err, changed-1)
		}
		if (i+1)%500 == 0 {
			fmt.Fprintf(env.stderr, "… %d/%d rows imported\n", i+1, len(rows))
		}
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

func runMappingExport(ctx context.Context, env *runEnv, st *openedStore) error {
	ms, err := st.ListMappings(ctx)
	if err != nil {
		return err
	}
	w := csv.NewWriter(env.stdout)
	w.Write([]string{"slack_user_id", "entra", "source", "found_at", "detail"})
	for _, m := range ms {
		if m.EntraID == "" {
			continue
		}
		w.Write([]string{m.SlackUserID, m.EntraID, string(m.Source), m.FoundAt.UTC().Format(time.RFC3339), m.Detail})
	}
	w.Flush()
	return w.Error()
}

func runMappingResolve(ctx context.Context, env *runEnv, cfg config, st *openedStore, slackID string) error {
	dir, finder, err := newDiscovery(cfg, env.getenv)
	if err != nil {
		return err
	}
	if dir == nil || finder == nil {
		return errors.New("discovery needs SLACK_BOT_TOKEN and the Azure settings (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)")
	}
	domains, _ := mapping.ParseDomainMap(cfg.get("STATUSBRIDGE_EMAIL_DOMAIN_MAP"))
	r := mapping.New(st, mapping.Options{Directory: dir, Finder: finder, DomainMap: domains})
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
