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

# Benchmarks are measured by hand, never asserted in tests.
bench:
	scripts/with-postgres.sh $(GO) test -run '^$$' -bench . -benchtime 3x $(PKGS)

clean:
	rm -rf bin
