package cli

import (
	"log/slog"
	"testing"
	"time"

	"github.com/onboarder/onboarder/config"
)

func TestOutboxConfigTakesSMTPConnectionsAndLease(t *testing.T) {
	cfg, _, err := config.Load(nil, func(k string) string {
		return map[string]string{
			config.EnvSMTPURL:         "smtp://127.0.0.1:2525?tls=none",
			config.EnvSMTPConnections: "5",
			config.EnvOutboxLease:     "7m",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	oc := outboxConfig(cfg, e, "holder", nil)
	if oc.Connections != 5 {
		t.Errorf("outbox Connections = %d, want 5 from %s", oc.Connections, config.EnvSMTPConnections)
	}
	if oc.Lease != 7*time.Minute {
		t.Errorf("outbox Lease = %s, want 7m0s from %s", oc.Lease, config.EnvOutboxLease)
	}
}

// The composition root passes every setting a package uses, so no package
// fallback (outbox's, workflow's, mailbox's) is ever what a worker runs with:
// each value here differs from its default.
func TestEverySettingReachesItsPackage(t *testing.T) {
	set := map[string]string{
		config.EnvIMAPURL:             "imaps://u:p@imap.example.com/Partners",
		config.EnvIMAPProcessedFolder: "Done",
		config.EnvIMAPTimeout:         "61s",
		config.EnvMaxMessageBytes:     "4096",
		config.EnvPollBatch:           "7",
		config.EnvSMTPURL:             "smtp://127.0.0.1:2525?tls=none",
		config.EnvSMTPTimeout:         "62s",
		config.EnvSMTPConnections:     "3",
		config.EnvOutboxLease:         "9m",
		config.EnvMailFrom:            "Team <team@example.com>",
		config.EnvReplyTo:             "in@example.com",
		config.EnvPublicURL:           "https://onboard.example.com",
		config.EnvTrustedAuthServID:   "mx.example.com",
		config.EnvAutoApproveTrusted:  "true",
		config.EnvInviteTTL:           "71h",
		config.EnvVerifyDKIM:          "true",
		config.EnvAnswerLimitSender:   "21",
		config.EnvAnswerLimitPartner:  "101",
		config.EnvRawRetention:        "1000h",
		config.EnvSessionMaxAge:       "25h",
	}
	cfg, _, err := config.Load(nil, func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler)}

	oc := outboxConfig(cfg, e, "holder", nil)
	if oc.Timeout != 62*time.Second || oc.Connections != 3 || oc.Lease != 9*time.Minute || oc.LoopHeader != "in@example.com" {
		t.Errorf("outbox.Config Timeout %s Connections %d Lease %s LoopHeader %q", oc.Timeout, oc.Connections, oc.Lease, oc.LoopHeader)
	}
	mc := mailboxConfig(cfg, e)
	if mc.Mailbox != "Partners" || mc.ProcessedFolder != "Done" || mc.CommandTimeout != 61*time.Second ||
		mc.MaxMessageBytes != 4096 || mc.BatchSize != 7 {
		t.Errorf("mailbox.Config Mailbox %q ProcessedFolder %q CommandTimeout %s MaxMessageBytes %d BatchSize %d",
			mc.Mailbox, mc.ProcessedFolder, mc.CommandTimeout, mc.MaxMessageBytes, mc.BatchSize)
	}
	wo := workflowOptions(cfg, e, nil, nil)
	if wo.From.Address != "team@example.com" || wo.ReplyTo.Address != "in@example.com" || wo.PublicURL != "https://onboard.example.com" ||
		wo.TrustedAuthServID != "mx.example.com" || !wo.AutoApproveTrusted || wo.InviteTTL != 71*time.Hour || !wo.VerifyDKIM ||
		wo.AnswerLimitSender != 21 || wo.AnswerLimitPartner != 101 || wo.RawRetention != 1000*time.Hour || wo.SessionMaxAge != 25*time.Hour {
		t.Errorf("workflow.Options do not carry the settings: %+v", wo)
	}
}
