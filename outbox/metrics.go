package outbox

import "time"

// Failure reasons of outbox_failed_total.
const (
	ReasonPermanent   = "permanent"    // the server answered 5xx
	ReasonMaxAttempts = "max_attempts" // temporary failures until MaxAttempts
	ReasonInvalid     = "invalid"      // the row cannot be made into a mail
)

// Metrics are the dispatcher's instruments. A nil *Metrics, or a nil
// field, records nothing. NewMetrics fills them with Prometheus collectors
// named outbox_sent_total, outbox_deferred_total, outbox_failed_total{reason}
// and outbox_send_seconds; the fields are small interfaces so that this
// package builds and is tested without a metrics backend.
type Metrics struct {
	Sent        Counter
	Deferred    Counter
	Failed      func(reason string) Counter // by Reason*
	SendSeconds Observer
	// Errors counts send failures by ErrorClass (optional).
	Errors func(class string) Counter
}

// Counter is what a Prometheus counter does for us.
type Counter interface{ Inc() }

// Observer is what a Prometheus histogram does for us.
type Observer interface{ Observe(float64) }

func (m *Metrics) observeSend(d time.Duration) {
	if m != nil && m.SendSeconds != nil {
		m.SendSeconds.Observe(d.Seconds())
	}
}

func (m *Metrics) incSent() {
	if m != nil && m.Sent != nil {
		m.Sent.Inc()
	}
}

func (m *Metrics) incDeferred() {
	if m != nil && m.Deferred != nil {
		m.Deferred.Inc()
	}
}

func (m *Metrics) incFailed(reason string) {
	if m != nil && m.Failed != nil {
		if c := m.Failed(reason); c != nil {
			c.Inc()
		}
	}
}
