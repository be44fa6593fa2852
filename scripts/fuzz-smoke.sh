#!/bin/sh
# Runs every fuzz target briefly after its seed corpus. The corpora (f.Add
# seeds and testdata/fuzz/<Target>) also run as plain tests in `go test`. A
# failing input is written to the package's testdata/fuzz/<Target>/ by Go:
# commit it with the fix.
#
# Budgets are execution counts (a few seconds each on two cores), not
# durations: a duration-based -fuzztime can fail with a spurious "context
# deadline exceeded" at its end on Go 1.26 (go.dev/issue/75804).
# FUZZTIME overrides every budget (e.g. FUZZTIME=60s for a longer run).
set -eu
cd "$(dirname "$0")/.."
for target in \
	./rules:FuzzParse:3000x \
	./importer:FuzzImport:1500x \
	./web:FuzzParseEvent:10000x \
	./workflow:FuzzParseCalendar:5000x \
	./workflow:FuzzCanonicalJSON:20000x \
	./config:FuzzParse:10000x \
	./internal/pdf:FuzzBreak:20000x; do
	pkg="${target%%:*}"
	rest="${target#*:}"
	name="${rest%%:*}"
	budget="${FUZZTIME:-${rest#*:}}"
	echo "fuzz $pkg $name ($budget)"
	go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$budget"
done
