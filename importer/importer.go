// Package importer reads villages, advisers, assignments and activities from
// CSV or XLSX files into the store, all or nothing.
//
// Files: CSV in UTF-8 (with or without BOM) or GB18030/GBK (detected: a file
// that is not valid UTF-8 is read as GB18030), or XLSX (the first
// worksheet). Row 1 is the header; columns are found by header name in
// English or Chinese, in any order (see fields). Blank header cells and
// blank rows are ignored; unknown headers are errors, so a misspelt column
// is never silently dropped.
//
// Rows stream from the file through per-row validation into a staging
// table (store.Import) and are written set-based in one transaction; a file
// with any bad row writes nothing and the returned *Error lists up to
// MaxProblems problems, each naming file, row, column and what was expected.
// Rows whose natural key is already stored are errors unless
// Options.Upsert; two rows with the same key in one file are always errors
// (which one should win is not for the importer to guess). An XLSX file's
// zip is read into memory (excelize needs random access); its sheet is
// still streamed row by row.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

// Kinds are the importable kinds, in the order a county is loaded.
var Kinds = []store.ImportTable{store.ImportVillages, store.ImportAdvisers, store.ImportAssignments, store.ImportActivities}

// ParseKind accepts villages, advisers, assignments, activities, their
// singulars, or the Chinese 村, 法律顾问, 聘任, 工作记录.
func ParseKind(s string) (store.ImportTable, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, k := range Kinds {
		if s == string(k) || s+"s" == string(k) || s == nouns[k].what {
			return k, nil
		}
	}
	switch s {
	case "顾问":
		return store.ImportAdvisers, nil
	case "活动":
		return store.ImportActivities, nil
	}
	return "", fmt.Errorf("未知的导入类别 %q; 应为 villages、advisers、assignments 或 activities", s)
}

// Options tune an import.
type Options struct {
	// Upsert updates rows whose natural key exists instead of reporting
	// duplicates (see store.ImportOptions).
	Upsert bool
	// Progress, when not nil, receives a progress bar (give a terminal's
	// stderr only, never a pipe).
	Progress io.Writer
	// Source is recorded on imported activities; default "import:" and the
	// file's base name.
	Source string
}

// Result says what an import did.
type Result struct {
	Kind store.ImportTable
	File string
	store.ImportResult
}

// Summary is the result in a sentence, e.g.
// "导入工作记录 1234 条 (新增 1200, 更新 34)".
func (r *Result) Summary() string {
	n := nouns[r.Kind]
	s := fmt.Sprintf("导入%s %d %s (新增 %d, 更新 %d)", n.what, r.Rows, n.unit, r.Inserted, r.Updated)
	if r.NewTownships > 0 {
		s += fmt.Sprintf(", 新建乡镇 %d 个", r.NewTownships)
	}
	return s
}

// ImportFile imports the file at path (shown in messages as given).
func ImportFile(ctx context.Context, db *store.DB, kind store.ImportTable, path string, opts Options) (*Result, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fileError(path, "无法打开文件: "+describe(err))
	}
	if st.IsDir() {
		return nil, fileError(path, "这是一个文件夹, 应为 .csv 或 .xlsx 文件")
	}
	src := source{name: path, size: st.Size(), open: func() (io.ReadCloser, error) { return os.Open(path) }}
	return run(ctx, db, kind, src, opts)
}

// ImportFS imports the file name of fsys (e.g. an embedded sample county).
func ImportFS(ctx context.Context, db *store.DB, kind store.ImportTable, fsys fs.FS, name string, opts Options) (*Result, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fileError(name, "无法打开文件: "+describe(err))
	}
	src := source{name: name, size: st.Size(), open: func() (io.ReadCloser, error) { return fsys.Open(name) }}
	return run(ctx, db, kind, src, opts)
}

func describe(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "文件不存在"
	case errors.Is(err, fs.ErrPermission):
		return "没有读取权限"
	}
	return err.Error()
}

func fileError(name, msg string) error {
	return &Error{File: name, Problems: []Problem{{File: name, Col: -1, Msg: msg}}}
}

func run(ctx context.Context, db *store.DB, kind store.ImportTable, src source, opts Options) (*Result, error) {
	if _, ok := fields[kind]; !ok {
		return nil, fmt.Errorf("importer: unknown kind %q", kind)
	}
	if _, err := isXLSX(src.name); err != nil {
		return nil, fileError(src.name, err.Error())
	}
	if opts.Source == "" {
		opts.Source = "import:" + filepath.Base(src.name)
	}
	// Records go straight into their table where the store can (see
	// store.ImportOptions.Direct); a duplicate among them rolls that back,
	// and the file is read again through the staging checks, which name its
	// rows.
	direct := true
	for {
		var res *Result
		err := db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			res, err = load(ctx, tx, kind, src, opts, direct)
			return err
		})
		if direct && errors.Is(err, store.ErrImportDuplicate) {
			if opts.Progress != nil {
				fmt.Fprintln(opts.Progress, "有重复的记录, 没有导入任何一行; 正在重新检查文件, 以列出重复的行…")
			}
			direct = false
			continue
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// load reads src into the staging table, checks it, and applies it when
// every row is good; otherwise it returns an *Error and the caller's
// transaction rolls back.
func load(ctx context.Context, tx *store.Tx, kind store.ImportTable, src source, opts Options, direct bool) (*Result, error) {
	probs := &problems{file: src.name}
	rr, err := openRows(src, opts.Progress)
	if err != nil {
		var fe *formatError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &fe) {
			return nil, fileError(src.name, "无法读取文件: "+describe(err))
		}
		return nil, fileError(src.name, err.Error())
	}
	defer rr.Close()

	header, _, err := rr.Next()
	if err == io.EOF {
		return nil, fileError(src.name, "文件是空的; 第 1 行应为列名: "+choices(kind))
	}
	if err != nil {
		return nil, readError(src.name, 1, err)
	}
	lay := mapHeader(kind, header, probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	im, err := store.NewImport(ctx, tx, kind, store.ImportOptions{Upsert: opts.Upsert, Columns: lay.present, Source: opts.Source, Direct: direct})
	if err != nil {
		return nil, err
	}
	defer im.Close()
	p := &rowParser{kind: kind, lay: lay, im: im, probs: probs, serials: rr.Serials()}
	for !probs.full() {
		cells, row, err := rr.Next()
		if err == io.EOF {
			break
		}
		var fe *formatError
		if errors.As(err, &fe) {
			probs.add(row, -1, "", fe.msg)
			break
		}
		if err != nil {
			return nil, readError(src.name, row, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.parse(cells, row); err != nil {
			return nil, err
		}
	}
	if probs.full() {
		probs.more = true // at least the rest of the file is unread
		return nil, probs.err()
	}
	rr.Close() // ends the progress bar: reading is done
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "已读取 %d 行, 正在检查重复和冲突…\n", im.Staged())
	}
	conflicts, err := im.Conflicts(probs.room() + 1)
	if err != nil {
		return nil, err
	}
	for _, c := range conflicts {
		p.conflict(c)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	if im.Staged() == 0 {
		return nil, fileError(src.name, "文件中没有数据行")
	}
	if opts.Progress != nil {
		fmt.Fprintln(opts.Progress, "正在写入数据库…")
	}
	r, err := im.Apply()
	if err != nil {
		return nil, err
	}
	return &Result{Kind: kind, File: src.name, ImportResult: r}, nil
}

func readError(name string, row int, err error) error {
	return &Error{File: name, Problems: []Problem{{File: name, Row: row, Col: -1, Msg: "无法读取: " + err.Error()}}}
}

// rowParser validates one row at a time and stages the good ones.
type rowParser struct {
	kind    store.ImportTable
	lay     *layout
	im      *store.Import
	probs   *problems
	serials bool
	cells   []string
	row     int
	bad     bool
}

// get returns a field's trimmed cell ("" when the column is absent).
func (p *rowParser) get(name string) string {
	i, ok := p.lay.pos[name]
	if !ok || i >= len(p.cells) {
		return ""
	}
	return strings.TrimSpace(p.cells[i])
}

// fail records a problem with a field of the current row.
func (p *rowParser) fail(name, msg string) {
	p.bad = true
	i, ok := p.lay.pos[name]
	if !ok {
		p.probs.add(p.row, -1, "", msg)
		return
	}
	p.probs.add(p.row, i, strings.TrimSpace(p.lay.headers[i]), msg)
}

// need returns a required field, recording a problem when it is empty.
func (p *rowParser) need(name string) string {
	v := p.get(name)
	if v == "" {
		p.fail(name, "不能为空")
	}
	return v
}

// parse validates one row; a good row is staged. Only staging failures
// (the database) are returned; problems with the row are recorded.
func (p *rowParser) parse(cells []string, row int) error {
	p.cells, p.row, p.bad = cells, row, false
	blank := true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			blank = false
			break
		}
	}
	if blank {
		return nil
	}
	switch p.kind {
	case store.ImportVillages:
		r := store.VillageRow{Line: row, Code: p.need("code"), Name: p.need("name"),
			Township: p.need("township"), Poverty: true}
		if s := p.get("poverty"); s != "" {
			var err error
			if r.Poverty, err = parseBool(s); err != nil {
				p.fail("poverty", err.Error())
			}
		}
		if !p.bad {
			return p.im.AddVillage(r)
		}
	case store.ImportAdvisers:
		r := store.AdviserRow{Line: row, Code: p.need("code"), Name: p.need("name"), Firm: p.get("firm"),
			Card: workflow.ServiceCard{Phone: p.get("phone"), QQ: p.get("qq"), WeChat: p.get("wechat"), Email: p.get("email")}}
		if s := p.need("kind"); s != "" {
			var err error
			if r.Kind, err = workflow.ParseAdviserKind(s); err != nil {
				p.fail("kind", err.Error())
			}
		}
		if !p.bad {
			return p.im.AddAdviser(r)
		}
	case store.ImportAssignments:
		r := store.AssignmentRow{Line: row, AdviserID: p.adviser(), VillageID: p.village()}
		if s := p.need("from"); s != "" {
			r.From = p.parseDate("from", s)
		}
		if s := p.get("to"); s != "" {
			to := p.parseDate("to", s)
			r.To = &to
			if !p.bad && to.Before(r.From) {
				p.fail("to", fmt.Sprintf("终止日期 %s 早于起始日期 %s", to.Format("2006-01-02"), r.From.Format("2006-01-02")))
			}
		}
		if !p.bad {
			return p.im.AddAssignment(r)
		}
	case store.ImportActivities:
		r := store.ActivityRow{Line: row, AdviserID: p.adviser(), VillageID: p.village(), Count: 1, Note: p.get("note")}
		if s := p.need("kind"); s != "" {
			var err error
			if r.Kind, err = rules.ParseKind(s); err != nil {
				p.fail("kind", err.Error())
			}
		}
		if s := p.need("date"); s != "" {
			r.Day = p.parseDate("date", s)
		}
		if s := p.get("count"); s != "" {
			var err error
			if r.Count, err = parseCount(s); err != nil {
				p.fail("count", err.Error())
			}
		}
		if s := p.get("amount_yuan"); s != "" {
			var err error
			if r.AmountFen, err = parseYuan(s); err != nil {
				p.fail("amount_yuan", err.Error())
			}
		}
		if !p.bad {
			return p.im.AddActivity(r)
		}
	}
	return nil
}

func (p *rowParser) parseDate(name, s string) time.Time {
	t, err := parseDate(s, p.serials)
	if err != nil {
		p.fail(name, err.Error())
	}
	return t
}

func (p *rowParser) adviser() int64 {
	code := p.need("adviser")
	if code == "" {
		return 0
	}
	id, ok := p.im.AdviserID(code)
	if !ok {
		p.fail("adviser", fmt.Sprintf("未知的顾问编号 %q; 请先导入法律顾问", code))
	}
	return id
}

func (p *rowParser) village() int64 {
	code := p.need("village")
	if code == "" {
		return 0
	}
	id, ok := p.im.VillageID(code)
	if !ok {
		p.fail("village", fmt.Sprintf("未知的村代码 %q; 请先导入村", code))
	}
	return id
}

// conflict records a set-based check's finding as a problem of its row.
func (p *rowParser) conflict(c store.Conflict) {
	p.row = c.Line
	keyField := fields[p.kind][0].name
	var same []string
	for _, f := range fields[p.kind] {
		if isKey(p.kind, f.name) {
			same = append(same, f.label)
		}
	}
	sameText := strings.Join(same, "、")
	switch c.Kind {
	case store.DuplicateInFile:
		p.fail(keyField, fmt.Sprintf("与第 %d 行重复 (%s相同)", c.OtherLine, sameText))
	case store.AlreadyExists:
		p.fail(keyField, fmt.Sprintf("数据库中已有%s相同的%s; 如要更新已有数据请加 --upsert", sameText, nouns[p.kind].what))
	case store.OverlapInFile:
		p.fail("from", fmt.Sprintf("与第 %d 行的聘任期间重叠: 一个村同一天只能有一名法律顾问", c.OtherLine))
	case store.OverlapStored:
		a := c.Stored
		to := "至今"
		if a.To != nil {
			to = "至 " + a.To.Format("2006-01-02")
		}
		p.fail("from", fmt.Sprintf("与数据库中已有的聘任重叠 (顾问 %s 在村 %s, %s %s): 一个村同一天只能有一名法律顾问",
			a.Adviser, a.Village, a.From.Format("2006-01-02"), to))
	}
}

// isKey says whether a field is part of a kind's natural key.
func isKey(kind store.ImportTable, name string) bool {
	switch kind {
	case store.ImportVillages, store.ImportAdvisers:
		return name == "code"
	case store.ImportAssignments:
		return name == "adviser" || name == "village" || name == "from"
	case store.ImportActivities:
		return name == "adviser" || name == "village" || name == "kind" || name == "date" || name == "note"
	}
	return false
}
