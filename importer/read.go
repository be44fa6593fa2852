package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// rowReader yields a file's rows one at a time.
type rowReader interface {
	// Next returns the next row's cells and its number as a spreadsheet
	// shows it (the header is row 1), or io.EOF. The slice is reused.
	Next() (cells []string, row int, err error)
	// Serials reports whether numbers in date columns are Excel serial dates.
	Serials() bool
	// Close releases the file; calling it again does nothing.
	Close() error
}

// source opens a file's bytes; it may be called twice (encoding detection,
// then reading) and again when a transaction is retried.
type source struct {
	name string // as shown to the user
	open func() (io.ReadCloser, error)
	size int64 // bytes, for the progress bar; <= 0 when unknown
}

// isXLSX says whether a file name is a spreadsheet rather than CSV.
func isXLSX(name string) (bool, error) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".csv"), strings.HasSuffix(lower, ".txt"):
		return false, nil
	case strings.HasSuffix(lower, ".xlsx"), strings.HasSuffix(lower, ".xlsm"):
		return true, nil
	case strings.HasSuffix(lower, ".xls"):
		return false, fmt.Errorf("不支持旧的 .xls 格式; 请在 Excel 中另存为 .xlsx 或 CSV")
	}
	return false, fmt.Errorf("无法识别的文件类型; 应为 .csv 或 .xlsx")
}

// openRows opens src as CSV or XLSX. progress, when not nil, receives a
// progress bar.
func openRows(src source, progress io.Writer) (rowReader, error) {
	xlsx, err := isXLSX(src.name)
	if err != nil {
		return nil, err
	}
	if xlsx {
		return openXLSX(src, progress)
	}
	return openCSV(src, progress)
}

// --- CSV ---

type csvReader struct {
	f       io.ReadCloser
	r       *csv.Reader
	bar     *progressbar.ProgressBar
	row     int // spreadsheet row of the last record
	endLine int // file line the last record ended on
}

// openCSV reads UTF-8 (with or without BOM) or, when the file is not valid
// UTF-8, GB18030 (a superset of GBK, what Excel on Chinese Windows writes).
func openCSV(src source, progress io.Writer) (rowReader, error) {
	f, err := src.open()
	if err != nil {
		return nil, err
	}
	utf, err := isUTF8(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	if f, err = src.open(); err != nil {
		return nil, err
	}
	c := &csvReader{f: f}
	var in io.Reader = f
	if progress != nil {
		c.bar = newBar(progress, src.size, true)
		in = io.TeeReader(f, c.bar)
	}
	br := bufio.NewReaderSize(in, 64<<10)
	if utf {
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			br.Discard(3)
		}
		in = br
	} else {
		in = simplifiedchinese.GB18030.NewDecoder().Reader(br)
	}
	c.r = csv.NewReader(in)
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	return c, nil
}

// isUTF8 reads r to the end and reports whether it is valid UTF-8, holding
// no more than a buffer of it.
func isUTF8(r io.Reader) (bool, error) {
	const size = 64 << 10
	buf := make([]byte, size+utf8.UTFMax)
	carry := 0
	for {
		n, err := io.ReadFull(r, buf[carry:carry+size])
		data := buf[:carry+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return false, err
		}
		end := len(data)
		if !eof { // keep a rune cut by the buffer's end for the next round
			for i := 1; i < utf8.UTFMax && i <= len(data); i++ {
				if utf8.RuneStart(data[len(data)-i]) {
					if !utf8.FullRune(data[len(data)-i:]) {
						end = len(data) - i
					}
					break
				}
			}
		}
		if !utf8.Valid(data[:end]) {
			return false, nil
		}
		if eof {
			return true, nil
		}
		carry = copy(buf, data[end:])
	}
}

func (c *csvReader) Next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, c.row + 1, &formatError{fmt.Sprintf("CSV 格式错误: %v", pe.Err)}
		}
		return nil, 0, err
	}
	// csv skips blank lines, which a spreadsheet shows as empty rows: count
	// them so row numbers match what the user sees.
	start, _ := c.r.FieldPos(0)
	c.row += 1 + max(0, start-c.endLine-1)
	last, _ := c.r.FieldPos(len(rec) - 1)
	c.endLine = last + strings.Count(rec[len(rec)-1], "\n")
	return rec, c.row, nil
}

func (c *csvReader) Serials() bool { return false }

func (c *csvReader) Close() error {
	if c.f == nil {
		return nil
	}
	defer func() { c.f = nil }()
	if c.bar != nil {
		c.bar.Finish()
	}
	return c.f.Close()
}

// formatError is a row that cannot be read at all.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

// --- XLSX ---

type xlsxReader struct {
	f    *excelize.File
	rows *excelize.Rows
	bar  *progressbar.ProgressBar
	row  int
}

// openXLSX streams the first worksheet's rows. Cells are read raw (no
// number format), so dates arrive as serial numbers.
func openXLSX(src source, progress io.Writer) (rowReader, error) {
	r, err := src.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("无法读取 XLSX 文件: %v", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, fmt.Errorf("XLSX 文件中没有工作表")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("无法读取工作表 %q: %v", sheets[0], err)
	}
	x := &xlsxReader{f: f, rows: rows}
	if progress != nil {
		x.bar = newBar(progress, -1, false)
	}
	return x, nil
}

func (x *xlsxReader) Next() ([]string, int, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, 0, err
		}
		return nil, 0, io.EOF
	}
	x.row++
	cells, err := x.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, x.row, &formatError{fmt.Sprintf("无法读取此行: %v", err)}
	}
	for i, c := range cells {
		cells[i] = normNumber(c)
	}
	if x.bar != nil {
		x.bar.Add(1)
	}
	return cells, x.row, nil
}

// normNumber writes a number stored with binary floating-point noise
// ("1234.5599999999999") as the shortest decimal that means the same
// float ("1234.56"), as Excel displays it. Other text is left alone.
func normNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") || strings.ContainsAny(s, " ,") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (x *xlsxReader) Serials() bool { return true }

func (x *xlsxReader) Close() error {
	if x.f == nil {
		return nil
	}
	defer func() { x.f = nil }()
	if x.bar != nil {
		x.bar.Finish()
	}
	x.rows.Close()
	return x.f.Close()
}

func newBar(w io.Writer, size int64, bytes bool) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("导入中"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString("行"), progressbar.OptionShowIts())
	}
	return progressbar.NewOptions64(size, opts...)
}
