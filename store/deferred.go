package store

import (
	"fmt"
	"strings"
	"time"
)

// deferred holds the rows a handle of one mail's work writes but never
// reads back: findings, audit entries and answer-log rows. They are
// written together by Flush, in one round trip on PostgreSQL.
type deferred struct {
	findings []Finding
	audit    []AuditEntry
	answers  []AnswerLog
}

// Deferred returns a handle on q's transaction that keeps findings, audit
// entries and answer-log rows until Flush (their ids stay 0). Reads that
// could see them (Findings, FindingsFor, Audit, DeleteFindings) flush
// first; AnswersSince counts the kept rows too. Call Flush before the
// transaction commits; rows not flushed are dropped.
func (q *Q) Deferred() *Q {
	d := *q
	d.pend = &deferred{}
	return &d
}

// Flush writes the rows a Deferred handle kept (nothing for other handles).
func (q *Q) Flush() error {
	p := q.pend
	if p == nil || len(p.findings)+len(p.audit)+len(p.answers) == 0 {
		return nil
	}
	type insert struct {
		sql  string
		args []any
	}
	var ins []insert
	values := func(n, cols int) string {
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
		return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	if len(p.findings) > 0 {
		args := make([]any, 0, 4*len(p.findings))
		for _, f := range p.findings {
			args = append(args, f.RequestID, f.Code, f.Detail, f.CreatedAt)
		}
		ins = append(ins, insert{"INSERT INTO findings (request_id, code, detail, created_at) VALUES " + values(len(p.findings), 4), args})
	}
	if len(p.audit) > 0 {
		args := make([]any, 0, 7*len(p.audit))
		for _, e := range p.audit {
			args = append(args, e.RequestID, e.LinkID, e.At, e.Actor, e.FromState, e.ToState, e.Reason)
		}
		ins = append(ins, insert{"INSERT INTO audit_entries (request_id, link_id, at, actor, from_state, to_state, reason) VALUES " + values(len(p.audit), 7), args})
	}
	if len(p.answers) > 0 {
		args := make([]any, 0, 6*len(p.answers))
		for _, a := range p.answers {
			args = append(args, a.OutboxID, a.PartnerID, a.Recipient, a.Held, a.Reason, a.At)
		}
		ins = append(ins, insert{"INSERT INTO answer_log (outbox_id, partner_id, recipient, held, reason, at) VALUES " + values(len(p.answers), 6), args})
	}
	*p = deferred{}
	if q.dialect == Postgres {
		// One statement: the first inserts as data-modifying WITH clauses.
		var sql strings.Builder
		var args []any
		for i, in := range ins {
			switch {
			case i == len(ins)-1 && i > 0:
				sql.WriteString(" ")
			case i == 0 && len(ins) > 1:
				sql.WriteString("WITH ")
			}
			if i < len(ins)-1 {
				fmt.Fprintf(&sql, "w%d AS (%s)", i, in.sql)
				if i < len(ins)-2 {
					sql.WriteString(", ")
				}
			} else {
				sql.WriteString(in.sql)
			}
			args = append(args, in.args...)
		}
		ins = []insert{{sql.String(), args}}
	}
	for _, in := range ins {
		if err := q.db.Exec(in.sql, in.args...).Error; err != nil {
			return fmt.Errorf("writing findings, audit entries and answer log: %w", err)
		}
	}
	return nil
}

// flushFirst writes kept rows before a read that could see them.
func (q *Q) flushFirst() error {
	if q.pend == nil {
		return nil
	}
	return q.Flush()
}

// keptAnswers counts the kept answer-log rows AnswersSince would count.
func (q *Q) keptAnswers(recipient string, partnerID int64, since time.Time) (toRecipient, toPartner int64) {
	if q.pend == nil {
		return 0, 0
	}
	for _, a := range q.pend.answers {
		if a.Held || a.At.Before(since) {
			continue
		}
		if a.Recipient == recipient {
			toRecipient++
		}
		if a.PartnerID == partnerID {
			toPartner++
		}
	}
	return toRecipient, toPartner
}
