package cli

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/store"
)

// stateCollector reports what is in the database at scrape time: requests
// by state, links, outbox mails and webhook events by status. One query per
// table, bounded by a timeout; a failed query leaves its metric out of that
// scrape (and is logged).
type stateCollector struct {
	st   *store.Store
	log  *slog.Logger
	desc map[string]*prometheus.Desc
}

var stateTables = []struct{ table, column, metric, label, help string }{
	{"requests", "state", "onboarder_requests", "state", "Requests by state."},
	{"links", "status", "onboarder_links", "status", "Reseller links by status."},
	{"outbox_mails", "status", "onboarder_outbox_mails", "status", "Outbox mails by status (pending, sent, failed, bounced, held)."},
	{"webhook_events", "status", "onboarder_webhook_events", "status", "Webhook events by status (pending, sent, failed)."},
	{"fraud_reports", "status", "onboarder_fraud_reports", "status", "Fraud reports (invitations declined as not requested) by status (open, cleared)."},
}

// stateZeros are reported as 0 when no row has them, so that an alert on
// them needs no "or vector(0)".
var stateZeros = map[string][]string{"fraud_reports": {store.FraudOpen, store.FraudCleared}}

func newStateCollector(st *store.Store, log *slog.Logger) *stateCollector {
	c := &stateCollector{st: st, log: log, desc: map[string]*prometheus.Desc{}}
	for _, t := range stateTables {
		c.desc[t.table] = prometheus.NewDesc(t.metric, t.help, []string{t.label}, nil)
	}
	return c
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.desc {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, t := range stateTables {
		counts, err := c.st.CountBy(ctx, t.table, t.column)
		if err != nil {
			c.log.Warn("metrics: counting failed", "table", t.table, "err", err)
			continue
		}
		for _, k := range stateZeros[t.table] {
			if _, ok := counts[k]; !ok {
				counts[k] = 0
			}
		}
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.desc[t.table], prometheus.GaugeValue, float64(n), k)
		}
	}
}

// IMAP error classes of onboarder_imap_errors_total.
const (
	imapErrAuth     = "auth"     // LOGIN/AUTHENTICATE refused, or no OAuth token
	imapErrTLS      = "tls"      // handshake or certificate
	imapErrTimeout  = "timeout"  // a command got no answer in time
	imapErrConnect  = "connect"  // refused, unreachable, unknown host
	imapErrProtocol = "protocol" // the server said NO/BAD, or the connection broke mid-pass
	imapErrDatabase = "database" // the intake's own bookkeeping failed
)

// imapErrorClass sorts a failed pass for the metric.
func imapErrorClass(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "logging in") || strings.Contains(msg, "signing in") || strings.Contains(msg, "authenticat") ||
		strings.Contains(msg, "oauth"):
		return imapErrAuth
	case errors.Is(err, mailbox.ErrCommandTimeout) || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return imapErrTimeout
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509") || strings.Contains(msg, "certificate") || strings.Contains(msg, "starttls"):
		return imapErrTLS
	case strings.Contains(msg, "connecting to"):
		return imapErrConnect
	case strings.Contains(msg, "cursor") || strings.Contains(msg, "database") || strings.Contains(msg, "sql"):
		return imapErrDatabase
	}
	return imapErrProtocol
}
