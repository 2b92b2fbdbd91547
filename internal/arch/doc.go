// Package arch holds the tests that keep the import rules of
// ../shared/spec/architecture.md true: who may import whom, and which
// third-party library lives in which package; and that docs/architecture.md
// states the same rules.
package arch
