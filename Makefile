# pulso — build, test, lint, benchmarks. Everything a fresh machine needs is fetched
# by these targets (Go modules through the proxy; psql comes with the PostgreSQL client).
SHELL := /bin/bash
GO ?= go
BIN := bin/pulso
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
PREFIX ?= /usr/local
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.52.0
# The password is the one .ci/services.sh gives a PostgreSQL it installs; a server with
# trust authentication (this machine's) ignores it.
export PULSO_TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable
# make demo: its database, landing directory, listeners, Redis (empty: in-process
# cache) and the admin it creates. The synthetic set's "today" is DEMO_AS_OF.
DEMO_DIR ?= /tmp/pulso-demo
DEMO_DB ?= pulso_demo
DEMO_URL := $(shell echo '$(PULSO_TEST_DATABASE_URL)' | sed -E 's#/[^/?]*(\?|$$)#/$(DEMO_DB)\1#')
DEMO_AS_OF ?= 2025-07-15
DEMO_ADDR ?= :8000
DEMO_METRICS_ADDR ?= :9090
DEMO_REDIS_URL ?= redis://127.0.0.1:6379/0
DEMO_ADMIN_EMAIL ?= admin@demo.pulso.pe
DEMO_ADMIN_PASSWORD ?= Demo-Pulso-2025
demo_base = http://$(if $(filter :%,$(1)),localhost$(1),$(1))

.PHONY: build install test lint bench bench-api bench-load bench-pipeline bench-transform fuzz fuzz-transform demo services bqemulator clean openapi-lint

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/pulso

# bin/pulso onto the PATH ($(PREFIX)/bin; PREFIX=$$HOME/.local for no root).
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pulso

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

# The newcomer's one command: PostgreSQL and Redis reachable (started, or installed
# when run as root), a fresh $(DEMO_DB) database migrated, the synthetic set generated
# and run through the pipeline, then `pulso serve` in the foreground with a demo admin
# and "today" fixed at the set's date. Ctrl-C stops the server cleanly.
demo: build
	@bash .ci/services.sh --redis-optional
	psql "$(PULSO_TEST_DATABASE_URL)" -qc "DROP DATABASE IF EXISTS $(DEMO_DB) WITH (FORCE)" -c "CREATE DATABASE $(DEMO_DB)"
	$(BIN) --database-url "$(DEMO_URL)" migrate up
	$(BIN) demo --out $(DEMO_DIR) --as-of $(DEMO_AS_OF)
	$(BIN) --database-url "$(DEMO_URL)" --as-of $(DEMO_AS_OF) run-pipeline --source dir --dir $(DEMO_DIR)
	@redis=$(DEMO_REDIS_URL); if [ -n "$$redis" ] && ! redis-cli -u "$$redis" ping >/dev/null 2>&1; then redis=; fi; \
	printf '%s\n' "" \
	  "pulso demo: the API on $(call demo_base,$(DEMO_ADDR)), data as of $(DEMO_AS_OF) ($${redis:-in-process} cache). Ctrl-C stops it." \
	  "  API docs (Swagger UI):  $(call demo_base,$(DEMO_ADDR))/docs" \
	  "  log in as:              $(DEMO_ADMIN_EMAIL) / $(DEMO_ADMIN_PASSWORD)" \
	  "  metrics:                $(call demo_base,$(DEMO_METRICS_ADDR))/metrics" \
	  "  try, in another shell:" \
	  "    TOKEN=\$$(curl -s $(call demo_base,$(DEMO_ADDR))/api/v1/auth/login -H 'Content-Type: application/json' \\" \
	  "      -d '{\"email\":\"$(DEMO_ADMIN_EMAIL)\",\"password\":\"$(DEMO_ADMIN_PASSWORD)\"}' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')" \
	  "    curl -s '$(call demo_base,$(DEMO_ADDR))/api/v1/dashboard?dimensions=cartera' -H \"Authorization: Bearer \$$TOKEN\"" ""; \
	exec env PULSO_ENV=development REDIS_URL="$$redis" PULSO_HTTP_ADDR="$(DEMO_ADDR)" PULSO_METRICS_ADDR="$(DEMO_METRICS_ADDR)" \
	  PULSO_BOOTSTRAP_ADMIN_EMAIL="$(DEMO_ADMIN_EMAIL)" PULSO_BOOTSTRAP_ADMIN_PASSWORD="$(DEMO_ADMIN_PASSWORD)" \
	  $(BIN) --database-url "$(DEMO_URL)" --as-of $(DEMO_AS_OF) serve

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
