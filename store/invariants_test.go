package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

// TestInvariantsHoldThenEachTamperIsReported builds a consistent database
// (two rounds, one scheduled, repeats, a delivered and a dead message, a
// bulletin), checks that no invariant is violated, then breaks one invariant
// at a time with plain SQL and checks that each break is reported, naming its
// row.
func TestInvariantsHoldThenEachTamperIsReported(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		r1, err := rs.Open(ctx, openReq(t, "all", now))
		if err != nil {
			t.Fatal(err)
		}
		req := openReq(t, "township=青山镇", now.Add(time.Hour))
		req.Actor = workflow.SystemUser
		req.Fire = &workflow.Fire{Schedule: &workflow.Schedule{Name: "monthly"}, At: now.Add(time.Hour)}
		r2, err := rs.Open(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if r2.RepeatFindings != 1 {
			t.Fatalf("second round = %+v", r2)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.X.ExecContext(ctx, db.Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		fs, err := store.NewFindings(db).List(ctx, store.FindingFilter{Round: r1.ID})
		if err != nil || len(fs) == 0 {
			t.Fatalf("findings: %d, %v", len(fs), err)
		}
		f := fs[0]
		msgs := []notify.Message{
			{Kind: notify.Order, Cause: "finding:" + itoa(f.ID) + ":seq:2", Recipient: "adviser:A1", Channel: "hook",
				Subject: "整改通知", Body: "请整改", CreatedAt: now, QueuedAt: now, NextAttemptAt: now},
			{Kind: notify.Order, Cause: "finding:" + itoa(f.ID) + ":seq:2", Recipient: "boss", Channel: "hook",
				Subject: "整改通知", Body: "请整改", CreatedAt: now, QueuedAt: now, NextAttemptAt: now},
		}
		if err := db.Enqueue(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.Outbox().Claim(ctx, now, 10, time.Minute)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claimed %d, %v", len(claimed), err)
		}
		if err := db.Outbox().Record(ctx, []notify.Outcome{
			{ID: claimed[0].ID, Attempt: 1, Started: now, State: notify.Delivered},
			{ID: claimed[1].ID, Attempt: 1, Started: now, State: notify.Dead, Error: "404"},
		}); err != nil {
			t.Fatal(err)
		}
		// A manual resend of the delivered message, delivered again: allowed.
		if _, err := db.Outbox().Resend(ctx, claimed[0].ID, now.Add(time.Minute), "boss"); err != nil {
			t.Fatal(err)
		}
		again, err := db.Outbox().Claim(ctx, now.Add(time.Minute), 10, time.Minute)
		if err != nil || len(again) != 1 {
			t.Fatalf("claimed again %d, %v", len(again), err)
		}
		if err := db.Outbox().Record(ctx, []notify.Outcome{{ID: again[0].ID, Attempt: 2, Started: now.Add(time.Minute), State: notify.Delivered}}); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO bulletin_counters (year, last) VALUES (2018, 1)`)
		exec(`INSERT INTO bulletins (year, seq, title, published_at, published_by, content) VALUES (2018, 1, '通报', ?, 'boss', '{}')`, store.Instant(now))

		check := func() *store.InvariantReport {
			t.Helper()
			rep, err := db.CheckInvariants(ctx, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		rep := check()
		if !rep.OK() {
			t.Fatalf("violations in a consistent database: %v", rep.Violations)
		}
		if rep.Rounds != 2 || rep.Findings != len(fs) || rep.Messages != 2 || rep.Bulletins != 1 || rep.Entries == 0 {
			t.Fatalf("report = %+v", rep)
		}

		seen := map[string]bool{}
		tamper := func(name, inv, row string, do func()) {
			t.Helper()
			do()
			rep := check()
			found := false
			for _, v := range rep.Violations {
				if !seen[v.String()] && v.Invariant == inv && v.Row == row {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s: no new %s violation on %s; got %v", name, inv, row, rep.Violations)
			}
			for _, v := range rep.Violations {
				seen[v.String()] = true
			}
		}
		r1Row := "rounds.id=" + itoa(r1.ID)
		tamper("a village row lost", store.InvRound, r1Row, func() {
			exec(`DELETE FROM round_villages WHERE round_id = ? AND village_id = (SELECT MIN(village_id) FROM round_villages WHERE round_id = ?)`, r1.ID, r1.ID)
		})
		tamper("a finding too many", store.InvRound, r1Row, func() {
			exec(`UPDATE rounds SET new_findings = new_findings - 1 WHERE id = ?`, r1.ID)
		})
		tamper("a repeat lost", store.InvRound, "rounds.id="+itoa(r2.ID), func() {
			exec(`UPDATE rounds SET repeat_findings = 0 WHERE id = ?`, r2.ID)
		})
		tamper("a fire without its round", store.InvRound, "schedule_fires(schedule=monthly, fire_at=2018-04-01T00:00:00Z)", func() {
			exec(`INSERT INTO schedule_fires (schedule, fire_at, round_id, claimed_at) VALUES ('monthly', ?, 999, ?)`,
				store.Instant(time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC)), store.Instant(now))
		})
		tamper("a scheduled round without its fire", store.InvRound, r1Row, func() {
			exec(`UPDATE rounds SET schedule = 'weekly' WHERE id = ?`, r1.ID)
		})
		fRow := "findings.id=" + itoa(f.ID)
		tamper("a history head moved", store.InvHistory, fRow, func() {
			exec(`UPDATE findings SET last_seq = last_seq + 1 WHERE id = ?`, f.ID)
		})
		g := fs[len(fs)-1]
		tamper("a state changed outside a transition", store.InvHistory, "findings.id="+itoa(g.ID), func() {
			exec(`UPDATE findings SET state = 'verified' WHERE id = ?`, g.ID)
		})
		tamper("a finding without history", store.InvHistory, "findings.id=900", func() {
			exec(`INSERT INTO findings (id, rule_id, rule_title, severity, village_id, township_id, state, created_at, updated_at, last_seq, last_hash)
				VALUES (900, 'x', 'x', 'general', 1, 1, 'discovered', ?, ?, 1, 'h')`, store.Instant(now), store.Instant(now))
		})
		h := fs[1]
		tamper("a history row edited", store.InvChain, "finding_history(finding_id="+itoa(h.ID)+", seq=1)", func() {
			if db.Dialect == store.Postgres {
				exec(`ALTER TABLE finding_history DISABLE TRIGGER finding_history_no_update`)
			} else {
				exec(`DROP TRIGGER finding_history_no_update`)
			}
			exec(`UPDATE finding_history SET comment = '改过' WHERE finding_id = ? AND seq = 1`, h.ID)
		})
		m0 := "outbox.id=" + itoa(claimed[0].ID)
		tamper("delivered twice", store.InvOutbox, m0, func() {
			exec(`INSERT INTO outbox_attempts (message_id, attempt, started_at, outcome) VALUES (?, 3, ?, 'delivered')`, claimed[0].ID, store.Instant(now))
		})
		m1 := "outbox.id=" + itoa(claimed[1].ID)
		tamper("delivered but pending", store.InvOutbox, m1, func() {
			exec(`UPDATE outbox SET state = 'pending' WHERE id = ?`, claimed[1].ID)
			exec(`INSERT INTO outbox_attempts (message_id, attempt, started_at, outcome) VALUES (?, 1, ?, 'delivered')`, claimed[1].ID, store.Instant(now))
		})
		tamper("a message without its cause", store.InvOutbox, "outbox.id=77", func() {
			exec(`INSERT INTO outbox (id, kind, cause, recipient, channel, subject, body, state, next_attempt_at, created_at, queued_at)
				VALUES (77, 'order', 'finding:900:seq:5', 'boss', 'hook', 's', 'b', 'pending', ?, ?, ?)`, store.Instant(now), store.Instant(now), store.Instant(now))
		})
		tamper("delivered without a log", store.InvOutbox, "outbox.id=78", func() {
			exec(`INSERT INTO outbox (id, kind, cause, recipient, channel, subject, body, state, next_attempt_at, created_at, queued_at, delivered_at)
				VALUES (78, 'digest', 'digest:x', 'boss', 'hook', 's', 'b', 'delivered', ?, ?, ?, ?)`, store.Instant(now), store.Instant(now), store.Instant(now), store.Instant(now))
		})
		tamper("a bulletin number skipped", store.InvBulletin, "bulletins.id=50", func() {
			exec(`INSERT INTO bulletins (id, year, seq, title, published_at, published_by, content) VALUES (50, 2018, 3, '通报', ?, 'boss', '{}')`, store.Instant(now))
			exec(`UPDATE bulletin_counters SET last = 3 WHERE year = 2018`)
		})
		tamper("a bulletin number taken and not used", store.InvBulletin, "bulletin_counters.year=2018", func() {
			exec(`UPDATE bulletin_counters SET last = 4 WHERE year = 2018`)
		})
		if db.Dialect == store.Postgres { // SQLite checks these with its foreign keys
			tamper("history of no finding", store.InvRefs, "finding_history.finding_id=12345,seq=1", func() {
				exec(`INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event, from_state, to_state, payload, prev_hash, hash)
					VALUES (12345, 1, ?, 'x', 'system', 'discover', '', 'discovered', '{}', '', 'h')`, store.Instant(now))
			})
			tamper("an activity of no village", store.InvRefs, "activities.id=777", func() {
				exec(`INSERT INTO activities (id, adviser_id, village_id, kind, day) VALUES (777, (SELECT MIN(id) FROM advisers), 99999, 'visit', '2018-03-01')`)
			})
			for _, table := range []string{"villages", "advisers", "townships", "rounds", "findings"} {
				if _, err := db.X.ExecContext(ctx, `DELETE FROM `+table); err == nil || !strings.Contains(err.Error(), "不可删除") {
					t.Errorf("DELETE FROM %s: err = %v, want it refused", table, err)
				}
			}
		}
		for _, v := range check().Violations {
			if !strings.ContainsFunc(v.Message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
				t.Errorf("violation not in Chinese: %v", v)
			}
		}
	})
}

// A sending claim past its lease is a note, not a violation: the next
// dispatcher takes it over.
func TestInvariantsNoteExpiredLease(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, time.UTC)
		if err := db.Enqueue(ctx, []notify.Message{{Kind: notify.Digest, Cause: "digest:1", Recipient: "boss", Channel: "hook",
			Subject: "s", Body: "b", CreatedAt: now, QueuedAt: now, NextAttemptAt: now}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Outbox().Claim(ctx, now, 10, time.Minute); err != nil {
			t.Fatal(err)
		}
		rep, err := db.CheckInvariants(ctx, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || len(rep.Notes) != 1 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
