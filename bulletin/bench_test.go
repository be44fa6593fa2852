package bulletin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
)

// bigBulletin has n findings spread over 20 townships and 12 rules.
func bigBulletin(n int) *Bulletin {
	b := fixedBulletin()
	b.Problems = make([]Finding, n)
	for i := range b.Problems {
		b.Problems[i] = Finding{ID: int64(i + 1), Township: fmt.Sprintf("第%02d乡", i%20), Village: fmt.Sprintf("第%05d村", i),
			Adviser: fmt.Sprintf("顾问%03d", i%300), Rule: fmt.Sprintf("督查事项%02d", i%12), Severity: "一般",
			Message: "本月无到村服务记录，工作台账未及时录入", Deadline: d(2018, 6, 19), State: "ordered"}
	}
	return b
}

func BenchmarkBulletinHTML10k(b *testing.B) {
	bl := bigBulletin(10_000)
	for b.Loop() {
		if err := bl.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBulletinMarkdown10k(b *testing.B) {
	bl := bigBulletin(10_000)
	for b.Loop() {
		if err := bl.WriteMarkdown(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBulletinXLSX10k(b *testing.B) {
	bl := bigBulletin(10_000)
	for b.Loop() {
		if err := bl.WriteXLSX(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulletinPDF10k typesets the PDF in Go (fonts are loaded once
// per process, before the timer).
func BenchmarkBulletinPDF10k(b *testing.B) {
	if err := CanTypeset(); err != nil {
		b.Skip(err)
	}
	bl := bigBulletin(10_000)
	for b.Loop() {
		var buf bytes.Buffer
		if err := bl.WritePDF(&buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(buf.Len())/1e6, "MB")
	}
}

// BenchmarkBulletinChromiumPDF10k renders the HTML and prints it with
// Chromium, the fallback where no TrueType CJK font is installed; the
// browser is started before the timer. It takes about a minute an
// iteration on 2 cores (issue #7).
func BenchmarkBulletinChromiumPDF10k(b *testing.B) {
	p := printer(b)
	defer p.Close()
	if _, err := p.start(); err != nil {
		b.Fatal(err)
	}
	bl := bigBulletin(10_000)
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		if err := bl.WriteHTML(&buf); err != nil {
			b.Fatal(err)
		}
		pdf, err := p.PDF(context.Background(), buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(pdf))/1e6, "MB")
	}
}
