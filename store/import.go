package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"ducha/rules"
	"ducha/workflow"
)

// Importing a file is three steps inside one transaction (see package
// importer for the file side):
//
//  1. Stream: every valid row goes into a temporary staging table that also
//     carries the row's number in the file (PostgreSQL: COPY; SQLite: a
//     prepared INSERT). Nothing of the file is held in memory.
//  2. Check, set-based: duplicates within the file, rows that already exist,
//     and for assignments overlaps within the file and with stored rows.
//     Each conflict names the file rows involved.
//  3. Apply, set-based: INSERT … SELECT from the staging table, updating rows
//     with the same natural key when upserting.
//
// The caller rolls the transaction back when any row was bad, so a bad file
// changes nothing.

// ImportTable names what an imported file holds.
type ImportTable string

const (
	ImportVillages    ImportTable = "villages"
	ImportAdvisers    ImportTable = "advisers"
	ImportAssignments ImportTable = "assignments"
	ImportActivities  ImportTable = "activities"
)

// ImportOptions tune an import.
type ImportOptions struct {
	// Upsert updates rows whose natural key already exists (code for
	// villages and advisers; adviser, village and start date for
	// assignments; adviser, village, kind, day and note for activities)
	// instead of reporting them as duplicates.
	Upsert bool
	// Columns are the fields the file has (village: code name township
	// poverty; adviser: code name kind firm phone qq wechat email;
	// assignment: adviser village from to; activity: adviser village kind
	// date count amount_yuan note). An upsert leaves the stored value of an
	// optional field the file lacks as it was.
	Columns []string
	// Source is recorded on every imported activity, e.g. "import:a.csv".
	Source string
	// Direct (PostgreSQL, activities, not upserting) COPYs the rows straight
	// into activities, with no staging table and no checks: the natural
	// key's unique index refuses a duplicate, within the file or with a
	// stored record, and Conflicts then returns ErrImportDuplicate without
	// naming the rows. The caller rolls back and imports the file again
	// without Direct, whose checks name them. A province's month of records
	// (a million rows) is stored in a third of the time of staging, checking
	// and copying.
	Direct bool
}

// ErrImportDuplicate is a Direct import's duplicate natural key.
var ErrImportDuplicate = errors.New("import: a record's natural key is already taken")

// directError is err of a Direct import's COPY, or ErrImportDuplicate when
// the natural key refused a row.
func directError(err error) error {
	if IsUniqueViolation(err) {
		return ErrImportDuplicate
	}
	return err
}

// VillageRow is one village line of a file.
type VillageRow struct {
	Line     int
	Code     string
	Name     string
	Township string
	Poverty  bool
}

// AdviserRow is one adviser line of a file.
type AdviserRow struct {
	Line int
	Code string
	Name string
	Kind workflow.AdviserKind
	Firm string
	Card workflow.ServiceCard
}

// AssignmentRow is one assignment line of a file, codes already resolved
// with Import.AdviserID and Import.VillageID.
type AssignmentRow struct {
	Line      int
	AdviserID int64
	VillageID int64
	From      time.Time
	To        *time.Time
}

// ActivityRow is one activity line of a file, codes already resolved.
type ActivityRow struct {
	Line      int
	AdviserID int64
	VillageID int64
	Kind      rules.Kind
	Day       time.Time
	Count     int
	AmountFen int64
	Note      string
}

// ConflictKind says why a staged row cannot be imported.
type ConflictKind int

const (
	DuplicateInFile ConflictKind = iota + 1 // same natural key as an earlier row (OtherLine)
	AlreadyExists                           // natural key already stored, and not upserting
	OverlapInFile                           // assignment overlaps an earlier row's (OtherLine) for the same village
	OverlapStored                           // assignment overlaps a stored one (Stored)
)

// Conflict is a row that failed a set-based check.
type Conflict struct {
	Line      int
	Kind      ConflictKind
	OtherLine int                  // DuplicateInFile, OverlapInFile
	Stored    *workflow.Assignment // OverlapStored
}

// ImportResult says what an applied import did.
type ImportResult struct {
	Rows         int // rows imported
	Inserted     int
	Updated      int
	NewTownships int // townships created by a village import
}

type stageCol struct {
	name string
	typ  string // text, int, bool, date
}

type stageSpec struct {
	target string
	cols   []stageCol // staged columns after "line"
	key    []string   // natural key: same column names in stage and target
}

var stageSpecs = map[ImportTable]stageSpec{
	ImportVillages: {"villages", []stageCol{
		{"code", "text"}, {"name", "text"}, {"township", "text"}, {"poverty", "bool"},
	}, []string{"code"}},
	ImportAdvisers: {"advisers", []stageCol{
		{"code", "text"}, {"name", "text"}, {"kind", "text"}, {"firm", "text"},
		{"phone", "text"}, {"qq", "text"}, {"wechat", "text"}, {"email", "text"},
	}, []string{"code"}},
	ImportAssignments: {"assignments", []stageCol{
		{"adviser_id", "int"}, {"village_id", "int"}, {"from_date", "date"}, {"to_date", "date"},
	}, []string{"adviser_id", "village_id", "from_date"}},
	ImportActivities: {"activities", []stageCol{
		{"adviser_id", "int"}, {"village_id", "int"}, {"kind", "text"}, {"day", "date"},
		{"count", "int"}, {"amount_fen", "int"}, {"note", "text"},
	}, []string{"adviser_id", "village_id", "kind", "day", "note"}},
}

const stageTable = "import_stage"

// Import is one file being imported inside a transaction. It is used by one
// goroutine for the length of one call; it keeps that call's context.
type Import struct {
	ctx      context.Context
	tx       *Tx
	table    ImportTable
	spec     stageSpec
	opts     ImportOptions
	stmt     *sql.Stmt
	staged   int
	indexed  bool
	direct   bool    // rows go straight into their table (ImportOptions.Direct)
	copier   *copier // sends them, when direct
	dups     bool    // the staged rows repeat a natural key (the unique index failed)
	checked  bool    // Conflicts ran
	advisers map[string]int64
	villages map[string]int64
	vals     []any
}

// NewImport creates the staging table for table in tx and, for assignments
// and activities, loads the adviser and village codes (they are few).
func NewImport(ctx context.Context, tx *Tx, table ImportTable, opts ImportOptions) (*Import, error) {
	spec, ok := stageSpecs[table]
	if !ok {
		return nil, fmt.Errorf("store: unknown import table %q", table)
	}
	im := &Import{ctx: ctx, tx: tx, table: table, spec: spec, opts: opts,
		direct: opts.Direct && table == ImportActivities && !opts.Upsert && tx.Dialect == Postgres}
	if table == ImportAssignments || table == ImportActivities {
		var err error
		if im.advisers, err = im.codes("advisers"); err != nil {
			return nil, err
		}
		if im.villages, err = im.codes("villages"); err != nil {
			return nil, err
		}
	}
	if im.direct {
		cols := []string{"source"} // then the staged columns, as stage passes them
		for _, c := range spec.cols {
			cols = append(cols, c.name)
		}
		c, err := startCopy(ctx, tx, "COPY "+spec.target+" ("+strings.Join(cols, ", ")+") FROM STDIN", len(cols))
		if err != nil {
			return nil, fmt.Errorf("import: prepare copy: %w", err)
		}
		im.copier, im.vals = c, make([]any, len(cols))
		return im, nil
	}
	defs := []string{"line INTEGER NOT NULL"}
	names := []string{"line"}
	for _, c := range spec.cols {
		defs = append(defs, c.name+" "+im.sqlType(c.typ))
		names = append(names, c.name)
	}
	ddl := "CREATE TEMP TABLE " + stageTable + " (" + strings.Join(defs, ", ") + ")"
	if tx.Dialect == Postgres {
		ddl += " ON COMMIT DROP" // and on rollback, as it was created in this transaction
	} else if err := im.dropStage(); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("import: create staging table: %w", err)
	}
	var q string
	if tx.Dialect == Postgres {
		q = "COPY " + stageTable + " (" + strings.Join(names, ", ") + ") FROM STDIN"
	} else {
		q = "INSERT INTO " + stageTable + " (" + strings.Join(names, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
	}
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("import: prepare staging: %w", err)
	}
	im.stmt = stmt
	im.vals = make([]any, len(names))
	return im, nil
}

func (im *Import) sqlType(t string) string {
	pg := im.tx.Dialect == Postgres
	switch t {
	case "int":
		if pg {
			return "BIGINT"
		}
		return "INTEGER"
	case "bool":
		return "BOOLEAN"
	case "date":
		if pg {
			return "DATE"
		}
		return "TEXT"
	}
	return "TEXT"
}

func (im *Import) codes(table string) (map[string]int64, error) {
	rows, err := im.tx.QueryContext(im.ctx, "SELECT code, id FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("import: load %s codes: %w", table, err)
	}
	defer rows.Close()
	m := make(map[string]int64)
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			return nil, err
		}
		m[code] = id
	}
	return m, rows.Err()
}

// AdviserID resolves a stored adviser code (assignment and activity imports).
func (im *Import) AdviserID(code string) (int64, bool) {
	id, ok := im.advisers[code]
	return id, ok
}

// VillageID resolves a stored village code (assignment and activity imports).
func (im *Import) VillageID(code string) (int64, bool) {
	id, ok := im.villages[code]
	return id, ok
}

func (im *Import) stage(line int, vals ...any) error {
	if im.stmt == nil && im.copier == nil {
		return fmt.Errorf("store: import already checked; no more rows")
	}
	if im.copier != nil {
		im.vals[0] = im.opts.Source
		copy(im.vals[1:], vals)
		if err := im.copier.add(im.vals...); err != nil {
			return directError(fmt.Errorf("import: copy rows: %w", err))
		}
		im.staged++
		return nil
	}
	im.vals[0] = line
	copy(im.vals[1:], vals)
	if _, err := im.stmt.ExecContext(im.ctx, im.vals...); err != nil {
		return fmt.Errorf("import: stage row %d: %w", line, err)
	}
	im.staged++
	return nil
}

func (im *Import) want(t ImportTable) error {
	if im.table != t {
		return fmt.Errorf("store: %s row added to a %s import", t, im.table)
	}
	return nil
}

// AddVillage stages a village row.
func (im *Import) AddVillage(r VillageRow) error {
	if err := im.want(ImportVillages); err != nil {
		return err
	}
	return im.stage(r.Line, r.Code, r.Name, r.Township, r.Poverty)
}

// AddAdviser stages an adviser row.
func (im *Import) AddAdviser(r AdviserRow) error {
	if err := im.want(ImportAdvisers); err != nil {
		return err
	}
	return im.stage(r.Line, r.Code, r.Name, string(r.Kind), r.Firm,
		r.Card.Phone, r.Card.QQ, r.Card.WeChat, r.Card.Email)
}

// AddAssignment stages an assignment row.
func (im *Import) AddAssignment(r AssignmentRow) error {
	if err := im.want(ImportAssignments); err != nil {
		return err
	}
	to, _ := DayPtr(r.To).Value()
	return im.stage(r.Line, r.AdviserID, r.VillageID, r.From.Format(DateLayout), to)
}

// AddActivity stages an activity row.
func (im *Import) AddActivity(r ActivityRow) error {
	if err := im.want(ImportActivities); err != nil {
		return err
	}
	return im.stage(r.Line, r.AdviserID, r.VillageID, string(r.Kind), r.Day.Format(DateLayout),
		r.Count, r.AmountFen, r.Note)
}

// Staged is how many rows have been staged so far.
func (im *Import) Staged() int { return im.staged }

// finishStaging ends the COPY (PostgreSQL) or the prepared INSERT and
// indexes the staging table for the checks. The index is first tried as a
// unique index on the natural key: when that succeeds (the usual case) the
// file has no duplicate keys and the costlier duplicate query is skipped;
// when it fails, a plain index on the key and line serves that query.
func (im *Import) finishStaging() error {
	if im.indexed {
		return nil
	}
	if err := im.Close(); err != nil {
		if im.direct {
			return directError(err)
		}
		return err
	}
	if im.direct {
		im.indexed = true
		return nil
	}
	im.indexed = true
	key := strings.Join(im.spec.key, ", ")
	exec := func(q string) error {
		_, err := im.tx.ExecContext(im.ctx, q)
		return err
	}
	if err := exec("SAVEPOINT import_unique"); err != nil {
		return fmt.Errorf("import: savepoint: %w", err)
	}
	err := exec("CREATE UNIQUE INDEX " + stageTable + "_key ON " + stageTable + " (" + key + ")")
	switch {
	case err == nil:
		err = exec("RELEASE SAVEPOINT import_unique")
	case IsUniqueViolation(err):
		im.dups = true
		if err = exec("ROLLBACK TO SAVEPOINT import_unique"); err == nil {
			err = exec("CREATE INDEX " + stageTable + "_key ON " + stageTable + " (" + key + ", line)")
		}
	}
	if err != nil {
		return fmt.Errorf("import: index staging table: %w", err)
	}
	if im.tx.Dialect == Postgres {
		if err := exec("ANALYZE " + stageTable); err != nil {
			return fmt.Errorf("import: analyze staging table: %w", err)
		}
	}
	return nil
}

// Close ends staging (a PostgreSQL COPY must end before the transaction can
// roll back cleanly). Conflicts and Apply call it; call it yourself when
// giving up early. It is safe to call twice.
func (im *Import) Close() error {
	if c := im.copier; c != nil {
		im.copier = nil
		if err := c.close(); err != nil {
			return fmt.Errorf("import: copy rows: %w", err)
		}
		return nil
	}
	stmt := im.stmt
	if stmt == nil {
		return nil
	}
	im.stmt = nil
	if im.tx.Dialect == Postgres {
		if _, err := stmt.ExecContext(im.ctx); err != nil {
			stmt.Close()
			return fmt.Errorf("import: copy rows: %w", err)
		}
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("import: staging: %w", err)
	}
	return nil
}

func (im *Import) keyMatch(a, b string) string {
	conds := make([]string, len(im.spec.key))
	for i, k := range im.spec.key {
		conds[i] = a + "." + k + " = " + b + "." + k
	}
	return strings.Join(conds, " AND ")
}

// Conflicts ends staging and returns up to limit rows that break a
// set-based check, ordered by line. Checks: duplicate natural keys within
// the file; natural keys already stored (unless upserting); for
// assignments, overlapping periods of one village within the file and
// against stored assignments the file does not replace.
func (im *Import) Conflicts(limit int) ([]Conflict, error) {
	if err := im.finishStaging(); err != nil {
		return nil, err
	}
	if im.direct {
		im.checked = true
		return nil, nil // the unique index checked the rows as they went in
	}
	var out []Conflict
	lines := func(kind ConflictKind, q string) error {
		if len(out) >= limit {
			return nil
		}
		rows, err := im.tx.QueryContext(im.ctx, im.tx.Rebind(q), limit-len(out))
		if err != nil {
			return fmt.Errorf("import: check %s: %w", im.table, err)
		}
		defer rows.Close()
		for rows.Next() {
			c := Conflict{Kind: kind}
			dest := []any{&c.Line}
			if kind == DuplicateInFile || kind == OverlapInFile {
				dest = append(dest, &c.OtherLine)
			}
			if kind == OverlapStored {
				var a workflow.Assignment
				var from, to Day
				dest = append(dest, &a.ID, &a.Adviser, &a.Village, &from, &to)
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				a.From, a.To = from.Time, to.Ptr()
				c.Stored = &a
			} else if err := rows.Scan(dest...); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	}
	im.checked = true
	var err error
	if im.dups {
		key := strings.Join(im.spec.key, ", ")
		err = lines(DuplicateInFile, `SELECT line, first FROM (
			SELECT line, min(line) OVER (PARTITION BY `+key+`) AS first FROM `+stageTable+`) d
			WHERE line <> first ORDER BY line LIMIT ?`)
	}
	if err == nil && !im.opts.Upsert {
		err = lines(AlreadyExists, `SELECT s.line FROM `+stageTable+` s
			WHERE EXISTS (SELECT 1 FROM `+im.spec.target+` t WHERE `+im.keyMatch("t", "s")+`)
			ORDER BY s.line LIMIT ?`)
	}
	if err == nil && im.table == ImportAssignments {
		const overlap = ` AND x.from_date <= COALESCE(s.to_date, '9999-12-31')
			AND s.from_date <= COALESCE(x.to_date, '9999-12-31')`
		err = lines(OverlapInFile, `SELECT s.line, min(x.line) FROM `+stageTable+` s
			JOIN `+stageTable+` x ON x.village_id = s.village_id AND x.line < s.line`+overlap+`
			AND NOT (x.adviser_id = s.adviser_id AND x.from_date = s.from_date)
			GROUP BY s.line ORDER BY s.line LIMIT ?`)
		if err == nil {
			// Stored rows the file replaces (same natural key) are judged
			// by their new dates, i.e. as staged rows above.
			err = lines(OverlapStored, `SELECT s.line, x.id, a.code, v.code, x.from_date, x.to_date
				FROM `+stageTable+` s
				JOIN assignments x ON x.village_id = s.village_id`+overlap+`
				JOIN advisers a ON a.id = x.adviser_id
				JOIN villages v ON v.id = x.village_id
				WHERE NOT EXISTS (SELECT 1 FROM `+stageTable+` r WHERE `+im.keyMatch("r", "x")+`)
				ORDER BY s.line, x.from_date LIMIT ?`)
		}
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (im *Import) has(field string) bool { return slices.Contains(im.opts.Columns, field) }

// Apply writes the staged rows to their table, set-based. Call it after
// Conflicts returned none.
func (im *Import) Apply() (ImportResult, error) {
	if err := im.finishStaging(); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Rows: im.staged}
	if im.direct {
		res.Inserted = im.staged
		return res, nil
	}
	var err error
	// Without upserting, Conflicts has found no stored key: nothing updates.
	if im.opts.Upsert || !im.checked {
		err = im.tx.GetContext(im.ctx, &res.Updated, `SELECT count(*) FROM `+stageTable+` s
			WHERE EXISTS (SELECT 1 FROM `+im.spec.target+` t WHERE `+im.keyMatch("t", "s")+`)`)
		if err != nil {
			return res, fmt.Errorf("import: count existing rows: %w", err)
		}
	}
	res.Inserted = res.Rows - res.Updated
	exec := func(q string, args ...any) (int, error) {
		r, err := im.tx.ExecContext(im.ctx, im.tx.Rebind(q), args...)
		if err != nil {
			return 0, fmt.Errorf("import %s: %w", im.table, err)
		}
		n, _ := r.RowsAffected()
		return int(n), nil
	}
	// upsert returns the ON CONFLICT clause updating the given columns
	// (always) and the optional ones the file has.
	upsert := func(always []string, optional map[string]string) string {
		if !im.opts.Upsert {
			return ""
		}
		set := slices.Clone(always)
		for field, col := range optional {
			if im.has(field) {
				set = append(set, col)
			}
		}
		sort.Strings(set)
		for i, c := range set {
			set[i] = c + " = excluded." + c
		}
		return " ON CONFLICT (" + strings.Join(im.spec.key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
	}
	switch im.table {
	case ImportVillages:
		res.NewTownships, err = exec(`INSERT INTO townships (name)
			SELECT DISTINCT s.township FROM ` + stageTable + ` s
			WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.name = s.township)`)
		if err == nil {
			_, err = exec(`INSERT INTO villages (code, name, township_id, poverty)
				SELECT s.code, s.name, t.id, s.poverty FROM ` + stageTable + ` s
				JOIN townships t ON t.name = s.township WHERE true` +
				upsert([]string{"name", "township_id"}, map[string]string{"poverty": "poverty"}))
		}
	case ImportAdvisers:
		_, err = exec(`INSERT INTO advisers (code, name, kind, firm, phone, qq, wechat, email)
			SELECT code, name, kind, firm, phone, qq, wechat, email FROM ` + stageTable + ` WHERE true` +
			upsert([]string{"name", "kind"}, map[string]string{
				"firm": "firm", "phone": "phone", "qq": "qq", "wechat": "wechat", "email": "email"}))
	case ImportAssignments:
		if im.opts.Upsert && im.has("to") {
			_, err = exec(`UPDATE assignments SET to_date = (
					SELECT s.to_date FROM ` + stageTable + ` s WHERE ` + im.keyMatch("s", "assignments") + `)
				WHERE EXISTS (SELECT 1 FROM ` + stageTable + ` s WHERE ` + im.keyMatch("s", "assignments") + `)`)
		}
		if err == nil {
			_, err = exec(`INSERT INTO assignments (adviser_id, village_id, from_date, to_date)
				SELECT s.adviser_id, s.village_id, s.from_date, s.to_date FROM ` + stageTable + ` s
				WHERE NOT EXISTS (SELECT 1 FROM assignments t WHERE ` + im.keyMatch("t", "s") + `)
				ORDER BY s.line`)
		}
	case ImportActivities:
		_, err = exec(`INSERT INTO activities (adviser_id, village_id, kind, day, count, amount_fen, note, source)
			SELECT adviser_id, village_id, kind, day, count, amount_fen, note, CAST(? AS TEXT)
			FROM `+stageTable+` WHERE true ORDER BY `+strings.Join(im.spec.key, ", ")+
			upsert([]string{"source"}, map[string]string{"count": "count", "amount_yuan": "amount_fen"}),
			im.opts.Source)
	}
	if err != nil {
		return res, err
	}
	if im.tx.Dialect == SQLite {
		err = im.dropStage()
	}
	return res, err
}

// dropStage drops SQLite's staging table, which lives as long as the
// connection. (PostgreSQL's goes with the transaction.)
func (im *Import) dropStage() error {
	if _, err := im.tx.ExecContext(im.ctx, "DROP TABLE IF EXISTS temp."+stageTable); err != nil {
		return fmt.Errorf("import: drop staging table: %w", err)
	}
	return nil
}
