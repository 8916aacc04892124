package validate

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

const repoRoot = "../.."

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd  string // upper case, e.g. FROM
	args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(s, " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// goDirective returns the go version named by the root go.mod.
func goDirective(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// versionParts splits "1.26.8" into [1 26 8]; a missing patch is -1.
func versionParts(v string) [3]int {
	out := [3]int{-1, -1, -1}
	for i, p := range strings.SplitN(v, ".", 3) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return [3]int{-1, -1, -1}
		}
		out[i] = n
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	args := map[string]string{} // ARG defaults declared before the first FROM
	var froms []instruction
	var stages [][]instruction
	for _, in := range ins {
		switch {
		case in.cmd == "ARG" && len(froms) == 0:
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case in.cmd == "FROM":
			froms = append(froms, in)
			stages = append(stages, nil)
		case len(stages) > 0:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(froms))
	}

	// Build stage: golang image whose Go satisfies go.mod.
	build := strings.Fields(froms[0].args)
	image := ""
	for _, f := range build {
		if !strings.HasPrefix(f, "--") {
			image = os.Expand(f, func(k string) string { return args[k] })
			break
		}
	}
	goTag, ok := strings.CutPrefix(image, "golang:")
	if !ok {
		t.Fatalf("build stage image %q, want golang:<version>", image)
	}
	goTag, _, _ = strings.Cut(goTag, "-") // golang:1.26-bookworm
	want, got := versionParts(goDirective(t)), versionParts(goTag)
	if got[0] != want[0] || got[1] != want[1] || (got[2] >= 0 && got[2] < want[2]) {
		t.Errorf("build stage golang:%s does not match go.mod's go %s", goTag, goDirective(t))
	}

	buildText := fmt.Sprint(stages[0])
	for _, s := range []string{
		"CGO_ENABLED=0", "-trimpath", "--mount=type=cache,target=/go/pkg/mod",
		"--mount=type=cache,target=/root/.cache/go-build",
		"-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${DATE}",
	} {
		if !strings.Contains(buildText, s) {
			t.Errorf("build stage lacks %q", s)
		}
	}
	for _, a := range []string{"VERSION", "COMMIT", "DATE"} {
		if !slices.ContainsFunc(stages[0], func(in instruction) bool {
			return in.cmd == "ARG" && (in.args == a || strings.HasPrefix(in.args, a+"="))
		}) {
			t.Errorf("build stage has no ARG %s", a)
		}
	}

	// Final stage.
	last := froms[len(froms)-1]
	if f := strings.Fields(last.args); len(f) == 0 || f[0] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage FROM %q, want gcr.io/distroless/static-debian12:nonroot", last.args)
	}
	final := map[string][]string{}
	for _, in := range stages[len(stages)-1] {
		final[in.cmd] = append(final[in.cmd], in.args)
	}
	expect := func(cmd, want string) {
		t.Helper()
		got := final[cmd]
		if len(got) == 0 || got[len(got)-1] != want {
			t.Errorf("final stage %s = %q, want %q", cmd, got, want)
		}
	}
	expect("USER", "nonroot:nonroot")
	expect("EXPOSE", "8080")
	expect("ENTRYPOINT", `["/statusbridge"]`)
	expect("CMD", `["serve"]`)
	if hc := final["HEALTHCHECK"]; len(hc) != 1 || !strings.HasSuffix(hc[0], `CMD ["/statusbridge","healthcheck"]`) {
		t.Errorf("final stage HEALTHCHECK = %q, want one ending in CMD [\"/statusbridge\",\"healthcheck\"]", hc)
	}
}

// TestVersionVariables checks that package main declares the string
// variables the Dockerfile sets with -ldflags -X; -X silently does nothing
// for a name that does not exist.
func TestVersionVariables(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]ast.Expr{} // name -> type or value
	mainFiles := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if file.Name.Name != "main" {
			continue
		}
		mainFiles++
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					switch {
					case vs.Type != nil:
						vars[n.Name] = vs.Type
					case i < len(vs.Values):
						vars[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	if mainFiles == 0 {
		t.Skip("no package main at the repository root yet")
	}
	for _, name := range []string{"version", "commit", "date"} {
		e, ok := vars[name]
		if !ok {
			t.Errorf("package main declares no var %s for -X main.%s", name, name)
			continue
		}
		switch x := e.(type) {
		case *ast.Ident:
			if x.Name != "string" {
				t.Errorf("var %s has type %s; -X needs string", name, x.Name)
			}
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				t.Errorf("var %s is not a string", name)
			}
		default:
			t.Errorf("var %s: -X needs an uninitialised string or a string constant", name)
		}
	}
}

// settingsTable is what package main's settings table declares.
type settingsTable struct {
	found  bool
	names  []string
	secret map[string]bool
	def    map[string]string
}

var (
	settingsOnce   sync.Once
	settingsCached settingsTable
	settingsErr    error
)

// codeSettings reads the settings table of package main: every composite
// literal with an env: "NAME" field, and whether it has secret: true.
func codeSettings(t *testing.T) settingsTable {
	t.Helper()
	settingsOnce.Do(func() { settingsCached, settingsErr = parseSettings() })
	if settingsErr != nil {
		t.Fatal(settingsErr)
	}
	return settingsCached
}

func parseSettings() (settingsTable, error) {
	st := settingsTable{secret: map[string]bool{}, def: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	if err != nil {
		return st, err
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return st, err
		}
		if file.Name.Name != "main" {
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			name, def, secret := "", "", false
			for _, e := range cl.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				switch {
				case key == nil:
				case key.Name == "env":
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						name, _ = strconv.Unquote(lit.Value)
					}
				case key.Name == "def":
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						def, _ = strconv.Unquote(lit.Value)
					}
				case key.Name == "secret":
					id, _ := kv.Value.(*ast.Ident)
					secret = id != nil && id.Name == "true"
				}
			}
			if name != "" {
				st.found = true
				st.names = append(st.names, name)
				st.secret[name] = secret
				st.def[name] = def
			}
			return true
		})
	}
	return st, nil
}

// TestSettingsContract checks that package main's settings table still has
// every setting the packaging passes.
func TestSettingsContract(t *testing.T) {
	cs := codeSettings(t)
	if !cs.found {
		t.Skip("no settings table in package main yet")
	}
	for _, s := range contractSettings {
		if !slices.Contains(cs.names, s) {
			t.Errorf("package main has no setting %s", s)
		}
	}
	for _, s := range []string{"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_ADMIN_USER_TOKEN", "REDIS_URL"} {
		if !cs.secret[s] {
			t.Errorf("package main does not mark %s secret", s)
		}
	}
}

type composeFile struct {
	Services map[string]composeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

type composeService struct {
	Image       string          `json:"image"`
	Command     any             `json:"command"`
	EnvFile     any             `json:"env_file"`
	Environment any             `json:"environment"`
	DependsOn   any             `json:"depends_on"`
	Volumes     []any           `json:"volumes"`
	Healthcheck *map[string]any `json:"healthcheck"`
}

// words turns a compose string-or-list value into a list of words. YAML 1.1
// reads a bare yes as true; compose (YAML 1.2) keeps it as "yes".
func words(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch e := e.(type) {
			case bool:
				out = append(out, map[bool]string{true: "yes", false: "no"}[e])
			default:
				out = append(out, fmt.Sprint(e))
			}
		}
		return out
	}
	return nil
}

// envMap turns a compose environment (map or KEY=VALUE list) into a map.
func envMap(v any) map[string]string {
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[k] = fmt.Sprint(e)
		}
	case []any:
		for _, e := range x {
			k, val, _ := strings.Cut(fmt.Sprint(e), "=")
			out[k] = val
		}
	}
	return out
}

func TestDockerCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	app, ok := cf.Services["statusbridge"]
	if !ok {
		t.Fatal("no statusbridge service")
	}
	redis, ok := cf.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}

	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis image %q, want redis:7", redis.Image)
	}
	cmd := words(redis.Command)
	if !hasPair(cmd, "--maxmemory-policy", "noeviction") {
		t.Errorf("redis command %q lacks --maxmemory-policy noeviction", cmd)
	}
	if !hasPair(cmd, "--appendonly", "yes") {
		t.Errorf("redis command %q lacks --appendonly yes", cmd)
	}
	dataVolume := ""
	for _, v := range redis.Volumes {
		if src, dst, _ := strings.Cut(fmt.Sprint(v), ":"); strings.HasPrefix(dst, "/data") {
			dataVolume = src
		}
	}
	if _, declared := cf.Volumes[dataVolume]; dataVolume == "" || !declared {
		t.Errorf("redis /data is not on a declared named volume (got %q)", dataVolume)
	}
	if redis.Healthcheck == nil {
		t.Error("redis has no healthcheck")
	}

	if app.Healthcheck == nil {
		t.Fatal("statusbridge has no healthcheck")
	}
	if got := words((*app.Healthcheck)["test"]); !slices.Equal(got, []string{"CMD", "/statusbridge", "healthcheck"}) {
		t.Errorf("statusbridge healthcheck test %q, want [CMD /statusbridge healthcheck]", got)
	}
	if !slices.Contains(words(app.EnvFile), ".env") {
		t.Errorf("statusbridge env_file %v does not name .env", app.EnvFile)
	}
	dep, _ := app.DependsOn.(map[string]any)
	if r, _ := dep["redis"].(map[string]any); r == nil || r["condition"] != "service_healthy" {
		t.Errorf("statusbridge depends_on %v, want redis: {condition: service_healthy}", app.DependsOn)
	}
	env := envMap(app.Environment)
	if !strings.Contains(env["REDIS_URL"], "redis://redis:6379") {
		t.Errorf("statusbridge REDIS_URL %q does not point at the redis service", env["REDIS_URL"])
	}
	for k, v := range env {
		if secretSetting(t, k) && k != "REDIS_URL" {
			t.Errorf("statusbridge environment sets credential %s; it belongs in .env", k)
		}
		if !knownSetting(t, k) {
			t.Errorf("statusbridge environment %s=%q is not a statusbridge setting", k, v)
		}
	}
}

func TestEnvExample(t *testing.T) {
	data, err := os.ReadFile("../env.example")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		m := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=(.*)$`).FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		documented[m[1]] = m[2]
		if !strings.HasPrefix(line, "#") && secretSetting(t, m[1]) && m[1] != "REDIS_URL" && m[2] != "" {
			t.Errorf("env.example gives %s a value; leave credentials empty", m[1])
		}
	}
	want := slices.Concat(contractSettings, azureSettings)
	if cs := codeSettings(t); cs.found {
		want = slices.Concat(cs.names, azureSettings)
	}
	for _, s := range want {
		if _, ok := documented[s]; !ok {
			t.Errorf("env.example does not document %s", s)
		}
	}
	for k := range documented {
		if !knownSetting(t, k) {
			t.Errorf("env.example documents %s, which is not a statusbridge setting", k)
		}
	}
}

func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{".env", ".git"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}
