package validate

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	promparser "github.com/prometheus/prometheus/promql/parser"
)

// MetricKind is how a metric was declared: counter, gauge, histogram,
// summary, or desc (a prometheus.NewDesc for a custom collector).
type MetricKind string

// The kinds of metric declaration the scanner recognises.
const (
	Counter   MetricKind = "counter"
	Gauge     MetricKind = "gauge"
	Histogram MetricKind = "histogram"
	Summary   MetricKind = "summary"
	Desc      MetricKind = "desc"
)

// metricPrefix is the namespace of statusbridge's own metrics.
const metricPrefix = "statusbridge_"

// promQL is Prometheus's own PromQL parser with its default options, the
// ones Prometheus itself uses to load rules.
var promQL = promparser.NewParser(promparser.Options{})

// ParseRules parses a Prometheus rules file with Prometheus's own rule
// parser, rejecting unknown fields, invalid PromQL and invalid templates.
func ParseRules(data []byte) (*rulefmt.RuleGroups, error) {
	rgs, errs := rulefmt.Parse(data, false, model.LegacyValidation, promQL, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if rgs == nil || len(rgs.Groups) == 0 {
		return nil, errors.New("no rule groups")
	}
	return rgs, nil
}

// ExprMetricNames parses a PromQL expression and returns the metric names
// its selectors use, in order of first use.
func ExprMetricNames(expr string) ([]string, error) {
	e, err := promQL.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	promparser.Inspect(e, func(n promparser.Node, _ []promparser.Node) error {
		vs, ok := n.(*promparser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// grafanaInterval matches Grafana's interval variables, which stand for a
// duration inside a range selector.
var grafanaInterval = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)

// GrafanaExpr turns a Grafana query into plain PromQL by putting a
// duration in place of Grafana's interval variables; variables inside label
// values (such as "$job") are left as they are, being just strings there.
func GrafanaExpr(expr string) string {
	return grafanaInterval.ReplaceAllString(expr, "5m")
}

// labelValuesQuery matches a Grafana variable query label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// VariableQueryExpr returns the PromQL selector inside a Grafana
// label_values(selector, label) query.
func VariableQueryExpr(q string) (string, error) {
	m := labelValuesQuery.FindStringSubmatch(q)
	if m == nil {
		return "", fmt.Errorf("variable query %q is not label_values(selector, label)", q)
	}
	return m[1], nil
}

// DeclaredMetrics scans the Go sources below root (skipping tests, the
// deploy directory and hidden directories) for statusbridge metrics:
// Name fields of prometheus.CounterOpts, GaugeOpts, HistogramOpts and
// SummaryOpts literals, and the first argument of prometheus.NewDesc.
func DeclaredMetrics(root string) (map[string]MetricKind, error) {
	found := map[string]MetricKind{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			n := d.Name()
			if p != root && (n == "deploy" || n == "vendor" || n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(src), metricPrefix) {
			return nil
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				kind, ok := optsKind(n.Type)
				if !ok {
					return true
				}
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
						if name, ok := metricLiteral(kv.Value); ok {
							found[name] = kind
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
					if name, ok := metricLiteral(n.Args[0]); ok {
						found[name] = Desc
					}
				}
			}
			return true
		})
		return nil
	})
	return found, err
}

// optsKind tells which kind of metric an options literal's type declares.
func optsKind(t ast.Expr) (MetricKind, bool) {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	switch sel.Sel.Name {
	case "CounterOpts":
		return Counter, true
	case "GaugeOpts":
		return Gauge, true
	case "HistogramOpts":
		return Histogram, true
	case "SummaryOpts":
		return Summary, true
	}
	return "", false
}

// metricLiteral returns the value of a string literal naming a statusbridge metric.
func metricLiteral(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil || !strings.HasPrefix(s, metricPrefix) {
		return "", false
	}
	return s, true
}

// seriesSuffixes are the series a histogram or summary exports besides its name.
var seriesSuffixes = map[MetricKind][]string{
	Histogram: {"_bucket", "_sum", "_count"},
	Summary:   {"_sum", "_count"},
}

// KnownSeries tells whether a series name used in a query is exported by a
// declared metric: the metric's own name, or for a histogram its _bucket,
// _sum and _count series, and for a summary its _sum and _count.
func KnownSeries(name string, declared map[string]MetricKind) bool {
	if k, ok := declared[name]; ok && k != Histogram {
		return true
	}
	for kind, sufs := range seriesSuffixes {
		for _, s := range sufs {
			base, ok := strings.CutSuffix(name, s)
			if ok && declared[base] == kind {
				return true
			}
		}
	}
	return false
}

// CheckMetricNames returns an error for each statusbridge series used in
// exprs (keyed by where each comes from) that no declared metric exports.
// Series outside the statusbridge_ namespace (up, for example) are not checked.
func CheckMetricNames(exprs map[string]string, declared map[string]MetricKind) []error {
	var errs []error
	where := slices.Sorted(func(yield func(string) bool) {
		for k := range exprs {
			if !yield(k) {
				return
			}
		}
	})
	for _, w := range where {
		names, err := ExprMetricNames(exprs[w])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(n, metricPrefix) && !KnownSeries(n, declared) {
				errs = append(errs, fmt.Errorf("%s: metric %s is not one statusbridge exports", w, n))
			}
		}
	}
	return errs
}
