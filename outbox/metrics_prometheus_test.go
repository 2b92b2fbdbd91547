//go:build promsum

package outbox

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	want := `
# HELP outbox_sent_total Outbox mails the SMTP server accepted.
# TYPE outbox_sent_total counter
outbox_sent_total 2
# HELP outbox_failed_total Outbox mails given up, by reason.
# TYPE outbox_failed_total counter
outbox_failed_total{reason="invalid"} 0
outbox_failed_total{reason="max_attempts"} 0
outbox_failed_total{reason="permanent"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outbox_sent_total", "outbox_failed_total"); err != nil {
		t.Error(err)
	}
	var nilMetrics *Metrics
	nilMetrics.incSent() // nil-safe
}
