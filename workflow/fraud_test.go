package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

const orgUmbrella = "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"

const bluebirdPass = "Authentication-Results: mx.partners.example; dkim=pass header.d=bluebird.example; spf=pass; dmarc=pass header.from=bluebird.example"

// fraudDeclined runs Acme's request for Globex up to the administrator's
// "this wasn't us" and returns the declined request.
func (f *fixture) fraudDeclined() int64 {
	f.t.Helper()
	ctx := context.Background()
	storetest.Must(f.t, f.st.Q(ctx).UpsertOrganization(&store.Organization{ID: orgUmbrella, Name: "Umbrella", Status: store.OrgActive,
		AdminEmail: "alice@umbrella.example"}))
	id := f.pendingRequest()
	storetest.Must(f.t, f.wf.Approve(ctx, id, "olga", ""))
	if _, err := f.wf.Decline(ctx, f.token(id), "We never asked for this.", true); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// findingDetail returns the detail of a request's finding code ("" when absent).
func (f *fixture) findingDetail(id int64, code string) (string, bool) {
	f.t.Helper()
	fs, err := f.st.Q(context.Background()).Findings(id)
	storetest.Must(f.t, err)
	for _, x := range fs {
		if x.Code == code {
			return x.Detail, true
		}
	}
	return "", false
}

// webhookEvent returns the payload of the last webhook event of type typ.
func (f *fixture) webhookEvent(typ string) map[string]any {
	f.t.Helper()
	evs, err := f.st.Q(context.Background()).ListWebhooks("", 500)
	storetest.Must(f.t, err)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			var m map[string]any
			storetest.Must(f.t, json.Unmarshal([]byte(evs[i].Payload), &m))
			return m
		}
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	f.t.Fatalf("no %s webhook event among %v", typ, types)
	return nil
}

// A decline with the fraud flag marks the organization and the partner:
// an open report with the request, an audit entry that says so, and a
// webhook event.
func TestFraudDeclineMarksOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.Webhooks = true })
		id := f.fraudDeclined()
		reps, err := st.Q(context.Background()).OpenFraudReportsFor(orgGlobex, 0)
		storetest.Must(t, err)
		if len(reps) != 1 || reps[0].RequestID != id || reps[0].PartnerID != f.acme.ID || reps[0].Status != store.FraudOpen ||
			!reps[0].ReportedAt.Equal(f.now) {
			t.Fatalf("open reports on the organization: %+v", reps)
		}
		audit, err := st.Q(context.Background()).Audit(id)
		storetest.Must(t, err)
		if last := audit[len(audit)-1]; !strings.Contains(last.Reason, "fraud_reported") || !strings.Contains(last.Reason, orgGlobex) {
			t.Errorf("audit does not say the organization is marked: %+v", last)
		}
		ev := f.webhookEvent(workflow.EventFraudReported)
		rep, _ := ev["fraud_report"].(map[string]any)
		partner, _ := rep["partner"].(map[string]any)
		if rep["organization_id"] != orgGlobex || rep["request_reference"] != store.Reference(id) ||
			partner["name"] != f.acme.Name || rep["status"] != store.FraudOpen {
			t.Errorf("fraud_reported event: %v", ev)
		}
	})
}

// Later requests for the organization (any partner) and from the partner
// (any organization) get fraud_reported, naming the declined request and
// how they matched; others stay clean.
func TestFraudReportedFlagsLaterRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		declined := f.fraudDeclined()
		ref := store.Reference(declined)
		f.now = f.now.Add(time.Hour)

		res := f.deliver(request("tom@bluebird.example", "b1@bluebird.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		if s := f.request(res.RequestID).State; s != store.StatePendingApproval {
			t.Fatalf("another partner's request for the organization is %s", s)
		}
		if d, ok := f.findingDetail(res.RequestID, workflow.FindFraudReported); !ok || !strings.Contains(d, ref) || !strings.Contains(d, "matched by organization") {
			t.Errorf("another partner, same organization: findings %s, detail %q", f.findings(res.RequestID), d)
		}

		res = f.deliver(request("Sarah <ops@acme.example>", "r2@acme.example", "Umbrella", "Organization ID: "+orgUmbrella))
		if d, ok := f.findingDetail(res.RequestID, workflow.FindFraudReported); !ok || !strings.Contains(d, ref) || !strings.Contains(d, "matched by partner") {
			t.Errorf("same partner, another organization: findings %s, detail %q", f.findings(res.RequestID), d)
		}

		// A request resumed by the partner's reply is checked then.
		res = f.deliver(request("Sarah <ops@acme.example>", "r3@acme.example", "Someone", "please connect us"))
		if s := f.request(res.RequestID).State; s != store.StateNeedsInfo {
			t.Fatalf("request without an ID: %s", s)
		}
		org3 := f.newOrg()
		reply := f.deliver(request("Sarah <ops@acme.example>", "r3b@acme.example", "Someone", "Organization ID: "+org3,
			"In-Reply-To: <r3@acme.example>"))
		if reply.RequestID != res.RequestID {
			t.Fatalf("reply not threaded: %+v", reply)
		}
		if _, ok := f.findingDetail(res.RequestID, workflow.FindFraudReported); !ok {
			t.Errorf("request resumed by reply: findings %s", f.findings(res.RequestID))
		}

		// Neither the organization nor the partner: clean.
		res = f.deliver(request("tom@bluebird.example", "b2@bluebird.example", "Umbrella", "Organization ID: "+orgUmbrella))
		if fs := f.findings(res.RequestID); strings.Contains(fs, workflow.FindFraudReported) {
			t.Errorf("unrelated request: findings %s", fs)
		}
	})
}

// The worker's intake takes mail in chunks (HandleChunk) of many mails;
// its checks flag the same requests.
func TestFraudReportedFlagsChunkIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		declined := f.fraudDeclined()
		raws := []string{
			request("tom@bluebird.example", "c1@bluebird.example", "Globex Corporation", "Organization ID: "+orgGlobex),
			request("Sarah <ops@acme.example>", "c2@acme.example", "Umbrella", "Organization ID: "+orgUmbrella),
			request("tom@bluebird.example", "c3@bluebird.example", "Other", "Organization ID: "+f.newOrg()),
		}
		var in []workflow.Incoming
		for i, raw := range raws {
			in = append(in, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 7, UID: uint32(500 + i), Raw: []byte(raw),
				Size: int64(len(raw)), ReceivedAt: f.now})
		}
		res, err := f.wf.HandleChunk(context.Background(), f.wf.ParseChunk(in))
		storetest.Must(t, err)
		for i, want := range []string{"matched by organization", "matched by partner", ""} {
			d, ok := f.findingDetail(res[i].RequestID, workflow.FindFraudReported)
			switch {
			case want == "" && ok:
				t.Errorf("mail %d: unrelated request flagged: %q", i, d)
			case want != "" && (!ok || !strings.Contains(d, want) || !strings.Contains(d, store.Reference(declined))):
				t.Errorf("mail %d: findings %s, detail %q, want %q", i, f.findings(res[i].RequestID), d, want)
			}
		}
	})
}

// A trusted partner's clean, authenticated request is not approved
// automatically while the organization is marked.
func TestFraudReportedBlocksAutoApproval(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AutoApproveTrusted = true })
		f.fraudDeclined()
		f.now = f.now.Add(2 * time.Hour)
		res := f.deliver(request("tom@bluebird.example", "a1@bluebird.example", "Globex Corporation", "Org ID: "+orgGlobex, bluebirdPass))
		if r := f.request(res.RequestID); r.State != store.StatePendingApproval || f.findings(r.ID) != workflow.FindFraudReported {
			t.Fatalf("trusted request for a marked organization: %s (%s), want pending_approval with fraud_reported only",
				r.State, f.findings(r.ID))
		}
	})
}

// Ops clear the report with a reason: who, when and why are recorded and
// audited, a webhook event goes out, and later requests are clean.
func TestClearFraud(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, func(o *workflow.Options) { o.Webhooks = true; o.AutoApproveTrusted = true })
		declined := f.fraudDeclined()
		f.now = f.now.Add(time.Hour)
		flagged := f.deliver(request("tom@bluebird.example", "b1@bluebird.example", "Globex Corporation", "Org ID: "+orgGlobex)).RequestID

		if _, err := f.wf.ClearFraud(ctx, orgGlobex, "olga", "  ", flagged); !errors.Is(err, workflow.ErrClearReasonRequired) {
			t.Fatalf("clearing without a reason: %v", err)
		}
		if _, err := f.wf.ClearFraud(ctx, orgUmbrella, "olga", "checked", 0); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("clearing an organization without a report: %v", err)
		}
		n, err := f.wf.ClearFraud(ctx, strings.ToUpper(orgGlobex), "olga", "Customer confirmed by phone: a colleague asked.", flagged)
		storetest.Must(t, err)
		if n != 1 {
			t.Fatalf("cleared %d reports, want 1", n)
		}
		if _, err := f.wf.ClearFraud(ctx, orgGlobex, "olga", "again", 0); !errors.Is(err, workflow.ErrState) {
			t.Errorf("clearing twice: %v", err)
		}
		reps, err := st.Q(ctx).FraudReportsOfRequest(declined)
		storetest.Must(t, err)
		if len(reps) != 1 || reps[0].Status != store.FraudCleared || reps[0].ClearedBy != "olga" || reps[0].ClearedAt == nil ||
			!reps[0].ClearedAt.Equal(f.now) || reps[0].ClearReason != "Customer confirmed by phone: a colleague asked." {
			t.Fatalf("report after clearing: %+v", reps)
		}
		for _, id := range []int64{declined, flagged} {
			audit, err := st.Q(ctx).Audit(id)
			storetest.Must(t, err)
			last := audit[len(audit)-1]
			if last.Actor != "ops:olga" || !last.At.Equal(f.now) || !strings.Contains(last.Reason, "cleared: Customer confirmed by phone") ||
				!strings.Contains(last.Reason, orgGlobex) {
				t.Errorf("audit of %s: %+v", store.Reference(id), last)
			}
		}
		ev := f.webhookEvent(workflow.EventFraudCleared)
		if rep, _ := ev["fraud_report"].(map[string]any); ev["actor"] != "ops:olga" || rep["status"] != store.FraudCleared ||
			rep["request_reference"] != store.Reference(declined) || rep["cleared_at"] == nil {
			t.Errorf("fraud_cleared event: %v", ev)
		}

		// Later requests are clean again: a trusted one is approved automatically.
		res := f.deliver(request("Sarah <ops@acme.example>", "r9@acme.example", "Umbrella", "Org ID: "+orgUmbrella))
		if fs := f.findings(res.RequestID); strings.Contains(fs, workflow.FindFraudReported) {
			t.Errorf("the partner's request after clearing: %s", fs)
		}
		storetest.Must(t, f.wf.Reject(ctx, flagged, "olga", "superseded"))
		res = f.deliver(request("tom@bluebird.example", "b2@bluebird.example", "Globex Corporation", "Org ID: "+orgGlobex, bluebirdPass))
		if r := f.request(res.RequestID); r.State != store.StateInvited {
			t.Errorf("trusted request after clearing: %s (%s)", r.State, f.findings(r.ID))
		}
	})
}
