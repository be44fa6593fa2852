package workflow

import "testing"

// BenchmarkApply measures the Go side of a transition without storage:
// the fsm and its guard, the new fields and the sealed history entry, for
// the bench's respond / reject cycle.
func BenchmarkApply(b *testing.B) {
	l := testLifecycle()
	ordered, responded := testFinding(Ordered), testFinding(Responded)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if i%2 == 0 {
			_, err = l.Apply(ordered, adviserA, Respond, Input{Comment: "已整改"}, testNow)
		} else {
			_, err = l.Apply(responded, sup1, Reject, Input{Reason: "整改材料不全"}, testNow)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
