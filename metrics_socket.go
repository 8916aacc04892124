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

// registerSocketConnected exports whether this replica holds a live Socket
// Mode connection.
func registerSocketConnected(reg prometheus.Registerer, connected func() bool) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusbridge_socket_connected",
		Help: "1 while this replica holds a live Socket Mode connection, else 0.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}
