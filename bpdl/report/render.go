package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RenderTimeout bounds the rendering of one PNG.
const RenderTimeout = 60 * time.Second

// RenderPNGs writes a PNG screenshot, <name>.png, of each HTML figure among files, which must already be
// written in dir (with echarts.min.js next to them). It uses headless Chromium when `chromium` (or
// `chromium-browser`) is on PATH and otherwise writes one line to log and returns. Each PNG is written atomically (a temporary file
// renamed into place) within RenderTimeout; a failure is one line in log and leaves the other figures be.
// The window is the page's size, which Figures records in the page.
func RenderPNGs(dir string, files Files, log io.Writer) {
	var pages []string
	for n := range files {
		if strings.HasSuffix(n, ".html") {
			pages = append(pages, n)
		}
	}
	if len(pages) == 0 {
		return
	}
	sort.Strings(pages)
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		fmt.Fprintln(log, "figures: no PNGs: chromium is not on PATH (Debian: apt-get install chromium); the HTML figures are written")
		return
	}
	for _, n := range pages {
		w, h := pageSize(files[n])
		if err := renderPNG(browser, filepath.Join(dir, n), w, h); err != nil {
			fmt.Fprintf(log, "figures: no PNG of %s: %v\n", n, err)
		}
	}
}

var sizePattern = regexp.MustCompile(`<meta name="` + sizeMeta + `" content="(\d+)x(\d+)">`)

// pageSize returns the size a figure records, or a default.
func pageSize(html []byte) (w, h int) {
	m := sizePattern.FindSubmatch(html)
	if m == nil {
		return 1280, 960
	}
	w, _ = strconv.Atoi(string(m[1]))
	h, _ = strconv.Atoi(string(m[2]))
	return w, h
}

// renderPNG screenshots the page at path into path's name with .png for .html.
func renderPNG(browser, path string, w, h int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	out := strings.TrimSuffix(abs, ".html") + ".png"
	profile, err := os.MkdirTemp("", "bpdl-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*.png")
	if err != nil {
		return err
	}
	tmp.Close()
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove

	ctx, cancel := context.WithTimeout(context.Background(), RenderTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir="+profile,
		fmt.Sprintf("--window-size=%d,%d", w, h),
		"--screenshot="+tmp.Name(),
		(&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(),
	)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	cleanup := detach(cmd)
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	cleanup()
	if ctx.Err() != nil {
		return fmt.Errorf("chromium took longer than %v", RenderTimeout)
	}
	if err != nil {
		return fmt.Errorf("chromium: %v%s", err, lastLine(stderr.String()))
	}
	st, err := os.Stat(tmp.Name())
	if err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium wrote no screenshot%s", lastLine(stderr.String()))
	}
	return os.Rename(tmp.Name(), out)
}

// lastLine returns ": " and the last non-empty line of s, or "".
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return ": " + l
	}
	return ""
}
