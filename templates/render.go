package templates

// Rendering one mail: its subject, text and HTML part, from cleaned data,
// with the template functions.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Render renders one mail. An unknown or empty locale falls back to "en"
// ("de-DE" and "de_AT" count as "de"); an unknown kind is an error, and so is
// a mail to both sides (connection_established, consent_accepted,
// consent_declined, consent_expired, link_ended, link_reminder, link_expired) without
// Audience "partner" or "admin". Values are
// cleaned first: control characters in one-line fields become spaces, and
// multi-line fields (Reason, Message, Note) keep only their line breaks.
func (s *Set) Render(kind, locale string, d Data) (Rendered, error) {
	if s == nil || s.mails == nil {
		return Rendered{}, errors.New("rendering mail: template set not loaded")
	}
	loc := normalizeLocale(locale)
	m, ok := s.mails[kind+"/"+loc]
	if !ok {
		return Rendered{}, fmt.Errorf("rendering mail: unknown kind %q", kind)
	}
	return s.render(m, kind, loc, d)
}

// render executes one parsed mail: subject, then text, then HTML.
func (s *Set) render(m *mail, kind, loc string, d Data) (Rendered, error) {
	switch kind {
	case KindInvitation, KindInvitationReminder:
		d.Audience = AudienceAdmin
	case KindOpsDigest:
		d.Audience = AudienceOps
	case KindCustomerNeedsInfo, KindCustomerRequestClosed:
		d.Audience = AudienceAdmin
	case KindConsentRequest, KindResellerConfirmation:
		d.Audience = AudienceContact
	case KindConnectionEstablished, KindConsentAccepted, KindConsentDeclined, KindConsentExpired, KindLinkEnded, KindLinkReminder, KindLinkExpired:
		if d.Audience != AudiencePartner && d.Audience != AudienceAdmin {
			return Rendered{}, fmt.Errorf("rendering %s: audience %q is neither %q nor %q", kind, d.Audience, AudiencePartner, AudienceAdmin)
		}
	default:
		d.Audience = AudiencePartner
	}
	v := view{Data: cleanData(d), Kind: kind, Locale: loc}

	var buf bytes.Buffer
	if err := m.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s/%s subject: %w", kind, loc, err)
	}
	v.Subject = CleanSubject(buf.String())
	if v.Subject == "" {
		return Rendered{}, fmt.Errorf("rendering %s/%s subject: template %s: \"subject\" renders empty", kind, loc, m.textKind)
	}

	buf.Reset()
	if err := m.text.ExecuteTemplate(&buf, m.textRoot, v); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s/%s text: %w", kind, loc, err)
	}
	text := tidyText(buf.String())

	buf.Reset()
	if err := m.html.ExecuteTemplate(&buf, m.htmlRoot, v); err != nil {
		if m.htmlDiag != nil {
			return Rendered{}, fmt.Errorf("rendering %s/%s HTML: %w (on its own: %w)", kind, loc, err, m.htmlDiag)
		}
		return Rendered{}, fmt.Errorf("rendering %s/%s HTML: %w", kind, loc, err)
	}
	return Rendered{Subject: v.Subject, Text: text, HTML: buf.String()}, nil
}

// normalizeLocale maps "de-DE", "de_AT" and the like to a known locale, else the fallback.
func normalizeLocale(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	for _, known := range Locales {
		if l == known {
			return l
		}
	}
	return Locales[0]
}

// cleanData makes every value of d safe plain text (oneLine, multiLine).
func cleanData(d Data) Data {
	for _, p := range []*string{
		&d.Audience, &d.Reference, &d.ThreadSubject, &d.PartnerName, &d.PartnerRef,
		&d.RecipientName, &d.CustomerName, &d.OrganizationID, &d.OrganizationName,
		&d.AdminName, &d.AdminEmail, &d.ReasonCode, &d.ExistingReference, &d.Problem,
		&d.InviteURL, &d.Mailbox, &d.State,
	} {
		*p = oneLine(*p)
	}
	for _, p := range []*string{&d.Reason, &d.Message, &d.Note} {
		*p = multiLine(*p)
	}
	if d.Candidates != nil {
		c := make([]string, 0, len(d.Candidates))
		for _, s := range d.Candidates {
			c = append(c, oneLine(s))
		}
		d.Candidates = c
	}
	if d.Digest != nil {
		d.Digest = cleanDigest(*d.Digest)
	}
	if d.Fields != nil {
		f := make([]FieldProblem, 0, len(d.Fields))
		for _, x := range d.Fields {
			f = append(f, FieldProblem{Field: oneLine(x.Field), Value: oneLine(x.Value), Problem: oneLine(x.Problem), Country: oneLine(x.Country)})
		}
		d.Fields = f
	}
	return d
}

// cleanDigest is cleanData for the digest's lists (partner and customer
// names come from mail).
func cleanDigest(g Digest) *Digest {
	rs := make([]DigestRequest, len(g.Requests))
	for i, r := range g.Requests {
		r.Reference, r.State, r.Partner, r.Customer, r.URL = oneLine(r.Reference), oneLine(r.State), oneLine(r.Partner), oneLine(r.Customer), oneLine(r.URL)
		rs[i] = r
	}
	ms := make([]DigestMail, len(g.Mails))
	for i, m := range g.Mails {
		m.Kind, m.Status, m.To, m.Error, m.Reference, m.URL = oneLine(m.Kind), oneLine(m.Status), oneLine(m.To), oneLine(m.Error), oneLine(m.Reference), oneLine(m.URL)
		ms[i] = m
	}
	ls := make([]DigestLink, len(g.Links))
	for i, l := range g.Links {
		l.Partner, l.Organization = oneLine(l.Partner), oneLine(l.Organization)
		ls[i] = l
	}
	fs := make([]DigestFraud, len(g.Fraud))
	for i, f := range g.Fraud {
		f.Organization, f.Partner, f.Reference, f.URL = oneLine(f.Organization), oneLine(f.Partner), oneLine(f.Reference), oneLine(f.URL)
		fs[i] = f
	}
	g.Requests, g.Mails, g.Links, g.Fraud = rs, ms, ls, fs
	return &g
}

// Month names for the date functions.
var (
	monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	monthsDE = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
)

// funcs returns the template functions, with dates formatted for loc.
func funcs(loc string) template.FuncMap {
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		t = t.UTC()
		if loc == "de" {
			return fmt.Sprintf("%d.\u00a0%s\u00a0%d", t.Day(), monthsDE[t.Month()-1], t.Year())
		}
		return fmt.Sprintf("%d\u00a0%s\u00a0%d", t.Day(), monthsEN[t.Month()-1], t.Year())
	}
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if loc == "de" {
			return day(t) + ", " + t.UTC().Format("15:04") + "\u00a0Uhr\u00a0(UTC)"
		}
		return day(t) + ", " + t.UTC().Format("15:04") + "\u00a0UTC"
	}
	return template.FuncMap{
		"date": date,
		"day":  day,
		"join": func(elems []string, sep string) string { return strings.Join(elems, sep) },
		"size": func(n int64) string { return HumanSize(n, loc) },
		"lines": func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\n")
		},
		"quote": func(s string) string {
			if s == "" {
				return ""
			}
			return "> " + strings.ReplaceAll(s, "\n", "\n> ")
		},
	}
}

// HumanSize writes a size in bytes for people, in binary units as mail
// programs show them ("12.4 MB", "10 MB"; "12,4 MB" in German).
func HumanSize(n int64, locale string) string {
	const unit = 1024
	loc := normalizeLocale(locale)
	if n < unit {
		if loc == "de" {
			return fmt.Sprintf("%d Bytes", n)
		}
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n)/unit, "KB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	num := strconv.FormatFloat(v, 'f', 1, 64)
	num = strings.TrimSuffix(num, ".0")
	if loc == "de" {
		num = strings.Replace(num, ".", ",", 1)
	}
	return num + " " + suffix
}
