package bulletin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrNoBrowser means no Chromium was found to print PDFs with.
var ErrNoBrowser = errors.New("未找到 Chromium 浏览器，无法生成 PDF (请安装 Debian 软件包 chromium，或用环境变量 DUCHA_CHROMIUM 指定其路径)")

// Printer prints HTML documents to PDF with headless Chromium, driven by
// chromedp: the browser starts on the first document and serves every later
// one (each in a tab of its own) until Close. The A4 page size and margins
// come from the document's @page rule; fonts come from the machine
// (fonts-noto-cjk gives the CJK faces, which Chromium embeds in the PDF).
// A Printer is safe for concurrent use.
type Printer struct {
	Browser string        // path of the chromium binary
	Timeout time.Duration // per document; 0 means ten minutes

	mu      sync.Mutex
	browser context.Context // holds the running browser; nil before start
	stop    []context.CancelFunc
}

// FindPrinter locates Chromium: $DUCHA_CHROMIUM, else chromium,
// chromium-browser, google-chrome on PATH. Close the printer when done.
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

// start launches the browser once.
func (p *Printer) start() (context.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.browser != nil {
		return p.browser, nil
	}
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(p.Browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("mute-audio", true))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("启动 chromium (%s) 失败: %w", p.Browser, err)
	}
	p.browser, p.stop = bctx, []context.CancelFunc{bcancel, acancel}
	return bctx, nil
}

// Close stops the browser; the printer can start it again.
func (p *Printer) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.stop {
		c()
	}
	p.browser, p.stop = nil, nil
}

// PDF prints one HTML document and returns the PDF.
func (p *Printer) PDF(ctx context.Context, html []byte) ([]byte, error) {
	browser, err := p.start()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ducha-pdf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "doc.html")
	if err := os.WriteFile(in, html, 0o600); err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	tab, cancelT := context.WithTimeout(tab, timeout)
	defer cancelT()
	defer context.AfterFunc(ctx, cancelT)()
	if err := chromedp.Do(tab, chromedp.Navigate("file://"+in)); err != nil {
		return nil, fmt.Errorf("chromium 打开文档失败: %w", err)
	}
	pdf, err := chromedp.Run(tab, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground(), chromedp.PDFStream(), untagged))
	if err != nil {
		return nil, fmt.Errorf("chromium 打印 PDF 失败: %w", err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		return nil, errors.New("chromium 没有生成 PDF")
	}
	return pdf, nil
}

// untagged turns off the tagged (accessible) PDF that Chromium 154 and later
// make by default: its structure tree is one object per table cell, which
// made a 10,000-finding bulletin 23 MB instead of 2.3 MB and doubled the
// printing time (issue #7).
func untagged(p *cdppage.PrintToPDFParams) {
	off := false
	p.GenerateTaggedPDF = &off
}

// PDF typesets the bulletin with WritePDF. Only where no TrueType CJK font
// is installed (ErrNoFont) does it fall back to printing the HTML with p,
// which takes minutes for 10,000 findings (issue #7); p may be nil.
func (b *Bulletin) PDF(ctx context.Context, p *Printer) ([]byte, error) {
	var buf bytes.Buffer
	err := b.WritePDF(&buf)
	if errors.Is(err, ErrNoFont) && p != nil {
		buf.Reset()
		if err := b.WriteHTML(&buf); err != nil {
			return nil, err
		}
		return p.PDF(ctx, buf.Bytes())
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PDF renders the summary's HTML and prints it.
func (s *Summary) PDF(ctx context.Context, p *Printer) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.WriteHTML(&buf); err != nil {
		return nil, err
	}
	return p.PDF(ctx, buf.Bytes())
}
