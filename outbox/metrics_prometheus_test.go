package outbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	again := NewMetrics(reg) // registering twice reuses the collectors
	m.incSent()
	again.incSent()
	m.incDeferred()
	m.incFailed(ReasonPermanent)
	m.observeSend(0)
	again.incError(&SendError{Code: 451, Msg: "try later"})

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			name := f.GetName()
			for _, l := range mt.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case mt.GetCounter() != nil:
				got[name] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[name+"_count"] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"outbox_sent_total":                        2,
		"outbox_deferred_total":                    1,
		"outbox_failed_total{reason=invalid}":      0,
		"outbox_failed_total{reason=max_attempts}": 0,
		"outbox_failed_total{reason=permanent}":    1,
		"outbox_send_seconds_count":                1,
	}
	for _, c := range []string{"5xx", "auth", "connect", "invalid", "network", "timeout", "tls"} {
		want["onboarder_smtp_errors_total{class="+c+"}"] = 0
	}
	want["onboarder_smtp_errors_total{class=4xx}"] = 1
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
	var nilMetrics *Metrics
	nilMetrics.incSent() // nil-safe
	nilMetrics.incFailed(ReasonInvalid)
}
