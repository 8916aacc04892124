package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusbridge/statusbridge/bridge"
)

// twoWayMetrics implements bridge.TwoWayObserver: the Teams → Slack flow.
type twoWayMetrics struct {
	writes  *prometheus.CounterVec
	changes *prometheus.CounterVec
	polls   *prometheus.CounterVec
}

var _ bridge.TwoWayObserver = (*twoWayMetrics)(nil)

// newTwoWayMetrics registers the Teams → Slack collectors; admin is the
// Teams → Slack queue's.
func newTwoWayMetrics(reg prometheus.Registerer, admin bridge.Admin) *twoWayMetrics {
	m := &twoWayMetrics{
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_slack_writes_total",
			Help: "Teams → Slack: Slack status writes (users.profile.set), by outcome (ok, throttled, transient, permanent; skipped when none was needed).",
		}, []string{"outcome"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_teams_changes_total",
			Help: "Teams → Slack: Teams messages a poll saw change, by whose (person: carried to Slack; bridge: the bridge's own write; first: an account's first poll).",
		}, []string{"kind"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_teams_polls_total",
			Help: "Teams → Slack: polls of Teams, by outcome (ok, error; skipped while another replica polls).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.writes, m.changes, m.polls, &slackQueueCollector{admin: admin})
	return m
}

func (m *twoWayMetrics) SlackWrite(outcome string) { m.writes.WithLabelValues(outcome).Inc() }
func (m *twoWayMetrics) TeamsSeen(kind string)     { m.changes.WithLabelValues(kind).Inc() }
func (m *twoWayMetrics) Poll(outcome string)       { m.polls.WithLabelValues(outcome).Inc() }

// slackQueueCollector reads the Teams → Slack queue at scrape time.
type slackQueueCollector struct{ admin bridge.Admin }

var (
	slackDueDesc    = prometheus.NewDesc("statusbridge_slack_queue_due_users", "Teams → Slack: users with a Teams message waiting to reach Slack.", nil, nil)
	slackParkedDesc = prometheus.NewDesc("statusbridge_slack_parked_users", "Teams → Slack: users whose Slack status Slack refused to set (for example cannot_update_admin_user).", nil, nil)
)

func (q *slackQueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- slackDueDesc
	ch <- slackParkedDesc
}

func (q *slackQueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := q.admin.Stats(ctx, time.Now())
	if err != nil {
		return // statusbridge_store_up says the store did not answer
	}
	ch <- prometheus.MustNewConstMetric(slackDueDesc, prometheus.GaugeValue, float64(st.Due))
	ch <- prometheus.MustNewConstMetric(slackParkedDesc, prometheus.GaugeValue, float64(st.Parked))
}
