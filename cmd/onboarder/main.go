// Command onboarder is the worker behind the partners@ mailbox: see the
// README, or run `onboarder help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/onboarder/onboarder/cli"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise:
// the worker's live heap is small (tens of MB through a 50,000-mail
// backlog), and collecting a third as often saves about a tenth of the CPU
// a backlog costs. GOGC and GOMEMLIMIT still rule when set.
const gcPercent = 300

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
