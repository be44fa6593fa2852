package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"ducha/rules"
	"ducha/store"
)

// The synthetic province. Everything is a function of the size and the
// seed, so two runs with the same flags load the same rows:
//
//   - townships: villages/100 (at least 1), named 乡镇0001…;
//   - villages V000001…: 90% poverty villages (the checklist's scope);
//   - advisers A000001…: one per three villages; every seventh has no QQ,
//     WeChat or e-mail on the service card (a service_card finding);
//   - assignments from 2017-01-01: village v to adviser (v-1)/3+1, except
//     every 50th village, which has none (顾问未配备);
//   - activities over 2018: first one training record (2018-03-24) per
//     adviser except every tenth, then records on random villages, kinds
//     weighted like the sample county's; every eighth village is "lazy" and
//     gets a tenth of the others' records, so the checklist finds it
//     under-served. Each record's note is unique (R<n>), so the natural key
//     never repeats.
type province struct {
	villages, advisers, townships int
	activities                    int
	seed                          uint64
}

func newProvince(villages, activities int, seed uint64) province {
	return province{
		villages:   villages,
		advisers:   max(1, (villages+2)/3),
		townships:  max(1, villages/100),
		activities: activities,
		seed:       seed,
	}
}

func villageCode(v int) string { return fmt.Sprintf("V%06d", v) }
func adviserCode(a int) string { return fmt.Sprintf("A%06d", a) }
func townshipName(t int) string {
	return fmt.Sprintf("乡镇%04d", t)
}

// adviserOf is the adviser assigned to village v, 0 when none.
func (p province) adviserOf(v int) int {
	if v%50 == 0 {
		return 0
	}
	return min((v-1)/3+1, p.advisers)
}

// activity is one generated record.
type activity struct {
	adviser, village int
	kind             rules.Kind
	day              time.Time
	count            int
	amountFen        int64
	note             string
}

var kindWeights = []struct {
	kind   rules.Kind
	weight int
}{
	{rules.Visit, 34}, {rules.Consultation, 24}, {rules.LawStudy, 8}, {rules.Lecture, 7},
	{rules.Mediation, 8}, {rules.DocumentReview, 7}, {rules.DocumentDrafting, 4},
	{rules.LegalAid, 3}, {rules.LegalAffairs, 3}, {rules.LegalOpinion, 2},
}

var year2018 = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// eachActivity calls fn for the generated records number from (0-based) up
// to to, in order. Records depend only on their number and the seed.
func (p province) eachActivity(from, to int, fn func(*activity) error) error {
	total := 0
	for _, w := range kindWeights {
		total += w.weight
	}
	var a activity
	for i := from; i < to; i++ {
		r := rand.New(rand.NewPCG(p.seed, uint64(i)))
		a = activity{count: 1, note: "R" + strconv.Itoa(i+1)}
		if i < p.advisers {
			adv := i + 1
			if adv%10 == 0 {
				// Every tenth adviser skipped the training: this slot is an
				// ordinary record instead.
			} else {
				a.adviser, a.village, a.kind = adv, min(3*(adv-1)+1, p.villages), rules.Training
				a.day = time.Date(2018, 3, 24, 0, 0, 0, 0, time.UTC)
				if err := fn(&a); err != nil {
					return err
				}
				continue
			}
		}
		for {
			a.village = 1 + r.IntN(p.villages)
			if a.village%8 != 0 || r.IntN(10) == 0 {
				break
			}
		}
		a.adviser = p.adviserOf(a.village)
		if a.adviser == 0 { // unassigned village: a neighbour's adviser helped out
			a.adviser = min((a.village-1)/3+1, p.advisers)
		}
		k := r.IntN(total)
		for _, w := range kindWeights {
			if k < w.weight {
				a.kind = w.kind
				break
			}
			k -= w.weight
		}
		a.day = year2018.AddDate(0, 0, r.IntN(365))
		if a.kind == rules.Consultation {
			a.count = 1 + r.IntN(4)
		}
		if a.kind == rules.Mediation && r.IntN(5) == 0 {
			a.amountFen = int64(r.IntN(5_000_000))
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	return nil
}

// load writes the province's townships, villages, advisers, assignments
// and its first n activities in one transaction: COPY on PostgreSQL, a
// prepared INSERT on SQLite. Nothing is held in memory.
func (p province) load(ctx context.Context, db *store.DB, n int) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		w := newWriter(ctx, tx)
		for t := 1; t <= p.townships; t++ {
			if err := w.row("townships", []string{"id", "name"}, int64(t), townshipName(t)); err != nil {
				return err
			}
		}
		for v := 1; v <= p.villages; v++ {
			if err := w.row("villages", []string{"id", "code", "name", "township_id", "poverty"},
				int64(v), villageCode(v), fmt.Sprintf("第%d村", v), int64(1+(v-1)%p.townships), v%10 != 0); err != nil {
				return err
			}
		}
		for a := 1; a <= p.advisers; a++ {
			wechat, qq := "wx"+strconv.Itoa(a), ""
			if a%7 == 0 {
				wechat = ""
			}
			if err := w.row("advisers", []string{"id", "code", "name", "kind", "firm", "phone", "qq", "wechat", "email"},
				int64(a), adviserCode(a), fmt.Sprintf("顾问%d", a), "lawyer", fmt.Sprintf("第%d律师事务所", 1+a%200),
				fmt.Sprintf("139%08d", a), qq, wechat, ""); err != nil {
				return err
			}
		}
		for v := 1; v <= p.villages; v++ {
			a := p.adviserOf(v)
			if a == 0 {
				continue
			}
			if err := w.row("assignments", []string{"adviser_id", "village_id", "from_date"},
				int64(a), int64(v), "2017-01-01"); err != nil {
				return err
			}
		}
		if err := w.close(); err != nil {
			return err
		}
		rebuild, err := dropIndexes(ctx, tx, "activities")
		if err != nil {
			return err
		}
		cols := []string{"adviser_id", "village_id", "kind", "day", "count", "amount_fen", "note", "source"}
		err = p.eachActivity(0, n, func(a *activity) error {
			return w.row("activities", cols, int64(a.adviser), int64(a.village), string(a.kind),
				a.day.Format(store.DateLayout), int64(a.count), a.amountFen, a.note, "bench")
		})
		if err != nil {
			return err
		}
		if err := w.close(); err != nil {
			return err
		}
		for _, def := range rebuild {
			if _, err := tx.ExecContext(ctx, def); err != nil {
				return fmt.Errorf("bench: rebuild index: %w", err)
			}
		}
		if tx.Dialect == store.Postgres {
			// Explicit ids were written: move the sequences past them.
			for _, t := range []string{"townships", "villages", "advisers"} {
				if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT max(id) FROM "+t+"))"); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// dropIndexes drops a table's secondary indexes and foreign keys
// (PostgreSQL; the bench's own fresh database, inside the loading
// transaction) and returns the statements that recreate them exactly, as
// PostgreSQL's "Populating a Database" advises: one sort per index and one
// join per foreign key after the load cost far less than maintaining and
// checking them row by row. The primary key stays.
func dropIndexes(ctx context.Context, tx *store.Tx, table string) ([]string, error) {
	if tx.Dialect != store.Postgres {
		return nil, nil
	}
	var defs []struct {
		Name string `db:"indexname"`
		Def  string `db:"indexdef"`
	}
	err := tx.SelectContext(ctx, &defs, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = $1
		  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)`, table)
	if err != nil {
		return nil, fmt.Errorf("bench: list indexes: %w", err)
	}
	var fks []struct {
		Name string `db:"conname"`
		Def  string `db:"def"`
	}
	err = tx.SelectContext(ctx, &fks, `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
		WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`, table)
	if err != nil {
		return nil, fmt.Errorf("bench: list foreign keys: %w", err)
	}
	var out []string
	if _, err := tx.ExecContext(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return nil, err
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, "DROP INDEX "+d.Name); err != nil {
			return nil, fmt.Errorf("bench: drop index %s: %w", d.Name, err)
		}
		out = append(out, d.Def)
	}
	for _, f := range fks {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+table+" DROP CONSTRAINT "+f.Name); err != nil {
			return nil, fmt.Errorf("bench: drop constraint %s: %w", f.Name, err)
		}
		out = append(out, "ALTER TABLE "+table+" ADD CONSTRAINT "+f.Name+" "+f.Def)
	}
	return out, nil
}

// writer streams rows into one table at a time.
type writer struct {
	ctx   context.Context
	tx    *store.Tx
	table string
	stmt  *sql.Stmt
}

func newWriter(ctx context.Context, tx *store.Tx) *writer { return &writer{ctx: ctx, tx: tx} }

func (w *writer) row(table string, cols []string, vals ...any) error {
	if w.table != table {
		if err := w.close(); err != nil {
			return err
		}
		var q string
		names := strings.Join(cols, ", ")
		if w.tx.Dialect == store.Postgres {
			q = "COPY " + table + " (" + names + ") FROM STDIN"
		} else {
			q = "INSERT INTO " + table + " (" + names + ") VALUES (?" + strings.Repeat(", ?", len(cols)-1) + ")"
		}
		stmt, err := w.tx.PrepareContext(w.ctx, q)
		if err != nil {
			return fmt.Errorf("bench: load %s: %w", table, err)
		}
		w.table, w.stmt = table, stmt
	}
	if _, err := w.stmt.ExecContext(w.ctx, vals...); err != nil {
		return fmt.Errorf("bench: load %s: %w", table, err)
	}
	return nil
}

func (w *writer) close() error {
	if w.stmt == nil {
		return nil
	}
	stmt := w.stmt
	w.stmt, w.table = nil, ""
	if w.tx.Dialect == store.Postgres {
		if _, err := stmt.ExecContext(w.ctx); err != nil {
			stmt.Close()
			return fmt.Errorf("bench: copy: %w", err)
		}
	}
	return stmt.Close()
}

// writeCSV writes activities from..to as an import file (the headers a
// bureau's spreadsheet has, Chinese kind labels, dates as 2018/3/24).
func (p province) writeCSV(path string, from, to int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString("顾问编号,村代码,类别,日期,数量,挽回经济损失(元),备注\n")
	var buf []byte
	err = p.eachActivity(from, to, func(a *activity) error {
		buf = buf[:0]
		buf = append(buf, adviserCode(a.adviser)...)
		buf = append(buf, ',')
		buf = append(buf, villageCode(a.village)...)
		buf = append(buf, ',')
		buf = append(buf, a.kind.Label()...)
		buf = append(buf, ',')
		buf = a.day.AppendFormat(buf, "2006/1/2")
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(a.count), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, a.amountFen/100, 10)
		buf = append(buf, '.')
		buf = append(buf, byte('0'+a.amountFen%100/10), byte('0'+a.amountFen%10))
		buf = append(buf, ',')
		buf = append(buf, a.note...)
		buf = append(buf, '\n')
		_, err := w.Write(buf)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
