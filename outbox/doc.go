// Package outbox sends the mails queued in the store's outbox over SMTP: it
// claims due rows with a lease, sends each with go-mail over one connection
// per batch (up to Config.Connections batches at once while a backlog lasts),
// classifies the result, and marks the row sent, deferred (retried with
// exponential backoff) or failed.
//
// The rows are written by the workflow in the same transaction as the state
// change that causes them, already rendered and with their Message-ID fixed;
// this package only sends them and never builds content.
//
// # Delivery guarantees
//
// A claim records the attempt (attempts+1) and takes a lease before anything
// is sent. After the SMTP server accepted a mail the row is marked sent
// (a batch's accepted rows are marked together, up to 50 of them or after a second, in
// one MarkOutboxSentBatch, never before the server's "250 OK"); a row marked
// sent is never sent again. If the worker dies (or loses the database)
// between the server's "250 OK" and that record (so for up to 50 accepted
// mails per connection, Config.Connections × 50 at most), the lease
// expires and the row is sent again, with the same Message-ID: this is the one
// case SMTP cannot tell apart, and receivers that deduplicate on Message-ID
// drop the copy. The same holds when the connection drops after the whole
// mail was transferred but before the server answered (the server may or may
// not have queued it): the attempt counts as temporary and the mail is resent
// with the same Message-ID. A row the record misses (store.ErrConflict:
// another worker took the row after our lease ran out) is logged, not
// retried.
//
// # Classification
//
// Classify turns any send error into a *SendError, as mox's smtpclient does:
// a 5xx reply is permanent (the row fails at once), a 4xx reply and every
// network, timeout and TLS error are temporary (the row is retried). go-mail's
// own IsTemp is not trusted: it only looks at the first character of the
// error text, so a connection cut after DATA would count as permanent.
// Errors while connecting (greeting, EHLO, STARTTLS, AUTH) are always
// temporary, even with a 5xx code: they are about our configuration or the
// server, not about one mail, and MaxAttempts bounds them. A refused sign-in
// or session (SendError.Auth: 530, 534, 535, 538, also on MAIL FROM, e.g.
// "530 5.7.0 Must issue a STARTTLS command first" when the URL has no user
// name) is temporary too, logged at error level, and not bounded by
// MaxAttempts: a wrong password must not cost the queued mail; it waits
// (retried at most every MaxBackoff) until an operator fixes the settings.
//
// go-mail refuses a whole message when any RCPT TO is refused, so a 550 for
// one recipient of a row with several fails that row permanently; rows carry
// one recipient set each and the workflow queues one row per audience.
//
// A temporary failure is retried after a backoff that grows exponentially
// from MinBackoff to MaxBackoff with full jitter above MinBackoff; after
// MaxAttempts attempts it becomes failed. A row whose content cannot be made
// into a mail (an unparseable address, a malformed Message-ID) fails at once
// with a clear error. Control characters in the subject and header values
// are replaced by spaces, display names are RFC 2047-encoded, and an address
// with a line break fails the row as invalid, so no row value can add a
// header line.
package outbox
