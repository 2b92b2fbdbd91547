package workflow_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

const trustedAR = "Authentication-Results: mx.partners.example; dkim=pass header.d=bluebird.example; spf=pass; dmarc=pass header.from=bluebird.example"

var orgSeq atomic.Int32

// newOrg adds an active organization and returns its id.
func (f *fixture) newOrg() string {
	f.t.Helper()
	id := fmt.Sprintf("7e57%04x-0000-4000-8000-%012x", orgSeq.Add(1), orgSeq.Load())
	storetest.Must(f.t, f.st.Q(context.Background()).UpsertOrganization(&store.Organization{ID: id, Name: "Globex",
		Status: store.OrgActive, AdminEmail: "admin@" + id[:8] + ".example", Locale: "en"}))
	return id
}

// findingDetails lists the request's findings as "code: detail | ...".
func (f *fixture) findingDetails(id int64) string {
	f.t.Helper()
	fs, err := f.st.Q(context.Background()).Findings(id)
	storetest.Must(f.t, err)
	var out []string
	for _, x := range fs {
		out = append(out, x.Code+": "+x.Detail)
	}
	return strings.Join(out, " | ")
}

// allOutbox lists every outbox row.
func (f *fixture) allOutbox() []store.OutboxMail {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{})
	storetest.Must(f.t, err)
	return rows
}

func TestAnswerRateLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AnswerLimitSender, o.AnswerLimitPartner = 3, 5 })
		ctx := context.Background()
		// Five requests from one address in one hour: the first three are
		// answered, the rest recorded and checked, their answers held.
		var ids []int64
		for i := range 5 {
			res := f.deliver(request("Sarah <ops@acme.example>", fmt.Sprintf("rl%d@acme.example", i), "Globex Corporation", "Organization ID: "+orgGlobex))
			if res.Disposition != store.DispRequest || res.RequestID == 0 {
				t.Fatalf("mail %d: %+v", i, res)
			}
			ids = append(ids, res.RequestID)
			f.now = f.now.Add(time.Minute)
		}
		for i, id := range ids {
			rows := f.outbox(id)
			if len(rows) != 1 {
				t.Fatalf("request %d: %d mails", i, len(rows))
			}
			wantState := store.StateDuplicate
			if i == 0 {
				wantState = store.StatePendingApproval
			}
			if r := f.request(id); r.State != wantState {
				t.Errorf("request %d state %s, want %s (held answers must not change the checks)", i, r.State, wantState)
			}
			if held := rows[0].Status == store.OutboxHeld; held != (i >= 3) {
				t.Errorf("request %d: answer status %s", i, rows[0].Status)
			}
			if i >= 3 {
				if !strings.Contains(rows[0].LastError, "rate limit: 3 answers to ops@acme.example in the last 1h0m0s (limit 3)") {
					t.Errorf("held answer says %q", rows[0].LastError)
				}
				if got := f.findings(id); !strings.Contains(got, workflow.FindAnswerHeld) {
					t.Errorf("request %d findings %q lack answer_held", i, got)
				}
			}
		}
		// An hour later the address may be answered again.
		f.now = f.now.Add(time.Hour)
		res := f.deliver(request("Sarah <ops@acme.example>", "rl-later@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		if rows := f.outbox(res.RequestID); len(rows) != 1 || rows[0].Status != store.OutboxPending {
			t.Errorf("after the window: %+v", rows)
		}
		// Ops release a held answer: it becomes an ordinary pending mail.
		held := f.outbox(ids[3])[0]
		storetest.Must(t, f.wf.RetryOutbox(ctx, held.ID, "olga"))
		if m, _ := st.Q(ctx).Outbox(held.ID); m.Status != store.OutboxPending {
			t.Errorf("released answer is %s", m.Status)
		}

		// The partner limit counts every address of a domain partner.
		for i := range 7 {
			from := fmt.Sprintf("user%d@bluebird.example", i)
			f.deliver(request(from, fmt.Sprintf("bb%d@bluebird.example", i), "Globex", "Organization ID: "+orgGlobex))
		}
		var sent, heldN int
		for _, m := range f.allOutbox() {
			if !strings.Contains(m.ToAddrs, "bluebird.example") {
				continue
			}
			if m.Status == store.OutboxHeld {
				heldN++
				if !strings.Contains(m.LastError, "answers to partner Bluebird") {
					t.Errorf("partner hold says %q", m.LastError)
				}
			} else {
				sent++
			}
		}
		if sent != 5 || heldN != 2 {
			t.Errorf("bluebird: %d sent, %d held; want 5 and 2", sent, heldN)
		}
	})
}

func TestNeverAnswered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		body := "Organization ID: " + orgGlobex
		tests := []struct {
			name, raw, disp string
			held            bool // a request is recorded, its answer held
		}{
			{name: "auto-submitted", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n1@acme.example", "Globex", body, "Auto-Submitted: auto-replied")},
			{name: "x-autoreply", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n2@acme.example", "Globex", body, "X-Autoreply: yes")},
			{name: "precedence bulk", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n3@acme.example", "Globex", body, "Precedence: bulk")},
			{name: "precedence list", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n4@acme.example", "Globex", body, "Precedence: list")},
			{name: "null return path", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n5@acme.example", "Globex", body, "Return-Path: <>")},
			{name: "our loop header", disp: store.DispAutoReply,
				raw: request("ops@acme.example", "n6@acme.example", "Globex", body, "X-Onboarder-Loop: partners@elsewhere.example")},
			{name: "from our own address", disp: store.DispAutoReply,
				raw: request("Partner Onboarding <partners@onboarding.example>", "n7@onboarding.example", "Globex", body)},
			{name: "mailing list", disp: store.DispRequest, held: true,
				raw: request("ops@acme.example", "n8@acme.example", "Globex", body, "List-Id: <resellers.lists.example>", "List-Unsubscribe: <mailto:u@lists.example>")},
			{name: "bounce", disp: store.DispBounce,
				raw: "From: MAILER-DAEMON@mx.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <n9@mx.example>\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
					"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n" +
					"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(f.allOutbox())
				res := f.deliver(tt.raw)
				if res.Disposition != tt.disp {
					t.Fatalf("disposition %s, want %s", res.Disposition, tt.disp)
				}
				rows := f.allOutbox()[before:]
				if tt.held {
					if len(rows) != 1 || rows[0].Status != store.OutboxHeld || !strings.Contains(rows[0].LastError, "mailing list") {
						t.Fatalf("want one held answer, got %+v", rows)
					}
					if f.request(res.RequestID).State != store.StatePendingApproval {
						t.Errorf("list request not recorded as pending_approval")
					}
					return
				}
				if len(rows) != 0 {
					t.Fatalf("answered: %+v", rows)
				}
			})
		}
	})
}

func TestSpoofing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AutoApproveTrusted = true })
		const body = "Organization ID: {{ORG}}"
		tests := []struct {
			name    string
			raw     string
			state   string
			finding string
			mailTo  string // "" for no mail at all
		}{
			{name: "unknown sender gets nothing", state: store.StateRejected, finding: workflow.FindUnknownSender,
				raw: request("eve@evil.example", "s1@evil.example", "Globex", body)},
			{name: "two From addresses", state: store.StateRejected, finding: workflow.FindUnknownSender,
				raw: request("ops@acme.example, eve@evil.example", "s2@evil.example", "Globex", body)},
			{name: "Sender differs from From", state: store.StateRejected, finding: workflow.FindUnknownSender,
				raw: request("ops@acme.example", "s3@evil.example", "Globex", body, "Sender: eve@evil.example")},
			{name: "trusted DMARC fail", state: store.StateRejected, finding: workflow.FindSenderAuthFailed,
				raw: request("x@bluebird.example", "s4@evil.example", "Globex", body, "Authentication-Results: mx.partners.example; dmarc=fail header.from=bluebird.example")},
			{name: "Reply-To of a forger is never used", state: store.StatePendingApproval, mailTo: "ops@acme.example",
				raw: request("ops@acme.example", "s5@evil.example", "Globex", body, "Reply-To: eve@evil.example")},
			{name: "trusted partner, unauthenticated: not approved automatically", state: store.StatePendingApproval, finding: workflow.FindSenderAuthUnchecked, mailTo: "a@bluebird.example",
				raw: request("a@bluebird.example", "s6@bluebird.example", "Globex", body)},
			{name: "trusted partner, forged results of another host: not approved", state: store.StatePendingApproval, finding: workflow.FindSenderAuthUnchecked, mailTo: "b@bluebird.example",
				raw: request("b@bluebird.example", "s7@bluebird.example", "Globex", body, "Authentication-Results: mx.evil.example; dmarc=pass; dkim=pass; spf=pass")},
			{name: "trusted partner, forged results below ours: ours decide", state: store.StatePendingApproval, finding: workflow.FindSenderAuthUnchecked, mailTo: "c@bluebird.example",
				raw: request("c@bluebird.example", "s8@bluebird.example", "Globex", body, "Authentication-Results: mx.other-hop.example; none",
					"Authentication-Results: mx.partners.example; dkim=none; spf=none",
					"Authentication-Results: mx.partners.example; dmarc=pass; dkim=pass; spf=pass")},
			{name: "trusted partner, trusted results without a DMARC pass: not approved", state: store.StatePendingApproval, finding: workflow.FindSenderAuthUnchecked, mailTo: "e@bluebird.example",
				raw: request("e@bluebird.example", "s10@bluebird.example", "Globex", body, "Authentication-Results: mx.partners.example; dkim=pass header.d=bulkmailer.example; spf=pass smtp.mailfrom=bulkmailer.example")},
			{name: "trusted partner, authenticated: approved", state: store.StateInvited, mailTo: "d@bluebird.example",
				raw: request("d@bluebird.example", "s9@bluebird.example", "Globex", body, trustedAR)},
			{name: "two From fields", state: store.StateRejected, finding: "unknown_sender: 2 From fields",
				raw: request("ops@acme.example", "s11@evil.example", "Globex", body, "From: eve@evil.example")},
			{name: "two From fields, both the partner's", state: store.StateRejected, finding: workflow.FindUnknownSender,
				raw: request("ops@acme.example", "s12@evil.example", "Globex", body, "From: ops@acme.example")},
			{name: "a From that does not parse hides the partner's address", state: store.StateRejected, finding: "unknown_sender: From does not parse as an address: \"<ops@acme.example@evil.example>\"",
				raw: request("<ops@acme.example@evil.example>", "s13@evil.example", "Globex", body)},
			{name: "a Sender that does not parse", state: store.StateRejected, finding: "unknown_sender: Sender does not parse",
				raw: request("ops@acme.example", "s14@evil.example", "Globex", body, "Sender: <ops@acme.example@evil.example>")},
			{name: "trusted partner, DMARC pass of another domain: not approved", state: store.StatePendingApproval, finding: "sender_auth_unchecked: no trusted Authentication-Results; trusted Authentication-Results without a DMARC pass for the From domain (dmarc=none dkim=none spf=none); results not about the From domain bluebird.example ignored: dkim=pass header.d=evil.example, spf=pass smtp.mailfrom=evil.example, dmarc=pass header.from=evil.example", mailTo: "f@bluebird.example",
				raw: request("f@bluebird.example", "s15@evil.example", "Globex", body,
					"Authentication-Results: mx.partners.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example; dmarc=pass header.from=evil.example")},
			{name: "failures of another domain say nothing about the partner", state: store.StatePendingApproval, finding: workflow.FindSenderAuthUnchecked, mailTo: "g@bluebird.example",
				raw: request("g@bluebird.example", "s16@bluebird.example", "Globex", body,
					"Authentication-Results: mx.partners.example; dkim=fail header.d=evil.example; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=evil.example")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(f.allOutbox())
				res := f.deliver(strings.ReplaceAll(tt.raw, "{{ORG}}", f.newOrg()))
				if res.RequestID == 0 {
					t.Fatalf("no request: %+v", res)
				}
				r := f.request(res.RequestID)
				if r.State != tt.state {
					t.Errorf("state %s, want %s (findings %s)", r.State, tt.state, f.findings(r.ID))
				}
				if tt.finding != "" && !strings.Contains(f.findingDetails(r.ID), tt.finding) {
					t.Errorf("findings %q lack %s", f.findingDetails(r.ID), tt.finding)
				}
				for _, m := range f.allOutbox()[before:] {
					if m.Kind == templates.KindInvitation {
						continue // the invitation goes to the organization's administrator
					}
					if to := m.To(); tt.mailTo == "" || len(to) != 1 || to[0] != tt.mailTo {
						t.Errorf("%s mail to %q (want only %q)", m.Kind, to, tt.mailTo)
					}
				}
				if tt.mailTo == "" && len(f.allOutbox()) != before {
					t.Errorf("backscatter: %d mails", len(f.allOutbox())-before)
				}
			})
		}
	})
}

func TestAnswersOnlyToRegisteredAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		// The partner's address is taken off its rules before ops approve:
		// the approval goes ahead, its mail to that address is held.
		storetest.Must(t, st.Exec(ctx, "DELETE FROM sender_rules WHERE value = ?", "ops@acme.example"))
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		for _, m := range f.outbox(id) {
			switch m.Kind {
			case templates.KindRequestApproved:
				if m.Status != store.OutboxHeld || !strings.Contains(m.LastError, "not (or no longer) a registered address") {
					t.Errorf("approval mail to a deregistered address: %s %q", m.Status, m.LastError)
				}
			case templates.KindInvitation:
				if m.Status != store.OutboxPending {
					t.Errorf("invitation %s", m.Status)
				}
			}
		}
		if !strings.Contains(f.findings(id), workflow.FindAnswerHeld) {
			t.Errorf("findings %q", f.findings(id))
		}
	})
}

func TestOwnDKIMVerification(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	var lookups, unaligned atomic.Int32
	lookup := func(ctx context.Context, name string) ([]string, error) {
		lookups.Add(1)
		if strings.HasSuffix(name, ".bulk.example") {
			unaligned.Add(1)
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("lookup without a deadline")
		}
		switch name {
		case "s1._domainkey.bluebird.example", "s1._domainkey.bulk.example":
			return []string{record}, nil
		}
		return nil, errors.New("no such name")
	}
	sign := func(raw, domain string) string {
		var b bytes.Buffer
		if err := dkim.Sign(&b, strings.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: priv, Hash: crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) {
			o.AutoApproveTrusted, o.VerifyDKIM, o.LookupTXT, o.TrustedAuthServID = true, true, lookup, ""
		})
		body := func() string { return "Organization ID: " + f.newOrg() }
		tests := []struct {
			name, raw, state, finding string
		}{
			{name: "aligned signature authenticates", state: store.StateInvited,
				raw: sign(request("a@bluebird.example", "d1@bluebird.example", "Globex", body()), "bluebird.example")},
			{name: "unaligned signature does not", state: store.StatePendingApproval, finding: "not aligned",
				raw: sign(request("b@bluebird.example", "d2@bluebird.example", "Globex", body()), "bulk.example")},
			{name: "tampered mail does not", state: store.StatePendingApproval, finding: "invalid",
				raw: strings.Replace(sign(request("c@bluebird.example", "d3@bluebird.example", "Globex", body()), "bluebird.example"), "Organization ID", "Organisation ID", 1)},
			{name: "unsigned mail does not", state: store.StatePendingApproval, finding: "no DKIM signature",
				raw: request("d@bluebird.example", "d4@bluebird.example", "Globex", body())},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := f.deliver(tt.raw)
				r := f.request(res.RequestID)
				if r.State != tt.state {
					t.Errorf("state %s, want %s", r.State, tt.state)
				}
				fs, err := st.Q(context.Background()).Findings(r.ID)
				storetest.Must(t, err)
				var details []string
				for _, x := range fs {
					details = append(details, x.Code+": "+x.Detail)
				}
				if tt.finding != "" && !strings.Contains(strings.Join(details, " | "), "own DKIM check: ") ||
					!strings.Contains(strings.Join(details, " | "), tt.finding) {
					t.Errorf("findings %q lack %q", details, tt.finding)
				}
			})
		}
		if n := unaligned.Load(); n != 0 {
			t.Errorf("%d DNS lookups for a signature not aligned with From", n)
		}
		// No DNS work for senders that are no partner's.
		lookups.Store(0)
		f.deliver(sign(request("eve@evil.example", "d5@evil.example", "Globex", body()), "bluebird.example"))
		if n := lookups.Load(); n != 0 {
			t.Errorf("%d DNS lookups for an unknown sender", n)
		}
	})
}

// TestOwnDKIMDeadline: a name server that never answers holds a mail for
// one deadline (DKIMTimeout), however many aligned signatures it carries.
func TestOwnDKIMDeadline(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var lookups atomic.Int32
	lookup := func(ctx context.Context, name string) ([]string, error) {
		lookups.Add(1)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Minute):
			return nil, errors.New("no answer")
		}
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const deadline = 300 * time.Millisecond
		f := newFixture(t, st, func(o *workflow.Options) {
			o.VerifyDKIM, o.LookupTXT, o.TrustedAuthServID, o.DKIMTimeout = true, lookup, "", deadline
		})
		raw := request("slow@bluebird.example", "slow1@bluebird.example", "Globex", "Organization ID: "+f.newOrg())
		for _, sel := range []string{"s1", "s2", "s3"} {
			var b bytes.Buffer
			if err := dkim.Sign(&b, strings.NewReader(raw), &dkim.SignOptions{Domain: "bluebird.example", Selector: sel, Signer: priv,
				Hash: crypto.SHA256}); err != nil {
				t.Fatal(err)
			}
			raw = b.String()
		}
		lookups.Store(0)
		start := time.Now()
		res := f.deliver(raw)
		if el := time.Since(start); el > deadline+3*time.Second {
			t.Errorf("the mail took %s with a %s DKIM deadline", el, deadline)
		}
		if lookups.Load() == 0 {
			t.Error("no key was looked up")
		}
		r := f.request(res.RequestID)
		if d := f.findingDetails(r.ID); r.State != store.StatePendingApproval || !strings.Contains(d, "key lookups stopped at the 300ms deadline") {
			t.Errorf("state %s, findings %q: want pending_approval, unchecked at the deadline", r.State, d)
		}
	})
}

func TestRawRetention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.RawRetention = 90 * 24 * time.Hour })
		ctx := context.Background()
		id := f.pendingRequest()
		msgs, err := st.Q(ctx).ListMessages(store.MessageFilter{RequestID: id})
		storetest.Must(t, err)
		mid := msgs[0].ID
		// 89 days on: kept.
		f.now = time.Now().Add(89 * 24 * time.Hour)
		if n, err := f.wf.PurgeRawSources(ctx); err != nil || n != 0 {
			t.Fatalf("purge at 89 days: %d, %v", n, err)
		}
		// 91 days on: the source goes, the record stays.
		f.now = time.Now().Add(91 * 24 * time.Hour)
		if n, err := f.wf.PurgeRawSources(ctx); err != nil || n != 1 {
			t.Fatalf("purge at 91 days: %d, %v", n, err)
		}
		m, err := st.Q(ctx).Message(mid)
		storetest.Must(t, err)
		if len(m.Raw) != 0 || m.RawDeletedAt == nil || m.Disposition != store.DispRequest || m.FromAddr != "ops@acme.example" || m.RawSHA256 == "" {
			t.Errorf("after purge: raw %d bytes, deleted at %v, %s from %s", len(m.Raw), m.RawDeletedAt, m.Disposition, m.FromAddr)
		}
		if n, err := f.wf.PurgeRawSources(ctx); err != nil || n != 0 {
			t.Errorf("second purge: %d, %v", n, err)
		}
		// The same mail delivered again is still recognised (by Message-ID).
		res := f.deliver(request("Sarah <ops@acme.example>", "r1@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		if res.Disposition != store.DispDuplicate {
			t.Errorf("redelivery after purge: %s", res.Disposition)
		}
	})
}
