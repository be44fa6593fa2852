// Package crashtest holds ducha's crash, soak and end-to-end security tests.
// They build the ducha binary once and run it as real processes against
// SQLite and PostgreSQL (DUCHA_TEST_POSTGRES): crash tests SIGKILL it at
// seeded random moments (DUCHA_CRASH_SEED), restart, and check with `ducha
// audit verify` and row counts that every invariant holds and every write is
// all or nothing; the soak runs three `ducha serve` processes on one
// PostgreSQL; the security tests drive the pages, the API and the command
// line with hostile input. docs/RELIABILITY.md lists the promises and the
// test that checks each.
package crashtest
