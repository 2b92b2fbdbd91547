// Package mailtest provides in-process IMAP and SMTP servers with fault
// injection, for tests and for `onboarder demo`.
//
// The IMAP half (StartIMAP) is go-imap's imapmemserver behind a real
// listener on 127.0.0.1, with switches to hide server capabilities (MOVE,
// UIDPLUS, IDLE) and to simulate a UIDVALIDITY change. StartProxy puts a TCP
// proxy in front of any server that can stall (a silent server), resume and
// cut connections. The SMTP half lives in the smtp*.go files. StartDirectory
// (directory.go) is an in-memory organization directory in the Resource
// Manager's shape, whose create is idempotent by key.
//
// This package is not test-only code: it must not import "testing".
package mailtest
