package workflow_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// A chunk handled at once must end exactly as mail by mail would: mails
// that depend on each other in order, a failing mail isolated, and the
// same chunk again (a crash between commit and move) changes nothing.
func TestHandleMailsChunk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) {
			o.Parse = func(raw []byte, opts parser.Options) *parser.Mail {
				if strings.Contains(string(raw), "BOOM") {
					panic("parser bug")
				}
				return parser.Parse(raw, opts)
			}
		})
		ctx := context.Background()
		type mail struct {
			raw  string
			want string // disposition
			out  workflow.Outcome
		}
		var mails []mail
		var orgs []string
		for i := 0; i < 10; i++ {
			orgs = append(orgs, f.newOrg())
			mails = append(mails, mail{request("ops@acme.example", fmt.Sprintf("m%d@acme.example", i), "Globex", "Org ID: "+orgs[i]),
				store.DispRequest, workflow.Move})
		}
		mails = append(mails,
			// The same organization again, later in the chunk: a duplicate request.
			mail{request("ops@acme.example", "again@acme.example", "Globex", "Org ID: "+orgs[3]), store.DispRequest, workflow.Move},
			// The same mail delivered twice.
			mail{request("ops@acme.example", "m5@acme.example", "Globex", "Org ID: "+orgs[5]), store.DispDuplicate, workflow.Move},
			// A request without an ID, then the partner's own follow-up in its thread with the ID.
			mail{request("ops@acme.example", "noid@acme.example", "Globex", "please connect us"), store.DispRequest, workflow.Move},
			mail{request("ops@acme.example", "follow@acme.example", "Globex", "Org ID: "+f.newOrg(), "In-Reply-To: <noid@acme.example>"),
				store.DispReply, workflow.Move},
			// A parser failure stays this mail's problem.
			mail{request("ops@acme.example", "boom@acme.example", "Globex", "BOOM"), store.DispPending, workflow.Retry},
			mail{"From: billing@vendor.example\r\nMessage-ID: <inv@vendor.example>\r\nSubject: Invoice\r\n\r\nhello\r\n", store.DispIgnored, workflow.Keep},
		)
		in := make([]workflow.Incoming, len(mails))
		var want []string
		for i, m := range mails {
			in[i] = workflow.Incoming{Mailbox: "INBOX", UIDValidity: 3, UID: uint32(100 + i), Raw: []byte(m.raw), Size: int64(len(m.raw)), ReceivedAt: f.now}
			want = append(want, fmt.Sprintf("%s/%d", m.want, m.out))
		}
		res, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
		storetest.Must(t, err)
		var got []string
		for _, r := range res {
			got = append(got, fmt.Sprintf("%s/%d", r.Disposition, r.Outcome))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("dispositions (-want +got):\n%s", diff)
		}
		if s := f.request(res[10].RequestID).State; s != store.StateDuplicate {
			t.Errorf("second request for the same organization: %s, want duplicate", s)
		}
		if res[13].RequestID != res[12].RequestID || f.request(res[12].RequestID).State != store.StatePendingApproval {
			t.Errorf("follow-up: request %d (want %d) state %s", res[13].RequestID, res[12].RequestID, f.request(res[12].RequestID).State)
		}
		outbox := len(f.allOutbox())
		reqs, err := st.Q(ctx).ListRequests(store.RequestFilter{})
		storetest.Must(t, err)

		// The chunk again: every mail recognised, the failing one tried again.
		again, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
		storetest.Must(t, err)
		for i := range res {
			if i == 14 {
				continue
			}
			if again[i] != res[i] {
				t.Errorf("mail %d again: %+v, first %+v", i, again[i], res[i])
			}
		}
		if again[14].Disposition != store.DispPending || again[14].MessageID != res[14].MessageID {
			t.Errorf("failing mail again: %+v, first %+v", again[14], res[14])
		}
		reqs2, err := st.Q(ctx).ListRequests(store.RequestFilter{})
		storetest.Must(t, err)
		if n := len(f.allOutbox()); n != outbox || len(reqs2) != len(reqs) {
			t.Errorf("handling the chunk again made %d outbox mails (was %d) and %d requests (was %d)", n, outbox, len(reqs2), len(reqs))
		}
		m, err := st.Q(ctx).Message(res[14].MessageID)
		storetest.Must(t, err)
		if m.Attempts != 2 {
			t.Errorf("failing mail: %d attempts after two chunks, want 2", m.Attempts)
		}
	})
}

// A mail that fails inside the database, in the middle of a transaction
// it shares with other mails, is rolled back alone: its request and
// answer are gone, the others stay, and it is tried again and set aside
// after three tries.
func TestHandleMailsDatabaseFailureStaysAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		// Writing the answer of a mail about "DBFAIL" fails, after its
		// request, findings and audit entry were written.
		failAnswersAboutDBFAIL(t, st)
		var in []workflow.Incoming
		for i := 0; i < 9; i++ {
			name := "Globex"
			if i == 4 {
				name = "Globex DBFAIL"
			}
			raw := request("ops@acme.example", fmt.Sprintf("db%d@acme.example", i), name, "Org ID: "+f.newOrg())
			in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 3, UID: uint32(200 + i), Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.now})
		}
		for try := 1; try <= 3; try++ {
			res, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
			storetest.Must(t, err)
			var got []string
			for _, r := range res {
				got = append(got, fmt.Sprintf("%s/%d", r.Disposition, r.Outcome))
			}
			want := []string{}
			for i := range in {
				switch {
				case i != 4:
					want = append(want, fmt.Sprintf("%s/%d", store.DispRequest, workflow.Move))
				case try < 3:
					want = append(want, fmt.Sprintf("%s/%d", store.DispPending, workflow.Retry))
				default:
					want = append(want, fmt.Sprintf("%s/%d", store.DispUnparseable, workflow.Move))
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("try %d: dispositions (-want +got):\n%s", try, diff)
			}
			m, err := st.Q(ctx).Message(res[4].MessageID)
			storetest.Must(t, err)
			if m.Attempts != try || !strings.Contains(m.LastError, "no answers about DBFAIL") || m.RequestID != nil {
				t.Errorf("try %d: failing mail has %d attempts, error %q, request %v", try, m.Attempts, m.LastError, m.RequestID)
			}
			reqs, err := st.Q(ctx).ListRequests(store.RequestFilter{})
			storetest.Must(t, err)
			if len(reqs) != 8 || len(f.allOutbox()) != 8 {
				t.Errorf("try %d: %d requests and %d outbox mails, want 8 each (the failing mail's rolled back)", try, len(reqs), len(f.allOutbox()))
			}
			for _, r := range reqs {
				if strings.Contains(r.Subject, "DBFAIL") {
					t.Errorf("try %d: the failing mail's request %s was kept", try, r.Reference())
				}
			}
		}
	})
}

// What a chunk reads ahead in one query (the earlier records of its mails,
// the organizations they name) gives the same answers as asking mail by
// mail: a mail seen in an earlier chunk is a duplicate at a new UID and
// only relocated after a UIDVALIDITY change; unknown and inactive
// organizations are rejected.
func TestHandleMailsLookAhead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		inactive := f.newOrg()
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: inactive, Name: "Globex", Status: "suspended"}))
		a := request("ops@acme.example", "la-a@acme.example", "Globex", "Org ID: "+f.newOrg())
		b := request("ops@acme.example", "la-b@acme.example", "Globex", "Org ID: "+f.newOrg())
		unknown := request("ops@acme.example", "la-u@acme.example", "Globex", "Org ID: 7e57ffff-0000-4000-8000-00000000ffff")
		gone := request("ops@acme.example", "la-i@acme.example", "Globex", "Org ID: "+inactive)
		chunk := func(validity uint32, first uint32, raws ...string) []workflow.Result {
			t.Helper()
			var in []workflow.Incoming
			for i, raw := range raws {
				in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: validity, UID: first + uint32(i), Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.now})
			}
			res, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
			storetest.Must(t, err)
			return res
		}
		first := chunk(1, 1, a, b, unknown, gone)
		second := chunk(1, 10, a, b)
		third := chunk(2, 1, b)
		var got []string
		for _, r := range append(append(first, second...), third...) {
			s := r.Disposition
			if r.RequestID != 0 {
				s += " " + f.request(r.RequestID).State
			}
			got = append(got, s)
		}
		want := []string{
			"request pending_approval", "request pending_approval", "request rejected", "request rejected",
			"duplicate pending_approval", "duplicate pending_approval",
			"request pending_approval",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dispositions and request states (-want +got):\n%s", diff)
		}
		if second[0].RequestID != first[0].RequestID || third[0].MessageID != first[1].MessageID {
			t.Errorf("second chunk %+v, third %+v; first %+v", second, third, first)
		}
		if got := f.findings(first[2].RequestID) + " / " + f.findings(first[3].RequestID); !strings.Contains(got, "unknown_organization") || !strings.Contains(got, "organization_inactive") {
			t.Errorf("findings %s", got)
		}
	})
}

// The answer limits hold inside one chunk, too: its mails run on several
// lanes at once (PostgreSQL), each in its own transaction, and still no
// more answers than the limit go to one address or one partner.
func TestHandleMailsChunkKeepsAnswerLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AnswerLimitSender, o.AnswerLimitPartner = 3, 5 })
		ctx := context.Background()
		var in []workflow.Incoming
		add := func(from, msgID string) {
			raw := request(from, msgID, "Globex", "Org ID: "+f.newOrg())
			in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 9, UID: uint32(len(in) + 1), Raw: []byte(raw),
				Size: int64(len(raw)), ReceivedAt: f.now})
		}
		// Twelve requests from one address, each about its own organization
		// (so each is its own conflict group, spread over the lanes), then
		// eight from other addresses of a domain partner.
		for i := range 12 {
			add("ops@acme.example", fmt.Sprintf("lim%d@acme.example", i))
		}
		for i := range 8 {
			add(fmt.Sprintf("user%d@bluebird.example", i), fmt.Sprintf("bb%d@bluebird.example", i))
		}
		res, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
		storetest.Must(t, err)
		for i, r := range res {
			if r.Disposition != store.DispRequest {
				t.Fatalf("mail %d: %+v", i, r)
			}
		}
		sent := map[string]int{}
		for _, m := range f.allOutbox() {
			if m.Status == store.OutboxHeld {
				continue
			}
			for _, dom := range []string{"acme.example", "bluebird.example"} {
				if strings.Contains(m.ToAddrs, "@"+dom) {
					sent[dom]++
				}
			}
		}
		if sent["acme.example"] != 3 || sent["bluebird.example"] != 5 {
			t.Errorf("answers not held: %v, want 3 to acme.example (address limit) and 5 to bluebird.example (partner limit)", sent)
		}
	})
}

// A chunk is parsed ahead (ParseChunk) and handled without being parsed
// again.
func TestHandleMailsParsedAhead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var parses atomic.Int64
		f := newFixture(t, st, func(o *workflow.Options) {
			o.Parse = func(raw []byte, opts parser.Options) *parser.Mail {
				parses.Add(1)
				return parser.Parse(raw, opts)
			}
		})
		ctx := context.Background()
		var in []workflow.Incoming
		for i := range 6 {
			raw := request("ops@acme.example", fmt.Sprintf("ahead%d@acme.example", i), "Globex", "Org ID: "+f.newOrg())
			in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 4, UID: uint32(i + 1), Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.now})
		}
		pre := f.wf.ParseChunk(in)
		if n := parses.Load(); n != int64(len(in)) {
			t.Fatalf("ParseChunk parsed %d mails, want %d", n, len(in))
		}
		res, err := f.wf.HandleChunk(ctx, pre)
		storetest.Must(t, err)
		if n := parses.Load(); n != int64(len(in)) {
			t.Errorf("handling parsed again: %d parses for %d mails", n, len(in))
		}
		for i, r := range res {
			if r.Disposition != store.DispRequest || r.RequestID == 0 || r.MessageID == 0 {
				t.Errorf("mail %d: %+v", i, r)
			}
		}
	})
}

// An answer counted for the rate limit by a mail that is then rolled back
// is taken back: the mails after it may still have their answers.
func TestHandleMailsRolledBackAnswerNotCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AnswerLimitSender, o.AnswerLimitPartner = 3, 1000 })
		ctx := context.Background()
		failAnswersAboutDBFAIL(t, st)
		var in []workflow.Incoming
		add := func(from, name string) {
			raw := request(from, fmt.Sprintf("rb%d@x.example", len(in)), name, "Org ID: "+f.newOrg())
			in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 5, UID: uint32(len(in) + 1), Raw: []byte(raw),
				Size: int64(len(raw)), ReceivedAt: f.now})
		}
		// The failing mail first, in the same transaction as the three
		// after it (a batch takes up to 50 consecutive mails).
		add("ops@acme.example", "Globex DBFAIL")
		for range 3 {
			add("ops@acme.example", "Globex")
		}
		for i := range 46 {
			add(fmt.Sprintf("user%d@bluebird.example", i), "Globex")
		}
		res, err := f.wf.HandleChunk(ctx, f.wf.ParseChunk(in))
		storetest.Must(t, err)
		if res[0].Disposition != store.DispPending {
			t.Fatalf("failing mail: %+v", res[0])
		}
		for _, r := range res[1:4] {
			rows := f.outbox(r.RequestID)
			if len(rows) != 1 || rows[0].Status != store.OutboxPending {
				t.Errorf("answer of request %d: %+v, want one pending (the rolled-back mail's answer must not count)", r.RequestID, rows)
			}
		}
	})
}

// failAnswersAboutDBFAIL makes writing an outbox mail whose subject says
// DBFAIL fail inside the database (a trigger), as a broken statement would.
func failAnswersAboutDBFAIL(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if st.Dialect() == store.Postgres {
		storetest.Must(t, st.Exec(ctx, `CREATE FUNCTION test_dbfail() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'test trigger: no answers about DBFAIL'; END $$`))
		storetest.Must(t, st.Exec(ctx, `CREATE TRIGGER test_dbfail BEFORE INSERT ON outbox_mails FOR EACH ROW
			WHEN (NEW.subject LIKE '%DBFAIL%') EXECUTE FUNCTION test_dbfail()`))
		return
	}
	storetest.Must(t, st.Exec(ctx, `CREATE TRIGGER test_dbfail BEFORE INSERT ON outbox_mails
		WHEN NEW.subject LIKE '%DBFAIL%' BEGIN SELECT RAISE(ABORT, 'test trigger: no answers about DBFAIL'); END`))
}
