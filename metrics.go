package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/mapping"
)

// metrics implements bridge.Observer with Prometheus collectors.
type metrics struct {
	events   *prometheus.CounterVec
	intake   prometheus.Histogram
	graph    *prometheus.CounterVec
	retries  prometheus.Counter
	skipped  *prometheus.CounterVec
	parked   prometheus.Counter
	mappings *prometheus.CounterVec
	held     prometheus.Counter
	reads    *prometheus.CounterVec
}

var _ bridge.Observer = (*metrics)(nil)

// metricsSource is the store as the metrics read it at scrape time.
type metricsSource interface {
	bridge.Admin
	Limiter() bridge.Limiter
}

func newMetrics(reg prometheus.Registerer, admin metricsSource) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_events_total",
			Help: "Slack status events received, by event type, source and outcome (accepted, duplicate, stale, unchanged, invalid, error; unauthorized, too_large, bad_request, method_not_allowed, foreign_team for requests refused before decoding).",
		}, []string{"type", "source", "outcome"}),
		intake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "statusbridge_intake_duration_seconds",
			Help:    "Time to store a Slack event durably before it is acknowledged.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		graph: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_graph_calls_total",
			Help: "Teams status message updates sent to Graph, by outcome (ok, throttled, transient, permanent).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusbridge_retries_total",
			Help: "Updates scheduled again after a throttled or transient failure.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_updates_skipped_total",
			Help: "Claimed users that needed no Graph call, by reason.",
		}, []string{"reason"}),
		parked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusbridge_parked_total",
			Help: "Users set aside after a permanent failure or for want of a mapping.",
		}),
		mappings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_mapping_lookups_total",
			Help: "Slack user → Entra id lookups, by result (hit, miss, discovered, ambiguous, skipped).",
		}, []string{"result"}),
	}
	m.held = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "statusbridge_held_total",
		Help: "Updates left alone because Teams shows a message a person set (STATUSBRIDGE_TEAMS_CONFLICT=respect).",
	})
	m.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "statusbridge_presence_reads_total",
		Help: "Reads of what Teams shows (getPresencesByUserId, up to 650 accounts each), by outcome (ok, throttled, transient, permanent).",
	}, []string{"outcome"})
	reg.MustRegister(m.events, m.intake, m.graph, m.retries, m.skipped, m.parked, m.mappings, m.held, m.reads,
		&queueCollector{admin: admin})
	if r, ok := admin.Limiter().(rateReporter); ok {
		reg.MustRegister(&rateCollector{limiter: r})
	}
	return m
}

func (m *metrics) Submitted(c bridge.Change, outcome string, took time.Duration) {
	typ := c.EventType
	if typ == "" {
		typ = "unknown"
	}
	src := c.Source
	if src == "" {
		src = "unknown"
	}
	m.events.WithLabelValues(typ, string(src), outcome).Inc()
	if outcome != "invalid" {
		m.intake.Observe(took.Seconds())
	}
}

// intakeRejections are the HTTP intake's answers that never reach the
// engine; they are counted here, the engine counts the rest.
var intakeRejections = map[string]bool{
	"unauthorized": true, "too_large": true, "bad_request": true, "invalid": true,
	"method_not_allowed": true, "foreign_team": true,
}

// Request counts an HTTP intake answer that did not reach the engine
// (forged, oversized, malformed, another org's user).
func (m *metrics) Request(outcome string) {
	if intakeRejections[outcome] {
		m.events.WithLabelValues("unknown", string(bridge.SourceHTTP), outcome).Inc()
	}
}

func (m *metrics) GraphCall(outcome string) {
	m.graph.WithLabelValues(outcome).Inc()
	if outcome == "throttled" || outcome == "transient" {
		m.retries.Inc()
	}
}

func (m *metrics) Skipped(reason string) { m.skipped.WithLabelValues(reason).Inc() }
func (m *metrics) Parked()               { m.parked.Inc() }
func (m *metrics) Held()                 { m.held.Inc() }

// PresenceRead counts a read of what Teams shows.
func (m *metrics) PresenceRead(outcome string) { m.reads.WithLabelValues(outcome).Inc() }

// Mapping counts a mapping lookup by result.
func (m *metrics) Mapping(o mapping.Outcome) { m.mappings.WithLabelValues(o.String()).Inc() }

// queueCollector reads the queue's state from the store at scrape time.
type queueCollector struct{ admin bridge.Admin }

var (
	dueDesc    = prometheus.NewDesc("statusbridge_queue_due_users", "Users with a change waiting to reach Teams.", nil, nil)
	oldestDesc = prometheus.NewDesc("statusbridge_queue_oldest_due_age_seconds", "Age of the oldest due change (0 when none).", nil, nil)
	parkedDesc = prometheus.NewDesc("statusbridge_parked_users", "Users currently parked.", nil, nil)
	storeDesc  = prometheus.NewDesc("statusbridge_store_up", "1 when the store answered the last scrape.", nil, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dueDesc
	ch <- oldestDesc
	ch <- parkedDesc
	ch <- storeDesc
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	st, err := q.admin.Stats(ctx, now)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(dueDesc, prometheus.GaugeValue, float64(st.Due))
	age := 0.0
	if !st.OldestDue.IsZero() && st.OldestDue.Before(now) {
		age = now.Sub(st.OldestDue).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(parkedDesc, prometheus.GaugeValue, float64(st.Parked))
}

// rateReporter is a Graph limiter that reports its (shared) adaptive rate.
type rateReporter interface {
	Rate(ctx context.Context) (float64, error)
	Period() time.Duration
}

// rateCollector reads the shared Graph rate from the store at scrape time.
type rateCollector struct{ limiter rateReporter }

var rateDesc = prometheus.NewDesc("statusbridge_graph_rate_per_second",
	"The adaptive Graph presence rate now in force, shared by every replica, in calls per second (absent when the store does not answer).", nil, nil)

func (r *rateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- rateDesc }

func (r *rateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, err := r.limiter.Rate(ctx)
	per := r.limiter.Period()
	if err != nil || per <= 0 {
		return
	}
	ch <- prometheus.MustNewConstMetric(rateDesc, prometheus.GaugeValue, v/per.Seconds())
}

func promhandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
