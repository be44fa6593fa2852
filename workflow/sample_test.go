package workflow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testRoster() []RosterEntry {
	var r []RosterEntry
	towns := []struct {
		name string
		n    int
	}{{"青山镇", 20}, {"石门乡", 10}, {"白沙镇", 5}, {"河口乡", 15}}
	for _, t := range towns {
		for i := 1; i <= t.n; i++ {
			r = append(r, RosterEntry{Village: fmt.Sprintf("%s-%02d", t.name, i), Township: t.name})
		}
	}
	return r
}

func TestSampleDeterministicAndOrderIndependent(t *testing.T) {
	seed, _ := ParseSeed("00112233445566778899aabbccddeeff")
	roster := testRoster()
	a := Sample(seed, roster, SampleSpec{Rate: 0.2, Stratify: true}, nil)
	rev := make([]RosterEntry, len(roster))
	for i, r := range roster {
		rev[len(roster)-1-i] = r
	}
	b := Sample(seed, rev, SampleSpec{Rate: 0.2, Stratify: true}, nil)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("roster order changed the draw:\n%v\n%v", a, b)
	}
	other, _ := ParseSeed("ffeeddccbbaa99887766554433221100")
	c := Sample(other, roster, SampleSpec{Rate: 0.2, Stratify: true}, nil)
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Fatalf("a different seed drew the same villages: %v", a)
	}
}

func TestSampleStratification(t *testing.T) {
	seed, _ := ParseSeed("0102030405060708")
	got := Sample(seed, testRoster(), SampleSpec{Rate: 0.2, Stratify: true}, nil)
	// 50 villages, 20% → 10: 青山镇 20→4, 石门乡 10→2, 白沙镇 5→1, 河口乡 15→3.
	per := map[string]int{}
	for _, v := range got {
		per[strings.Split(v, "-")[0]]++
	}
	want := map[string]int{"青山镇": 4, "石门乡": 2, "白沙镇": 1, "河口乡": 3}
	if fmt.Sprint(per) != fmt.Sprint(want) || len(got) != 10 {
		t.Fatalf("per township = %v (total %d), want %v", per, len(got), want)
	}
	// Largest remainders: 7 of 50 → 青山镇 2.8, 石门乡 1.4, 白沙镇 0.7, 河口乡 2.1 → 2,1,0,2 + 白沙镇, 石门乡.
	got = Sample(seed, testRoster(), SampleSpec{Size: 7, Stratify: true}, nil)
	per = map[string]int{}
	for _, v := range got {
		per[strings.Split(v, "-")[0]]++
	}
	want = map[string]int{"青山镇": 3, "石门乡": 1, "白沙镇": 1, "河口乡": 2}
	if fmt.Sprint(per) != fmt.Sprint(want) {
		t.Fatalf("size 7: per township = %v, want %v", per, want)
	}
}

func TestSampleExcludesRecentlyInspected(t *testing.T) {
	seed, _ := ParseSeed("0102030405060708")
	roster := testRoster()
	ex := map[string]bool{}
	for _, r := range roster[:45] {
		ex[r.Village] = true
	}
	got := Sample(seed, roster, SampleSpec{Size: 10}, ex)
	if len(got) != 5 {
		t.Fatalf("drew %d villages from a pool of 5: %v", len(got), got)
	}
	for _, v := range got {
		if ex[v] {
			t.Fatalf("drew excluded village %s", v)
		}
	}
}

func TestDrawVerify(t *testing.T) {
	seed, _ := ParseSeed("a1b2c3d4e5f60718")
	roster := testRoster()
	spec := SampleSpec{Rate: 0.2, Stratify: true}
	rec := DrawRecord{
		Commitment:   seed.Commitment(),
		Seed:         seed.String(),
		Spec:         spec,
		Roster:       roster,
		RosterDigest: RosterDigest(roster),
		Sample:       Sample(seed, roster, spec, nil),
	}
	if err := rec.Verify(); err != nil {
		t.Fatalf("honest draw does not verify: %v", err)
	}
	changedSeed := rec
	changedSeed.Seed = "a1b2c3d4e5f60719"
	if err := changedSeed.Verify(); !errors.Is(err, ErrDrawMismatch) || !strings.Contains(err.Error(), "承诺") {
		t.Fatalf("changed seed: err = %v", err)
	}
	changedRoster := rec
	changedRoster.Roster = append([]RosterEntry{{Village: "新村", Township: "青山镇"}}, roster...)
	if err := changedRoster.Verify(); !errors.Is(err, ErrDrawMismatch) || !strings.Contains(err.Error(), "名册") {
		t.Fatalf("changed roster: err = %v", err)
	}
	changedSample := rec
	changedSample.Sample = append([]string{"青山镇-01"}, rec.Sample[1:]...)
	if rec.Sample[0] == "青山镇-01" {
		changedSample.Sample = append([]string{"青山镇-02"}, rec.Sample[1:]...)
	}
	if err := changedSample.Verify(); !errors.Is(err, ErrDrawMismatch) {
		t.Fatalf("changed sample: err = %v", err)
	}
}

func TestParseSampleSpec(t *testing.T) {
	for in, want := range map[string]string{"20%": "20%", "15": "15", " 7.5% ": "7.5%"} {
		s, err := ParseSampleSpec(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseSampleSpec(%q) = %v, %v", in, s, err)
		}
	}
	for _, bad := range []string{"0", "-3", "120%", "abc", "0%"} {
		if _, err := ParseSampleSpec(bad); err == nil {
			t.Errorf("ParseSampleSpec(%q) accepted", bad)
		}
	}
}
