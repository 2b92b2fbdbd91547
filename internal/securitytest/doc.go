// Package securitytest holds end-to-end tests of onboarder's intake
// security over real protocols: in-process IMAP and SMTP servers (mailtest),
// the mailbox poller, the workflow on a real store, and the outbox
// dispatcher. It checks that mail loops between onboarder instances and
// autoresponders stop within a few mails, and that hostile names and notes
// never inject headers, recipients or markup into the SMTP data sent.
// The package has no code of its own; everything is in its tests.
package securitytest
