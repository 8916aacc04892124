package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusbridge/statusbridge/slackhandler"
)

// socketMetrics implements slackhandler.SocketObserver.
type socketMetrics struct {
	envelopes  *prometheus.CounterVec
	reconnects *prometheus.CounterVec
}

var _ slackhandler.SocketObserver = (*socketMetrics)(nil)

func newSocketMetrics(reg prometheus.Registerer) *socketMetrics {
	m := &socketMetrics{
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_socket_envelopes_total",
			Help: "Socket Mode envelopes, by outcome and whether Slack was redelivering them (retry_attempt > 0).",
		}, []string{"outcome", "redelivery"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusbridge_socket_reconnects_total",
			Help: "Socket Mode connections that ended and were replaced, by reason (disconnect, stale, closed).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.envelopes, m.reconnects)
	return m
}

func (m *socketMetrics) Envelope(outcome string, redelivery bool) {
	m.envelopes.WithLabelValues(outcome, strconv.FormatBool(redelivery)).Inc()
}

func (m *socketMetrics) Reconnect(reason string) { m.reconnects.WithLabelValues(reason).Inc() }
