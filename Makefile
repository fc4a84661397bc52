# budare: see README.md. Every target works on a fresh Debian machine with Go.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
# The last commit's time (reproducible), else now.
DATE ?= $(or $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null),$(shell date -u +%Y-%m-%dT%H:%M:%SZ))
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN := bin
# Tools built outside the repo and reused across runs (MinIO takes minutes).
export BUDARE_CACHE ?= $(HOME)/.cache/budare

.PHONY: all build test test-deps bench soak lint deb demo clean fuzz screenshots

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/budare-agent ./agent
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/budare-central ./central

# test-deps installs Mosquitto and Chromium from Debian packages when missing
# and builds the pinned MinIO server into $(BUDARE_CACHE).
test-deps:
	bash .ci/setup.sh

test: test-deps
	source <(bash .ci/setup.sh --env) && $(GO) vet ./... && \
	$(GO) test -race -count=1 -timeout 18m ./...
	bash .ci/demo-test.sh

bench: build
	bash .ci/setup.sh --bench
	source <(bash .ci/setup.sh --env) && bash .ci/bench.sh

soak: test-deps
	source <(bash .ci/setup.sh --env) && $(GO) test -tags soak -race -count=1 -timeout 60m -run Soak ./...

lint:
	$(GO) vet ./...
	bash .ci/setup.sh --staticcheck
	"$(BUDARE_CACHE)/bin/staticcheck" ./...

# fuzz runs every fuzz target for FUZZTIME each (their corpora in
# testdata/fuzz also run as plain tests in `make test`).
FUZZTIME ?= 20s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "== $$fn $$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "./$$(dirname $$f)"; \
		done; \
	done

deb:
	$(GO) run ./packaging/build -version '$(VERSION)' -out dist

# demo needs only Go: the bucket is a directory and the agents embed their
# MQTT broker (see .ci/demo.sh).
demo: build
	bash .ci/demo.sh

clean:
	rm -rf $(BIN) dist

# screenshots regenerates the dashboard screenshots docs/dashboard-*.png
# (overview, kitchen, machine, fleet, coverage, models, quality) from the
# browser test's simulated data in a real MinIO, driven in Debian's Chromium.
screenshots: test-deps
	source <(bash .ci/setup.sh --env) && BUDARE_SCREENSHOT_DIR="$(CURDIR)/docs" \
		$(GO) test -count=1 -run '^TestDashboardInChromium$$' ./central/dashboard/
