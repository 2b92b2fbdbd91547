package workflow_test

import (
	"context"
	"fmt"
	"strings"
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
		res, err := f.wf.HandleMails(ctx, in)
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
		again, err := f.wf.HandleMails(ctx, in)
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
