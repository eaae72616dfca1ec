package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBenchBadFlags(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"seconds-nan", []string{"-seconds", "NaN"}, "-seconds NaN: want a finite number > 0"},
		{"seconds-inf", []string{"-seconds", "+Inf"}, "-seconds +Inf: want a finite number > 0"},
		{"seconds-negative", []string{"-seconds", "-1"}, "-seconds -1"},
		{"seconds-zero", []string{"-seconds", "0"}, "-seconds 0"},
		{"rounds-zero", []string{"-rounds", "0"}, "-rounds 0"},
		{"configs", []string{"-configs", "2x1"}, `-configs "2x1"`},
		{"configs-zero", []string{"-configs", "0:1"}, `-configs "0:1"`},
		{"unknown-rule", []string{"-rules", "bp,backprop2"}, `unknown rule "backprop2"`},
		{"stray-argument", []string{"now"}, `unexpected argument "now"`},
		{"missing-reference", []string{"-reference", filepath.Join(out, "none.py")}, "none.py"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runReproduce(t, append([]string{"bench", "-out", out}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	in := `torch_study: a line that is not JSON
{"rule": "bp", "shape": "cifar10", "batch": 4, "examples_per_s": 251.5, "torch_threads": 2, "blas_threads": 1, "blas": "openblas (pthread) 1", "formulation": "the study's code", "configs": {"1:1": 200, "2:1": 251.5}}
{"rule": "snn", "shape": "mnist", "batch": 4, "not_measured": "no norse checkout"}
{"rule": "fa", "shape": "cifar10", "batch": 4, "examples_per_s": 0}
`
	got, err := parseReference(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2: %+v", len(got), got)
	}
	bp := got[refKey("bp", "cifar10", 4)]
	if bp.Rate != 251.5 || bp.config() != "torch 2, OpenBLAS 1" || bp.Configs["1:1"] != 200 {
		t.Errorf("bp: %+v (config %q)", bp, bp.config())
	}
	if snn := got[refKey("snn", "mnist", 4)]; snn.NotMeasured != "no norse checkout" {
		t.Errorf("snn: %+v", snn)
	}
}

func TestBenchTables(t *testing.T) {
	rows := []*benchRow{
		{Name: "bp step", Shape: "cifar10 3072-1536-256-10", Batch: 4, Bpdl: 500, Reference: 250, RefConfig: "torch 2, OpenBLAS 1",
			RefNote: "the study's code", Unit: "examples/s", Better: "higher", RefAll: map[string]float64{"2:1": 250, "1:2": 240, "1:1": 200}},
		{Name: "snn step", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 300, RefNote: "no norse checkout", Unit: "examples/s", Better: "higher"},
		{Name: "end to end", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 40, Reference: 80, RefConfig: "torch 1, OpenBLAS 2", Unit: "s", Better: "lower"},
		{Name: "end to end: test accuracy", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 92.1, Reference: 92.3, Unit: "%"},
	}
	csv, md := benchTables(rows, "go", "test machine", &benchFlags{rounds: 2, seconds: 3})
	for _, want := range []string{
		"| bp step | cifar10 3072-1536-256-10 | 4 | 500.0 | 250.0 | torch 2, OpenBLAS 1 [1] | 2.00 | examples/s |",
		"| snn step | mnist 784-1536-256-10 | 4 | 300.0 | not measured [2] |  |  | examples/s |",
		"| end to end | mnist 784-1536-256-10 | 4 | 40.0 | 80.0 | torch 1, OpenBLAS 2 | 2.00 | s |",
		"| end to end: test accuracy | mnist 784-1536-256-10 | 4 | 92.1 | 92.3 |  |  | % |",
		"[1] the study's code", "[2] no norse checkout", "best of 2 round(s) of 3 s",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("bench.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(string(csv), `"bp step","cifar10 3072-1536-256-10",4,500.0,250.0,2.00,"examples/s","torch 2, OpenBLAS 1","the study's code",`+
		`"torch 1, BLAS 1: 200.0; torch 1, BLAS 2: 240.0; torch 2, BLAS 1: 250.0","go","test machine"`) {
		t.Errorf("bench.csv:\n%s", csv)
	}
}

// TestBenchRun runs `reproduce bench` on one rule with short measurements, against the PyTorch reference
// when Debian's python3-torch is installed (one thread configuration), and checks the report.
func TestBenchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and times a CIFAR-10-sized learner: skipped with -short")
	}
	out := t.TempDir()
	args := []string{"bench", "-rules", "bp", "-seconds", "0.2", "-scoring=false", "-out", out, "-reference", referenceScript, "-configs", "1:1"}
	withRef := exec.Command("/usr/bin/python3", "-c", "import torch, numpy").Run() == nil
	if !withRef {
		t.Log("no python3-torch: bench runs without the reference")
		args = append(args, "-no-reference")
	}
	stdout, stderr, code := runReproduce(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []string{"4", "128"} {
		row := regexp.MustCompile(`\| bp step \| cifar10 3072-1536-256-10 \| ` + batch + ` \| [0-9.]+ \| ([^|]*) \| ([^|]*) \| ([^|]*) \|`).FindSubmatch(md)
		if row == nil {
			t.Fatalf("no bp row at batch %s in bench.md:\n%s", batch, md)
		}
		if withRef && (!regexp.MustCompile(`^[0-9.]+$`).Match(row[1]) || !regexp.MustCompile(`^torch 1, (Open)?BLAS 1`).Match(row[2]) ||
			!regexp.MustCompile(`^[0-9.]+$`).Match(row[3])) {
			t.Errorf("batch %s: PyTorch %q, threads %q, speed-up %q: want numbers and the configuration", batch, row[1], row[2], row[3])
		}
	}
	if _, err := os.Stat(filepath.Join(out, "bench.csv")); err != nil {
		t.Error(err)
	}
}
