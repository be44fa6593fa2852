package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sync/errgroup"

	"ducha/rules"
)

// streamActivities folds, on PostgreSQL, the activity records of the windows
// (scanFrom..End) streamed raw by `COPY (SELECT …) TO STDOUT` in binary —
// two such streams at once, each over its own days — while the server only
// scans and filters: the fold counts each record into per-village and
// per-adviser arrays as it arrives.
//
// A GROUP BY village, adviser, kind spends most of its time in the server's
// hash table (half a million groups from five million rows on two cores);
// streaming the rows costs little more than scanning them. lib/pq cannot
// read COPY output, so these statements go through pgconn connections of
// their own, opened for the call from the same URL (the facts are read
// outside any transaction either way).
func (db *DB) streamActivities(ctx context.Context, scanFrom time.Time, f *factsFold) error {
	req := f.req
	totals, recovered := false, false
	for w := range req.Windows {
		totals = totals || req.Totals[w]
		recovered = recovered || req.Recovered[w]
	}
	cols := "village_id, adviser_id, kind, day"
	if totals {
		cols += ", count"
	}
	if recovered {
		cols += ", amount_fen"
	}
	// COPY takes no parameters: the dates are ours and the scope is the ids
	// of the villages in it and of their advisers, all integers.
	scoped := ""
	if !req.Scope.All() {
		scoped = " AND (village_id = ANY('{" + joinIDs(f.byID) + "}'::bigint[]) OR adviser_id = ANY('{" + joinIDs(f.served) + "}'::bigint[]))"
	}
	cfg, err := pgconn.ParseConfig(db.url)
	if err != nil {
		return fmt.Errorf("facts: activities: %w", err)
	}
	// Read the stream in large pieces: hundreds of megabytes in pgconn's
	// default 8 KB reads are tens of thousands of system calls.
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, 1<<18), w)
	}

	// Two streams, each its own days (its own quarters: partitions), on two
	// connections at once: the server's backend formatting the rows is
	// the slower end of a stream, and a machine has more than one core.
	parts := splitDays(scanFrom, req.End)
	folds := make([]*streamFold, len(parts))
	folds[0] = newStreamFold(f)
	for i := 1; i < len(parts); i++ {
		folds[i] = folds[0].fresh()
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, days := range parts {
		q := fmt.Sprintf("COPY (SELECT %s FROM activities WHERE day >= '%s' AND day <= '%s'%s) TO STDOUT (FORMAT binary)",
			cols, days.From.Format(DateLayout), days.To.Format(DateLayout), scoped)
		g.Go(func() error { return copyActivities(gctx, cfg, q, folds[i], totals, recovered) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("facts: activities: %w", err)
	}
	for _, o := range folds[1:] {
		folds[0].merge(o)
	}
	folds[0].finish()
	return nil
}

// splitDays splits from..to in two at the quarter start nearest its middle
// (the table's partitions are quarters), or leaves it whole when it is
// short or within one quarter.
func splitDays(from, to time.Time) []rules.DateRange {
	whole := []rules.DateRange{{From: from, To: to}}
	if to.Sub(from) < 60*24*time.Hour {
		return whole
	}
	mid := from.Add(to.Sub(from) / 2)
	best := time.Time{}
	for q := time.Date(from.Year(), time.Month((int(from.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC); !q.After(to); q = q.AddDate(0, 3, 0) {
		if q.After(from) && (best.IsZero() || q.Sub(mid).Abs() < best.Sub(mid).Abs()) {
			best = q
		}
	}
	if best.IsZero() {
		return whole
	}
	return []rules.DateRange{{From: from, To: best.AddDate(0, 0, -1)}, {From: best, To: to}}
}

// copyActivities runs one COPY of activity rows on a connection of its own
// and counts them into acc.
func copyActivities(ctx context.Context, cfg *pgconn.Config, q string, acc *streamFold, totals, recovered bool) error {
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	wantFields := 4 + btoi(totals) + btoi(recovered)
	rows := &binaryCopy{row: func(fields [][]byte) error {
		if len(fields) != wantFields || len(fields[0]) != 8 || len(fields[1]) != 8 || len(fields[3]) != 4 {
			return errors.New("unexpected row shape")
		}
		k := rules.KindIndexOf(fields[2])
		if k < 0 {
			return fmt.Errorf("unknown kind %q", fields[2])
		}
		var count int32
		var fen int64
		i := 4
		if totals {
			if len(fields[i]) != 4 {
				return errors.New("unexpected count")
			}
			count = int32(binary.BigEndian.Uint32(fields[i]))
			i++
		}
		if recovered {
			if len(fields[i]) != 8 {
				return errors.New("unexpected amount")
			}
			fen = int64(binary.BigEndian.Uint64(fields[i]))
		}
		acc.add(int64(binary.BigEndian.Uint64(fields[0])), int64(binary.BigEndian.Uint64(fields[1])), k,
			int32(binary.BigEndian.Uint32(fields[3])), count, fen)
		return nil
	}}
	if _, err := conn.CopyTo(ctx, rows, q); err != nil {
		return err
	}
	return rows.finish()
}

// streamFold counts raw records into flat arrays laid out for the cache —
// per village (and per serving adviser) and kind, one slot per window bucket
// side by side — and hands the sums to the factsFold at the end.
//
// Windows all end on End, so they nest: a record is counted once, in the
// bucket between the newest window start at or before its day and the next
// one, and a window is the sum of the buckets from its start on.
type streamFold struct {
	f        *factsFold
	starts   []int32 // distinct window starts, newest first, as PostgreSQL days
	span     []int   // per window: how many buckets it sums (starts[:span] are in it)
	village  idIndex
	adviser  idIndex
	villages slots   // [village][kind]: events and total per bucket, then the last day
	advisers slots   // [adviser][kind]: the same, the last day unused
	vfen     []int64 // [village][bucket] recovered fen
	served   [][]*rules.Tallies
	last     bool  // whether Facts.Last is asked
	from     int32 // the lookback's start
}

func newStreamFold(f *factsFold) *streamFold {
	s := &streamFold{f: f, last: !f.req.LookbackFrom.IsZero(), from: pgDay(f.req.LookbackFrom)}
	for _, w := range f.req.Windows {
		s.starts = append(s.starts, pgDay(w.From))
	}
	slices.Sort(s.starts)
	s.starts = slices.Compact(s.starts)
	slices.Reverse(s.starts)
	for _, w := range f.req.Windows {
		s.span = append(s.span, slices.Index(s.starts, pgDay(w.From))+1)
	}
	nb := len(s.starts)
	s.village = newIDIndex(f.byID)
	s.vfen = make([]int64, len(f.out)*nb)
	adviserPos := make(map[int64]int, len(f.served))
	for id, ts := range f.served {
		adviserPos[id] = len(s.served)
		s.served = append(s.served, ts)
	}
	s.adviser = newIDIndex(adviserPos)
	s.villages = newSlots(len(f.out), nb, s.last, s.from)
	s.advisers = newSlots(len(s.served), nb, false, 0)
	return s
}

// fresh is another fold over the same facts with counters of its own, for
// another stream; merge adds it back.
func (s *streamFold) fresh() *streamFold {
	o := *s
	o.vfen = make([]int64, len(s.vfen))
	o.villages = newSlots(len(s.f.out), len(s.starts), s.last, s.from)
	o.advisers = newSlots(len(s.served), len(s.starts), false, 0)
	return &o
}

// merge adds o's counts to s's.
func (s *streamFold) merge(o *streamFold) {
	for i, fen := range o.vfen {
		s.vfen[i] += fen
	}
	s.villages.merge(&o.villages)
	s.advisers.merge(&o.advisers)
}

// add counts one record of kind k on day in village vid by adviser aid.
func (s *streamFold) add(vid, aid int64, k int, day, count int32, fen int64) {
	b := 0
	for b < len(s.starts) && day < s.starts[b] {
		b++
	}
	inWindows := b < len(s.starts)
	if v := s.village.get(vid); v >= 0 && (inWindows || s.last && day >= s.from) {
		s.villages.add(v, k, b, day, count)
		if fen != 0 && inWindows {
			s.vfen[v*len(s.starts)+b] += fen
		}
	}
	if a := s.adviser.get(aid); a >= 0 && inWindows {
		s.advisers.add(a, k, b, day, count)
	}
}

// finish hands the sums to the facts.
func (s *streamFold) finish() {
	s.villages.flush()
	s.advisers.flush()
	nb := len(s.starts)
	for i := range s.f.out {
		to := foldTarget{village: &s.f.out[i]}
		s.handOver(to, &s.villages, i)
		for k := range rules.NumKinds {
			if last := s.villages.of(i, k)[s.villages.stride-1]; s.last && last != noDay {
				s.f.noteLast(to, k, timeOfPGDay(last))
			}
		}
		for w := range s.span {
			if s.f.req.Recovered[w] {
				for b := range s.span[w] {
					s.f.out[i].Windows[w].RecoveredFen += s.vfen[i*nb+b]
				}
			}
		}
	}
	for a, ts := range s.served {
		s.handOver(foldTarget{adviser: ts}, &s.advisers, a)
	}
}

// handOver adds entity i's counts of every kind, summed per window over the
// window's buckets, to the target.
func (s *streamFold) handOver(to foldTarget, sl *slots, i int) {
	for k := range rules.NumKinds {
		slot := sl.of(i, k)
		for w, span := range s.span {
			var t rules.Tally
			for b := range span {
				t.Events += slot[2*b]
				t.Total += slot[2*b+1]
			}
			if t.Events > 0 {
				s.f.add(to, k, w, t, 0)
			}
		}
	}
}

// slots are the counters of villages or advisers, per kind: events and total
// per window bucket, then the newest day (when asked).
//
// Records arrive on random villages and advisers, so nearly every one (five
// million) misses the CPU's cache. Counted as they arrive, each miss stalls
// the parsing; queued and counted in batches by a tight loop, the misses of
// successive records overlap (twice as fast in BenchmarkStreamFold).
type slots struct {
	acc     []int32
	stride  int // int32 slots per entity and kind
	buckets int32
	last    bool
	from    int32
	pending []slotRecord
}

// slotRecord is a queued record: the index in acc of its bucket's event count
// (the total follows; the kind's last slot holds the newest day; a bucket
// past the windows only notes the day), its day and its count.
type slotRecord struct{ slot, day, count int32 }

// batch is how many records wait at most: 768 KB.
const batch = 1 << 16

// noDay marks "no record" in a last-day slot.
const noDay = -1 << 31

func newSlots(n, buckets int, last bool, from int32) slots {
	s := slots{stride: 2*buckets + 1, buckets: int32(buckets), last: last, from: from}
	s.acc = make([]int32, n*rules.NumKinds*s.stride)
	if last {
		for i := s.stride - 1; i < len(s.acc); i += s.stride {
			s.acc[i] = noDay
		}
	}
	return s
}

// of is entity i's slots of kind k.
func (s *slots) of(i, k int) []int32 {
	return s.acc[(i*rules.NumKinds+k)*s.stride:][:s.stride]
}

// add queues a record of kind k on day, in bucket b, for entity i.
func (s *slots) add(i, k, b int, day, count int32) {
	if s.pending == nil {
		s.pending = make([]slotRecord, 0, batch)
	}
	s.pending = append(s.pending, slotRecord{slot: int32((i*rules.NumKinds+k)*s.stride + 2*b), day: day, count: count})
	if len(s.pending) == batch {
		s.flush()
	}
}

// merge adds o's counts to s's (the newest of their last days).
func (s *slots) merge(o *slots) {
	s.flush()
	o.flush()
	for i, n := range o.acc {
		if i%s.stride == s.stride-1 {
			s.acc[i] = max(s.acc[i], n)
		} else {
			s.acc[i] += n
		}
	}
}

// flush counts the queued records.
func (s *slots) flush() {
	stride := int32(s.stride)
	for _, r := range s.pending {
		first := r.slot - r.slot%stride // the kind's first slot
		if (r.slot-first)/2 < s.buckets {
			s.acc[r.slot]++
			s.acc[r.slot+1] += r.count
		}
		if last := first + stride - 1; s.last && r.day >= s.from && r.day > s.acc[last] {
			s.acc[last] = r.day
		}
	}
	s.pending = s.pending[:0]
}

// idIndex maps database ids to positions: a slice over the ids' range when
// it is compact (serials usually are), else a map.
type idIndex struct {
	min    int64
	dense  []int32
	sparse map[int64]int
}

func newIDIndex(pos map[int64]int) idIndex {
	if len(pos) == 0 {
		return idIndex{}
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for id := range pos {
		lo, hi = min(lo, id), max(hi, id)
	}
	if hi-lo >= int64(4*len(pos)+1024) {
		return idIndex{sparse: pos}
	}
	x := idIndex{min: lo, dense: make([]int32, hi-lo+1)}
	for i := range x.dense {
		x.dense[i] = -1
	}
	for id, p := range pos {
		x.dense[id-lo] = int32(p)
	}
	return x
}

// get is id's position, or -1.
func (x *idIndex) get(id int64) int {
	if x.sparse != nil {
		if p, ok := x.sparse[id]; ok {
			return p
		}
		return -1
	}
	if id < x.min || id-x.min >= int64(len(x.dense)) {
		return -1
	}
	return int(x.dense[id-x.min])
}

// pgEpoch is day 0 of PostgreSQL's binary dates.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// pgDay is a civil date (midnight UTC) as a PostgreSQL binary date.
func pgDay(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(pgEpoch) / (24 * time.Hour))
}

// timeOfPGDay is the civil date (midnight UTC) of a PostgreSQL binary date.
func timeOfPGDay(d int32) time.Time {
	return time.Unix(pgEpoch.Unix()+int64(d)*86400, 0).UTC()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// joinIDs lists a map's integer keys for an array literal.
func joinIDs[V any](m map[int64]V) string {
	var b strings.Builder
	for id := range m {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// binaryCopy parses PostgreSQL's binary COPY format (the signature, flags
// and header extension, then tuples of length-prefixed fields, then the
// trailer -1) from a stream written in chunks of any size, calling row for
// each tuple. The fields passed to row are valid only during the call; a NULL
// field is nil.
type binaryCopy struct {
	row     func(fields [][]byte) error
	pending []byte // an incomplete tail carried to the next Write
	header  bool   // the header has been read
	done    bool   // the trailer has been read
	fields  [][]byte
	rows    int
}

// copySignature opens every binary COPY stream.
var copySignature = []byte("PGCOPY\n\377\r\n\x00")

func (c *binaryCopy) Write(p []byte) (int, error) {
	data := p
	if len(c.pending) > 0 {
		c.pending = append(c.pending, p...)
		data = c.pending
	}
	used, err := c.parse(data)
	if err != nil {
		return 0, err
	}
	// copy, not append: the rest may overlap pending.
	rest := data[used:]
	if cap(c.pending) < len(rest) {
		c.pending = make([]byte, len(rest), 2*len(rest))
	}
	c.pending = c.pending[:len(rest)]
	copy(c.pending, rest)
	return len(p), nil
}

// parse consumes the complete parts of data and returns how many bytes.
func (c *binaryCopy) parse(data []byte) (int, error) {
	pos := 0
	if !c.header {
		const fixed = 11 + 4 + 4 // signature, flags, extension length
		if len(data) < fixed {
			return 0, nil
		}
		if !bytes.Equal(data[:11], copySignature) {
			return 0, errors.New("binary COPY: bad signature")
		}
		ext := int(binary.BigEndian.Uint32(data[15:19]))
		if len(data) < fixed+ext {
			return 0, nil
		}
		pos, c.header = fixed+ext, true
	}
	for pos < len(data) {
		if c.done {
			return 0, errors.New("binary COPY: data after the trailer")
		}
		if len(data)-pos < 2 {
			break
		}
		n := int16(binary.BigEndian.Uint16(data[pos:]))
		if n == -1 {
			c.done = true
			pos += 2
			continue
		}
		if n < 0 {
			return 0, fmt.Errorf("binary COPY: bad field count %d", n)
		}
		c.fields = c.fields[:0]
		at, complete := pos+2, true
		for range n {
			if len(data)-at < 4 {
				complete = false
				break
			}
			l := int32(binary.BigEndian.Uint32(data[at:]))
			at += 4
			if l == -1 {
				c.fields = append(c.fields, nil)
				continue
			}
			if l < 0 {
				return 0, fmt.Errorf("binary COPY: bad field length %d", l)
			}
			if len(data)-at < int(l) {
				complete = false
				break
			}
			c.fields = append(c.fields, data[at:at+int(l):at+int(l)])
			at += int(l)
		}
		if !complete {
			break
		}
		if err := c.row(c.fields); err != nil {
			return 0, fmt.Errorf("binary COPY row %d: %w", c.rows+1, err)
		}
		c.rows++
		pos = at
	}
	return pos, nil
}

// finish checks that the stream ended with its trailer.
func (c *binaryCopy) finish() error {
	if !c.done || len(c.pending) > 0 {
		return errors.New("binary COPY: stream ended early")
	}
	return nil
}
