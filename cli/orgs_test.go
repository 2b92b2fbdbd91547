package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

const (
	fraudOrg  = "9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f"
	fraudOrg2 = "0d9c8b7a-6f5e-4d3c-8b1a-0f9e8d7c6b5a"
)

// fraudWorld is a database with a partner, two organizations and a
// workflow service on it.
type fraudWorld struct {
	t   *testing.T
	url string
	st  *store.Store
	wf  *workflow.Service
	uid uint32
}

// eachFraudWorld runs fn on every dialect, with the database's URL for
// the commands.
func eachFraudWorld(t *testing.T, fn func(t *testing.T, w *fraudWorld)) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			st := storetest.Open(t, db.URL)
			tpl, err := templates.Load("")
			storetest.Must(t, err)
			wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"},
				PublicURL: "https://onboard.example", Templates: tpl})
			storetest.Must(t, err)
			q := st.Q(context.Background())
			storetest.Must(t, q.CreatePartner(&store.Partner{Name: "Acme", Locale: "en"}, []string{"ops@acme.example"}, nil))
			for _, id := range []string{fraudOrg, fraudOrg2} {
				storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: id, Name: "Globex", Status: store.OrgActive,
					AdminEmail: "hank@" + id[:8] + ".example", Locale: "en"}))
			}
			fn(t, &fraudWorld{t: t, url: db.URL, st: st, wf: wf})
		})
	}
}

// request delivers Acme's request for org and returns its id.
func (w *fraudWorld) request(org string) int64 {
	w.t.Helper()
	w.uid++
	raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <fraud-" + string(rune('a'+w.uid)) +
		"@acme.example>\r\nSubject: Please establish reseller connection to customer Globex\r\n\r\nOrganization ID: " + org + "\r\n"
	res, err := w.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: w.uid,
		Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: time.Now()})
	storetest.Must(w.t, err)
	if res.RequestID == 0 {
		w.t.Fatalf("no request: %+v", res)
	}
	return res.RequestID
}

// declineAsFraud approves a request and declines it as not requested.
func (w *fraudWorld) declineAsFraud(id int64) {
	w.t.Helper()
	ctx := context.Background()
	storetest.Must(w.t, w.wf.Approve(ctx, id, "olga", ""))
	if r, err := w.st.Q(ctx).Request(id); err == nil && r.State == store.StatePendingApproval {
		// Four eyes (the partner is flagged fraud_reported): a second ops user.
		storetest.Must(w.t, w.wf.Approve(ctx, id, "piet", ""))
	}
	rows, err := w.st.Q(ctx).ListOutbox(store.OutboxFilter{RequestID: id})
	storetest.Must(w.t, err)
	tok := ""
	for _, m := range rows {
		if m.Kind == templates.KindInvitation {
			tok = storetest.InvitationToken(w.t, w.st, m)
		}
	}
	if _, err := w.wf.Decline(ctx, tok, "", true); err != nil {
		w.t.Fatal(err)
	}
}

// cli runs a command on the world's database.
func (w *fraudWorld) cli(args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	env := map[string]string{"ONBOARDER_DATABASE_URL": w.url, "ONBOARDER_LOG_LEVEL": "warn"}
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return stdout.String(), stderr.String(), code
}

// onboarder orgs clear-fraud: usage errors exit 2, an organization without
// an open report exits 1, clearing is audited with who and why, and later
// requests are no longer flagged; requests show --json lists the finding.
func TestOrgsClearFraud(t *testing.T) {
	eachFraudWorld(t, func(t *testing.T, w *fraudWorld) {
		ctx := context.Background()
		declined := w.request(fraudOrg)
		w.declineAsFraud(declined)
		flagged := w.request(fraudOrg2) // the same partner: matched by partner

		out, stderr, code := w.cli("requests", "show", store.Reference(flagged), "--json")
		if code != 0 {
			t.Fatalf("requests show: %d %s", code, stderr)
		}
		var shown struct {
			Findings []struct{ Code, Detail string } `json:"findings"`
		}
		storetest.Must(t, json.Unmarshal([]byte(out), &shown))
		found := false
		for _, f := range shown.Findings {
			if f.Code == workflow.FindFraudReported && strings.Contains(f.Detail, store.Reference(declined)) &&
				strings.Contains(f.Detail, "matched by partner") {
				found = true
			}
		}
		if !found {
			t.Errorf("requests show --json findings: %+v", shown.Findings)
		}

		for _, args := range [][]string{
			{"orgs", "clear-fraud", fraudOrg, "--by", "olga"},
			{"orgs", "clear-fraud", fraudOrg, "--reason", "checked"},
			{"orgs", "clear-fraud", "--by", "olga", "--reason", "checked"},
			{"orgs", "clear-fraud", fraudOrg, "--by", "olga", "--reason", "  "},
		} {
			if _, stderr, code := w.cli(args...); code != exitUsage {
				t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
			}
		}
		_, stderr, code = w.cli("orgs", "clear-fraud", fraudOrg2, "--by", "olga", "--reason", "checked")
		if code != exitFail || !strings.Contains(stderr, "no open fraud report") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("an organization without a report: exit %d %q", code, stderr)
		}

		out, stderr, code = w.cli("orgs", "clear-fraud", fraudOrg, "--by", "olga", "--reason", "Hank confirmed: his colleague asked.")
		if code != exitOK || !strings.Contains(out, "1 fraud report(s) cleared") {
			t.Fatalf("clear-fraud: exit %d, %q %q", code, out, stderr)
		}
		audit, err := w.st.Q(ctx).Audit(declined)
		storetest.Must(t, err)
		last := audit[len(audit)-1]
		if last.Actor != "ops:olga" || !strings.Contains(last.Reason, "cleared: Hank confirmed: his colleague asked.") ||
			time.Since(last.At) > time.Minute {
			t.Errorf("audit: %+v", last)
		}
		reps, err := w.st.Q(ctx).FraudReportsOfRequest(declined)
		storetest.Must(t, err)
		if len(reps) != 1 || reps[0].Status != store.FraudCleared || reps[0].ClearedBy != "olga" || reps[0].ClearedAt == nil {
			t.Errorf("report: %+v", reps)
		}
		storetest.Must(t, w.wf.Reject(ctx, flagged, "olga", "again"))
		fs, err := w.st.Q(ctx).Findings(w.request(fraudOrg2))
		storetest.Must(t, err)
		for _, f := range fs {
			if f.Code == workflow.FindFraudReported {
				t.Errorf("request after clearing is flagged: %+v", f)
			}
		}
	})
}

// onboarder_fraud_reports{status} counts the reports at scrape time, open
// and cleared, with 0 when there are none.
func TestFraudReportsMetric(t *testing.T) {
	eachFraudWorld(t, func(t *testing.T, w *fraudWorld) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(newStateCollector(w.st, slog.New(slog.DiscardHandler)))
		gauge := func(status string) float64 {
			t.Helper()
			mfs, err := reg.Gather()
			storetest.Must(t, err)
			for _, mf := range mfs {
				if mf.GetName() != "onboarder_fraud_reports" {
					continue
				}
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "status" && l.GetValue() == status {
							return m.GetGauge().GetValue()
						}
					}
				}
			}
			t.Fatalf("no onboarder_fraud_reports{status=%q}", status)
			return 0
		}
		if o, c := gauge(store.FraudOpen), gauge(store.FraudCleared); o != 0 || c != 0 {
			t.Errorf("before any report: open %v, cleared %v", o, c)
		}
		w.declineAsFraud(w.request(fraudOrg))
		w.declineAsFraud(w.request(fraudOrg2))
		if o := gauge(store.FraudOpen); o != 2 {
			t.Errorf("after two reports: open %v, want 2", o)
		}
		if _, err := w.wf.ClearFraud(context.Background(), fraudOrg, "olga", "checked", 0); err != nil {
			t.Fatal(err)
		}
		if o, c := gauge(store.FraudOpen), gauge(store.FraudCleared); o != 1 || c != 1 {
			t.Errorf("after clearing one: open %v, cleared %v", o, c)
		}
	})
}
