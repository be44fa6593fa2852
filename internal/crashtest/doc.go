// Package crashtest holds ducha's crash, soak and end-to-end security
// tests: they build the ducha
// binary once, run it as real processes against SQLite and PostgreSQL
// (DUCHA_TEST_POSTGRES), SIGKILL them at seeded random moments
// (DUCHA_CRASH_SEED), restart, and check with `ducha audit verify` and row
// counts that every invariant holds and every write is all or nothing. See
// docs/RELIABILITY.md for the promises and which test checks each.
package crashtest
