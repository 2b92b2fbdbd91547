package cli

import (
	"flag"
	"fmt"
	"time"

	"github.com/onboarder/onboarder/store"
)

func cmdAuditList(e *env) error {
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	request := fs.String("request", "", "only this request's entries (42 or REQ-000042)")
	actor := fs.String("actor", "", "only the entries of this actor (an address, system, partner:ADDR)")
	since := fs.String("since", "", "only entries from this time on (RFC 3339, or YYYY-MM-DD for that day's start in UTC)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("audit list takes no arguments, only flags: [--request ID] [--actor A] [--since T] [--json]")
	}
	f := store.AuditList{Actor: *actor}
	if *request != "" {
		id, ok := store.ParseReference(*request)
		if !ok {
			return usagef("--request %q is not a request ID: use a number like 42 or a reference like REQ-000042", *request)
		}
		f.Subject = fmt.Sprintf("request:%d", id)
	}
	if *since != "" {
		t, err := sinceTime(*since)
		if err != nil {
			return err
		}
		f.Since = t
	}
	if err := e.open(); err != nil {
		return err
	}
	var rows []store.AuditEntry
	if err := e.st.Q(e.ctx).EachAudit(f, func(a store.AuditEntry) error { rows = append(rows, a); return nil }); err != nil {
		return err
	}
	return printList(e, *asJSON, rows, auditJSON, "AT\tACTOR\tSUBJECT\tFROM\tTO\tREASON", func(a store.AuditEntry) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", ts(a.At), a.Actor, orDash(a.AuditSubject()), orDash(a.FromState),
			orDash(a.ToState), orDash(oneLine(a.Reason)))
	})
}

// sinceTime reads --since: an RFC 3339 time or a date (its start, UTC).
func sinceTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--since %q is not a time: use RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01)", s)
}

func auditJSON(a store.AuditEntry) jsonAuditEntry {
	return jsonAuditEntry{At: ts(a.At), Actor: a.Actor, Subject: nullable(a.AuditSubject()), From: nullable(a.FromState),
		To: nullable(a.ToState), Reason: a.Reason}
}
