// Command onboarder is the worker behind the partners@ mailbox: see the
// README, or run `onboarder help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/onboarder/onboarder/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
