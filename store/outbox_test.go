package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestMigrateTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := st.SchemaVersion(ctx)
		storetest.Must(t, err)
		if v < 1 {
			t.Fatalf("schema version %d", v)
		}
	})
}

func TestOutboxClaimLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC()
		for i, id := range []string{"a@x", "b@x", "c@x"} {
			m := &store.OutboxMail{Kind: "needs_info", FromAddr: "p@x", ToAddrs: "t@x, u@x", Subject: "s",
				TextBody: "b", MessageID: id, Delivery: store.Delivery{NextAttemptAt: t0.Add(time.Duration(i-1) * time.Minute)}}
			storetest.Must(t, st.Q(ctx).InsertOutbox(m))
		}
		// Only the first two are due; the third is a minute ahead.
		got, err := st.ClaimOutbox(ctx, "w1", 10, time.Minute, t0.Add(time.Second))
		storetest.Must(t, err)
		if len(got) != 2 || got[0].MessageID != "a@x" || got[0].Attempts != 1 {
			t.Fatalf("claimed %+v", got)
		}
		if tos := got[0].To(); len(tos) != 2 || tos[1] != "u@x" {
			t.Fatalf("To() = %v", tos)
		}
		// A second worker sees none of the leased rows.
		again, err := st.ClaimOutbox(ctx, "w2", 10, time.Minute, t0.Add(time.Second))
		storetest.Must(t, err)
		if len(again) != 0 {
			t.Fatalf("w2 claimed leased rows: %+v", again)
		}
		// w2 cannot finish w1's row.
		if err := st.MarkOutboxSent(ctx, got[0].ID, "w2", t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("foreign mark sent: %v", err)
		}
		storetest.Must(t, st.MarkOutboxSent(ctx, got[0].ID, "w1", t0))
		storetest.Must(t, st.MarkOutboxRetry(ctx, got[1].ID, "w1", t0.Add(time.Hour), "451 try later"))
		// Sent twice is refused.
		if err := st.MarkOutboxSent(ctx, got[0].ID, "w1", t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second mark sent: %v", err)
		}
		// An expired lease makes a row claimable again (the crash case).
		late, err := st.ClaimOutbox(ctx, "w2", 10, time.Minute, t0.Add(2*time.Minute))
		storetest.Must(t, err)
		if len(late) != 1 || late[0].MessageID != "c@x" {
			t.Fatalf("late claim %+v", late)
		}
		// In one statement: the row w2 holds is marked, the one sent before is not.
		lost, err := st.MarkOutboxSentBatch(ctx, []int64{got[0].ID, late[0].ID}, "w2", t0)
		storetest.Must(t, err)
		if diff := cmp.Diff([]int64{got[0].ID}, lost); diff != "" {
			t.Fatalf("batch mark sent: lost (-want +got):\n%s", diff)
		}
		due, ok, err := st.NextOutboxDue(ctx)
		storetest.Must(t, err)
		if !ok || due.Before(t0.Add(time.Minute)) {
			t.Fatalf("next due %v %v", due, ok)
		}
		rows, err := st.Q(ctx).ListOutbox(store.OutboxFilter{})
		storetest.Must(t, err)
		if rows[0].Status != store.OutboxSent || rows[1].LastError != "451 try later" || rows[1].Status != store.OutboxPending ||
			rows[2].Status != store.OutboxSent || rows[2].SentAt == nil || rows[2].LockedBy != "" {
			t.Fatalf("rows %+v", rows)
		}
	})
}

// On PostgreSQL the columns written for every mail are compressed with lz4
// (migration 5), and a value still reads back whole.
func TestLargeColumnsUseLZ4(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		if st.Dialect() != store.Postgres {
			t.Skip("SQLite does not compress")
		}
		ctx := context.Background()
		for _, col := range []struct{ table, column string }{{"messages", "raw"}, {"outbox_mails", "text_body"}, {"outbox_mails", "html_body"}} {
			check := fmt.Sprintf(`DO $$ BEGIN
				IF (SELECT attcompression FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = '%s') IS DISTINCT FROM 'l' THEN
					RAISE EXCEPTION '%s.%s is not compressed with lz4';
				END IF; END $$`, col.table, col.column, col.table, col.column)
			if err := st.Exec(ctx, check); err != nil {
				t.Error(err)
			}
		}
		raw := []byte(strings.Repeat("Organization ID: 9f1c2d3e-0000-4000-8000-000000000000\r\n", 200))
		m := &store.Message{Mailbox: "INBOX", UIDValidity: 1, UID: 77, Disposition: store.DispPending, Raw: raw, ReceivedAt: time.Now().UTC()}
		q := st.Q(ctx)
		storetest.Must(t, q.SaveMessage(m))
		got, err := q.Message(m.ID)
		storetest.Must(t, err)
		if !bytes.Equal(got.Raw, raw) {
			t.Errorf("raw source read back as %d bytes, want %d", len(got.Raw), len(raw))
		}
	})
}
