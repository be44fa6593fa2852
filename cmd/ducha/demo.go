package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"ducha/importer"
	"ducha/rules"
	"ducha/store"
	"ducha/testdata/county"
	checklists "ducha/testdata/rules"
	"ducha/workflow"
)

const demoUsage = "[--dir DIR] [--force] [--seed N] [--pdf] [--serve [--addr :8080]]"

// demoDBName is the database file inside the demo folder.
const demoDBName = "ducha.db"

func init() {
	register(&command{
		name:  "demo",
		usage: demoUsage,
		summary: "演示: 在文件夹 (默认 ./ducha-demo) 中新建 SQLite 数据库, 导入示例县并显示载入的数据; " +
			"已有演示数据时不覆盖, 除非加 --force (演示总用该文件夹中的 SQLite, 不用 --db)",
		run: runDemo,
	})
}

// demo is the state the demo's steps share.
type demo struct {
	e      *Env
	dir    string
	force  bool
	dbPath string
	db     *store.DB

	seed      uint64     // drives every random choice of the replay
	pdf       bool       // print the summary to PDF too, with Chromium
	checklist string     // the checklist file written into the demo folder
	people    []demoUser // ready-made users with their passwords
	timeline  []string
}

// demoStep is one chapter of the demo. The demo grows into the half-year
// story (rounds, findings, rectification, bulletins) by adding steps here.
type demoStep struct {
	title string
	run   func(d *demo) error
}

var demoSteps = []demoStep{
	{"准备演示数据库", (*demo).prepare},
	{"导入示例县", (*demo).importCounty},
	{"已载入的数据", (*demo).report},
	{"创建用户", (*demo).users},
	{"回放 2018 年上半年 (模拟时钟)", (*demo).replay},
	{"督查通报与半年工作总结", (*demo).documents},
	{"接下来", (*demo).next},
}

func runDemo(e *Env, args []string) error {
	fs := newFlags(e, "demo", demoUsage)
	dir := fs.String("dir", "ducha-demo", "演示数据所在的文件夹 (数据库为其中的 "+demoDBName+")")
	force := fs.Bool("force", false, "文件夹中已有演示数据库时删除重建")
	seed := fs.Uint64("seed", 2018, "回放的随机种子: 同一种子回放结果相同")
	pdf := fs.Bool("pdf", false, "同时用 Chromium 打印半年工作总结的 PDF (较慢); 通报的 PDF 总是生成 (在 Go 中排版, 不需要浏览器; 未装 TrueType 中文字体时才用 Chromium)")
	serve := fs.Bool("serve", false, "演示完成后打开网页服务 (已有演示数据库时直接使用它)")
	addr := fs.String("addr", ":8080", "--serve 的监听地址")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("用法: ducha demo %s", demoUsage)
	}
	d := &demo{e: e, dir: *dir, force: *force, dbPath: filepath.Join(*dir, demoDBName), seed: *seed, pdf: *pdf}
	defer func() {
		if d.db != nil {
			d.db.Close()
		}
	}()
	if *serve && !*force {
		if n, err := countRows(e, d.dbPath); err == nil && n > 0 {
			fmt.Fprintf(e.Stdout, "使用已有的演示数据库 %s (加 --force 重新回放)\n", d.dbPath)
			return d.serve(*addr)
		}
	}
	for i, s := range demoSteps {
		fmt.Fprintf(e.Stdout, "\n== %d. %s ==\n", i+1, s.title)
		if err := s.run(d); err != nil {
			return err
		}
	}
	if *serve {
		d.db.Close()
		d.db = nil
		return d.serve(*addr)
	}
	return nil
}

// prepare creates the folder and a fresh database. An existing database
// with data is kept unless --force: the demo never silently destroys work.
func (d *demo) prepare() error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("创建文件夹 %s: %w", d.dir, err)
	}
	if _, err := os.Stat(d.dbPath); err == nil {
		if !d.force {
			n, err := countRows(d.e, d.dbPath)
			if err != nil {
				return err
			}
			if n > 0 {
				return usagef("%s 已有演示数据 (%d 行); 加 --force 删除重建, 或用 --dir 指定另一个文件夹", d.dbPath, n)
			}
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(d.dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("删除旧的演示数据库: %w", err)
			}
		}
	}
	db, err := store.Open(d.e.Ctx, "sqlite:"+d.dbPath)
	if err != nil {
		return err
	}
	d.db = db
	d.e.DBURL = "sqlite:" + d.dbPath
	d.checklist = filepath.Join(d.dir, "checklist-2018.yaml")
	if err := os.WriteFile(d.checklist, checklists.Checklist2018, 0o644); err != nil {
		return fmt.Errorf("写入督查工作清单: %w", err)
	}
	fmt.Fprintf(d.e.Stdout, "新建 SQLite 数据库 %s, 督查工作清单 %s\n", d.dbPath, d.checklist)
	return nil
}

// countRows counts the domain rows of an existing database.
func countRows(e *Env, path string) (int, error) {
	db, err := store.Open(e.Ctx, "sqlite:"+path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	c, err := db.Counts(e.Ctx)
	if err != nil {
		return 0, err
	}
	return c.Townships + c.Villages + c.Advisers + c.Assignments + c.Activities, nil
}

// importCounty loads the embedded sample county, file by file.
func (d *demo) importCounty() error {
	for _, k := range importer.Kinds {
		name := string(k) + ".csv"
		res, err := importer.ImportFS(d.e.Ctx, d.db, k, county.Files, name, importer.Options{Source: "demo"})
		if err != nil {
			return fmt.Errorf("导入示例县 %s: %w", name, err)
		}
		fmt.Fprintf(d.e.Stdout, "%-16s %s\n", name, res.Summary())
	}
	return nil
}

// report prints what the database now holds.
func (d *demo) report() error {
	ctx, w := d.e.Ctx, d.e.Stdout
	c, err := d.db.Counts(ctx)
	if err != nil {
		return err
	}
	villages, err := d.db.Villages(ctx)
	if err != nil {
		return err
	}
	advisers, err := d.db.Advisers(ctx)
	if err != nil {
		return err
	}
	first, last, err := d.db.ActivityPeriod(ctx, store.ActivityFilter{})
	if err != nil {
		return err
	}
	active, err := d.db.ActiveAssignments(ctx, last)
	if err != nil {
		return err
	}
	totals, err := d.db.ActivityTotals(ctx, store.ActivityFilter{})
	if err != nil {
		return err
	}
	poor, lawyers, incomplete := 0, 0, 0
	for _, v := range villages {
		if v.Poverty {
			poor++
		}
	}
	for _, a := range advisers {
		if a.Kind == workflow.Lawyer {
			lawyers++
		}
		if !a.Card.Complete() {
			incomplete++
		}
	}
	fmt.Fprintf(w, "乡镇     %d 个\n", c.Townships)
	fmt.Fprintf(w, "村       %d 个 (其中贫困村 %d 个)\n", c.Villages, poor)
	fmt.Fprintf(w, "法律顾问 %d 名 (律师 %d 名, 基层法律服务工作者 %d 名; 便民服务卡不完整 %d 名)\n",
		c.Advisers, lawyers, c.Advisers-lawyers, incomplete)
	fmt.Fprintf(w, "聘任     %d 条", c.Assignments)
	if !last.IsZero() {
		fmt.Fprintf(w, " (%s 在聘 %d 个村)", last.Format("2006-01-02"), len(active))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "工作记录 %d 条", c.Activities)
	if !first.IsZero() {
		fmt.Fprintf(w, " (%s 至 %s)", first.Format("2006-01-02"), last.Format("2006-01-02"))
	}
	fmt.Fprintln(w, ":")
	var fen int64
	for _, t := range totals {
		fmt.Fprintf(w, "  %-*s %4d 条记录, 共 %d %s\n", labelWidth(t.Kind), t.Kind.Label(), t.Records, t.Count, t.Kind.Unit())
		fen += t.AmountFen
	}
	fmt.Fprintf(w, "  挽回经济损失 %s 元\n", yuan(fen))

	return nil
}

// labelWidth is the fmt width (in runes) that pads a kind's label to 16
// display columns: its Chinese characters are two columns wide each.
func labelWidth(k rules.Kind) int {
	return 16 - len([]rune(k.Label()))
}

// yuan writes fen as yuan with thousands separators: 250000000 → "2,500,000.00".
func yuan(fen int64) string {
	s := fmt.Sprint(fen / 100)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s.%02d", b.String(), fen%100)
}
