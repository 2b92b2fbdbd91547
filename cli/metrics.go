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
	imapErrors  *prometheus.CounterVec
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
	m.imapErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onboarder_imap_errors_total", Help: "Failed intake passes, by class (auth, tls, timeout, connect, protocol, database).",
	}, []string{"class"})
	for _, c := range []string{imapErrAuth, imapErrTLS, imapErrTimeout, imapErrConnect, imapErrProtocol, imapErrDatabase} {
		m.imapErrors.WithLabelValues(c)
	}
	if reg != nil {
		reg.MustRegister(m.received, m.polls, m.pollSeconds, m.lastSuccess, m.imapErrors)
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
		m.imapErrors.WithLabelValues(imapErrorClass(err)).Inc()
		return
	}
	m.polls.WithLabelValues("ok").Inc()
	m.lastSuccess.SetToCurrentTime()
}
