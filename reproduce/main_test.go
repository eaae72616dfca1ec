package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
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
		{"unknown-rule", []string{"-rules", "bp,backprop2"}, `-rules "backprop2": want a known rule (bp, fa,`},
		{"unknown-dataset", []string{"-dataset", "imagenet"}, `-dataset "imagenet": want a known dataset (cifar10, mnist, fashion)`},
		{"nan-lr", []string{"-lr", "NaN"}, "-lr NaN: want a finite value > 0"},
		{"infinite-lr", []string{"-lr", "+Inf"}, "-lr +Inf: want a finite value > 0"},
		{"nan-clip", []string{"-clip", "NaN"}, "-clip NaN: want a finite value >= 0"},
		{"negative-clip", []string{"-clip", "-3"}, "-clip -3: want a finite value >= 0"},
		{"json-without-plan", []string{"-json"}, "-json goes with -plan"},
		{"missing-brain-data", []string{"-brain-data", "/no/such/folder"}, "-brain-data /no/such/folder: want an existing folder"},
		{"unknown-benchmark", []string{"-benchmarks", "rsa92.macaque-IT,nope"}, `-benchmarks "nope": want a known benchmark`},
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
	var ck string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(killed, study.RunsDir, "mnist-bp-seed42-*.ckpt")); len(m) == 1 {
			ck = m[0]
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

// TestPlan checks -plan: it trains nothing and writes nothing, and -plan -json lists every run with its
// stable ID, its settings and a positive estimate.
func TestPlan(t *testing.T) {
	out := t.TempDir()
	args := []string{"-plan", "-json", "-quick", "-offline", "-rules", "bp,dfa", "-seeds", "2", "-hidden", "32", "-out", out}
	stdout, stderr, code := runReproduce(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var plan struct {
		Backend string `json:"backend"`
		Runs    []struct {
			ID       string  `json:"id"`
			Rule     string  `json:"rule"`
			Seed     uint64  `json:"seed"`
			Complete bool    `json:"complete"`
			Estimate float64 `json:"estimate_seconds"`
			Settings struct {
				Batch, Epochs int
			} `json:"settings"`
		} `json:"runs"`
		Estimate float64 `json:"estimate_seconds"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("-plan -json output is not JSON: %v\n%s", err, stdout)
	}
	if len(plan.Runs) != 4 || plan.Runs[0].Rule != "bp" || plan.Runs[1].Seed != 43 || plan.Runs[2].Rule != "dfa" {
		t.Fatalf("plan runs: %+v", plan.Runs)
	}
	var sum float64
	for _, r := range plan.Runs {
		if !strings.HasPrefix(r.ID, "mnist-"+r.Rule+"-seed") || r.Complete || r.Estimate <= 0 || r.Settings.Epochs != 2 {
			t.Errorf("run %+v", r)
		}
		sum += r.Estimate
	}
	if math.Abs(sum-plan.Estimate) > 1e-6*sum {
		t.Errorf("total estimate %g, runs sum to %g", plan.Estimate, sum)
	}
	again, _, _ := runReproduce(t, args...)
	var plan2 struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(again), &plan2); err != nil || plan2.Runs[3].ID != plan.Runs[3].ID {
		t.Errorf("IDs changed between two -plan runs: %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("-plan wrote into -out: %v", entries)
	}
	text, _, code := runReproduce(t, "-plan", "-quick", "-offline", "-rules", "bp", "-hidden", "32", "-out", out)
	if code != 0 || !strings.Contains(text, "estimated training time") {
		t.Errorf("-plan: exit %d\n%s", code, text)
	}
}

// TestInterrupt stops a run (as SIGINT does, through its context) after its first checkpoint: the exit
// status is 130 and the message says how to resume, from which epoch.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var o, e bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, append([]string{"-out", out, "-offline"}, tiny...), &o, &e) }()
	deadline := time.After(2 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(out, study.RunsDir, "*.ckpt")); len(m) > 0 {
			cancel()
			break
		}
		select {
		case code := <-done:
			t.Skipf("the run ended (exit %d) before its first checkpoint was seen (is MNIST available?): %s", code, e.String())
		case <-deadline:
			t.Fatal("no checkpoint within 2 minutes")
		case <-time.After(5 * time.Millisecond):
		}
	}
	code := <-done
	if code != 130 || !regexp.MustCompile(`interrupted: rerun the same command to resume from epoch [23]\n`).MatchString(e.String()) {
		t.Errorf("exit %d, stderr %q; want 130 and how to resume", code, e.String())
	}
	if strings.Contains(e.String(), "context canceled") {
		t.Errorf("stderr shows Go's context error: %q", e.String())
	}
}
