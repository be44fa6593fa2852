package bulletin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrNoBrowser means no Chromium was found to print PDFs with.
var ErrNoBrowser = errors.New("未找到 Chromium 浏览器，无法生成 PDF (请安装 Debian 软件包 chromium，或用环境变量 DUCHA_CHROMIUM 指定其路径)")

// Printer prints HTML documents to PDF with headless Chromium. The A4 page
// size and margins come from the document's @page rule; fonts come from the
// machine (fonts-noto-cjk gives the CJK faces, which Chromium embeds).
type Printer struct {
	Browser string        // path of the chromium binary
	Timeout time.Duration // per document; 0 means two minutes
}

// FindPrinter locates Chromium: $DUCHA_CHROMIUM, else chromium,
// chromium-browser, google-chrome on PATH.
func FindPrinter() (*Printer, error) {
	if p := os.Getenv("DUCHA_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return nil, fmt.Errorf("DUCHA_CHROMIUM=%s: %w", p, err)
		}
		return &Printer{Browser: p}, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return &Printer{Browser: p}, nil
		}
	}
	return nil, ErrNoBrowser
}

// PDF prints one HTML document and returns the PDF.
func (p *Printer) PDF(ctx context.Context, html []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "ducha-pdf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "doc.html")
	out := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, html, 0o600); err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--print-to-pdf="+out, "--no-pdf-header-footer",
		"file://"+in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("chromium 打印 PDF 失败: %w: %s", err, lastLines(stderr.Bytes(), 5))
	}
	pdf, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		return nil, fmt.Errorf("chromium 没有生成 PDF: %s", lastLines(stderr.Bytes(), 5))
	}
	return pdf, nil
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

// PDF renders the bulletin's HTML and prints it.
func (b *Bulletin) PDF(ctx context.Context, p *Printer) ([]byte, error) {
	var buf bytes.Buffer
	if err := b.WriteHTML(&buf); err != nil {
		return nil, err
	}
	return p.PDF(ctx, buf.Bytes())
}

// PDF renders the summary's HTML and prints it.
func (s *Summary) PDF(ctx context.Context, p *Printer) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.WriteHTML(&buf); err != nil {
		return nil, err
	}
	return p.PDF(ctx, buf.Bytes())
}
