package web

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ducha/bulletin"
	"ducha/internal/testdb"
	"ducha/store"
)

// typesets skips a test where bulletin PDFs cannot be typeset in Go (no
// TrueType CJK font) or pdftotext is missing, except under CI, whose
// .ci/run installs both.
func typesets(t *testing.T) string {
	t.Helper()
	err := bulletin.CanTypeset()
	var pdftotext string
	if err == nil {
		pdftotext, err = exec.LookPath("pdftotext")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but bulletin PDFs cannot be typeset and read (apt packages fonts-arphic-ukai, fonts-arphic-uming, poppler-utils): %v", err)
		}
		t.Skipf("bulletin PDF test skipped: %v", err)
	}
	return pdftotext
}

// Bulletins are offered and served as PDF without a browser when they can
// be typeset: the fixture's server has no Printer, and one whose browser
// does not exist is never started.
func TestBulletinPDF(t *testing.T) {
	pdftotext := typesets(t)
	fx := newFixture(t, testdb.Open(t, store.SQLite))
	pub := fx.publish(t)
	base := fmt.Sprintf("/bulletins/%d/%d", pub.Number.Year, pub.Number.Seq)
	for _, printer := range []*bulletin.Printer{nil, {Browser: "/nonexistent/chromium"}} {
		fx.srv.opt.Printer = printer
		c := fx.login("adv2") // every role reads the published bulletins
		resp, body := c.get(base)
		wantStatus(t, "bulletin page", resp, body, http.StatusOK)
		if link := `<a href="` + base + `/pdf">PDF</a>`; !strings.Contains(body, link) {
			t.Errorf("printer %v: the bulletin page lacks %s:\n%s", printer, link, excerpt(body))
		}
		resp, body = c.get(base + "/pdf")
		wantStatus(t, "bulletin PDF", resp, body, http.StatusOK)
		if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/pdf" ||
			cd != fmt.Sprintf(`attachment; filename="bulletin-%d-%d.pdf"`, pub.Number.Year, pub.Number.Seq) {
			t.Errorf("printer %v: Content-Type %q, Content-Disposition %q", printer, ct, cd)
		}
		path := filepath.Join(t.TempDir(), "b.pdf")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(pdftotext, path, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("printer %v: pdftotext: %v\n%s", printer, err, out)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		for _, want := range []string{"云溪县司法局督查通报", pub.Number.String(), "城关镇（1个）", fx.f1.VillageName, fx.f1.AdviserName} {
			if !strings.Contains(text, want) {
				t.Errorf("printer %v: the PDF's text lacks %q:\n%.600s", printer, want, text)
			}
		}
	}
	// Unknown formats are still refused, naming the ones there are.
	resp, body := fx.login("sup").get(base + "/docx")
	wantStatus(t, "docx", resp, body, http.StatusNotFound)
	if !strings.Contains(body, "可用: html, md, xlsx, pdf") {
		t.Errorf("the refusal does not list pdf:\n%s", excerpt(body))
	}
}
