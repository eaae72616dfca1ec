package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
)

// tables are the outputs every run writes, figures or not.
var tables = []string{"results.csv", "summary.csv", "summary.md", "scores.csv", "settings.md", "history.csv", "timings.csv", study.Manifest}

// installed is a reproduce binary built with `go build -o DIR/reproduce` and run as a user would run an
// installed one: from a folder outside the module, with a home and a user cache of its own (so no
// echarts but what the test puts there), MNIST from the Go module cache (GOMODCACHE) and a PATH that
// holds only the go command (no chromium: no PNGs to wait for).
type installed struct {
	bin, work, cache string
	env              []string
}

func newInstalled(t *testing.T) *installed {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	modcache, err := exec.Command(gocmd, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	in := &installed{bin: buildReproduce(t), work: t.TempDir(), cache: t.TempDir()}
	in.env = []string{
		"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + in.cache, "PATH=" + filepath.Dir(gocmd),
		"GOMODCACHE=" + strings.TrimSpace(string(modcache)), "GOEXPERIMENT=simd",
	}
	return in
}

// run runs the binary in its work folder and returns its stdout, stderr and exit status.
func (in *installed) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(in.bin, args...)
	cmd.Dir, cmd.Env = in.work, in.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// TestInstalledBinary checks that a binary built anywhere runs from anywhere: without echarts it trains,
// scores and writes every table and warns once that the HTML figures are skipped and how to get them;
// with echarts beside the executable it writes the figures too; an explicit -figures=true without
// echarts fails before training. The runs are -quick, cut to one rule on a few images.
func TestInstalledBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and trains on real MNIST")
	}
	in := newInstalled(t)
	quick := []string{"-quick", "-offline", "-rules", "bp", "-hidden", "16", "-train-limit", "500", "-test-limit", "200", "-epochs", "1"}
	check := func(t *testing.T, out string, figures bool) {
		t.Helper()
		for _, n := range tables {
			if _, err := os.Stat(filepath.Join(out, n)); err != nil {
				t.Errorf("table %s: %v", n, err)
			}
		}
		html, _ := filepath.Glob(filepath.Join(out, "*.html"))
		_, err := os.Stat(filepath.Join(out, report.EchartsScript))
		if figures != (len(html) > 0) || figures != (err == nil) {
			t.Errorf("%d HTML figures, echarts.min.js: %v; want figures %v", len(html), err, figures)
		}
	}

	t.Run("without echarts", func(t *testing.T) {
		out := filepath.Join(in.work, "no-echarts")
		stdout, stderr, code := in.run(t, append(quick, "-out", out)...)
		if code != 0 {
			if strings.Contains(stderr, "offline") {
				t.Skipf("MNIST is not in the Go module cache: %s", stderr)
			}
			t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
		}
		check(t, out, false)
		if n := strings.Count(stderr, "warning"); n != 1 || !strings.Contains(stderr, "reproduce fetch -echarts") {
			t.Errorf("%d warnings in stderr, want one saying how to get echarts:\n%s", n, stderr)
		}
	})
	t.Run("explicit -figures=true without echarts", func(t *testing.T) {
		out := filepath.Join(in.work, "figures-true")
		_, stderr, code := in.run(t, append(quick, "-figures=true", "-out", out)...)
		if code != 1 || !strings.Contains(stderr, "-figures=true") || !strings.Contains(stderr, "reproduce fetch -echarts") {
			t.Errorf("exit %d, stderr %q; want 1 and an error saying how to get echarts", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, study.RunsDir)); err == nil {
			t.Error("it trained before failing")
		}
	})
	t.Run("echarts beside the executable", func(t *testing.T) {
		dir := filepath.Dir(in.bin)
		for name, text := range map[string]string{report.EchartsScript: "/* echarts stand-in */", "LICENSE": "Apache-2.0 stand-in"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(in.work, "echarts")
		stdout, stderr, code := in.run(t, append(quick, "-out", out)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
		}
		check(t, out, true)
		if strings.Contains(stderr, "warning") {
			t.Errorf("a warning with echarts present:\n%s", stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(out, report.EchartsLicense)); string(b) != "Apache-2.0 stand-in" {
			t.Errorf("echarts.LICENSE %q, want the licence beside the executable", b)
		}
	})
}
