package browsertest

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the variable that makes Screenshot write: the
// pictures of docs/img are made by tests, on request only, so that a test
// run never writes into the repository.
const ScreenshotsEnv = "POSSIM_SCREENSHOTS"

// Screenshot saves what the page shows at 1280x800 as docs/img/NAME.png
// of the repository when POSSIM_SCREENSHOTS is set, and does nothing
// otherwise.
func (p *Page) Screenshot(t testing.TB, name string) {
	t.Helper()
	if os.Getenv(ScreenshotsEnv) == "" {
		return
	}
	p.Do(t, "sizing the page for a screenshot", chromedp.EmulateViewport(1280, 800))
	time.Sleep(300 * time.Millisecond) // let the page lay itself out again; not a timing assertion
	raw, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	// Chromium compresses fast; the repository keeps the smallest PNG.
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir, err := repoRoot()
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, "docs", "img", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KB)", path, b.Len()/1024)
}

// repoRoot is the folder of go.mod above the test's working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", os.ErrNotExist
		}
		dir = up
	}
}
