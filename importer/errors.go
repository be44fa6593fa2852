package importer

import (
	"fmt"
	"sort"
	"strings"
)

// MaxProblems is how many problems one import reports before it stops
// reading the file.
const MaxProblems = 20

// Problem is one thing wrong with a file, at a row and column as a user
// sees them in a spreadsheet: the header is row 1, columns are lettered.
type Problem struct {
	File   string
	Row    int    // 1-based; 0 when about the whole file
	Col    int    // 0-based column; -1 when about no single column
	Header string // the column's header as written
	Msg    string // what is wrong and what was expected, in Chinese
}

// Column is the problem's column letter ("A", "AB"), or "".
func (p Problem) Column() string {
	if p.Col < 0 {
		return ""
	}
	return colName(p.Col)
}

// String gives FILE:ROW:COL first (for tools and editors), then the same
// place in words, then the message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Row > 0 {
		fmt.Fprintf(&b, ":%d", p.Row)
		if p.Col >= 0 {
			fmt.Fprintf(&b, ":%s", p.Column())
		}
		fmt.Fprintf(&b, ": 第 %d 行", p.Row)
		if p.Col >= 0 {
			fmt.Fprintf(&b, " %s 列", p.Column())
			if p.Header != "" {
				fmt.Fprintf(&b, " (%s)", p.Header)
			}
		}
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	return b.String()
}

// Error is a file that was not imported, with what is wrong with it. It is
// bad input (exit code 2); nothing of the file was written.
type Error struct {
	File     string
	Problems []Problem // in row order, at most MaxProblems
	More     bool      // more problems were left unreported
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "文件 %s 有误, 未导入任何数据:", e.File)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More {
		fmt.Fprintf(&b, "\n  …… 只列出前 %d 个问题, 请改正后重新导入", len(e.Problems))
	}
	return b.String()
}

// BadInput marks the error as the user's input: exit code 2.
func (e *Error) BadInput() bool { return true }

// problems collects up to MaxProblems problems of one file.
type problems struct {
	file string
	list []Problem
	more bool
}

func (p *problems) add(row, col int, header, msg string) {
	if len(p.list) >= MaxProblems {
		p.more = true
		return
	}
	p.list = append(p.list, Problem{File: p.file, Row: row, Col: col, Header: header, Msg: msg})
}

func (p *problems) full() bool { return len(p.list) >= MaxProblems }

func (p *problems) room() int { return MaxProblems - len(p.list) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Row < p.list[j].Row })
	return &Error{File: p.file, Problems: p.list, More: p.more}
}

// colName turns a 0-based column index into its spreadsheet letters.
func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}
