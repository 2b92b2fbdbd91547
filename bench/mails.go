package main

import (
	"fmt"
	"strings"
)

// partnerCount is how many partners send the backlog.
const partnerCount = 4

// mailKind is what a generated mail is meant to become.
type mailKind int

const (
	kindRequest   mailKind = iota // known partner, known active organization: request_received
	kindNeedsInfo                 // no Organization ID: needs_info question
	kindAutoReply                 // out-of-office: recorded, not answered
	kindDuplicate                 // same partner and organization as mail i-4: request_duplicate
)

// kindOf spreads the mix over every 20 mails: 16 requests, 1 needs_info, 1
// automatic reply, 1 duplicate (of the request four mails earlier, which
// has the same partner) and ... one more request.
func kindOf(i int) mailKind {
	switch i % 20 {
	case 7:
		return kindNeedsInfo
	case 11:
		return kindAutoReply
	case 18:
		return kindDuplicate
	}
	return kindRequest
}

// answers is how many mails the worker sends for mails [0, n).
func answers(n int) int {
	a := 0
	for i := 0; i < n; i++ {
		if kindOf(i) != kindAutoReply {
			a++
		}
	}
	return a
}

func orgID(i int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0xb3c40000+i, i%0xffff, i%0xfff, (i*7)%0xfff, 0x5eed0000+i)
}

func customerName(i int) string { return fmt.Sprintf("Customer %d Systems GmbH", i) }

func partnerDomain(p int) string { return fmt.Sprintf("partner%d.example", p) }

// orgsCSV lists the organizations mails [0, n) name.
func orgsCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,name,status,admin_name,admin_email,country,locale\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,%s,active,Admin %d,admin%d@customer%d.example,DE,en\n", orgID(i), customerName(i), i, i, i)
	}
	return b.String()
}

// filler is prose that brings a mail to a realistic ~4 KB.
const filler = "We have been working with this customer for several years and they have asked us to manage " +
	"their subscriptions from now on. Their IT department has confirmed the contract and expects the " +
	"connection to be in place before the start of the next billing period. Please let us know if you " +
	"need anything else from our side; our contract reference is in the signature below. "

// requestMail builds mail i of a run (seq makes Message-IDs unique per run):
// multipart/alternative, text and HTML, about 4 KB.
func requestMail(seq string, i int) []byte {
	p := i % partnerCount
	from := fmt.Sprintf("sales%d@%s", i%3, partnerDomain(p))
	msgID := fmt.Sprintf("<bench-%s-%d@%s>", seq, i, partnerDomain(p))
	kind := kindOf(i)
	org := i
	if kind == kindDuplicate {
		org = i - 4
	}
	var b strings.Builder
	b.Grow(4600)
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from)
	b.WriteString("Delivered-To: partners@onboarding.example\r\n")
	fmt.Fprintf(&b, "Message-ID: %s\r\n", msgID)
	fmt.Fprintf(&b, "Date: Mon, 16 Nov 2026 %02d:%02d:%02d +0100\r\n", (i/3600)%24, (i/60)%60, i%60)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("To: partners@onboarding.example\r\n")
	fmt.Fprintf(&b, "From: Sales Team %d <%s>\r\n", p, from)
	if kind == kindAutoReply {
		b.WriteString("Auto-Submitted: auto-replied\r\n")
		b.WriteString("X-Autoreply: yes\r\n")
		fmt.Fprintf(&b, "Subject: Automatic reply: Re: connection for %s\r\n", customerName(i))
	} else {
		fmt.Fprintf(&b, "Subject: Please establish reseller connection to customer [%s]\r\n", customerName(org))
	}
	boundary := fmt.Sprintf("----=_Part_%d_%s", i, seq)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary)

	var text strings.Builder
	if kind == kindAutoReply {
		text.WriteString("Thank you for your mail. I am out of the office until Monday and will answer then.\r\n\r\n")
	} else {
		text.WriteString("Hello partner team,\r\n\r\nplease connect us as reseller to our customer.\r\n\r\n")
		if kind != kindNeedsInfo {
			fmt.Fprintf(&text, "Organization ID: %s\r\n\r\n", orgID(org))
		}
	}
	for j := 0; j < 4; j++ {
		text.WriteString(wrap(filler))
		text.WriteString("\r\n")
	}
	fmt.Fprintf(&text, "Best regards\r\nSales Team %d\r\nPartner %d GmbH, contract MPN-%04d\r\n", p, p, 4700+p)

	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	b.WriteString(text.String())
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	b.WriteString("<html><body>")
	for _, para := range strings.Split(text.String(), "\r\n\r\n") {
		if para = strings.TrimSpace(para); para != "" {
			b.WriteString("<p>" + strings.ReplaceAll(para, "\r\n", "<br>\r\n") + "</p>\r\n")
		}
	}
	b.WriteString("</body></html>\r\n")
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return []byte(b.String())
}

// wrap breaks s into lines of at most 76 characters.
func wrap(s string) string {
	var b strings.Builder
	line := 0
	for _, w := range strings.Fields(s) {
		if line > 0 && line+1+len(w) > 76 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}
