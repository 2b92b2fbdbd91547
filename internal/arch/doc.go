// Package arch holds the test that keeps the import rules of
// ../shared/spec/architecture.md true: who may import whom, and which
// third-party library lives in which package.
package arch
