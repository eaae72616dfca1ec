package perf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	in := `torch_study: a line that is not JSON
{"rule": "bp", "shape": "cifar10", "batch": 4, "examples_per_s": 251.5, "torch_threads": 2, "blas_threads": 1, "blas": "openblas (pthread) 1", "formulation": "the study's code", "configs": {"1:1": 200, "2:1": 251.5}}
{"rule": "snn", "shape": "mnist", "batch": 4, "not_measured": "no norse checkout"}
{"rule": "fa", "shape": "cifar10", "batch": 4, "examples_per_s": 0}
`
	got, err := ParseReference(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2: %+v", len(got), got)
	}
	bp := got[Step{Rule: "bp", Dataset: "cifar10", Batch: 4}]
	if bp.Rate != 251.5 || bp.Config() != "torch 2, OpenBLAS 1" || bp.Configs["1:1"] != 200 {
		t.Errorf("bp: %+v (config %q)", bp, bp.Config())
	}
	if snn := got[Step{Rule: "snn", Dataset: "mnist", Batch: 4}]; snn.NotMeasured != "no norse checkout" {
		t.Errorf("snn: %+v", snn)
	}
}

func TestTables(t *testing.T) {
	rep := &Report{Backend: "go", Machine: "test machine", Rounds: 2, Seconds: 3, Rows: []*Row{
		{Name: "bp step", Shape: "cifar10 3072-1536-256-10", Batch: 4, Bpdl: 500, Reference: 250, RefConfig: "torch 2, OpenBLAS 1",
			RefNote: "the study's code", Unit: "examples/s", Better: Higher, RefAll: map[string]float64{"2:1": 250, "1:2": 240, "1:1": 200}},
		{Name: "snn step", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 300, RefNote: "no norse checkout", Unit: "examples/s", Better: Higher},
		{Name: "end to end", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 40, Reference: 80, RefConfig: "torch 1, OpenBLAS 2", Unit: "s", Better: Lower},
		{Name: "end to end: test accuracy", Shape: "mnist 784-1536-256-10", Batch: 4, Bpdl: 92.1, Reference: 92.3, Unit: "%"},
	}}
	csv, md := rep.Tables()
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
	dir := t.TempDir()
	written, err := rep.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"bench.csv": csv, "bench.md": md} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != string(want) {
			t.Errorf("%s: %v, content %q", name, err, b)
		}
	}
	if string(written) != string(md) {
		t.Errorf("Write returned %q", written)
	}
}
