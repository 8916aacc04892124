package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

// importFile writes an import file of n rows of object ids and returns its path.
func importFile(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("slack_user_id,entra\n")
	for i := range n {
		fmt.Fprintf(&b, "U%08d,%08x-0000-4000-8000-%012x\n", i, i, i)
	}
	p := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	env, out, errOut := testEnv(vars)
	err := run(t.Context(), args, env.getenv, env.stdout, env.stderr)
	return out.String(), errOut.String(), err
}

// TestImportListExportAtScale: an import of many rows lands whole, shows
// plain progress lines on a non-terminal stderr, is a no-op the second time,
// and ls --json and export stream every entry back, on both stores.
func TestImportListExportAtScale(t *testing.T) {
	const n = 12_345
	file := importFile(t, n)
	srv := redistest.Start(t)
	for name, vars := range map[string]map[string]string{
		"redis":    {"REDIS_URL": srv.URL()},
		"embedded": {"STATUSBRIDGE_DATA_DIR": t.TempDir()},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := runCLI(t, vars, "mapping", "import", file)
			if err != nil {
				t.Fatalf("import: %v\n%s", err, errOut)
			}
			if want := fmt.Sprintf("imported %d, unchanged 0, bad rows 0\n", n); out != want {
				t.Fatalf("import stdout %q, want %q", out, want)
			}
			for _, want := range []string{"… 500 rows read\n", fmt.Sprintf("… 1000/%d rows imported\n", n), fmt.Sprintf("… %d/%d rows imported\n", n, n)} {
				if !strings.Contains(errOut, want) {
					t.Errorf("import stderr lacks %q:\n%s", want, errOut)
				}
			}
			if lines := strings.Count(errOut, "\n"); lines > 60 {
				t.Errorf("import wrote %d progress lines for %d rows, want a few dozen", lines, n)
			}
			if strings.Contains(errOut, "\r") {
				t.Errorf("a non-terminal stderr got a redrawn bar: %q", errOut[:min(len(errOut), 200)])
			}

			out, _, err = runCLI(t, vars, "mapping", "import", file)
			if err != nil || out != fmt.Sprintf("imported 0, unchanged %d, bad rows 0\n", n) {
				t.Fatalf("second import: %q, %v", out, err)
			}

			out, _, err = runCLI(t, vars, "mapping", "ls", "--json", "--source", "admin")
			if err != nil {
				t.Fatal(err)
			}
			var ms []bridge.Mapping
			if err := json.Unmarshal([]byte(out), &ms); err != nil {
				t.Fatalf("ls --json is not JSON: %v\n%.300s", err, out)
			}
			seen := map[string]bool{}
			for _, m := range ms {
				var i int
				fmt.Sscanf(m.SlackUserID, "U%08d", &i)
				if want := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i); m.EntraID != want || m.Source != bridge.SourceAdmin || seen[m.SlackUserID] {
					t.Fatalf("ls entry %+v, want entra %s, admin, once", m, want)
				}
				seen[m.SlackUserID] = true
			}
			if len(seen) != n {
				t.Fatalf("ls --json listed %d entries, want %d", len(seen), n)
			}
			if out, _, _ := runCLI(t, vars, "mapping", "ls", "--json", "--source", "email"); out != "[]\n" {
				t.Fatalf("ls --json of no entries = %q, want []", out)
			}
			out, _, err = runCLI(t, vars, "mapping", "ls")
			if err != nil || strings.Count(out, "\n") != n+1 || !strings.HasPrefix(out, "SLACK USER ") {
				t.Fatalf("ls table: %d lines, %v\n%.300s", strings.Count(out, "\n"), err, out)
			}

			out, _, err = runCLI(t, vars, "mapping", "export")
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(recs) != n+1 || recs[0][0] != "slack_user_id" {
				t.Fatalf("export: %d records, %v", len(recs), err)
			}
		})
	}
}

// TestImportDryRunStoresNothing: a dry run over a batch says what it would
// set and stores nothing.
func TestImportDryRunStoresNothing(t *testing.T) {
	vars := map[string]string{"STATUSBRIDGE_DATA_DIR": t.TempDir()}
	file := importFile(t, 1500)
	out, errOut, err := runCLI(t, vars, "mapping", "import", "--dry-run", file)
	if err != nil || !strings.HasSuffix(out, "would import 1500, unchanged 0, bad rows 0\n") || strings.Count(out, "would set ") != 1500 {
		t.Fatalf("dry run: %v\n%.300s\n%s", err, out, errOut)
	}
	if out, _, _ := runCLI(t, vars, "mapping", "ls", "--json"); out != "[]\n" {
		t.Fatalf("dry run stored mappings: %.300s", out)
	}
}

// TestImport100kRowsIntoRedis: 100,000 rows of object ids reach Redis in
// well under a minute, every one stored.
func TestImport100kRowsIntoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 100,000-row import runs in the full suite")
	}
	const n = 100_000
	file := importFile(t, n)
	srv := redistest.Start(t)
	vars := map[string]string{"REDIS_URL": srv.URL()}
	start := time.Now()
	out, errOut, err := runCLI(t, vars, "mapping", "import", file)
	took := time.Since(start)
	if err != nil || out != fmt.Sprintf("imported %d, unchanged 0, bad rows 0\n", n) {
		t.Fatalf("import: %v\n%s\n%s", err, out, errOut)
	}
	t.Logf("import of %d rows into Redis took %s", n, took.Round(time.Millisecond))
	if took > 60*time.Second {
		t.Fatalf("import of %d rows took %s, want under 60 s", n, took)
	}
	count := 0
	env, _, _ := testEnv(vars)
	cfg, _, err := (cmdLine{name: "mapping ls", settings: storeSettings}).parse(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openAdmin(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EachMapping(t.Context(), func(bridge.Mapping) error { count++; return nil }); err != nil || count != n {
		t.Fatalf("EachMapping after the import: %d entries, %v; want %d", count, err, n)
	}
}
