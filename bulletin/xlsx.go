package bulletin

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

var ledgerHead = []string{"序号", "编号", "乡镇", "村", "法律顾问", "督查事项", "严重程度", "问题", "发现日期", "整改期限", "状态", "处理经过"}

// WriteLedger writes findings as an XLSX ledger (督查问题台账): one sheet,
// one row per finding with its status, deadline and history summary. Every
// cell is a plain string or number, never a formula: a text starting with
// "=" stays text.
func WriteLedger(w io.Writer, title string, fs []Finding) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := ledgerSheet(f, "问题台账", title, fs); err != nil {
		return err
	}
	return f.Write(w)
}

// WriteXLSX writes the bulletin's ledger: its problems on the first sheet,
// the earlier findings (with their lists) on a second when reported.
func (b *Bulletin) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := ledgerSheet(f, "本期问题", b.Bureau+b.Number.String()+"督查通报 问题台账", b.Problems); err != nil {
		return err
	}
	if e := b.Earlier; e != nil {
		var all []Finding
		for _, l := range e.Lists() {
			all = append(all, l.Items...)
		}
		if err := ledgerSheet(f, "前期问题整改", b.Bureau+b.Number.String()+"督查通报 前期问题整改情况", all); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// ledgerSheet streams one ledger sheet; the first takes the place of the
// new file's "Sheet1" (deleting a sheet later would re-parse every streamed one).
func ledgerSheet(f *excelize.File, sheet, title string, fs []Finding) error {
	if f.SheetCount == 1 && f.GetSheetName(0) == "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return err
		}
	} else if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	widths := []float64{6, 8, 12, 14, 10, 24, 8, 40, 12, 12, 10, 48}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{Value: title, StyleID: bold}}); err != nil {
		return err
	}
	head := make([]any, len(ledgerHead))
	for i, h := range ledgerHead {
		head[i] = excelize.Cell{Value: h, StyleID: bold}
	}
	if err := sw.SetRow("A2", head); err != nil {
		return err
	}
	for i, x := range fs {
		id := ""
		if x.ID != 0 {
			id = fmt.Sprint(x.ID)
		}
		state := ""
		if x.State != "" {
			state = StateLabel(x.State)
		}
		row := []any{i + 1, id, x.Township, x.Village, x.Adviser, x.Rule, x.Severity, x.Message,
			DateText(x.Found), DateText(x.Deadline), state, x.History}
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	return sw.Flush()
}
