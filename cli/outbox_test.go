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
