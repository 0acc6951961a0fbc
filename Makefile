GO      ?= go
BINARY  := traceroute_exporter
PKGS    := ./...

.PHONY: all build test test-deps unit lint bench bench-micro bench-scale soak fuzz screenshots clean

all: lint build test

# Build information for the version package (shown by --version, the
# landing pages and traceroute_exporter_build_info).
VERSION_PKG := github.com/prometheus/common/version
VERSION     := $(shell cat VERSION)
REVISION    := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -modified)
BRANCH      := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_DATE  := $(shell date -u +%Y%m%d-%H:%M:%S)
LDFLAGS     := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(shell id -un)@$(shell hostname) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

## build: compile the exporter into ./traceroute_exporter, with version and revision from git
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BINARY) .

## test: install missing test tools (Debian, as root), then run every test
test: test-deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 25m $(PKGS)

test-deps:
	./scripts/test-deps.sh

## unit: the tests that need neither root nor tools (the rest skip outside CI)
unit:
	$(GO) test -count=1 -short $(PKGS)

## lint: gofmt, go vet, and staticcheck when installed
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); else echo "staticcheck not installed; skipped"; fi

## bench: the speed and memory benchmarks, then the scale run (root)
bench: bench-micro bench-scale

## bench-micro: the Go speed and memory benchmarks
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-scale: the exporter at SCALES targets in a namespace network, WINDOW per scale (root);
## prints a table and writes BENCH_JSON; PPROF=dir also saves heap and CPU profiles there
SCALES     ?= 100,1000,10000
WINDOW     ?= 60s
BENCH_JSON ?= bench/results.json
PPROF      ?=
bench-scale:
	$(GO) run ./bench/scale -targets=$(SCALES) -window=$(WINDOW) -json=$(BENCH_JSON) $(if $(PPROF),-pprof=$(PPROF))

## soak: the exporter at SOAK_TARGETS targets for SOAK_DURATION in a namespace network with
## faults on a schedule (root; not part of test); judges RSS, goroutines, fds and store size
## flat, prints a table, writes SOAK_JSON and fails if not flat; PPROF=dir saves heap profiles
SOAK_TARGETS  ?= 1000
SOAK_DURATION ?= 30m
SOAK_JSON     ?= bench/soak.json
soak:
	$(GO) run ./bench/soak -targets=$(SOAK_TARGETS) -duration=$(SOAK_DURATION) -json=$(SOAK_JSON) $(if $(PPROF),-pprof=$(PPROF))

## fuzz: run every fuzz target for FUZZTIME each (their seed corpora also run in `make test`)
FUZZTIME ?= 60s
fuzz:
	@set -e; for pf in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$pf/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$pf $$f ($(FUZZTIME))"; \
			$(GO) test $$pf -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME); \
		done; \
	done

## screenshots: regenerate the README's images under docs/ from the real-browser test (root)
SHOTS := e2e/artifacts/TestBrowserPagesAfterRouteSwitch
screenshots: test-deps
	TRX_E2E_KEEP_ARTIFACTS=1 CI=true $(GO) test -count=1 -run '^TestBrowserPagesAfterRouteSwitch$$' ./e2e
	mkdir -p docs
	cp $(SHOTS)/index.png docs/targets.png
	cp $(SHOTS)/target-dst4.png docs/target.png
	cp $(SHOTS)/change-dst4.png docs/change.png

clean:
	rm -f $(BINARY)
