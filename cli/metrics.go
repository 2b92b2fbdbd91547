package cli

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/workflow"
)

// metrics are the worker's own Prometheus metrics (the dispatcher has its own).
type metrics struct {
	received    *prometheus.CounterVec
	polls       *prometheus.CounterVec
	pollSeconds prometheus.Histogram
	lastSuccess prometheus.Gauge
	imapErrors  *prometheus.CounterVec
	// What the timers did (workflow.RunTimers), by step.
	timerActions  *prometheus.CounterVec
	timerFailures *prometheus.CounterVec
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
	m.timerActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onboarder_timer_actions_total", Help: "Records the timers acted on (a request expired, a reminder or digest queued), by step.",
	}, []string{"step"})
	m.timerFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onboarder_timer_failures_total", Help: "Timer passes in which a step failed, by step.",
	}, []string{"step"})
	for _, s := range workflow.TimerSteps { // every step shows, at zero until it acts
		m.timerActions.WithLabelValues(s)
		m.timerFailures.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.received, m.polls, m.pollSeconds, m.lastSuccess, m.imapErrors, m.timerActions, m.timerFailures)
	}
	return m
}

// timersDone counts what one timer pass did and which of its steps failed.
func (m *metrics) timersDone(rep workflow.TimerReport, err error) {
	if m == nil {
		return
	}
	for step, n := range rep.Counts() {
		if n > 0 {
			m.timerActions.WithLabelValues(step).Add(float64(n))
		}
	}
	for _, step := range workflow.FailedTimerSteps(err) {
		m.timerFailures.WithLabelValues(step).Inc()
	}
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
