# ducha — build, test and benchmark. `make test` is the test command: it needs
# nothing but Go and the machine's PostgreSQL server binaries (it starts a
# throwaway server; set DUCHA_TEST_POSTGRES to use your own).
GO ?= go
PKGS ?= ./...

.PHONY: all build test vet bench fuzz clean

all: build

build:
	$(GO) build -o bin/ducha ./cmd/ducha

vet:
	$(GO) vet $(PKGS)

test: vet
	scripts/with-postgres.sh $(GO) test -race -count=1 $(PKGS)

# `ducha bench` at province scale (docs/PERFORMANCE.md): a throwaway
# PostgreSQL server with durability ON (fsync, synchronous_commit), or the
# server of BENCH_DB (a fresh, empty database). Figures are measured, never
# asserted in tests. The per-package Go benchmarks: go test -run '^$$' -bench . ./...
BENCH_VILLAGES ?= 50000
BENCH_ACTIVITIES ?= 10000000
BENCH_JSON ?= bench.json
BENCH_ARGS = --villages $(BENCH_VILLAGES) --activities $(BENCH_ACTIVITIES) --json $(BENCH_JSON)
bench: build
	@if [ -n "$(BENCH_DB)" ]; then bin/ducha bench --db "$(BENCH_DB)" $(BENCH_ARGS); else \
	  env -u DUCHA_TEST_POSTGRES DUCHA_PG_DURABLE=1 scripts/with-postgres.sh \
	    sh -c 'bin/ducha bench --db "$$DUCHA_TEST_POSTGRES" $(BENCH_ARGS)'; fi

# Every fuzz target briefly (their seed corpora also run in `make test`).
fuzz:
	scripts/fuzz-smoke.sh

clean:
	rm -rf bin
