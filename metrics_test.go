package main

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusbridge/statusbridge/store/embedded"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// TestGraphRateMetric: the shared Graph rate is exported in calls per
// second, read from the store at scrape time.
func TestGraphRateMetric(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.WithRate(1200, 30*time.Second), embedded.WithRateMax(10000))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	newMetrics(reg, st)
	want := "# HELP statusbridge_graph_rate_per_second The adaptive Graph presence rate now in force, shared by every replica, in calls per second (absent when the store does not answer).\n# TYPE statusbridge_graph_rate_per_second gauge\nstatusbridge_graph_rate_per_second 40\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "statusbridge_graph_rate_per_second"); err != nil {
		t.Fatal(err)
	}
}

// TestGraphRateMetricDeadStore: a store that does not answer leaves the
// rate out, and the scrape does not hang on it.
func TestGraphRateMetricDeadStore(t *testing.T) {
	st, err := redisstore.Open(t.Context(), "redis://127.0.0.1:1", redisstore.Lazy(),
		redisstore.WithLimit(redisstore.LimiterConfig{Rate: 1200, Max: 10000, Period: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	newMetrics(reg, st)
	start := time.Now()
	n, err := testutil.GatherAndCount(reg, "statusbridge_graph_rate_per_second")
	if err != nil || n != 0 {
		t.Fatalf("rate series with Redis down = %d, %v; want none", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a scrape with Redis down took %s", d)
	}
}
