package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/workflow"
)

// cmdOrgsClearFraud clears the open fraud reports on an organization
// (declined as not requested by its administrator), audited with who and why.
func cmdOrgsClearFraud(e *env) error {
	fs := flag.NewFlagSet("orgs clear-fraud", flag.ContinueOnError)
	by := fs.String("by", "", "who clears it (recorded in the audit trail)")
	reason := fs.String("reason", "", "why (recorded in the audit trail)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usagef("expected one organization ID")
	}
	if strings.TrimSpace(*by) == "" || strings.TrimSpace(*reason) == "" {
		return usagef("--by and --reason are required")
	}
	if err := e.open(); err != nil {
		return err
	}
	n, err := e.wf.ClearFraud(e.ctx, pos[0], strings.TrimSpace(*by), *reason, 0)
	if errors.Is(err, workflow.ErrClearReasonRequired) {
		return usagef("--reason must say why")
	}
	if err != nil {
		return explain(err, "clearing the fraud report on organization "+pos[0])
	}
	fmt.Fprintf(e.stdout, "organization %s: %d fraud report(s) cleared; later requests are no longer flagged\n",
		strings.ToLower(strings.TrimSpace(pos[0])), n)
	return nil
}
