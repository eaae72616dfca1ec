package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpdl/bpdl/bpdl/report"
)

// tiny is a real-data configuration small enough for tests: MNIST, 2400 training images, a small net.
var tiny = []string{"-dataset", "mnist", "-rules", "bp", "-train-limit", "2400", "-hidden", "64,32", "-epochs", "3", "-figures=false"}

func runReproduce(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

func TestBadFlags(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown-flag", []string{"-nope"}, "flag provided but not defined"},
		{"unknown-rule", []string{"-rules", "bp,backprop2"}, `unknown rule "backprop2"`},
		{"unknown-dataset", []string{"-dataset", "imagenet"}, `unknown dataset "imagenet"`},
		{"negative-epochs", []string{"-epochs", "-1"}, "-epochs -1"},
		{"zero-seeds", []string{"-seeds", "0"}, "-seeds 0"},
		{"bad-hidden", []string{"-hidden", "12,x"}, "-hidden"},
		{"stray-argument", []string{"train"}, `unexpected argument "train"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runReproduce(t, append([]string{"-out", out}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestUnwritableOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runReproduce(t, append([]string{"-out", filepath.Join(file, "sub")}, tiny...)...)
	if code == 0 || !strings.Contains(stderr, "-out") {
		t.Fatalf("output under a file: exit %d, stderr %q; want a failure naming -out", code, stderr)
	}
}

// readOutputs returns the deterministic outputs of a run directory.
func readOutputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range []string{"results.csv", "history.csv", "summary.csv", "scores.csv", "MANIFEST"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func buildReproduce(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reproduce")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOEXPERIMENT=simd")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// TestKillAndResume kills a run with SIGKILL after its first epoch's checkpoint, reruns it, and checks
// that the outputs equal those of an uninterrupted run; then corrupts the checkpoint and checks that the
// run is retrained, not trusted.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".")); err != nil {
		t.Skip(err)
	}
	bin := buildReproduce(t)
	full, killed := t.TempDir(), t.TempDir()
	if b, err := exec.Command(bin, append([]string{"-out", full}, tiny...)...).CombinedOutput(); err != nil {
		t.Skipf("reproduce on MNIST failed (is MNIST available?): %v\n%s", err, b)
	}
	want := readOutputs(t, full)

	cmd := exec.Command(bin, append([]string{"-out", killed}, tiny...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(killed, "checkpoints", "mnist-bp-seed42.ckpt")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ck); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint appeared within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(killed, "results.csv")); err == nil {
		t.Log("the run finished before it was killed; the resume path is still exercised by the rerun")
	}
	out, err := exec.Command(bin, append([]string{"-out", killed}, tiny...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rerun after kill: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resuming") && !strings.Contains(string(out), "cached") {
		t.Errorf("rerun did not resume from the checkpoint:\n%s", out)
	}
	got := readOutputs(t, killed)
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("%s after kill and resume differs from the uninterrupted run:\n%s\nvs\n%s", n, got[n], want[n])
		}
	}

	// A corrupt checkpoint is retrained.
	raw, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(ck, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, append([]string{"-out", killed}, tiny...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("run with a corrupt checkpoint: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "unreadable") {
		t.Errorf("corrupt checkpoint not reported:\n%s", out)
	}
	got = readOutputs(t, killed)
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("%s after retraining from a corrupt checkpoint differs", n)
		}
	}
}

// TestSpikeRaster trains both spiking nets briefly and checks the raster figure: a chart per layer of
// each, the study's hidden layers marked silent, the tuned net's first hidden layer firing. (The second
// hidden layer must be wide enough to stay silent: a LIF unit whose only input is its bias b settles at
// i = b/(DT*TauSynInv) = 5b and fires when that exceeds VTh = 0.4, and PyTorch draws |b| up to
// 1/sqrt(fan-in), so hidden1 needs more than about 156 units.)
func TestSpikeRaster(t *testing.T) {
	if testing.Short() {
		t.Skip("trains spiking nets on real MNIST")
	}
	if err := report.CheckEcharts(); err != nil {
		t.Skipf("figures need echarts (npm ci): %v", err)
	}
	out := t.TempDir()
	stdout, stderr, code := runReproduce(t, "-out", out, "-offline", "-dataset", "mnist", "-rules", "snn,snn-tuned",
		"-train-limit", "64", "-test-limit", "16", "-hidden", "256,16", "-epochs", "1")
	if code != 0 {
		if strings.Contains(stderr, "offline") {
			t.Skipf("MNIST is not available offline: %s", stderr)
		}
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, report.RasterFigure))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"snn, layer input (784 units)", "snn, layer hidden1 (256 units): 0 spikes", "snn, layer hidden2 (16 units): 0 spikes",
		"snn-tuned, layer input (784 units)", "snn-tuned, layer hidden1 (256 units)", "snn-tuned, layer hidden2 (16 units)",
		"0 spikes: the layer is silent", "time (ms)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("%s lacks %q", report.RasterFigure, want)
		}
	}
	if strings.Contains(html, "snn-tuned, layer hidden1 (256 units): 0 spikes") {
		t.Errorf("the tuned net's first hidden layer is silent in %s", report.RasterFigure)
	}
}
