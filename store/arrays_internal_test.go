package store

import (
	"testing"
	"time"

	"github.com/lib/pq"
)

// TestArraysAsGenericArray holds dayArray and instantArray to the text
// pq.GenericArray made of the same values.
func TestArraysAsGenericArray(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	times := []time.Time{{}, time.Date(2018, 2, 5, 23, 30, 0, 123456789, sh), time.Date(2018, 2, 5, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, sh)}
	for n := range len(times) + 1 {
		days, insts := make([]Day, n), make([]Instant, n)
		for i := range n {
			days[i], insts[i] = Day{times[(i+n)%len(times)]}, Instant(times[(i+2*n)%len(times)])
		}
		got, _ := dayArray(days).Value()
		want, _ := pq.GenericArray{A: days}.Value()
		if got != want {
			t.Errorf("days %v: %q, want %q", days, got, want)
		}
		got, _ = instantArray(insts).Value()
		want, _ = pq.GenericArray{A: insts}.Value()
		if got != want {
			t.Errorf("instants %v: %q, want %q", insts, got, want)
		}
	}
}
