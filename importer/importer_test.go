package importer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

// A small county: two townships, four villages, three advisers.
const (
	villagesCSV = `村代码,村名,乡镇,是否贫困村
V01,青山村,东关镇,是
V02,石桥村,东关镇,否
V03,柳河村,西岭乡,1
V04,桃园村,西岭乡,true
`
	advisersCSV = `顾问编号,姓名,类别,执业机构,电话,QQ,微信,邮箱
A01,张明,律师,正义律师事务所,13800000001,10001,zhangming,
A02,李华,基层法律服务工作者,东关法律服务所,13800000002,,,
A03,王芳,lawyer,公平律师事务所,,,,wf@example.cn
`
	assignmentsCSV = `adviser,village,from,to
A01,V01,2018-01-01,
A01,V02,2018/1/1,2018/3/31
A03,V02,2018年4月1日,
A02,V03,2018-01-01,
A02,V04,2018-01-01,
`
	activitiesCSV = `顾问编号,村代码,类别,日期,数量,挽回经济损失(元),备注
A01,V01,法治讲座,2018-03-24,1,,春季普法
A01,V01,consultation,2018-03-24,12,,
A01,V02,人民调解,2018/2/5,,1234.5,邻里纠纷
A03,V02,审查合同,2018年4月10日,2,,
A02,V03,到村服务,2018-01-15,,,
`
)

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustImport(t testing.TB, db *store.DB, kind store.ImportTable, path string, opts importer.Options) *importer.Result {
	t.Helper()
	res, err := importer.ImportFile(context.Background(), db, kind, path, opts)
	if err != nil {
		t.Fatalf("import %s %s: %v", kind, filepath.Base(path), err)
	}
	return res
}

// loadCounty imports the small county and returns the folder of its files.
func loadCounty(t testing.TB, db *store.DB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct {
		kind    store.ImportTable
		content string
	}{
		{store.ImportVillages, villagesCSV},
		{store.ImportAdvisers, advisersCSV},
		{store.ImportAssignments, assignmentsCSV},
		{store.ImportActivities, activitiesCSV},
	} {
		mustImport(t, db, f.kind, write(t, dir, string(f.kind)+".csv", f.content), importer.Options{})
	}
	return dir
}

// snapshot renders every domain row, to prove a failed import changed nothing.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ts, err1 := db.Townships(ctx)
	vs, err2 := db.Villages(ctx)
	as, err3 := db.Advisers(ctx)
	ss, err4 := db.Assignments(ctx)
	xs, err5 := db.Activities(ctx, store.ActivityFilter{})
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%v\n%v\n%v\n", ts, vs, as)
	for _, s := range ss {
		fmt.Fprintf(&b, "%d %s %s %s %v\n", s.ID, s.Adviser, s.Village, s.From.Format("2006-01-02"), s.To)
	}
	for _, x := range xs {
		fmt.Fprintf(&b, "%+v\n", x)
	}
	return b.String()
}

func TestImportCounty(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loadCounty(t, db)
		c, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.Counts{Townships: 2, Villages: 4, Advisers: 3, Assignments: 5, Activities: 5}); c != want {
			t.Fatalf("counts = %+v, want %+v", c, want)
		}
		vs, _ := db.Villages(ctx)
		if v := vs[1]; v.Code != "V02" || v.Name != "石桥村" || v.Township != "东关镇" || v.Poverty {
			t.Errorf("village V02 = %+v", v)
		}
		as, _ := db.Advisers(ctx)
		if a := as[0]; a.Kind != workflow.Lawyer || a.Firm != "正义律师事务所" || a.Card.WeChat != "zhangming" || !a.Card.Complete() {
			t.Errorf("adviser A01 = %+v", a)
		}
		if a := as[1]; a.Kind != workflow.Worker || a.Card.Complete() {
			t.Errorf("adviser A02 = %+v", a)
		}
		// On 2018-02-01 V02 is A01's, on 2018-04-01 A03's.
		for day, want := range map[time.Time]string{workflow.Date(2018, 2, 1): "A01", workflow.Date(2018, 4, 1): "A03"} {
			act, err := db.ActiveAssignments(ctx, day)
			if err != nil {
				t.Fatal(err)
			}
			if len(act) != 4 || act[1].Village != "V02" || act[1].Adviser != want {
				t.Errorf("active on %s = %+v, want V02 served by %s", day, act, want)
			}
		}
		xs, err := db.Activities(ctx, store.ActivityFilter{Kind: rules.Mediation})
		if err != nil || len(xs) != 1 {
			t.Fatalf("mediations = %v, %v", xs, err)
		}
		if x := xs[0]; x.AmountFen != 123450 || x.Count != 1 || x.Note != "邻里纠纷" ||
			x.Date != workflow.Date(2018, 2, 5) || x.Source != "import:activities.csv" {
			t.Errorf("mediation = %+v", x)
		}
		n, _ := db.CountActivities(ctx, store.ActivityFilter{Township: "东关镇", From: workflow.Date(2018, 3, 1)})
		if n != 3 {
			t.Errorf("activities in 东关镇 from March = %d, want 3", n)
		}
		tot, err := db.ActivityTotals(ctx, store.ActivityFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(tot)
		if want := "[{lecture 1 1 0} {document_review 1 2 0} {consultation 1 12 0} {mediation 1 1 123450} {visit 1 1 0}]"; got != want {
			t.Errorf("totals = %s, want %s", got, want)
		}
	})
}

func TestSummary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		res := mustImport(t, db, store.ImportVillages, write(t, dir, "v.csv", villagesCSV), importer.Options{})
		if got, want := res.Summary(), "导入村 4 个 (新增 4, 更新 0), 新建乡镇 2 个"; got != want {
			t.Errorf("summary = %q, want %q", got, want)
		}
	})
}

func TestBadFilesChangeNothing(t *testing.T) {
	cases := []struct {
		name    string
		kind    store.ImportTable
		file    string
		content string
		want    []string // substrings of the error, e.g. "FILE:ROW:COL"
	}{
		{"missing column", store.ImportVillages, "v.csv", "村代码,村名\nV09,新村\n",
			[]string{"v.csv:", `缺少必需的列 "乡镇" (township)`}},
		{"unknown column", store.ImportVillages, "v.csv", "村代码,村名,乡镇,人口\nV09,新村,东关镇,300\n",
			[]string{"v.csv:1:D", `未知的列 "人口"`}},
		{"empty file", store.ImportVillages, "v.csv", "", []string{"文件是空的"}},
		{"header only", store.ImportVillages, "v.csv", "村代码,村名,乡镇\n", []string{"没有数据行"}},
		{"unsupported type", store.ImportVillages, "v.xls", "x", []string{"v.xls: 不支持旧的 .xls"}},
		{"empty required cell", store.ImportVillages, "v.csv", "村代码,村名,乡镇\nV09,,东关镇\n",
			[]string{"v.csv:2:B: 第 2 行 B 列 (村名): 不能为空"}},
		{"bad poverty", store.ImportVillages, "v.csv", "code,name,township,poverty\nV09,新村,东关镇,也许\n",
			[]string{"v.csv:2:D", "应为 是/否、true/false 或 1/0"}},
		{"existing village", store.ImportVillages, "v.csv", "code,name,township\nV09,新村,东关镇\nV01,青山村,东关镇\n",
			[]string{"v.csv:3:A", "数据库中已有村代码相同的村", "--upsert"}},
		{"duplicate in file", store.ImportVillages, "v.csv", "code,name,township\nV09,新村,东关镇\nV10,新村,东关镇\nV09,又一村,北镇\n",
			[]string{"v.csv:4:A", "与第 2 行重复"}},
		{"bad adviser kind", store.ImportAdvisers, "a.csv", "code,name,kind\nA09,赵六,公证员\n",
			[]string{"a.csv:2:C", "未知的顾问类别"}},
		{"unknown adviser", store.ImportAssignments, "s.csv", "adviser,village,from\nA99,V01,2019-01-01\n",
			[]string{"s.csv:2:A", `未知的顾问编号 "A99"`}},
		{"unknown village", store.ImportActivities, "x.csv", "adviser,village,kind,date\nA01,V99,lecture,2018-05-01\n",
			[]string{"x.csv:2:B", `未知的村代码 "V99"`}},
		{"impossible date", store.ImportActivities, "x.csv", "adviser,village,kind,date\nA01,V01,lecture,2018-05-01\nA01,V01,lecture,2018-02-30\n",
			[]string{"x.csv:3:D: 第 3 行 D 列 (date): 日期 \"2018-02-30\" 不存在"}},
		{"unreadable date", store.ImportActivities, "x.csv", "adviser,village,kind,日期\nA01,V01,lecture,三月\n",
			[]string{"x.csv:2:D", "应为 2018-03-24、2018/3/24 或 2018年3月24日"}},
		{"serial date in csv", store.ImportActivities, "x.csv", "adviser,village,kind,date\nA01,V01,lecture,43183\n",
			[]string{"x.csv:2:D", "无法识别的日期"}},
		{"negative count", store.ImportActivities, "x.csv", "adviser,village,kind,date,count\nA01,V01,consultation,2018-05-01,-3\n",
			[]string{"x.csv:2:E", "不能为负数"}},
		{"unknown kind", store.ImportActivities, "x.csv", "adviser,village,kind,date\nA01,V01,唱歌,2018-05-01\n",
			[]string{"x.csv:2:C", "未知的工作记录类别"}},
		{"three decimals", store.ImportActivities, "x.csv", "adviser,village,kind,date,amount_yuan\nA01,V01,mediation,2018-05-01,10.123\n",
			[]string{"x.csv:2:E", "小数超过两位"}},
		{"duplicate activity", store.ImportActivities, "x.csv", "adviser,village,kind,date,note\nA01,V01,lecture,2018-05-01,x\nA01,V01,讲课,2018-06-01,x\nA01,V01,法治讲座,2018/5/1,x\n",
			[]string{"x.csv:3:C", "x.csv:4:A", "与第 2 行重复 (顾问编号、村代码、类别、日期、备注相同)"}},
		{"existing activity", store.ImportActivities, "x.csv", "adviser,village,kind,date,count,note\nA01,V01,lecture,2018-03-24,3,春季普法\n",
			[]string{"x.csv:2:A", "数据库中已有"}},
		{"overlap in file", store.ImportAssignments, "s.csv", "adviser,village,from,to\nA01,V03,2019-01-01,2019-06-30\nA02,V04,2019-01-01,\nA03,V03,2019-06-30,\n",
			[]string{"s.csv:4:C", "与第 2 行的聘任期间重叠", "一个村同一天只能有一名法律顾问"}},
		{"overlap stored", store.ImportAssignments, "s.csv", "adviser,village,from\nA03,V01,2018-06-01\n",
			[]string{"s.csv:2:C", "与数据库中已有的聘任重叠 (顾问 A01 在村 V01, 2018-01-01 至今)"}},
		{"to before from", store.ImportAssignments, "s.csv", "adviser,village,from,to\nA03,V01,2018-06-01,2018-05-01\n",
			[]string{"s.csv:2:D", "早于起始日期"}},
		{"bad quote", store.ImportVillages, "v.csv", "code,name,township\nV09,\"新村,东关镇\n",
			[]string{"v.csv:2", "CSV 格式错误"}},
	}
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		loadCounty(t, db)
		before := snapshot(t, db)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				path := write(t, t.TempDir(), c.file, c.content)
				_, err := importer.ImportFile(context.Background(), db, c.kind, path, importer.Options{})
				var ie *importer.Error
				if !errors.As(err, &ie) || !ie.BadInput() {
					t.Fatalf("err = %v (%T), want *importer.Error", err, err)
				}
				msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
				for _, w := range c.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error lacks %q:\n%s", w, msg)
					}
				}
				if after := snapshot(t, db); after != before {
					t.Errorf("database changed:\nbefore %s\nafter %s", before, after)
				}
			})
		}
	})
}

// A bad row late in a long file rolls back every row staged before it, and
// an import reports at most MaxProblems problems.
func TestLateAndManyErrors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		loadCounty(t, db)
		before := snapshot(t, db)
		var b strings.Builder
		b.WriteString("adviser,village,kind,date,note\n")
		for i := range 3000 {
			fmt.Fprintf(&b, "A01,V01,visit,2018-05-01,第%d次\n", i)
		}
		b.WriteString("A01,V01,visit,2018-13-01,坏\n")
		path := write(t, t.TempDir(), "x.csv", b.String())
		_, err := importer.ImportFile(context.Background(), db, store.ImportActivities, path, importer.Options{})
		if err == nil || !strings.Contains(err.Error(), "x.csv:3002:D") {
			t.Fatalf("err = %v, want a problem at x.csv:3002:D", err)
		}
		if after := snapshot(t, db); after != before {
			t.Fatal("database changed")
		}

		b.Reset()
		b.WriteString("adviser,village,kind,date\n")
		for range 30 {
			b.WriteString("A01,V01,visit,2018-02-30\n")
		}
		path = write(t, t.TempDir(), "y.csv", b.String())
		_, err = importer.ImportFile(context.Background(), db, store.ImportActivities, path, importer.Options{})
		var ie *importer.Error
		if !errors.As(err, &ie) || len(ie.Problems) != importer.MaxProblems || !ie.More {
			t.Fatalf("err = %v, want %d problems and more", err, importer.MaxProblems)
		}
		if p := ie.Problems[19]; p.Row != 21 || p.Column() != "D" || p.Header != "date" {
			t.Errorf("20th problem = %+v", p)
		}
	})
}

func TestEncodings(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(villagesCSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, content string
		villages      int
	}{
		{"utf8", villagesCSV, 4},
		{"utf8-bom", "\ufeff" + villagesCSV, 4},
		{"gbk", gbk, 4},
		{"crlf", strings.ReplaceAll(villagesCSV, "\n", "\r\n"), 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := testdb.Open(t, store.SQLite)
			mustImport(t, db, store.ImportVillages, write(t, t.TempDir(), "v.csv", c.content), importer.Options{})
			vs, err := db.Villages(context.Background())
			if err != nil || len(vs) != c.villages {
				t.Fatalf("villages = %d, %v; want %d", len(vs), err, c.villages)
			}
			if v := vs[0]; v.Code != "V01" || v.Name != "青山村" || v.Township != "东关镇" {
				t.Errorf("first village = %+v", v)
			}
		})
	}
}

func TestXLSX(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		loadCounty(t, db)
		f := excelize.NewFile()
		defer f.Close()
		sh := f.GetSheetName(0)
		dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yy
		if err != nil {
			t.Fatal(err)
		}
		rows := [][]any{
			{"日期", "备注", "类别", "村代码", "顾问编号", "数量", "挽回经济损失（元）"}, // any order, full-width brackets
			{43183, "序列日期", "法律咨询", "V03", "A02", 5, 1234.56},    // 43183 = 2018-03-24
			{"2018/3/25", "文本日期", "legal_opinion", "V04", "A02", nil, 0.1},
			{},
			{43184.75, "带时间", "代写法律文书", "V03", "A02", 2, 100},
		}
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sh, cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		f.SetCellStyle(sh, "A2", "A5", dateStyle)
		path := filepath.Join(t.TempDir(), "activities.xlsx")
		if err := f.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		res := mustImport(t, db, store.ImportActivities, path, importer.Options{})
		if res.Rows != 3 {
			t.Fatalf("rows = %d, want 3", res.Rows)
		}
		xs, _ := db.Activities(context.Background(), store.ActivityFilter{Village: "V03"})
		xs2, _ := db.Activities(context.Background(), store.ActivityFilter{Village: "V04"})
		xs = append(xs, xs2...)
		var got []string
		for _, x := range xs {
			got = append(got, fmt.Sprintf("%s %s %d %d %s", x.Date.Format("2006-01-02"), x.Kind, x.Count, x.AmountFen, x.Note))
		}
		want := []string{
			"2018-01-15 visit 1 0 ",
			"2018-03-24 consultation 5 123456 序列日期",
			"2018-03-25 document_drafting 2 10000 带时间",
			"2018-03-25 legal_opinion 1 10 文本日期",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("activities =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// A bad cell in a spreadsheet is named by its row and column letter.
		f.SetCellValue(sh, "E5", "A99")
		f.SetCellValue(sh, "B5", "又一次")
		bad := filepath.Join(t.TempDir(), "bad.xlsx")
		if err := f.SaveAs(bad); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db)
		_, err = importer.ImportFile(context.Background(), db, store.ImportActivities, bad, importer.Options{})
		if err == nil || !strings.Contains(err.Error(), "bad.xlsx:5:E: 第 5 行 E 列 (顾问编号)") {
			t.Fatalf("err = %v", err)
		}
		if snapshot(t, db) != before {
			t.Fatal("database changed")
		}
	})
}

func TestUpsert(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loadCounty(t, db)
		dir := t.TempDir()

		// Villages: V02 moves township and becomes a poverty village; V05 is new.
		v := write(t, dir, "v.csv", "code,name,township,poverty\nV02,石桥村,北山镇,是\nV05,新村,北山镇,否\n")
		if _, err := importer.ImportFile(ctx, db, store.ImportVillages, v, importer.Options{}); err == nil {
			t.Fatal("re-import without --upsert succeeded")
		}
		res := mustImport(t, db, store.ImportVillages, v, importer.Options{Upsert: true})
		if res.Inserted != 1 || res.Updated != 1 || res.NewTownships != 1 {
			t.Errorf("villages result = %+v", res.ImportResult)
		}
		vs, _ := db.Villages(ctx)
		if vs[1].Township != "北山镇" || !vs[1].Poverty {
			t.Errorf("V02 = %+v", vs[1])
		}

		// Advisers: a file without the card columns leaves the cards alone.
		a := write(t, dir, "a.csv", "code,name,kind\nA01,张明明,lawyer\n")
		mustImport(t, db, store.ImportAdvisers, a, importer.Options{Upsert: true})
		as, _ := db.Advisers(ctx)
		if as[0].Name != "张明明" || as[0].Card.Phone != "13800000001" || as[0].Firm != "正义律师事务所" {
			t.Errorf("A01 = %+v", as[0])
		}

		// Assignments: ending A01's open V01 assignment makes room for A03.
		s := write(t, dir, "s.csv", "adviser,village,from,to\nA01,V01,2018-01-01,2018-05-31\nA03,V01,2018-06-01,\n")
		res = mustImport(t, db, store.ImportAssignments, s, importer.Options{Upsert: true})
		if res.Inserted != 1 || res.Updated != 1 {
			t.Errorf("assignments result = %+v", res.ImportResult)
		}
		act, _ := db.ActiveAssignments(ctx, workflow.Date(2018, 7, 1))
		if act[0].Village != "V01" || act[0].Adviser != "A03" {
			t.Errorf("V01 on 2018-07-01 = %+v", act[0])
		}

		// Activities: the same key updates count and amount.
		x := write(t, dir, "x.csv", "adviser,village,kind,date,count,amount_yuan,note\nA01,V01,lecture,2018-03-24,2,5.5,春季普法\n")
		res = mustImport(t, db, store.ImportActivities, x, importer.Options{Upsert: true})
		if res.Inserted != 0 || res.Updated != 1 {
			t.Errorf("activities result = %+v", res.ImportResult)
		}
		xs, _ := db.Activities(ctx, store.ActivityFilter{Kind: rules.Lecture})
		if len(xs) != 1 || xs[0].Count != 2 || xs[0].AmountFen != 550 || xs[0].Source != "import:x.csv" {
			t.Errorf("lectures = %+v", xs)
		}
		c, _ := db.Counts(ctx)
		if want := (store.Counts{Townships: 3, Villages: 5, Advisers: 3, Assignments: 6, Activities: 5}); c != want {
			t.Errorf("counts = %+v, want %+v", c, want)
		}
	})
}
