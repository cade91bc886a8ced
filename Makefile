# pulso — build, test, lint, benchmarks. Everything a fresh machine needs is fetched
# by these targets (Go modules through the proxy; psql comes with the PostgreSQL client).
SHELL := /bin/bash
GO ?= go
BIN := bin/pulso
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.52.0
export PULSO_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
DEMO_DIR ?= /tmp/pulso-demo
DEMO_DB ?= pulso_demo
DEMO_URL := postgres://postgres@127.0.0.1:5432/$(DEMO_DB)?sslmode=disable

.PHONY: build test lint bench bench-api bench-load bench-pipeline bench-transform fuzz fuzz-transform demo services bqemulator clean openapi-lint

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/pulso

# The whole suite against the real PostgreSQL (and Redis): services are started when down.
test: services bqemulator
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	$(GO) vet ./...
	$(GO) vet -tags bench ./...
	$(GO) run $(STATICCHECK) ./...
	@# staticcheck's unused check sees unexported code only; deadcode also finds exported
	@# functions nothing reaches, from main or any test.
	@out=$$($(GO) run $(DEADCODE) -test ./...); if [ -n "$$out" ]; then echo "unreachable code:"; echo "$$out"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Synthetic data set, migrated database, the whole pipeline twice (the second run
# rewrites nothing) and the status report: everything built so far.
demo: build services
	psql "$(PULSO_TEST_DATABASE_URL)" -qc "DROP DATABASE IF EXISTS $(DEMO_DB) WITH (FORCE)" -c "CREATE DATABASE $(DEMO_DB)"
	$(BIN) --database-url "$(DEMO_URL)" migrate up
	$(BIN) demo --out $(DEMO_DIR)
	$(BIN) --database-url "$(DEMO_URL)" --as-of 2025-07-15 run-pipeline --source dir --dir $(DEMO_DIR)
	$(BIN) --database-url "$(DEMO_URL)" --as-of 2025-07-15 run-pipeline --source dir --dir $(DEMO_DIR)
	$(BIN) --database-url "$(DEMO_URL)" --as-of 2025-07-15 status

bench: bench-load bench-transform bench-pipeline

# P1/P2/P3 of bars.md: pulso load vs psql \copy of the same 1M-row file, same run.
bench-load: services
	$(GO) test -tags bench -run TestBenchLoad -count=1 -timeout 60m -v ./cmd/pulso

# P5/P3 of bars.md: an incremental run-pipeline over ~1% new rows vs the full first run
# of the large synthetic set, same run.
bench-pipeline: services
	$(GO) test -tags bench -run TestBenchPipeline -count=1 -timeout 60m -v ./cmd/pulso

# R10 of bars.md: every parser fuzzed for FUZZTIME each (no panic, no race).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME) ./internal/etl/source/files
	$(GO) test -run '^$$' -fuzz '^FuzzReadNDJSON$$' -fuzztime $(FUZZTIME) ./internal/etl/source/files
	$(GO) test -run '^$$' -fuzz '^FuzzDecimal$$' -fuzztime $(FUZZTIME) ./internal/etl
	$(GO) test -run '^$$' -fuzz '^FuzzParseDashboard$$' -fuzztime $(FUZZTIME) ./internal/analytics
	$(GO) test -run '^$$' -fuzz '^FuzzParseEvolution$$' -fuzztime $(FUZZTIME) ./internal/analytics
	$(GO) test -run '^$$' -fuzz '^FuzzParseProductivity$$' -fuzztime $(FUZZTIME) ./internal/analytics

# domain.md §6 as a property: random small worlds replayed run by run, each run's
# incremental transform compared with a full rebuild, for FUZZTIME; a failing seed is
# printed with its minimised delivery sequence (PULSO_FUZZ_SEED replays from a seed).
fuzz-transform: services
	set -o pipefail; PULSO_FUZZ_TRANSFORM=$(FUZZTIME) $(GO) test -run '^TestTransformDifferentialRandom$$' -count=1 -timeout 0 -v \
		./internal/store/postgres | grep -v -e '^=== RUN' -e '^    --- PASS' -e '^=== PAUSE' -e '^=== CONT'

# The BigQuery emulator the BigQuery tests run against, built once into a cache
# (testdata/bqemulator; PULSO_BQ_EMULATOR overrides the path; ~6.5 min cold).
bqemulator:
	@bash .ci/bqemulator.sh >/dev/null

services:
	@bash .ci/services.sh

clean:
	rm -rf bin

# P6/P7/P8 of bars.md: `pulso serve` on the large synthetic set under vegeta (a Go
# module, fetched by go test): the cached dashboard against /health on the same
# server in the same run, each analytics endpoint uncached, and the server's RSS.
bench-api: services
	$(GO) test -tags bench -run TestBenchAPI -count=1 -timeout 60m -v ./cmd/pulso

# P4 of bars.md: full transform of `pulso demo --scale large` against one GROUP BY pass
# over each raw table (same run), and an incremental transform after ~1% new rows.
bench-transform: services
	$(GO) test -tags bench -run TestBenchTransform -count=1 -timeout 60m -v ./internal/store/postgres

# The embedded OpenAPI document (internal/api/openapi) through Redocly CLI, pinned and
# fetched by npx into a local npm cache; no usage data is sent (redocly.yaml, env).
openapi-lint:
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --yes --cache "$(HOME)/.cache/pulso/npm" \
		@redocly/cli@2.77.0 lint --config internal/api/openapi/redocly.yaml internal/api/openapi/openapi.yaml
