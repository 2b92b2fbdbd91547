package cli

import (
	"log/slog"
	"testing"

	"github.com/onboarder/onboarder/config"
)

func TestOutboxConfigTakesSMTPConnections(t *testing.T) {
	cfg, _, err := config.Load(nil, func(k string) string {
		return map[string]string{
			config.EnvSMTPURL:         "smtp://127.0.0.1:2525?tls=none",
			config.EnvSMTPConnections: "5",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if got := outboxConfig(cfg, e, "holder", nil).Connections; got != 5 {
		t.Errorf("outbox Connections = %d, want 5 from %s", got, config.EnvSMTPConnections)
	}
}
