package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ducha/workflow"
)

// Invariant names, one per promise docs/RELIABILITY.md makes.
const (
	InvRound    = "round"    // no half round
	InvHistory  = "history"  // no finding without its history
	InvChain    = "chain"    // history hash chains intact
	InvOutbox   = "outbox"   // no message lost or delivered twice
	InvBulletin = "bulletin" // bulletin numbers gap-free per year
	InvRefs     = "refs"     // every reference of the hot-path tables resolves
)

// Violation is one broken invariant, naming the row it was found on.
type Violation struct {
	Invariant string `json:"invariant"`
	Row       string `json:"row"`     // e.g. "rounds.id=12"
	Message   string `json:"message"` // Chinese, for the user
}

func (v Violation) String() string { return fmt.Sprintf("[%s] %s: %s", v.Invariant, v.Row, v.Message) }

// InvariantReport is what CheckInvariants found.
type InvariantReport struct {
	Rounds     int         `json:"rounds"`
	Findings   int         `json:"findings"`
	Entries    int         `json:"entries"`
	Messages   int         `json:"messages"`
	Bulletins  int         `json:"bulletins"`
	Violations []Violation `json:"violations"`
	// Notes are states that are not violations but that an operator may want
	// to know about, such as claims whose lease ended (the next dispatcher
	// takes them over).
	Notes []string `json:"notes,omitempty"`
}

// OK reports whether no invariant is violated.
func (r *InvariantReport) OK() bool { return len(r.Violations) == 0 }

func (r *InvariantReport) add(inv, row, format string, args ...any) {
	r.Violations = append(r.Violations, Violation{inv, row, fmt.Sprintf(format, args...)})
}

// CheckInvariants checks every invariant of the stored data and reports each
// violation (the chain check stops at a chain's first break, as
// workflow.VerifyChains does). now decides which sending claims are past
// their lease. It reads with set-based queries, a handful in all.
//
// Rounds are written in one transaction (workflow.Rounds.Open), so "half a
// round" is any of: a round whose round_villages rows are not rounds.villages
// in number; whose findings (round_id = the round) are not
// rounds.new_findings in number, or were not created at the round's opening
// instant with a discover entry naming the round; whose recur entries (payload
// round = the round) are not rounds.repeat_findings in number; a scheduled
// round without exactly its schedule_fires claim, or a claim naming a round
// that does not exist or belongs to another schedule or fire.
func (db *DB) CheckInvariants(ctx context.Context, now time.Time) (*InvariantReport, error) {
	rep := &InvariantReport{Violations: []Violation{}}
	for _, check := range []func(context.Context, *InvariantReport, time.Time) error{
		db.checkRounds, db.checkHistory, db.checkChains, db.checkOutbox, db.checkBulletins, db.checkRefs,
	} {
		if err := check(ctx, rep, now); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func roundName(id int64) string { return fmt.Sprintf("rounds.id=%d", id) }

func (db *DB) checkRounds(ctx context.Context, rep *InvariantReport, _ time.Time) error {
	var rounds []struct {
		ID       int64   `db:"id"`
		Schedule string  `db:"schedule"`
		FireAt   Instant `db:"fire_at"`
		OpenedAt Instant `db:"opened_at"`
		Villages int     `db:"villages"`
		New      int     `db:"new_findings"`
		Repeat   int     `db:"repeat_findings"`
		RV       int     `db:"rv"`
		F        int     `db:"f"`
	}
	err := db.X.SelectContext(ctx, &rounds, `SELECT r.id, r.schedule, r.fire_at, r.opened_at, r.villages,
			r.new_findings, r.repeat_findings, COALESCE(rv.n, 0) AS rv, COALESCE(f.n, 0) AS f
		FROM rounds r
		LEFT JOIN (SELECT round_id, COUNT(*) AS n FROM round_villages GROUP BY round_id) rv ON rv.round_id = r.id
		LEFT JOIN (SELECT round_id, COUNT(*) AS n FROM findings WHERE round_id IS NOT NULL GROUP BY round_id) f
			ON f.round_id = r.id
		ORDER BY r.id`)
	if err != nil {
		return fmt.Errorf("audit rounds: %w", err)
	}
	rep.Rounds = len(rounds)
	type roundInfo struct {
		schedule string
		fireAt   time.Time
		opened   time.Time
	}
	byID := make(map[int64]roundInfo, len(rounds))
	for _, r := range rounds {
		byID[r.ID] = roundInfo{r.Schedule, r.FireAt.T(), r.OpenedAt.T()}
		if r.RV != r.Villages {
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查记载检查了 %d 个村, 但 round_villages 中有 %d 条 (半截督查)", r.ID, r.Villages, r.RV)
		}
		if r.F != r.New {
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查记载新发现问题 %d 个, 但属于该轮的问题有 %d 个 (半截督查)", r.ID, r.New, r.F)
		}
	}

	// Every finding of a round was discovered in the round's transaction.
	var firsts []struct {
		ID      int64   `db:"id"`
		Round   int64   `db:"round_id"`
		Created Instant `db:"created_at"`
		Event   *string `db:"event"`
		Payload *string `db:"payload"`
	}
	err = db.X.SelectContext(ctx, &firsts, `SELECT f.id, f.round_id, f.created_at, h.event, h.payload
		FROM findings f LEFT JOIN finding_history h ON h.finding_id = f.id AND h.seq = 1
		WHERE f.round_id IS NOT NULL ORDER BY f.id`)
	if err != nil {
		return fmt.Errorf("audit round findings: %w", err)
	}
	for _, f := range firsts {
		row := fmt.Sprintf("findings.id=%d", f.ID)
		r, ok := byID[f.Round]
		switch {
		case !ok:
			rep.add(InvRound, row, "问题 %d 属于不存在的第 %d 轮督查", f.ID, f.Round)
		case !f.Created.T().Equal(r.opened):
			rep.add(InvRound, row, "问题 %d 的发现时间 %s 与第 %d 轮督查的开启时间 %s 不同 (不在同一事务中写入)",
				f.ID, f.Created.T().UTC().Format(time.RFC3339Nano), f.Round, r.opened.UTC().Format(time.RFC3339Nano))
		case f.Event == nil:
			// Reported by the history check.
		case *f.Event != string(workflow.Discover) || payloadField(deref(f.Payload), "round") != strconv.FormatInt(f.Round, 10):
			rep.add(InvRound, row, "问题 %d 的第 1 条处理记录不是第 %d 轮督查的发现记录 (事件 %s)", f.ID, f.Round, *f.Event)
		}
	}

	// Repeats: one recur entry per repeat, naming the round.
	var recurs []struct {
		Finding int64   `db:"finding_id"`
		Seq     int     `db:"seq"`
		Payload string  `db:"payload"`
		At      Instant `db:"at"`
	}
	if err := db.X.SelectContext(ctx, &recurs, db.Rebind(`SELECT finding_id, seq, payload, at FROM finding_history
		WHERE event = ? ORDER BY finding_id, seq`), string(workflow.Recur)); err != nil {
		return fmt.Errorf("audit repeats: %w", err)
	}
	repeats := map[int64]int{}
	for _, h := range recurs {
		row := fmt.Sprintf("finding_history(finding_id=%d, seq=%d)", h.Finding, h.Seq)
		id, err := strconv.ParseInt(payloadField(h.Payload, "round"), 10, 64)
		r, ok := byID[id]
		switch {
		case err != nil || !ok:
			rep.add(InvRound, row, "问题 %d 的再次发现记录指向不存在的督查轮次 %q", h.Finding, payloadField(h.Payload, "round"))
			continue
		case !h.At.T().Equal(r.opened):
			rep.add(InvRound, row, "问题 %d 的再次发现记录时间与第 %d 轮督查的开启时间不同 (不在同一事务中写入)", h.Finding, id)
		}
		repeats[id]++
	}
	for _, r := range rounds {
		if repeats[r.ID] != r.Repeat {
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查记载再次发现问题 %d 个, 但再次发现记录有 %d 条 (半截督查)", r.ID, r.Repeat, repeats[r.ID])
		}
	}

	// Scheduled rounds and their fire claims, both ways.
	var fires []struct {
		Schedule string  `db:"schedule"`
		FireAt   Instant `db:"fire_at"`
		Round    int64   `db:"round_id"`
	}
	if err := db.X.SelectContext(ctx, &fires, `SELECT schedule, fire_at, round_id FROM schedule_fires ORDER BY schedule, fire_at`); err != nil {
		return fmt.Errorf("audit schedule fires: %w", err)
	}
	claims := map[int64]int{}
	for _, f := range fires {
		row := fmt.Sprintf("schedule_fires(schedule=%s, fire_at=%s)", f.Schedule, f.FireAt.T().UTC().Format(time.RFC3339))
		r, ok := byID[f.Round]
		switch {
		case !ok:
			rep.add(InvRound, row, "计划 %s 在 %s 的触发记录指向不存在的第 %d 轮督查 (督查丢失)", f.Schedule, f.FireAt.T().In(workflow.Shanghai).Format("2006-01-02 15:04"), f.Round)
		case r.schedule != f.Schedule || !r.fireAt.Equal(f.FireAt.T()):
			rep.add(InvRound, row, "触发记录指向的第 %d 轮督查属于计划 %q 的 %s 次触发", f.Round, r.schedule, r.fireAt.In(workflow.Shanghai).Format("2006-01-02 15:04"))
		}
		claims[f.Round]++
	}
	for _, r := range rounds {
		switch n := claims[r.ID]; {
		case r.Schedule != "" && n == 0:
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查由计划 %s 开启, 但没有对应的触发记录", r.ID, r.Schedule)
		case r.Schedule == "" && n > 0:
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查为手动开启, 却有 %d 条计划触发记录", r.ID, n)
		case n > 1:
			rep.add(InvRound, roundName(r.ID), "第 %d 轮督查有 %d 条计划触发记录 (应为 1 条)", r.ID, n)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// payloadField reads one string field of a history entry's JSON payload.
func payloadField(payload, key string) string {
	var m map[string]any
	if json.Unmarshal([]byte(payload), &m) != nil {
		return ""
	}
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func (db *DB) checkHistory(ctx context.Context, rep *InvariantReport, _ time.Time) error {
	if err := db.X.GetContext(ctx, &rep.Findings, `SELECT COUNT(*) FROM findings`); err != nil {
		return fmt.Errorf("audit findings: %w", err)
	}
	var bad []struct {
		ID      int64   `db:"id"`
		State   string  `db:"state"`
		LastSeq int     `db:"last_seq"`
		Hash    string  `db:"last_hash"`
		N       int     `db:"n"`
		Min     int     `db:"mn"`
		Max     int     `db:"mx"`
		Head    *string `db:"head"`
		HeadTo  *string `db:"head_to"`
		First   *string `db:"first_event"`
	}
	err := db.X.SelectContext(ctx, &bad, `SELECT f.id, f.state, f.last_seq, f.last_hash,
			COALESCE(h.n, 0) AS n, COALESCE(h.mn, 0) AS mn, COALESCE(h.mx, 0) AS mx,
			hl.hash AS head, hl.to_state AS head_to, h1.event AS first_event
		FROM findings f
		LEFT JOIN (SELECT finding_id, COUNT(*) AS n, MIN(seq) AS mn, MAX(seq) AS mx FROM finding_history
			GROUP BY finding_id) h ON h.finding_id = f.id
		LEFT JOIN finding_history hl ON hl.finding_id = f.id AND hl.seq = f.last_seq
		LEFT JOIN finding_history h1 ON h1.finding_id = f.id AND h1.seq = 1
		WHERE h.n IS NULL OR h.n <> f.last_seq OR h.mn <> 1 OR h.mx <> f.last_seq
			OR hl.hash IS NULL OR hl.hash <> f.last_hash OR hl.to_state <> f.state
			OR h1.event IS NULL OR h1.event <> 'discover'
		ORDER BY f.id`)
	if err != nil {
		return fmt.Errorf("audit history: %w", err)
	}
	for _, f := range bad {
		row := fmt.Sprintf("findings.id=%d", f.ID)
		switch {
		case f.N == 0:
			rep.add(InvHistory, row, "问题 %d 没有任何处理记录", f.ID)
		case f.N != f.LastSeq || f.Min != 1 || f.Max != f.LastSeq:
			rep.add(InvHistory, row, "问题 %d 记载最后一条处理记录为第 %d 条, 实有 %d 条 (第 %d 至 %d 条)", f.ID, f.LastSeq, f.N, f.Min, f.Max)
		case f.Head == nil || *f.Head != f.Hash:
			rep.add(InvHistory, row, "问题 %d 记载的最后一条记录的哈希与第 %d 条记录不符", f.ID, f.LastSeq)
		case deref(f.HeadTo) != f.State:
			rep.add(InvHistory, row, "问题 %d 的状态为 %s, 但最后一条处理记录转入 %s", f.ID, f.State, deref(f.HeadTo))
		default:
			rep.add(InvHistory, row, "问题 %d 的第 1 条处理记录不是发现记录 (事件 %s)", f.ID, deref(f.First))
		}
	}
	var orphans []int64
	if err := db.X.SelectContext(ctx, &orphans, `SELECT DISTINCT h.finding_id FROM finding_history h
		LEFT JOIN findings f ON f.id = h.finding_id WHERE f.id IS NULL ORDER BY h.finding_id`); err != nil {
		return fmt.Errorf("audit history: %w", err)
	}
	for _, id := range orphans {
		rep.add(InvHistory, fmt.Sprintf("finding_history(finding_id=%d)", id), "处理记录属于不存在的问题 %d", id)
	}
	return nil
}

func (db *DB) checkChains(ctx context.Context, rep *InvariantReport, _ time.Time) error {
	res, err := workflow.VerifyChains(ctx, NewFindings(db))
	if err != nil {
		return fmt.Errorf("audit chains: %w", err)
	}
	rep.Entries = res.Entries
	if b := res.Break; b != nil {
		rep.add(InvChain, fmt.Sprintf("finding_history(finding_id=%d, seq=%d)", b.FindingID, b.Seq), "%s", b.Error())
	}
	return nil
}

// checkOutbox: the delivery log is split into segments by manual resends;
// each segment holds at most one delivered attempt (a second one is a second
// delivery of the same idempotency key); a delivered message has one in its
// last segment, a pending or sending one none (else it was delivered and will
// be sent again), a dead one a dead attempt; a finding's message names a
// history entry that exists (else it was written outside its cause's
// transaction).
func (db *DB) checkOutbox(ctx context.Context, rep *InvariantReport, now time.Time) error {
	var msgs []struct {
		ID        int64    `db:"id"`
		Cause     string   `db:"cause"`
		State     string   `db:"state"`
		Delivered *Instant `db:"delivered_at"`
		Claimed   *Instant `db:"claimed_until"`
	}
	err := db.X.SelectContext(ctx, &msgs, `SELECT id, cause, state, delivered_at, claimed_until FROM outbox ORDER BY id`)
	if err != nil {
		return fmt.Errorf("audit outbox: %w", err)
	}
	rep.Messages = len(msgs)
	var atts []struct {
		Message int64  `db:"message_id"`
		Attempt int    `db:"attempt"`
		Outcome string `db:"outcome"`
	}
	if err := db.X.SelectContext(ctx, &atts, `SELECT message_id, attempt, outcome FROM outbox_attempts ORDER BY message_id, id`); err != nil {
		return fmt.Errorf("audit delivery log: %w", err)
	}
	type tally struct{ delivered, dead, segments, maxDelivered int }
	log := map[int64]*tally{}
	for _, a := range atts {
		t := log[a.Message]
		if t == nil {
			t = &tally{segments: 1}
			log[a.Message] = t
		}
		switch a.Outcome {
		case "resend":
			t.segments++
			t.delivered, t.dead = 0, 0
		case "delivered":
			t.delivered++
			t.maxDelivered = max(t.maxDelivered, t.delivered)
		case "dead":
			t.dead++
		}
	}
	// Causes "finding:ID:seq:N" are matched against the history in Go.
	var entries map[historyKey]bool
	for _, m := range msgs {
		if _, _, ok := findingCause(m.Cause); ok {
			if entries, err = db.historyKeys(ctx); err != nil {
				return err
			}
			break
		}
	}
	stale := 0
	for _, m := range msgs {
		row := fmt.Sprintf("outbox.id=%d", m.ID)
		t := log[m.ID]
		if t == nil {
			t = &tally{segments: 1}
		}
		if t.maxDelivered > 1 {
			rep.add(InvOutbox, row, "通知 %d (%s) 被送达 %d 次 (同一幂等键重复发送)", m.ID, m.Cause, t.maxDelivered)
		}
		switch m.State {
		case "delivered":
			if t.delivered == 0 {
				rep.add(InvOutbox, row, "通知 %d 状态为已送达, 但发送记录中没有送达的尝试", m.ID)
			}
			if m.Delivered == nil {
				rep.add(InvOutbox, row, "通知 %d 状态为已送达, 但没有送达时间", m.ID)
			}
		case "pending", "sending":
			if t.delivered > 0 {
				rep.add(InvOutbox, row, "通知 %d 已送达 (发送记录), 但状态仍为 %s, 将被再次发送", m.ID, m.State)
			}
			if m.State == "sending" {
				if m.Claimed == nil {
					rep.add(InvOutbox, row, "通知 %d 处于发送中, 却没有租约期限", m.ID)
				} else if m.Claimed.T().Before(now) {
					stale++
				}
			}
		case "dead":
			if t.dead == 0 {
				rep.add(InvOutbox, row, "通知 %d 状态为发送失败, 但发送记录中没有失败的尝试", m.ID)
			}
		}
		if id, seq, ok := findingCause(m.Cause); ok && !entries[historyKey{id, seq}] {
			rep.add(InvOutbox, row, "通知 %d 的起因 %s 不存在 (通知与其起因不在同一事务中)", m.ID, m.Cause)
		}
	}
	if stale > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d 条通知处于发送中且租约已过期 (发送进程中断): 下一次派发会重新发送, 接收方可凭幂等键去重", stale))
	}
	return nil
}

type historyKey struct {
	finding int64
	seq     int
}

func (db *DB) historyKeys(ctx context.Context) (map[historyKey]bool, error) {
	var rows []struct {
		F int64 `db:"finding_id"`
		S int   `db:"seq"`
	}
	if err := db.X.SelectContext(ctx, &rows, `SELECT finding_id, seq FROM finding_history`); err != nil {
		return nil, fmt.Errorf("audit outbox causes: %w", err)
	}
	out := make(map[historyKey]bool, len(rows))
	for _, r := range rows {
		out[historyKey{r.F, r.S}] = true
	}
	return out, nil
}

// findingCause parses "finding:ID:seq:N".
func findingCause(cause string) (int64, int, bool) {
	p := strings.Split(cause, ":")
	if len(p) != 4 || p[0] != "finding" || p[2] != "seq" {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(p[1], 10, 64)
	seq, err2 := strconv.Atoi(p[3])
	return id, seq, err1 == nil && err2 == nil
}

func (db *DB) checkBulletins(ctx context.Context, rep *InvariantReport, _ time.Time) error {
	var rows []struct {
		ID   int64 `db:"id"`
		Year int   `db:"year"`
		Seq  int   `db:"seq"`
	}
	if err := db.X.SelectContext(ctx, &rows, `SELECT id, year, seq FROM bulletins ORDER BY year, seq`); err != nil {
		return fmt.Errorf("audit bulletins: %w", err)
	}
	rep.Bulletins = len(rows)
	var counters []struct {
		Year int `db:"year"`
		Last int `db:"last"`
	}
	if err := db.X.SelectContext(ctx, &counters, `SELECT year, last FROM bulletin_counters`); err != nil {
		return fmt.Errorf("audit bulletin counters: %w", err)
	}
	last := map[int]int{}
	years := map[int]bool{}
	for _, c := range counters {
		last[c.Year] = c.Last
		years[c.Year] = true
	}
	top := map[int]int{}
	for _, r := range rows {
		years[r.Year] = true
		if want := top[r.Year] + 1; r.Seq != want {
			rep.add(InvBulletin, fmt.Sprintf("bulletins.id=%d", r.ID), "%d年第%d期之前缺少第%d期 (编号不连续)", r.Year, r.Seq, want)
		}
		top[r.Year] = r.Seq
	}
	ys := make([]int, 0, len(years))
	for y := range years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	for _, y := range ys {
		if last[y] != top[y] {
			rep.add(InvBulletin, fmt.Sprintf("bulletin_counters.year=%d", y), "%d年的通报编号已用到第%d期, 但已发布的通报到第%d期为止 (编号空缺)", y, last[y], top[y])
		}
	}
	return nil
}

// references are the columns of the write-heavy tables that PostgreSQL
// does not check per row (migration 00009): each must name an existing
// parent row. row is a SQL expression naming the child row.
var references = []struct{ table, row, column, parent string }{
	{"activities", "'activities.id=' || c.id", "village_id", "villages"},
	{"activities", "'activities.id=' || c.id", "adviser_id", "advisers"},
	{"findings", "'findings.id=' || c.id", "round_id", "rounds"},
	{"findings", "'findings.id=' || c.id", "village_id", "villages"},
	{"findings", "'findings.id=' || c.id", "township_id", "townships"},
	{"findings", "'findings.id=' || c.id", "adviser_id", "advisers"},
	{"finding_history", "'finding_history.finding_id=' || c.finding_id || ',seq=' || c.seq", "finding_id", "findings"},
	{"round_villages", "'round_villages.round_id=' || c.round_id || ',village_id=' || c.village_id", "round_id", "rounds"},
	{"round_villages", "'round_villages.round_id=' || c.round_id || ',village_id=' || c.village_id", "village_id", "villages"},
	{"round_findings", "'round_findings.round_id=' || c.round_id || ',finding_id=' || c.finding_id", "round_id", "rounds"},
	{"round_findings", "'round_findings.round_id=' || c.round_id || ',finding_id=' || c.finding_id", "finding_id", "findings"},
}

// checkRefs reports up to 100 dangling references per column.
func (db *DB) checkRefs(ctx context.Context, rep *InvariantReport, _ time.Time) error {
	for _, r := range references {
		var bad []struct {
			Row string `db:"row"`
			Ref int64  `db:"ref"`
		}
		err := db.X.SelectContext(ctx, &bad, `SELECT `+r.row+` AS row, c.`+r.column+` AS ref FROM `+r.table+` c
			WHERE c.`+r.column+` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `+r.parent+` p WHERE p.id = c.`+r.column+`)
			ORDER BY 1 LIMIT 100`)
		if err != nil {
			return fmt.Errorf("audit references %s.%s: %w", r.table, r.column, err)
		}
		for _, b := range bad {
			rep.add(InvRefs, b.Row, "%s.%s = %d 指向不存在的 %s 记录", r.table, r.column, b.Ref, r.parent)
		}
	}
	return nil
}
