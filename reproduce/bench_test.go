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

// TestBenchRun runs `reproduce bench` on one rule with short measurements, against the PyTorch reference
// when Debian's python3-torch is installed (one thread configuration), and checks the report.
func TestBenchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and times a CIFAR-10-sized learner: skipped with -short")
	}
	out := t.TempDir()
	args := []string{"bench", "-rules", "bp", "-seconds", "0.2", "-scoring=false", "-out", out, "-reference", "../bench/torch_study.py", "-configs", "1:1"}
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
