package crashtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// killPoints is how many random kill moments each crash test tries.
const killPoints = 5

func (e *env) writeConfig(body string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// hookConfig routes every kind of notification to a webhook at url; lease
// is the dispatcher's claim lease (in the simulated clock's time when
// serving).
func hookConfig(url, lease, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rounds:\n  order_on_open: true\n  publish_on_close: false\nnotify:\n  channels:\n    hook: {type: webhook, url: %q, secret: crash-test-secret}\n  routes:\n", url)
	for _, k := range []string{"order", "rejection", "reminder", "interview", "accountability", "bulletin", "digest"} {
		fmt.Fprintf(&b, "    %s: {to: [supervisors], channels: [hook]}\n", k)
	}
	fmt.Fprintf(&b, "  dispatch: {lease: %s, max_age: 1000000h, poll: 50ms, base_backoff: 1s, max_backoff: 10s}\n", lease)
	b.WriteString(extra)
	return b.String()
}

func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(rng.Float64() * float64(d))
}

// late is a kill moment in the later part of a command's run (full is how
// long a full run takes), where its transaction is open, or just after.
func late(rng *rand.Rand, full time.Duration) time.Duration {
	return full/3 + jitter(rng, full*4/5)
}

// TestCrashRoundOpen kills `ducha round open` over a 600-village county at
// random moments: afterwards every invariant holds and each round is either
// complete or absent (and present when the command said it was opened).
func TestCrashRoundOpen(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rng := seed(t)
		e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
		e.load(county{townships: 12, perTownship: 50})
		rules := checklist(t)
		start := time.Now()
		e.must("round", "open", "--rules", rules, "--period", "2018-01-01..2018-03-31", "--as", "boss")
		full := time.Since(start)
		t.Logf("a full round open takes %v", full)
		if n := e.count(`SELECT COUNT(*) FROM findings`); n < 500 {
			t.Fatalf("the county should give a sizeable round: %d findings", n)
		}
		killed := 0
		for i := 0; i < killPoints; i++ {
			before := e.count(`SELECT COUNT(*) FROM rounds`)
			period := fmt.Sprintf("2018-%02d-01..2018-%02d-%02d", i+4, i+4, []int{30, 31, 30, 31, 31}[i])
			if i+4 > 8 {
				period = "2018-01-01..2018-06-30"
			}
			o := e.killAfter(late(rng, full), "round", "open", "--rules", rules, "--period", period, "--as", "boss")
			e.audit(fmt.Sprintf("kill point %d", i))
			after := e.count(`SELECT COUNT(*) FROM rounds`)
			switch {
			case after != before && after != before+1:
				t.Fatalf("kill point %d: %d rounds before, %d after", i, before, after)
			case !o.killed && o.code == 0 && after != before+1:
				t.Fatalf("kill point %d: round open said it succeeded but no round was stored\n%s", i, o.out)
			case o.killed && after == before+1:
				t.Logf("kill point %d: killed after the commit", i)
			case o.killed:
				killed++
			}
		}
		t.Logf("%d of %d kills landed before the round was committed", killed, killPoints)
	})
}

// TestCrashImport kills `ducha import activities` of a 40,000-row file at
// random moments: afterwards the file's rows are all there or none.
func TestCrashImport(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rng := seed(t)
		e.writeConfig("{}\n")
		c := county{townships: 5, perTownship: 20}
		e.load(c)
		const rows = 40000
		file := func(batch int) string {
			out := [][]string{{"adviser", "village", "kind", "date", "count", "amount_yuan", "note"}}
			for i := 0; i < rows; i++ {
				v := i % c.villages()
				day := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i/c.villages())%180)
				out = append(out, []string{adviserCode(v / 4), villageCode(v), "consultation", day.Format(time.DateOnly),
					"2", "", fmt.Sprintf("批次%d-%d", batch, i)})
			}
			return e.writeCSV(fmt.Sprintf("batch%d.csv", batch), out)
		}
		inBatch := func(batch int) int {
			return e.count(`SELECT COUNT(*) FROM activities WHERE note LIKE ?`, fmt.Sprintf("批次%d-%%", batch))
		}
		f0 := file(0)
		start := time.Now()
		e.must("import", "activities", f0)
		full := time.Since(start)
		t.Logf("a full import of %d rows takes %v", rows, full)
		if n := inBatch(0); n != rows {
			t.Fatalf("batch 0: %d rows imported, want %d", n, rows)
		}
		partial := 0
		for b := 1; b <= killPoints; b++ {
			f := file(b)
			o := e.killAfter(late(rng, full), "import", "activities", f)
			e.audit(fmt.Sprintf("batch %d", b))
			n := inBatch(b)
			switch {
			case n != 0 && n != rows:
				t.Fatalf("batch %d: %d of %d rows after the kill (half an import)", b, n, rows)
			case !o.killed && o.code == 0 && n != rows:
				t.Fatalf("batch %d: import said it succeeded, %d rows stored\n%s", b, n, o.out)
			case o.killed && n == 0:
				partial++
			}
		}
		t.Logf("%d of %d kills landed before the import was committed", partial, killPoints)
	})
}

// TestCrashFindingBurst kills a burst of concurrent transitions — several
// `ducha finding dismiss` processes and a `ducha workflow sweep` (which
// expires, summons and escalates every overdue finding, each in its own
// transaction) — at random moments: afterwards every invariant holds, and a
// dismissal acknowledged with exit 0 is stored.
func TestCrashFindingBurst(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rng := seed(t)
		e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
		e.load(county{townships: 4, perTownship: 25})
		e.must("round", "open", "--rules", checklist(t), "--period", "2018-01-01..2018-06-30", "--as", "boss")
		db := e.db()
		var ids []int64
		if err := db.X.Select(&ids, `SELECT id FROM findings WHERE state = 'ordered' ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		const perBurst = 6
		if len(ids) < killPoints*perBurst {
			t.Fatalf("only %d ordered findings", len(ids))
		}
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for b := 0; b < killPoints; b++ {
			burst := ids[b*perBurst : (b+1)*perBurst]
			delay := jitter(rng, 1500*time.Millisecond)
			var wg sync.WaitGroup
			res := make([]outcome, len(burst)+1)
			for i, id := range burst {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i] = e.killAfter(delay, "finding", "dismiss", strconv.FormatInt(id, 10), "--as", "boss", "--reason", "崩溃测试撤销")
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[len(burst)] = e.killAfter(delay, "workflow", "sweep")
			}()
			wg.Wait()
			e.audit(fmt.Sprintf("burst %d (kill after %v)", b, delay))
			done := 0
			for i, id := range burst {
				if o := res[i]; !o.killed && o.code == 0 {
					done++
					if n := e.count(`SELECT COUNT(*) FROM findings WHERE id = ? AND state = 'dismissed'`, id); n != 1 {
						t.Fatalf("burst %d: dismissal of %d acknowledged but not stored\n%s", b, id, o.out)
					}
				}
			}
			t.Logf("burst %d: killed after %v, %d of %d dismissals finished", b, delay, done, len(burst))
		}
		if n := e.count(`SELECT COUNT(*) FROM finding_history`); n <= len(ids) {
			t.Fatalf("the bursts made no transitions: %d history rows", n)
		}
	})
}

// TestCrashBulletinPublish kills concurrent `ducha bulletin publish`
// processes (one per round) at random moments: afterwards the bulletin
// numbers of the year are gap-free (audit verify), and every publication
// acknowledged with exit 0 is stored.
func TestCrashBulletinPublish(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rng := seed(t)
		e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
		e.load(county{townships: 4, perTownship: 25})
		const rounds = killPoints * 3
		for m := 1; m <= rounds; m++ {
			e.must("round", "open", "--rules", checklist(t), "--period", fmt.Sprintf("2018-%02d-01..2018-%02d-28", (m-1)%12+1, (m-1)%12+1), "--as", "boss")
		}
		start := time.Now()
		e.must("bulletin", "publish", "--round", "1", "--as", "boss")
		full := time.Since(start)
		next := 2
		for k := 0; k < killPoints; k++ {
			// Two processes contend for the year's counter: each takes longer
			// than one alone. The last moment is generous, so that some
			// publications complete even when the machine is busier than it
			// was while full was measured.
			delay := full/2 + jitter(rng, full*2)
			if k == killPoints-1 {
				delay = 10 * full
			}
			ids := []int{next, next + 1}
			next += 2
			res := make([]outcome, len(ids))
			var wg sync.WaitGroup
			for i, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i] = e.killAfter(delay, "bulletin", "publish", "--round", strconv.Itoa(id), "--as", "boss")
				}()
			}
			wg.Wait()
			e.audit(fmt.Sprintf("kill point %d (after %v)", k, delay))
			for i, id := range ids {
				if o := res[i]; !o.killed && o.code == 0 {
					if n := e.count(`SELECT COUNT(*) FROM bulletins WHERE round_id = ?`, id); n != 1 {
						t.Fatalf("kill point %d: bulletin of round %d acknowledged, %d stored\n%s", k, id, n, o.out)
					}
				}
			}
		}
		n := e.count(`SELECT COUNT(*) FROM bulletins`)
		t.Logf("%d bulletins published (one full publication takes %v)", n, full)
		if n < 2 {
			t.Fatalf("no publication survived a kill: the kill moments are too early to test anything")
		}
	})
}
