package cli

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// TestTimerSettingsReachTheWorkflow: the timer settings are passed to the
// workflow, and the digest schedule only with recipients.
func TestTimerSettingsReachTheWorkflow(t *testing.T) {
	set := map[string]string{
		config.EnvInviteReminderBefore: "49h",
		config.EnvNeedsInfoChaseAfter:  "25h",
		config.EnvNeedsInfoExpireAfter: "170h",
		config.EnvConsentTTL:           "100h",
		config.EnvOpsDigestTo:          "ops@example.com, Olga <olga@example.com>",
		config.EnvOpsDigestSchedule:    "30 6 * * *",
	}
	cfg, _, err := config.Load(nil, func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	wo := workflowOptions(cfg, e, nil, nil)
	if wo.InviteReminderBefore != 49*time.Hour || wo.NeedsInfoChaseAfter != 25*time.Hour || wo.NeedsInfoExpireAfter != 170*time.Hour || wo.ConsentTTL != 100*time.Hour ||
		len(wo.DigestTo) != 2 || wo.DigestTo[1].Address != "olga@example.com" || wo.DigestSchedule == nil {
		t.Fatalf("workflow.Options do not carry the timer settings: %+v", wo)
	}
	from := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	if next := wo.DigestSchedule.Next(from); !next.Equal(time.Date(2026, 12, 8, 6, 30, 0, 0, time.UTC)) {
		t.Errorf("digest after %s at %s, want 06:30 UTC the next day", from, next)
	}

	delete(set, config.EnvOpsDigestTo)
	cfg, _, err = config.Load(nil, func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	if wo := workflowOptions(cfg, e, nil, nil); wo.DigestTo != nil || wo.DigestSchedule != nil {
		t.Errorf("a digest without recipients: %+v %v", wo.DigestTo, wo.DigestSchedule)
	}
	if _, err := parseDigestSchedule("every morning"); err == nil {
		t.Error("a digest schedule that is no cron spec was accepted")
	}
}

// digestEnv opens a SQLite store with an ops digest due every minute and
// something for it to say: a request waiting for ops.
func digestEnv(t *testing.T) *env {
	t.Helper()
	set := map[string]string{
		config.EnvDatabaseURL:       storetest.SQLiteURL(t),
		config.EnvOpsDigestTo:       "ops@example.com",
		config.EnvOpsDigestSchedule: "* * * * *",
	}
	cfg, _, err := config.Load(nil, func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := &env{ctx: ctx, cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if err := e.open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	storetest.Must(t, e.st.Q(ctx).InsertRequest(&store.Request{State: store.StatePendingApproval, Sender: "a@example.com",
		MessageID: "a@example.com", Subject: "s"}))
	return e
}

// TestTimersRunOnOneWorker: of two workers, the one that took the timers
// lease runs the timers and keeps the lease; the other skips them.
func TestTimersRunOnOneWorker(t *testing.T) {
	ctx := context.Background()
	e := digestEnv(t)
	mails := func() int {
		rows, err := e.st.Q(ctx).ListOutbox(store.OutboxFilter{})
		storetest.Must(t, err)
		return len(rows)
	}
	w1, w2 := &worker{e: e, holder: "w1"}, &worker{e: e, holder: "w2"}
	w2.runTimers(ctx) // takes the free lease and sends the digest of this minute's slot
	if n := mails(); n != 1 {
		t.Fatalf("%d digests after the first pass", n)
	}
	w1.runTimers(ctx)
	if ok, err := e.st.AcquireLease(ctx, timersLease, "w1", timersLeaseTTL); err != nil || ok {
		t.Fatalf("w1 could take the lease w2 holds: %v %v", ok, err)
	}
	if ok, err := e.st.AcquireLease(ctx, timersLease, "w2", timersLeaseTTL); err != nil || !ok {
		t.Fatalf("w2 lost its lease: %v %v", ok, err)
	}
}

// TestTimerMetrics: a timer pass counts what each step did, and a failing
// step, in onboarder_timer_actions_total and onboarder_timer_failures_total.
func TestTimerMetrics(t *testing.T) {
	ctx := context.Background()
	e := digestEnv(t)
	reg := prometheus.NewRegistry()
	w := &worker{e: e, holder: "w1", m: newMetrics(reg)}
	w.runTimers(ctx) // the digest of this minute's slot
	w.m.timersDone(workflow.TimerReport{}, errors.Join(&workflow.TimerStepError{Step: workflow.StepLinkTimers, Err: errors.New("database gone")}))
	got := gatherCounters(t, reg)
	for series, want := range map[string]float64{
		`onboarder_timer_actions_total{step="digests"}`:           1,
		`onboarder_timer_actions_total{step="consents_expired"}`:  0, // exported before it acts
		`onboarder_timer_failures_total{step="link_timers"}`:      1,
		`onboarder_timer_failures_total{step="consents_expired"}`: 0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v", series, v, ok, want)
		}
	}
}

// gatherCounters reads every counter of reg as name{label="value"}.
func gatherCounters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}
