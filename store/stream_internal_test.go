package store

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"ducha/rules"
)

// BenchmarkStreamFold counts province-sized streams of records (random
// villages and advisers, as a heap scan delivers them) into the facts.
//
//	go test ./store -run '^$' -bench StreamFold
func BenchmarkStreamFold(b *testing.B) {
	const villages, records = 50000, 1 << 22
	end := time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC)
	req := rules.FactsRequest{End: end, LookbackFrom: end.AddDate(0, 0, -400),
		Windows: []rules.DateRange{{From: end.AddDate(0, 0, -29), To: end}, {From: end.AddDate(0, -3, 1), To: end}, {From: end.AddDate(0, -6, 1), To: end}},
		Totals:  []bool{false, false, true}, Recovered: []bool{false, false, false}}
	rng := rand.New(rand.NewPCG(1, 2))
	type rec struct {
		v, a int64
		k    int
		day  int32
	}
	recs := make([]rec, records)
	for i := range recs {
		v := rng.Int64N(villages)
		recs[i] = rec{v: v + 1, a: v/2 + 1, k: rng.IntN(rules.NumKinds), day: pgDay(end) - rng.Int32N(181)}
	}
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		f := &factsFold{req: req, out: make([]rules.Facts, villages), byID: map[int64]int{}, served: map[int64][]*rules.Tallies{}}
		for i := range f.out {
			f.byID[int64(i+1)] = i
			f.out[i].Windows = make([]rules.WindowFacts, 3)
			if i%2 == 0 {
				f.served[int64(i/2+1)] = []*rules.Tallies{{}, {}, {}}
			}
		}
		b.StartTimer()
		t0 := time.Now()
		s := newStreamFold(f)
		for _, r := range recs {
			s.add(r.v, r.a, r.k, r.day, 1, 0)
		}
		s.finish()
		took += time.Since(t0)
	}
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N*records), "ns/record")
}

func TestSplitDays(t *testing.T) {
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		from, to time.Time
		want     []rules.DateRange
	}{
		{d(2018, 1, 1), d(2018, 6, 30), []rules.DateRange{{From: d(2018, 1, 1), To: d(2018, 3, 31)}, {From: d(2018, 4, 1), To: d(2018, 6, 30)}}},
		{d(2017, 5, 27), d(2018, 6, 30), []rules.DateRange{{From: d(2017, 5, 27), To: d(2017, 12, 31)}, {From: d(2018, 1, 1), To: d(2018, 6, 30)}}},
		{d(2018, 6, 1), d(2018, 6, 30), []rules.DateRange{{From: d(2018, 6, 1), To: d(2018, 6, 30)}}}, // short
		{d(2018, 4, 1), d(2018, 6, 30), []rules.DateRange{{From: d(2018, 4, 1), To: d(2018, 6, 30)}}}, // one quarter
		{d(2018, 2, 15), d(2018, 5, 20), []rules.DateRange{{From: d(2018, 2, 15), To: d(2018, 3, 31)}, {From: d(2018, 4, 1), To: d(2018, 5, 20)}}},
	} {
		if got := splitDays(c.from, c.to); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitDays(%s, %s) = %v, want %v", c.from.Format(DateLayout), c.to.Format(DateLayout), got, c.want)
		}
	}
}
