// Package parser turns the raw bytes of one received mail into a classified
// *Mail: its kind (request, auto-reply, bounce, other), the customer name from
// the subject, the Organization ID from the body, thread references,
// authentication results and the target of a delivery status notification.
//
// The package is pure: no I/O, no database, no network, no logging. Parse never
// panics and works in bounded time and memory on hostile input; every problem
// it meets is written to Mail.Defects instead of being returned as an error, so
// that the caller always has something to store and show to operations.
//
// Decisions that the product specification leaves open, documented here:
//
//   - Kind precedence is bounce, then auto-reply, then request, else other. A
//     mail carrying our own X-Onboarder-Loop header is never a request.
//   - Precedence: list is an auto-reply marker (the specification lists it with
//     bulk and junk), and it also sets Mail.List.
//   - multipart/report; report-type=disposition-notification (a read receipt)
//     is an automatic reply (AutoReason "mdn"). report-type=feedback-report
//     (an ARF abuse complaint) and other reports (DMARC, TLS-RPT) are
//     KindOther with Mail.ReportType set; they are meant for humans and stay
//     in the inbox. The report type itself does not set Mail.List (a report's
//     own List-Id or Precedence: list header does, as for any mail).
//   - List-Id, List-Unsubscribe or List-Post alone only set Mail.List; the
//     kind is still decided by the subject (the workflow may use the flag).
//   - Quoted text is used for the Organization ID only when the new text
//     gives no valid UUID and no malformed labelled value (OrgIDStatus would be
//     "missing").
//   - A labelled value that is not a UUID but looks like an identifier (has a
//     digit, only identifier characters) makes the status "malformed" unless a
//     valid labelled UUID exists; plain words after a label ("below", "n/a") are
//     not values.
//   - AuthResult.Failed is DMARC fail, or DKIM fail (no passing signature) and
//     SPF fail together. Only the topmost Authentication-Results header whose
//     authserv-id equals Options.TrustedAuthServID is read; its id is taken
//     before anything else, so an oversized trusted header still decides.
//     Of its results only those about the From domain count (DMARC
//     header.from equal to it; DKIM header.d and SPF smtp.mailfrom with its
//     organizational domain from the Public Suffix List), for a pass as for
//     a fail: a forger's own domain can pass everything.
//   - From and Sender are read strictly: a mail with two From fields, or a
//     From that is not exactly one address, names no sender
//     (Mail.SenderProblem, Mail.From empty); no pattern picks an address out
//     of a broken field. The loose reading serves To, Cc, Reply-To and the
//     mailer-daemon test only.
//   - VerifyDKIM is the one function that may reach the network, and only
//     through the TXT lookup its caller passes in (no resolver of its own),
//     for signatures aligned with the From domain, under one deadline.
//   - Raw 8-bit bytes that are not valid UTF-8 (in headers, or in a body whose
//     charset is unknown) are read as ISO-8859-1, byte by byte, so the result is
//     always valid UTF-8 and Western names stay readable.
package parser
