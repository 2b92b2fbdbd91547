package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// A Deferred handle keeps findings, audit entries and answer-log rows
// until Flush, counts kept answers in AnswersSince, flushes before reads
// that could see them, and writes every mix of the three.
func TestDeferredWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := st.Q(ctx)
		p := &store.Partner{Name: "P"}
		storetest.Must(t, q.CreatePartner(p, nil, []string{"p.example"}))
		at := time.Now().UTC()
		for _, tc := range []struct {
			name                     string
			findings, audit, answers int
		}{
			{"findings only", 2, 0, 0},
			{"audit only", 0, 1, 0},
			{"answers only", 0, 0, 2},
			{"findings and answers", 1, 0, 1},
			{"all three", 2, 1, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var req *store.Request
				err := st.Transact(ctx, func(tq *store.Q) error {
					req = &store.Request{PartnerID: &p.ID, State: store.StateNeedsInfo, Sender: "a@p.example"}
					if err := tq.InsertRequest(req); err != nil {
						return err
					}
					row := &store.OutboxMail{Kind: "needs_info", FromAddr: "o@x", ToAddrs: "a@p.example", Subject: "s", TextBody: "b",
						MessageID: fmt.Sprintf("%s@x", t.Name())}
					if err := tq.InsertOutbox(row); err != nil {
						return err
					}
					d := tq.Deferred()
					before, _, err := d.AnswersSince("a@p.example", p.ID, at, 100, 100)
					if err != nil {
						return err
					}
					for i := 0; i < tc.findings; i++ {
						storetest.Must(t, d.AddFinding(req.ID, fmt.Sprintf("code_%d", i), "detail"))
					}
					for i := 0; i < tc.audit; i++ {
						storetest.Must(t, d.AddAudit(&store.AuditEntry{RequestID: &req.ID, Actor: "system", ToState: "needs_info", Reason: "r"}))
					}
					for i := 0; i < tc.answers; i++ {
						storetest.Must(t, d.LogAnswer(&store.AnswerLog{OutboxID: row.ID, PartnerID: p.ID, Recipient: "a@p.example", At: at}))
					}
					// Nothing written yet, but the kept answers count.
					if fs, err := tq.Findings(req.ID); err != nil || len(fs) != 0 {
						t.Errorf("findings before Flush: %d (%v), want none", len(fs), err)
					}
					after, _, err := d.AnswersSince("a@p.example", p.ID, at, 100, 100)
					if err != nil {
						return err
					}
					if after-before != int64(tc.answers) {
						t.Errorf("AnswersSince counts %d kept answers, want %d", after-before, tc.answers)
					}
					return d.Flush()
				})
				storetest.Must(t, err)
				fs, err := q.Findings(req.ID)
				storetest.Must(t, err)
				au, err := q.Audit(req.ID)
				storetest.Must(t, err)
				got := fmt.Sprintf("%d findings, %d audit entries", len(fs), len(au))
				want := fmt.Sprintf("%d findings, %d audit entries", tc.findings, tc.audit)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("after Flush (-want +got):\n%s", diff)
				}
				if tc.findings > 0 && (fs[0].Code != "code_0" || fs[0].Detail != "detail") {
					t.Errorf("finding %+v", fs[0])
				}
			})
		}
		// A read through the deferred handle flushes first.
		err := st.Transact(ctx, func(tq *store.Q) error {
			req := &store.Request{PartnerID: &p.ID, State: store.StateNeedsInfo, Sender: "a@p.example"}
			if err := tq.InsertRequest(req); err != nil {
				return err
			}
			d := tq.Deferred()
			storetest.Must(t, d.AddFinding(req.ID, "x", "y"))
			fs, err := d.Findings(req.ID)
			if err != nil || len(fs) != 1 {
				t.Errorf("findings through the deferred handle: %d (%v), want 1", len(fs), err)
			}
			return d.Flush()
		})
		storetest.Must(t, err)
	})
}

// A new received-mail record saved through a Deferred handle is written by
// Flush, alone or with the other kept rows, every column as SaveMessage
// would write it, and gets its id; a read of messages flushes first.
func TestDeferredMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		received := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
		newMsg := func(uid int64, reqID *int64) *store.Message {
			return &store.Message{Mailbox: "INBOX", UIDValidity: 7, UID: uid, MessageID: fmt.Sprintf("m%d@x", uid), FromAddr: "a@p.example",
				Subject: "s", Disposition: store.DispRequest, Detail: "d", RequestID: reqID, Size: 3, Raw: []byte("raw"),
				RawSHA256: "abc", Attempts: 1, LastError: "e", ReceivedAt: received}
		}
		var ids []int64
		err := st.Transact(ctx, func(tq *store.Q) error {
			req := &store.Request{State: store.StateNeedsInfo, Sender: "a@p.example"}
			if err := tq.InsertRequest(req); err != nil {
				return err
			}
			// With a finding and an audit entry.
			d := tq.Deferred()
			m1 := newMsg(1, &req.ID)
			storetest.Must(t, d.AddFinding(req.ID, "code", "detail"))
			storetest.Must(t, d.AddAudit(&store.AuditEntry{RequestID: &req.ID, Actor: "system", ToState: "needs_info", Reason: "r"}))
			storetest.Must(t, d.SaveMessage(m1))
			storetest.Must(t, d.Flush())
			if m1.ID == 0 || d.FlushedMessageID() != m1.ID {
				t.Errorf("after Flush: message id %d, FlushedMessageID %d", m1.ID, d.FlushedMessageID())
			}
			// Alone; then read back through the same handle before Flush.
			d = tq.Deferred()
			m2 := newMsg(2, nil)
			storetest.Must(t, d.SaveMessage(m2))
			got, err := d.MessageAt("INBOX", 7, 2)
			if err != nil || got.ID != m2.ID || m2.ID == 0 {
				t.Errorf("read before Flush: %+v (%v), kept message id %d", got, err, m2.ID)
			}
			ids = append(ids, m1.ID, m2.ID)
			return d.Flush()
		})
		storetest.Must(t, err)
		got, err := st.Q(ctx).Message(ids[0])
		storetest.Must(t, err)
		want := newMsg(1, got.RequestID)
		want.ID, want.CreatedAt, want.UpdatedAt = got.ID, got.CreatedAt, got.UpdatedAt
		got.ReceivedAt = got.ReceivedAt.UTC()
		if diff := cmp.Diff(*want, got); diff != "" || got.RequestID == nil || got.CreatedAt.IsZero() {
			t.Errorf("message written by Flush (-want +got):\n%s", diff)
		}
	})
}

// In a Chunk's transaction on PostgreSQL, a Deferred handle keeps new
// outbox rows until Flush, with their ids known at once (reserved from the
// sequence), so that answer-log rows can name them; they go in with the
// rest in one statement. Elsewhere a row is written at once.
func TestDeferredOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ch := st.NewChunk()
		q := ch.Q(ctx)
		p := &store.Partner{Name: "P"}
		storetest.Must(t, q.CreatePartner(p, nil, []string{"p.example"}))
		newRow := func(n int) *store.OutboxMail {
			return &store.OutboxMail{Kind: "request_received", FromAddr: "o@x", ToAddrs: "a@p.example", Subject: fmt.Sprintf("s%d", n),
				TextBody: "text", HTMLBody: "<p>html</p>", MessageID: fmt.Sprintf("kept%d@x", n), Refs: "r@x", AutoSubmitted: "auto-replied"}
		}
		var kept []*store.OutboxMail
		err := ch.Transact(ctx, func(tq *store.Q) error {
			d := tq.Deferred()
			for i := range 3 {
				m := newRow(i)
				storetest.Must(t, d.InsertOutbox(m))
				if m.ID == 0 {
					t.Fatalf("row %d has no id before Flush", i)
				}
				storetest.Must(t, d.LogAnswer(&store.AnswerLog{OutboxID: m.ID, PartnerID: p.ID, Recipient: "a@p.example", At: time.Now().UTC()}))
				kept = append(kept, m)
			}
			if st.Dialect() == store.Postgres {
				// Not written yet: another handle on the transaction sees none.
				rows, err := tq.ListOutbox(store.OutboxFilter{})
				if err != nil || len(rows) != 0 {
					t.Errorf("before Flush the table holds %d rows (%v), want none", len(rows), err)
				}
			}
			// A read through the handle itself flushes first.
			got, err := d.Outbox(kept[1].ID)
			if err != nil || got.Subject != "s1" {
				t.Errorf("read through the handle: %+v, %v", got, err)
			}
			return d.Flush()
		})
		storetest.Must(t, err)
		for i, m := range kept {
			got, err := q.Outbox(m.ID)
			storetest.Must(t, err)
			if got.Subject != fmt.Sprintf("s%d", i) || got.TextBody != "text" || got.HTMLBody != "<p>html</p>" ||
				got.Status != store.OutboxPending || got.MessageID != m.MessageID || got.NextAttemptAt.IsZero() {
				t.Errorf("row %d read back as %+v", i, got)
			}
		}
		n, _, err := q.AnswersSince("a@p.example", p.ID, time.Now().Add(-time.Hour), 100, 100)
		storetest.Must(t, err)
		if n != 3 {
			t.Errorf("%d answer-log rows, want 3", n)
		}
	})
}
