// Package e2e is the end-to-end suite: the built onboarder binary against
// real servers nobody here wrote — Debian's Dovecot (IMAP, LMTP) and
// Postfix, plus a throw-away PostgreSQL cluster — started by
// scripts/e2e-servers.sh in a folder of their own on loopback ports. It
// replays the request corpus, injects faults (SIGKILL at chosen points,
// PostgreSQL restarts, SMTP refusals, silent IMAP, UIDVALIDITY changes) and
// runs several workers on one database and mailbox.
//
// The tests run only when ONBOARDER_E2E is set (`make e2e` sets it); then a
// server that cannot be started fails the run. `make test` skips them.
package e2e
