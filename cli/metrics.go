package cli

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's own Prometheus metrics (the dispatcher has its own).
type metrics struct {
	received    *prometheus.CounterVec
	polls       *prometheus.CounterVec
	pollSeconds prometheus.Histogram
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarder_mails_received_total", Help: "Mails taken from the mailbox, by disposition.",
		}, []string{"disposition"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarder_polls_total", Help: "Intake passes, by result (ok, error).",
		}, []string{"result"}),
		pollSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "onboarder_poll_duration_seconds", Help: "Duration of intake passes.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "onboarder_poll_last_success_timestamp_seconds", Help: "When the last intake pass succeeded (Unix time).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.polls, m.pollSeconds, m.lastSuccess)
	}
	return m
}

func (m *metrics) mailReceived(disposition string) {
	if m != nil {
		m.received.WithLabelValues(disposition).Inc()
	}
}

func (m *metrics) pollFailed() {
	if m != nil {
		m.polls.WithLabelValues("error").Inc()
	}
}

func (m *metrics) pollDone(took time.Duration, err error) {
	if m == nil {
		return
	}
	m.pollSeconds.Observe(took.Seconds())
	if err != nil {
		m.polls.WithLabelValues("error").Inc()
		return
	}
	m.polls.WithLabelValues("ok").Inc()
	m.lastSuccess.SetToCurrentTime()
}
