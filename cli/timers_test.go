package cli

import (
	"log/slog"
	"testing"
	"time"

	"github.com/onboarder/onboarder/config"
)

// TestTimerSettingsReachTheWorkflow: the timer settings are passed to the
// workflow, and the digest schedule only with recipients.
func TestTimerSettingsReachTheWorkflow(t *testing.T) {
	set := map[string]string{
		config.EnvInviteReminderBefore: "49h",
		config.EnvNeedsInfoChaseAfter:  "25h",
		config.EnvNeedsInfoExpireAfter: "170h",
		config.EnvOpsDigestTo:          "ops@example.com, Olga <olga@example.com>",
		config.EnvOpsDigestSchedule:    "30 6 * * *",
	}
	cfg, _, err := config.Load(nil, func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	wo := workflowOptions(cfg, e, nil, nil)
	if wo.InviteReminderBefore != 49*time.Hour || wo.NeedsInfoChaseAfter != 25*time.Hour || wo.NeedsInfoExpireAfter != 170*time.Hour ||
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
