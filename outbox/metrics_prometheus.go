package outbox

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// NewMetrics creates the Prometheus collectors and registers them with reg
// (when not nil). Registering twice with one registry reuses the collectors
// already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	sent := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "outbox_sent_total", Help: "Outbox mails the SMTP server accepted.",
	})
	deferred := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "outbox_deferred_total", Help: "Outbox send attempts that failed temporarily and will be retried.",
	})
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outbox_failed_total", Help: "Outbox mails given up, by reason.",
	}, []string{"reason"})
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "outbox_send_seconds", Help: "Time to hand one mail to the SMTP server, connecting included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
	})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onboarder_smtp_errors_total", Help: "SMTP send failures, by class (5xx, 4xx, auth, tls, timeout, connect, invalid, network).",
	}, []string{"class"})
	if reg != nil {
		errs = register(reg, errs)
		sent = register(reg, sent)
		deferred = register(reg, deferred)
		failed = register(reg, failed)
		seconds = register(reg, seconds)
	}
	for _, r := range []string{ReasonPermanent, ReasonMaxAttempts, ReasonInvalid} {
		failed.WithLabelValues(r)
	}
	for _, c := range []string{ErrClass5xx, ErrClass4xx, ErrClassAuth, ErrClassTLS, ErrClassTimeout, ErrClassConnect, ErrClassInvalid, ErrClassNetwork} {
		errs.WithLabelValues(c)
	}
	return &Metrics{
		Sent:        sent,
		Deferred:    deferred,
		Failed:      func(reason string) Counter { return failed.WithLabelValues(reason) },
		SendSeconds: seconds,
		Errors:      func(class string) Counter { return errs.WithLabelValues(class) },
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
