package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCalendarShow(t *testing.T) {
	code, out, errs := runDucha(t, "calendar", "show", "2018")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"2018-02-15 至 2018-02-21 春节 放假 7 天",
		"2018-02-11 (星期日) 春节调休上班",
		"2018-02-24 (星期六) 春节调休上班",
		"2018-10-01 至 2018-10-07 国庆节 放假 7 天",
		"2018-12-30 至 2018-12-31 元旦 放假 2 天 (连同 2019 年共 3 天: 2018-12-30 至 2019-01-01)",
		"全年工作日 250 天 (星期一至星期五 261 天, 其中放假 18 天; 调休上班 7 天)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}

	code, out, _ = runDucha(t, "calendar", "--json", "show", "2025")
	var y jsonYear
	if code != 0 || json.Unmarshal([]byte(out), &y) != nil {
		t.Fatalf("exit %d, output %s", code, out)
	}
	if !y.Covered || y.WorkingDays != 248 || len(y.Workdays) != 5 || y.Holidays[1].Name != "春节" || y.Holidays[1].Days != 8 {
		t.Errorf("2025 as JSON: %+v", y)
	}

	// A year without a file: weekends only, and a warning.
	code, out, errs = runDucha(t, "calendar", "show", "2031", "--json")
	y = jsonYear{}
	if code != 0 || json.Unmarshal([]byte(out), &y) != nil {
		t.Fatalf("exit %d, output %s", code, out)
	}
	if y.Covered || y.WorkingDays != 261 || len(y.Warnings) != 1 || !strings.Contains(errs, "没有 2031 年的节假日安排文件") {
		t.Errorf("2031: %+v, stderr %q", y, errs)
	}
}

func TestCalendarAdd(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"2018-02-09", "1"}, "2018-02-11 星期日 (2018-02-09 (星期五) 之后第 1 个工作日; 春节调休上班)\n"},
		{[]string{"2018-02-12", "5"}, "2018-02-24 星期六 (2018-02-12 (星期一) 之后第 5 个工作日; 春节调休上班)\n"},
		{[]string{"2018-02-22", "-1"}, "2018-02-14 星期三 (2018-02-22 (星期四) 之前第 1 个工作日)\n"},
		{[]string{"2018-02-16", "0"}, "2018-02-16 星期五 (当天, 不是工作日; 春节放假)\n"},
	} {
		code, out, errs := runDucha(t, append([]string{"calendar", "add"}, tc.args...)...)
		if code != 0 || out != tc.want {
			t.Errorf("calendar add %v: exit %d, %q (stderr %q), want %q", tc.args, code, out, errs, tc.want)
		}
	}
	code, out, errs := runDucha(t, "calendar", "add", "2030-10-04", "1", "--json")
	var a jsonAdd
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil {
		t.Fatalf("exit %d, output %s", code, out)
	}
	if a.Result != "2030-10-07" || a.Weekday != "星期一" || !a.Workday || len(a.Warnings) != 1 || !strings.Contains(errs, "只按周末计算") {
		t.Errorf("2030: %+v, stderr %q", a, errs)
	}
}

func TestCalendarBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "2027.txt")
	if err := os.WriteFile(bad, []byte("year: 2027\nworkdays:\n  - 2027-01-04 元旦\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "2018-02-30", "1"}, `日期 "2018-02-30" 无效`},
		{[]string{"add", "2018-02-09", "x"}, `工作日数 "x" 无效`},
		{[]string{"add", "2018-02-09"}, "用法"},
		{[]string{"show", "18"}, `年份 "18" 无效`},
		{[]string{"show"}, "用法"},
		{[]string{"list"}, `未知的子命令 "list"`},
		{[]string{}, "缺少子命令"},
		{[]string{"show", "2027", "--calendar", bad}, bad + ":3:5: 2027-01-04 是星期一"},
		{[]string{"show", "2027", "--calendar", bad + ".missing"}, "无法打开节假日安排文件"},
	} {
		code, out, errs := runDucha(t, append([]string{"calendar"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("calendar %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestCalendarUserFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "2027.txt")
	src := "year: 2027\nholidays:\n  - 2027-01-01..2027-01-03 元旦\nworkdays:\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runDucha(t, "calendar", "add", "2026-12-31", "1", "--calendar", f)
	if code != 0 || out != "2027-01-04 星期一 (2026-12-31 (星期四) 之后第 1 个工作日)\n" || errs != "" {
		t.Errorf("with %s: exit %d, %q, stderr %q", f, code, out, errs)
	}
	code, _, errs = runDucha(t, "calendar", "show", "2027", "--calendar", f, "--calendar", f)
	if code != 2 || !strings.Contains(errs, "都是 2027 年的") {
		t.Errorf("same year twice: exit %d, stderr %q", code, errs)
	}
}
