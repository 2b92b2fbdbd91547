package cli

import (
	"flag"
	"fmt"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

func cmdMessagesList(e *env) error {
	fs := flag.NewFlagSet("messages list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	disp := fs.String("disposition", "", "only mails with this disposition")
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ms, err := e.st.Q(e.ctx).ListMessages(store.MessageFilter{Disposition: *disp})
	if err != nil {
		return err
	}
	return printList(e, *asJSON, ms, messageJSON, "ID\tDISPOSITION\tREQUEST\tFROM\tSUBJECT\tRECEIVED", func(m store.Message) string {
		req := "-"
		if m.RequestID != nil {
			req = store.Reference(*m.RequestID)
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", m.ID, m.Disposition, req, orDash(m.FromAddr),
			clip(m.Subject, 60), m.ReceivedAt.Format(time.DateTime))
	})
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func messageArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("expected one message ID")
	}
	var id int64
	if _, err := fmt.Sscan(pos[0], &id); err != nil || id <= 0 {
		return 0, usagef("%q is not a message ID: use the number from 'messages list'", pos[0])
	}
	return id, nil
}

func cmdMessagesShow(e *env) error {
	fs := flag.NewFlagSet("messages show", flag.ContinueOnError)
	raw := fs.Bool("raw", false, "print the raw source")
	asJSON := jsonFlag(fs)
	id, err := record(e, fs, messageArg)
	if err != nil {
		return err
	}
	m, err := e.st.Q(e.ctx).Message(id)
	if err != nil {
		return explain(err, "showing message")
	}
	if *raw {
		_, err := e.stdout.Write(m.Raw)
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, messageJSON(m))
	}
	j := messageJSON(m)
	fmt.Fprintf(e.stdout, "message %d: %s\n  from:        %s\n  subject:     %s\n  message-id:  %s\n  received:    %s\n  size:        %d bytes\n  detail:      %s\n",
		m.ID, m.Disposition, m.FromAddr, m.Subject, orDash(m.MessageID), j.ReceivedAt, m.Size, orDash(m.Detail))
	if m.LastError != "" {
		fmt.Fprintf(e.stdout, "  attempts:    %d, last error: %s\n", m.Attempts, oneLine(m.LastError))
	}
	if len(m.Raw) > 0 {
		p := parser.Parse(m.Raw, parser.Options{TrustedAuthServID: e.cfg.TrustedAuthServID})
		fmt.Fprintf(e.stdout, "\n%s\n", p.Text)
	}
	return nil
}

func cmdMessagesReprocess(e *env) error {
	id, err := record(e, flag.NewFlagSet("messages reprocess", flag.ContinueOnError), messageArg)
	if err != nil {
		return err
	}
	res, err := e.wf.Reprocess(e.ctx, id)
	if err != nil {
		return explain(err, fmt.Sprintf("reprocessing message %d", id))
	}
	fmt.Fprintf(e.stdout, "message %d: %s%s\n", id, res.Disposition, refSuffix(res.RequestID))
	return nil
}

func refSuffix(id int64) string {
	if id == 0 {
		return ""
	}
	return " (" + store.Reference(id) + ")"
}
