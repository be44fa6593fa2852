//go:build race

package importer_test

// raceEnabled: the race detector multiplies memory and time, so the
// memory-bound test does not run under it.
const raceEnabled = true
