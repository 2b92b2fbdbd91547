# The targets CI runs (see .ci/run). Go only; no other tool is needed for
# test and lint. e2e and bench start their own servers.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30s

.PHONY: all build test lint fuzz e2e bench bench-compare demo clean

all: lint test

build:
	$(GO) build -o bin/onboarder ./cmd/onboarder

# The README's test command. Needs PostgreSQL on 127.0.0.1:5432 (or
# ONBOARDER_TEST_POSTGRES_URL); without it the PostgreSQL half skips,
# except in CI (CI=true), where it fails.
test:
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (go test -fuzz runs one target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# End-to-end: the built binary through the CLI contract, against the
# in-process servers (cmd/onboarder) and against real Dovecot, Postfix and a
# throw-away PostgreSQL (e2e/; needs `scripts/e2e-servers.sh install` once,
# as root, and fails when the servers cannot be started).
e2e:
	$(GO) test -race -count=1 -run 'Acceptance|Crash' -v ./cmd/onboarder
	ONBOARDER_E2E=1 $(GO) test -race -count=1 -timeout 20m -v ./e2e

# The backlog benchmark (bench/): Dovecot via scripts/e2e-servers.sh (installed
# when missing and root; else go-imap's in-process server), PostgreSQL on
# 127.0.0.1:5432, a go-smtp sink; adds the run to the log in bench/results.md.
# BENCHFLAGS=-quick is the CI size (N = 200).
bench:
	@command -v dovecot >/dev/null || [ "$$(id -u)" != 0 ] || scripts/e2e-servers.sh install
	$(GO) build -o bin/onboarder ./cmd/onboarder
	$(GO) run ./bench -bin bin/onboarder $(BENCHFLAGS)

# This commit against BASE (default: the commit of bench/results.md's
# 2026-12-01 reference), the N = 10,000 drains taking turns ROUNDS times on
# the same servers: on a machine whose speed drifts between runs, the way to
# tell whether a change made the drain slower. Adds the medians to the log.
BASE   ?= 9cec0bd
ROUNDS ?= 3
bench-compare:
	@command -v dovecot >/dev/null || [ "$$(id -u)" != 0 ] || scripts/e2e-servers.sh install
	$(GO) build -o bin/onboarder ./cmd/onboarder
	$(GO) run ./bench -bin bin/onboarder -baseline $(BASE) -rounds $(ROUNDS) -n 10000 $(BENCHFLAGS)

demo:
	$(GO) run ./cmd/onboarder demo

clean:
	rm -rf bin
