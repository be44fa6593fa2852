package workflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// RosterEntry is one village as a random draw sees it.
type RosterEntry struct {
	Village  string `json:"village"`
	Township string `json:"township"`
}

// SampleSpec says how many villages an unannounced check draws.
type SampleSpec struct {
	Rate     float64 `yaml:"rate" json:"rate,omitempty"`         // a fraction of the roster, 0 < rate <= 1
	Size     int     `yaml:"size" json:"size,omitempty"`         // or an absolute number of villages
	Stratify bool    `yaml:"stratify" json:"stratify,omitempty"` // allocate the draw to townships in proportion
}

// ParseSampleSpec reads "20%" or "15".
func ParseSampleSpec(s string) (SampleSpec, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return SampleSpec{}, fmt.Errorf("抽样比例 %q 无效: 应为 0%% 到 100%% 之间, 例如 20%%", s)
		}
		return SampleSpec{Rate: f / 100, Stratify: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return SampleSpec{}, fmt.Errorf("抽样数量 %q 无效: 应为正整数 (如 15) 或百分比 (如 20%%)", s)
	}
	return SampleSpec{Size: n, Stratify: true}, nil
}

func (s SampleSpec) String() string {
	if s.Rate > 0 {
		return strconv.FormatFloat(s.Rate*100, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(s.Size)
}

// target is the number of villages to draw from a roster of n.
func (s SampleSpec) target(n int) int {
	k := s.Size
	if s.Rate > 0 {
		k = int(math.Ceil(s.Rate*float64(n) - 1e-9))
	}
	return min(max(k, 0), n)
}

// Seed is the secret of a random draw. Its SHA-256 (the commitment) is
// recorded when the draw is planned; the seed itself is revealed when the
// round opens.
type Seed []byte

// ParseSeed reads a seed written in hex.
func ParseSeed(s string) (Seed, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) < 8 {
		return nil, fmt.Errorf("随机种子 %q 无效: 应为至少 16 位十六进制数字", s)
	}
	return Seed(b), nil
}

func (s Seed) String() string { return hex.EncodeToString(s) }

// Commitment is the hex SHA-256 of the seed, published before the draw.
func (s Seed) Commitment() string {
	h := sha256.Sum256(s)
	return hex.EncodeToString(h[:])
}

// rank is the deterministic score of a village in a draw: SHA-256 over the
// seed, a zero byte and the village code.
func (s Seed) rank(village string) [32]byte {
	h := sha256.New()
	h.Write(s)
	h.Write([]byte{0})
	h.Write([]byte(village))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Sample draws villages from roster. It is a pure, documented function of
// the seed and the roster, so that anyone can recompute it:
//
//  1. Excluded villages are removed; the roster is sorted by village code.
//  2. The target k is the size, or ceil(rate × n).
//  3. Without stratification, the k villages with the smallest
//     SHA-256(seed ‖ 0x00 ‖ code) are drawn.
//  4. With stratification, each township gets floor(k × its share); the
//     remaining villages go to the townships with the largest remainders
//     (ties: township name order); within a township the villages with the
//     smallest hashes are drawn, as in 3.
//
// The result is sorted by village code.
func Sample(seed Seed, roster []RosterEntry, spec SampleSpec, exclude map[string]bool) []string {
	var pool []RosterEntry
	for _, r := range roster {
		if !exclude[r.Village] {
			pool = append(pool, r)
		}
	}
	sort.Slice(pool, func(i, j int) bool { return pool[i].Village < pool[j].Village })
	k := spec.target(len(pool))
	if k == 0 {
		return nil
	}
	pick := func(group []RosterEntry, n int) []string {
		type scored struct {
			code  string
			score [32]byte
		}
		ss := make([]scored, len(group))
		for i, r := range group {
			ss[i] = scored{r.Village, seed.rank(r.Village)}
		}
		sort.Slice(ss, func(i, j int) bool { return bytes.Compare(ss[i].score[:], ss[j].score[:]) < 0 })
		out := make([]string, 0, n)
		for _, s := range ss[:n] {
			out = append(out, s.code)
		}
		return out
	}
	var drawn []string
	if !spec.Stratify {
		drawn = pick(pool, k)
	} else {
		groups := map[string][]RosterEntry{}
		var names []string
		for _, r := range pool {
			if _, ok := groups[r.Township]; !ok {
				names = append(names, r.Township)
			}
			groups[r.Township] = append(groups[r.Township], r)
		}
		sort.Strings(names)
		alloc := make(map[string]int, len(names))
		type rem struct {
			name string
			frac float64
		}
		var rems []rem
		given := 0
		for _, n := range names {
			exact := float64(k) * float64(len(groups[n])) / float64(len(pool))
			alloc[n] = int(math.Floor(exact + 1e-9))
			given += alloc[n]
			rems = append(rems, rem{n, exact - float64(alloc[n])})
		}
		sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac+1e-12 })
		for i := 0; given < k; i++ {
			n := rems[i%len(rems)].name
			if alloc[n] < len(groups[n]) {
				alloc[n]++
				given++
			}
		}
		for _, n := range names {
			drawn = append(drawn, pick(groups[n], alloc[n])...)
		}
	}
	sort.Strings(drawn)
	return drawn
}

// RosterDigest is the hex SHA-256 of a roster snapshot in its canonical
// form (sorted by village code, one "code\ttownship\n" line each), so that a
// recorded roster can be checked for later edits.
func RosterDigest(roster []RosterEntry) string {
	rs := append([]RosterEntry(nil), roster...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Village < rs[j].Village })
	h := sha256.New()
	for _, r := range rs {
		h.Write([]byte(r.Village + "\t" + r.Township + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DrawRecord is what a random round records about its draw.
type DrawRecord struct {
	Commitment   string        `json:"commitment"` // SHA-256 of the seed, recorded when planned
	Seed         string        `json:"seed"`       // revealed when the round opens
	Spec         SampleSpec    `json:"spec"`
	Excluded     []string      `json:"excluded,omitempty"`
	Roster       []RosterEntry `json:"roster"`
	RosterDigest string        `json:"roster_digest"`
	Sample       []string      `json:"sample"`
}

// ErrDrawMismatch says a recorded draw does not verify.
var ErrDrawMismatch = errors.New("抽样核验不一致")

// Verify recomputes the draw from its revealed seed and recorded roster and
// says what, if anything, does not match.
func (d DrawRecord) Verify() error {
	seed, err := ParseSeed(d.Seed)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDrawMismatch, err)
	}
	var problems []string
	if seed.Commitment() != d.Commitment {
		problems = append(problems, fmt.Sprintf("种子的哈希 %s 与事先公布的承诺值 %s 不符", seed.Commitment(), d.Commitment))
	}
	if got := RosterDigest(d.Roster); got != d.RosterDigest {
		problems = append(problems, fmt.Sprintf("名册摘要 %s 与记录的 %s 不符 (名册被改动)", got, d.RosterDigest))
	}
	ex := make(map[string]bool, len(d.Excluded))
	for _, v := range d.Excluded {
		ex[v] = true
	}
	got := Sample(seed, d.Roster, d.Spec, ex)
	if strings.Join(got, ",") != strings.Join(d.Sample, ",") {
		problems = append(problems, fmt.Sprintf("按种子重新抽样得到 %d 个村 (%s), 与记录的 %d 个村 (%s) 不符",
			len(got), strings.Join(got, ","), len(d.Sample), strings.Join(d.Sample, ",")))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrDrawMismatch, strings.Join(problems, "; "))
	}
	return nil
}
