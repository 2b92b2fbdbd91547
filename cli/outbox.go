package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/store"
)

func cmdOutboxList(e *env) error {
	fs := flag.NewFlagSet("outbox list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	status := fs.String("status", "", "only mails with this status")
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ms, err := e.st.Q(e.ctx).ListOutbox(store.OutboxFilter{Status: *status})
	if err != nil {
		return err
	}
	return printList(e, *asJSON, ms, outboxJSON, "ID\tKIND\tSTATUS\tATTEMPTS\tTO\tSUBJECT\tLAST ERROR", func(m store.OutboxMail) string {
		return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s\t%s", m.ID, m.Kind, m.Status, m.Attempts, strings.Join(m.To(), ", "),
			clip(m.Subject, 60), orDash(clip(oneLine(m.LastError), 60)))
	})
}

func cmdOutboxRetry(e *env) error {
	fs := flag.NewFlagSet("outbox retry", flag.ContinueOnError)
	by := fs.String("by", "", "who retries it (recorded in the audit trail; default cli)")
	id, err := record(e, fs, messageArg)
	if err != nil {
		return err
	}
	if err := e.wf.RetryOutbox(e.ctx, id, orText(strings.TrimSpace(*by), "cli")); err != nil {
		return explain(err, fmt.Sprintf("retrying outbox mail %d", id))
	}
	fmt.Fprintf(e.stdout, "outbox mail %d queued again\n", id)
	return nil
}
