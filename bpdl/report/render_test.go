package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPageSize(t *testing.T) {
	tests := []struct {
		html string
		w, h int
	}{
		{`<head><meta name="bpdl-figure-size" content="992x536"></head>`, 992, 536},
		{`<head></head>`, 1280, 960},
	}
	for _, tt := range tests {
		if w, h := pageSize([]byte(tt.html)); w != tt.w || h != tt.h {
			t.Errorf("pageSize(%q) = %d, %d; want %d, %d", tt.html, w, h, tt.w, tt.h)
		}
	}
	// Every figure records its size.
	for _, p := range figurePages(syntheticStudy(studyOptions{rules: allRules, seeds: 1, epochs: 2, silent: true}), testOrder) {
		w, h := p.size()
		if gw, gh := pageSize(p.html()); gw != w || gh != h {
			t.Errorf("%s records %dx%d, want %dx%d", p.name, gw, gh, w, h)
		}
	}
}

// writeFigures writes synthetic figures with a stand-in script into a temporary directory.
func writeFigures(t *testing.T, o studyOptions) (string, Files) {
	t.Helper()
	withFakeEcharts(t)
	f, err := Figures(syntheticStudy(o), testOrder)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := f.Write(dir, func(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }); err != nil {
		t.Fatal(err)
	}
	return dir, f
}

func TestRenderPNGsWithoutChromium(t *testing.T) {
	dir, f := writeFigures(t, studyOptions{rules: []string{"bp"}, seeds: 1, epochs: 1})
	t.Setenv("PATH", t.TempDir())
	var log bytes.Buffer
	RenderPNGs(dir, f, &log)
	if n := strings.Count(log.String(), "\n"); n != 1 || !strings.Contains(log.String(), "chromium") {
		t.Errorf("log %q, want one line about chromium", log.String())
	}
	if pngs, _ := filepath.Glob(filepath.Join(dir, "*.png")); len(pngs) != 0 {
		t.Errorf("PNGs without chromium: %v", pngs)
	}
}

func TestRenderPNGs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed")
	}
	dir, f := writeFigures(t, studyOptions{rules: []string{"bp"}, seeds: 1, epochs: 1, noScores: true})
	var log bytes.Buffer
	RenderPNGs(dir, Files{TrainingFigure: f[TrainingFigure]}, &log) // one page: a browser start takes seconds
	if log.Len() > 0 {
		t.Errorf("log: %s", log.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pngs []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
		if strings.HasSuffix(e.Name(), ".png") {
			pngs = append(pngs, e.Name())
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("%s is not a PNG (%v)", e.Name(), err)
			}
		}
	}
	if want := []string{"training.png"}; !equal(pngs, want) {
		t.Errorf("PNGs %v, want %v", pngs, want)
	}
}
