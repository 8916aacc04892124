package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	rulesFile     = "../prometheus/statusbridge-rules.yaml"
	dashboardFile = "../grafana/statusbridge.json"
	// sourceRoot is the main module, whose Go sources declare the metrics.
	sourceRoot = "../.."
	// dsVariable is the dashboard's data source variable.
	dsVariable = "DS_PROMETHEUS"
)

// wantAlerts are the alerts the rules file must define.
var wantAlerts = []string{
	"StatusbridgeQueueBacklog", "StatusbridgeParkedUsersGrowing", "StatusbridgeGraphThrottled",
	"StatusbridgeSocketModeDisconnected", "StatusbridgeIntakeErrors", "StatusbridgeStoreDown",
	"StatusbridgeGraphConsentMissing",
}

var declaredOnce = sync.OnceValues(func() (map[string]MetricKind, error) {
	return DeclaredMetrics(sourceRoot)
})

// codeMetrics returns the metrics package main declares.
func codeMetrics(t *testing.T) map[string]MetricKind {
	t.Helper()
	m, err := declaredOnce()
	if err != nil {
		t.Fatalf("scanning %s for metrics: %v", sourceRoot, err)
	}
	if len(m) == 0 {
		t.Fatalf("no statusbridge_ metric declared in the Go sources under %s", sourceRoot)
	}
	return m
}

// knownMetrics returns the metrics package main declares.
func knownMetrics(t *testing.T) map[string]MetricKind {
	t.Helper()
	all := map[string]MetricKind{}
	for k, v := range codeMetrics(t) {
		all[k] = v
	}
	return all
}

func TestDeclaredMetricsScan(t *testing.T) {
	m := codeMetrics(t)
	for name, kind := range map[string]MetricKind{
		"statusbridge_events_total":                 Counter,
		"statusbridge_intake_duration_seconds":      Histogram,
		"statusbridge_queue_oldest_due_age_seconds": Desc,
		"statusbridge_socket_reconnects_total":      Counter,
	} {
		if m[name] != kind {
			t.Errorf("%s: scanned as %q, want %q", name, m[name], kind)
		}
	}
}

// TestMetricNameCheckCatchesMistakes shows that the name check fails for
// a misspelt or made-up metric and passes for the series a histogram exports.
func TestMetricNameCheckCatchesMistakes(t *testing.T) {
	declared := codeMetrics(t)
	for expr, wantOK := range map[string]bool{
		`sum(rate(statusbridge_graph_calls_total[5m]))`:                                     true,
		`histogram_quantile(0.99, rate(statusbridge_intake_duration_seconds_bucket[5m]))`:   true,
		`rate(statusbridge_intake_duration_seconds_sum[5m])`:                                true,
		`up{job="statusbridge"} == 0`:                                                       true,
		`{__name__="statusbridge_store_up"} == 0`:                                           true,
		`sum(rate(statusbridge_graph_call_total[5m]))`:                                      false, // misspelt
		`rate(statusbridge_events_total[5m]) / rate(statusbridge_evnts_total[5m])`:          false,
		`statusbridge_queue_due_user > 0`:                                                   false,
		`{__name__="statusbridge_store_upp"} == 0`:                                          false,
		`rate(statusbridge_events_total_bucket[5m])`:                                        false, // a counter has no buckets
		`statusbridge_intake_duration_seconds_total`:                                        false,
		`histogram_quantile(0.5, rate(statusbridge_intake_duration_seconds_buckets[5m]))`:   false,
		`max(statusbridge_queue_oldest_due_age_seconds) > 600 and statusbridge_parkd_users`: false,
	} {
		errs := CheckMetricNames(map[string]string{"test": expr}, declared)
		if wantOK && len(errs) > 0 {
			t.Errorf("%s: %v", expr, errs)
		}
		if !wantOK && len(errs) == 0 {
			t.Errorf("%s: a misspelt metric passed the check", expr)
		}
	}
	if errs := CheckMetricNames(map[string]string{"test": `sum(rate(statusbridge_events_total[5m]`}, declared); len(errs) == 0 {
		t.Error("an expression that does not parse passed the check")
	}
}

// loadRules parses the rules file with Prometheus's rule parser.
func loadRules(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestAlertRules(t *testing.T) {
	data := loadRules(t)
	rgs, err := ParseRules(data)
	if err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	exprs := map[string]string{}
	var alerts []string
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %s: this file holds alerts only", g.Name, r.Record)
				continue
			}
			alerts = append(alerts, r.Alert)
			where := fmt.Sprintf("%s alert %s", rulesFile, r.Alert)
			// Parse the expression again on its own, as Prometheus evaluates it.
			if _, err := promQL.ParseExpr(r.Expr); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			exprs[where] = r.Expr
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity label %q, want critical, warning or info", where, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", where, a)
				}
			}
			if r.For == 0 {
				t.Errorf("%s: no for: a single bad scrape would page", where)
			}
		}
	}
	for _, want := range wantAlerts {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
	for _, err := range CheckMetricNames(exprs, knownMetrics(t)) {
		t.Error(err)
	}

	rule := func(name string) (expr, desc string) {
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				if r.Alert == name {
					return r.Expr, r.Annotations["description"]
				}
			}
		}
		t.Fatalf("no alert %s", name)
		return "", ""
	}
	// Only where Socket Mode runs: no absent(), which would fire for HTTP-only setups.
	if expr, _ := rule("StatusbridgeSocketModeDisconnected"); !strings.Contains(expr, "statusbridge_socket_connected") || strings.Contains(expr, "absent") {
		t.Errorf("StatusbridgeSocketModeDisconnected: %q must use statusbridge_socket_connected without absent()", expr)
	}
	if expr, desc := rule("StatusbridgeGraphConsentMissing"); !strings.Contains(expr, `outcome="permanent"`) ||
		!strings.Contains(expr, "statusbridge_parked_users") || !strings.Contains(desc, "403") || !strings.Contains(desc, "Presence.ReadWrite.All") {
		t.Errorf("StatusbridgeGraphConsentMissing must watch permanent Graph outcomes with parked users and name 403 and the permission: %q / %q", expr, desc)
	}
	if expr, desc := rule("StatusbridgeIntakeErrors"); !strings.Contains(expr, `outcome="error"`) || !strings.Contains(desc, "503") {
		t.Errorf("StatusbridgeIntakeErrors must watch outcome=\"error\" and explain the 503: %q / %q", expr, desc)
	}
	if expr, _ := rule("StatusbridgeGraphThrottled"); !strings.Contains(expr, `outcome="throttled"`) || !strings.Contains(expr, "[10m]") || !strings.Contains(expr, "0.1") {
		t.Errorf("StatusbridgeGraphThrottled: %q, want throttled over all Graph calls over 10m above 10%%", expr)
	}
}

// TestRuleParserCatchesMistakes shows that the rule parser the tests use
// fails on the mistakes it is there to catch.
func TestRuleParserCatchesMistakes(t *testing.T) {
	good := loadRules(t)
	for name, edit := range map[string][2]string{
		"bad PromQL":        {"max by (job) (statusbridge_queue_oldest_due_age_seconds) > 10 * 60", "max by (job) (statusbridge_queue_oldest_due_age_seconds > 10 * 60"},
		"unknown field":     {"        for: 5m\n", "        for: 5m\n        severity: warning\n"},
		"bad duration":      {"        for: 5m\n", "        for: 5 minutes\n"},
		"bad template":      {"{{ $value | humanizeDuration }}", "{{ $value | humanizeDurations }}"},
		"misspelt key":      {"      - alert: StatusbridgeQueueBacklog\n        expr:", "      - alert: StatusbridgeQueueBacklog\n        expression:"},
		"duplicate key":     {"        for: 5m\n", "        for: 5m\n        for: 10m\n"},
		"bad label name":    {"          severity: warning\n", "          severity: warning\n          bad-name: x\n"},
		"unknown function":  {"delta(statusbridge_parked_users[1h])", "deltas(statusbridge_parked_users[1h])"},
		"range on a vector": {"max by (job) (statusbridge_queue_oldest_due_age_seconds)", "max by (job) (statusbridge_queue_oldest_due_age_seconds)[5m]"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(good), edit[0], edit[1], 1)
			if bad == string(good) {
				t.Fatalf("the rules file no longer contains %q", edit[0])
			}
			if _, err := ParseRules([]byte(bad)); err == nil {
				t.Errorf("parsing with %q instead of %q succeeded", edit[1], edit[0])
			} else {
				t.Logf("rejected: %v", err)
			}
		})
	}
}

// Dashboard is the part of a Grafana dashboard JSON model these tests read.
type Dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []Panel `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel or row.
type Panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *DatasourceRef           `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []Target                 `json:"targets"`
	Panels     []Panel                  `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *DatasourceRef `json:"datasource"`
}

// DatasourceRef points a panel or query at a data source.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *DatasourceRef  `json:"datasource"`
}

// loadDashboard decodes the dashboard, refusing trailing data.
func loadDashboard(t *testing.T) (Dashboard, []byte) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var d Dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dec.More() {
		t.Fatalf("%s: data after the dashboard object", dashboardFile)
	}
	return d, data
}

// allPanels flattens rows into their panels.
func allPanels(ps []Panel) []Panel {
	var out []Panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboard(t *testing.T) {
	d, _ := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("dashboard uid %q, title %q, schemaVersion %d: all must be set", d.UID, d.Title, d.SchemaVersion)
	}
	wantDS := "${" + dsVariable + "}"
	var dsVar bool
	exprs := map[string]string{}
	for _, v := range d.Templating.List {
		switch {
		case v.Name == dsVariable:
			dsVar = v.Type == "datasource" && string(v.Query) == `"prometheus"`
		case v.Type == "query":
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				_ = json.Unmarshal(v.Query, &q.Query)
			}
			sel, err := VariableQueryExpr(q.Query)
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
				continue
			}
			exprs["variable "+v.Name] = sel
			if v.Datasource == nil || v.Datasource.UID != wantDS {
				t.Errorf("variable %s: datasource %v, want uid %s", v.Name, v.Datasource, wantDS)
			}
		}
	}
	if !dsVar {
		t.Errorf("no datasource variable %s of type prometheus", dsVariable)
	}

	ids := map[int]string{}
	panels := allPanels(d.Panels)
	for _, p := range panels {
		if other, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or shared with %q", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Datasource == nil || p.Datasource.UID != wantDS || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v, want prometheus %s", p.Title, p.Datasource, wantDS)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %d %q query %s", p.ID, p.Title, tg.RefID)
			if tg.Datasource != nil && tg.Datasource.UID != wantDS {
				t.Errorf("%s: datasource %+v, want %s", where, tg.Datasource, wantDS)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: empty expr", where)
				continue
			}
			if _, dup := exprs[where]; dup {
				t.Errorf("%s: refId used twice", where)
			}
			exprs[where] = GrafanaExpr(tg.Expr)
		}
	}
	for _, w := range slices.Sorted(func(yield func(string) bool) {
		for k := range exprs {
			if !yield(k) {
				return
			}
		}
	}) {
		if _, err := promQL.ParseExpr(exprs[w]); err != nil {
			t.Errorf("%s: %q: %v", w, exprs[w], err)
		}
	}
	known := knownMetrics(t)
	for _, err := range CheckMetricNames(exprs, known) {
		t.Error(err)
	}

	// Every metric statusbridge exports has a panel.
	used := map[string]bool{}
	for _, e := range exprs {
		names, _ := ExprMetricNames(e)
		for _, n := range names {
			for _, s := range []string{"", "_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, s); ok {
					used[b] = true
				}
			}
		}
	}
	for name := range known {
		if !used[name] {
			t.Errorf("metric %s has no panel", name)
		}
	}
}

// TestDashboardCheckCatchesMistakes shows that a query that does not parse
// fails, once Grafana's interval variables are replaced.
func TestDashboardCheckCatchesMistakes(t *testing.T) {
	if got := GrafanaExpr(`rate(x[$__rate_interval]) + rate(y[${__interval}])`); got != `rate(x[5m]) + rate(y[5m])` {
		t.Errorf("GrafanaExpr: %q", got)
	}
	for _, bad := range []string{
		`sum by (outcome) (rate(statusbridge_events_total{job=~"$job"}[$__rate_interval])`,
		`rate(statusbridge_events_total[$interval])`,
		`histogram_quantile(0.99 sum by (le) (rate(statusbridge_intake_duration_seconds_bucket[5m])))`,
	} {
		if _, err := promQL.ParseExpr(GrafanaExpr(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := VariableQueryExpr("query_result(up)"); err == nil {
		t.Error("a variable query other than label_values passed")
	}
}

// TestPrometheusRuleMatchesRulesFile checks that the Prometheus Operator
// variant carries exactly the groups of the plain rules file.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	m := load(t)
	pr, _ := one[PrometheusRule](t, m, appName)
	if pr.Namespace != rootKustomization(t, m).Namespace {
		t.Errorf("PrometheusRule namespace %q, want %q", pr.Namespace, rootKustomization(t, m).Namespace)
	}
	compareRuleGroups(t, "kubernetes/prometheusrule.yaml", pr.Spec)
}

// compareRuleGroups parses a PrometheusRule spec with Prometheus's rule
// parser and compares it with the rules file.
func compareRuleGroups(t *testing.T, where string, spec PrometheusRuleSpec) {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRules(js) // JSON is YAML.
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	want, err := ParseRules(loadRules(t))
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("%s: its rule groups differ from %s", where, filepath.Base(rulesFile))
	}
}
