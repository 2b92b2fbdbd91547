package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// DefaultDKIMTimeout is the default of DKIMOptions.Timeout.
const DefaultDKIMTimeout = 10 * time.Second

// errNotAligned refuses the key lookup of a signature of another domain.
var errNotAligned = errors.New("signing domain not aligned with From: not looked up")

// DKIMOptions configure VerifyDKIM.
type DKIMOptions struct {
	// LookupTXT returns the TXT records of a name (the DKIM key records)
	// and must return when ctx ends (net.Resolver does). It is the only way
	// VerifyDKIM reaches the network: the caller decides on the resolver,
	// and tests pass a map.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// Timeout bounds all lookups of one mail together (default
	// DefaultDKIMTimeout), so that a slow name server cannot stall intake.
	Timeout time.Duration
	// MaxSignatures caps the signatures checked (default 5); the rest are
	// ignored.
	MaxSignatures int
	// MaxHeaderBytes: a header block larger than this is not checked at
	// all (default 256 KiB), which bounds the work of the DKIM reader.
	MaxHeaderBytes int
}

// DKIMResult is what VerifyDKIM found.
type DKIMResult struct {
	// Aligned: a valid signature whose signing domain (d=) has the same
	// organizational domain as the From domain (DMARC relaxed alignment).
	Aligned bool
	// Domain is the aligned signature's d=, "" unless Aligned.
	Domain string
	// Signatures is the number of signatures checked.
	Signatures int
	// Detail says what happened, for operations (one line).
	Detail string
}

// VerifyDKIM checks the DKIM signatures of raw and whether one of them
// aligns with fromDomain. Only aligned signatures have their key looked up;
// the others are skipped before any DNS query. It never panics; a mail it
// cannot read is simply not aligned. Signatures with a body length limit
// (l=) are invalid (the DKIM library refuses them: text could be appended
// after the signed part).
func VerifyDKIM(ctx context.Context, raw []byte, fromDomain string, opts DKIMOptions) (res DKIMResult) {
	defer func() {
		if r := recover(); r != nil {
			res = DKIMResult{Detail: fmt.Sprintf("DKIM check failed internally: %v", r)}
		}
	}()
	if opts.LookupTXT == nil {
		return DKIMResult{Detail: "no DNS lookup configured"}
	}
	if opts.MaxSignatures <= 0 {
		opts.MaxSignatures = 5
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 256 << 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDKIMTimeout
	}
	fromDomain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(fromDomain)), ".")
	if fromDomain == "" {
		return DKIMResult{Detail: "no From domain"}
	}
	end := headerEnd(raw, opts.MaxHeaderBytes)
	if end < 0 {
		return DKIMResult{Detail: "header block too large or unterminated: not checked"}
	}
	if !bytes.Contains(bytes.ToLower(raw[:end]), []byte("dkim-signature:")) {
		return DKIMResult{Detail: "no DKIM signature"}
	}
	// The DKIM reader wants CRLF lines; mail read from IMAP normally has
	// them, fixtures and some servers do not.
	if !bytes.Contains(raw[:end], []byte("\r\n")) {
		raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	}
	fromOrg := OrgDomain(fromDomain)
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	lookup := func(name string) ([]string, error) {
		// The library asks for selector._domainkey.d: a name outside the
		// From domain's organization belongs to an unaligned d= (whoever
		// runs its name server could make us wait).
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		if !strings.HasSuffix(name, "."+fromOrg) {
			return nil, errNotAligned
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return opts.LookupTXT(ctx, name)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT:        lookup,
		MaxVerifications: opts.MaxSignatures,
	})
	if err != nil && err != dkim.ErrTooManySignatures && len(verifs) == 0 {
		return DKIMResult{Detail: "DKIM signatures unreadable: " + SanitizeText(err.Error(), 200)}
	}
	res.Signatures = len(verifs)
	var notes []string
	for _, v := range verifs {
		if v == nil {
			continue
		}
		d := strings.TrimSuffix(strings.ToLower(v.Domain), ".")
		switch {
		case d != "" && OrgDomain(d) != fromOrg:
			notes = append(notes, "d="+SanitizeText(d, 100)+" not aligned with "+fromDomain+": not checked")
		case v.Err != nil || d == "":
			notes = append(notes, "d="+SanitizeText(d, 100)+" invalid ("+SanitizeText(fmt.Sprint(v.Err), 120)+")")
		default:
			res.Aligned, res.Domain = true, d
			res.Detail = "DKIM signature of " + d + " valid and aligned with From " + fromDomain
			return res
		}
	}
	if len(notes) == 0 {
		notes = append(notes, "no signature verified")
	}
	if err == dkim.ErrTooManySignatures {
		notes = append(notes, fmt.Sprintf("only the first %d signatures checked", opts.MaxSignatures))
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		notes = append(notes, fmt.Sprintf("key lookups stopped at the %s deadline", opts.Timeout))
	}
	res.Detail = SanitizeText(strings.Join(notes, "; "), 500)
	return res
}

// headerEnd returns the offset of the blank line ending the header block,
// or -1 when there is none within max bytes.
func headerEnd(raw []byte, max int) int {
	lim := raw
	if len(lim) > max {
		lim = lim[:max]
	}
	a := bytes.Index(lim, []byte("\r\n\r\n"))
	b := bytes.Index(lim, []byte("\n\n"))
	switch {
	case a < 0 && b < 0:
		return -1
	case a < 0:
		return b + 1
	case b < 0 || a < b:
		return a + 2
	default:
		return b + 1
	}
}

// OrgDomain is a domain's organizational domain (public suffix + one
// label, by the Public Suffix List), lower-case, or the domain itself when
// the suffix list has no answer.
func OrgDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if od, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return od
	}
	return d
}
