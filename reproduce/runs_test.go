package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpdl/bpdl/bpdl/study"
)

// pair is a real-data plan of two runs small enough for tests: bp and fa on 1200 MNIST images, offline.
var pair = []string{"-offline", "-dataset", "mnist", "-rules", "bp,fa", "-train-limit", "1200", "-test-limit", "500", "-hidden", "32", "-epochs", "1", "-figures=false"}

// planIDs returns the run IDs of the plan of args, from -plan -json.
func planIDs(t *testing.T, args ...string) []string {
	t.Helper()
	stdout, stderr, code := runReproduce(t, append([]string{"-plan", "-json"}, args...)...)
	if code != 0 {
		t.Fatalf("-plan -json: exit %d: %s", code, stderr)
	}
	var plan struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range plan.Runs {
		ids = append(ids, r.ID)
	}
	return ids
}

// mustRun runs reproduce in this process and fails the test (or skips it when MNIST is not here) unless it
// exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := runReproduce(t, args...)
	if code != 0 {
		if strings.Contains(stderr, "offline") {
			t.Skipf("MNIST is not available offline: %s", stderr)
		}
		t.Fatalf("reproduce %v: exit %d: %s\n%s", args, code, stderr, stdout)
	}
	return stdout
}

// TestRunsAndReport is issue 18's acceptance for runs as units: two -run processes into one folder at the
// same time, then -report, give the outputs of a plain run; -report over a partial set writes the complete
// runs' tables, lists the missing run in MANIFEST and on stderr, and exits 1.
func TestRunsAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	full, split, partial := t.TempDir(), t.TempDir(), t.TempDir()
	mustRun(t, append([]string{"-out", full}, pair...)...)
	want := readOutputs(t, full)
	ids := planIDs(t, append([]string{"-out", split}, pair...)...)

	bin := buildReproduce(t)
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i, sel := range [][]string{{"-run-index", "0"}, {"-run", ids[1]}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command(bin, append(append([]string{"-out", split}, pair...), sel...)...).CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("-run %s: %v\n%s", ids[i], errs[i], outs[i])
		}
		if !strings.Contains(string(outs[i]), "wrote "+study.ResultPath(split, study.Run{ID: ids[i]})) {
			t.Errorf("-run %s does not name its result:\n%s", ids[i], outs[i])
		}
	}
	if _, err := os.Stat(filepath.Join(split, "results.csv")); err == nil {
		t.Error("-run wrote the report's tables")
	}
	mustRun(t, append([]string{"-out", split, "-report"}, pair...)...)
	got := readOutputs(t, split)
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("%s of two -runs and -report differs from a plain run's:\n%s\nvs\n%s", n, got[n], want[n])
		}
	}
	// A run that has its result is not redone.
	if stdout := mustRun(t, append([]string{"-out", split, "-run", ids[1]}, pair...)...); !strings.Contains(stdout, "has its result already") {
		t.Errorf("-run of a complete run:\n%s", stdout)
	}

	// A partial set: only bp's result.
	if err := os.MkdirAll(filepath.Join(partial, study.RunsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(study.ResultPath(split, study.Run{ID: ids[0]}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(study.ResultPath(partial, study.Run{ID: ids[0]}), b, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runReproduce(t, append([]string{"-out", partial, "-report"}, pair...)...)
	if code != 1 || !strings.Contains(stderr, "1 planned runs have no result") || !strings.Contains(stderr, ids[1]) || !strings.Contains(stdout, "wrote "+partial) {
		t.Errorf("-report over a partial set: exit %d, stderr %q, stdout %q; want exit 1 naming %s", code, stderr, stdout, ids[1])
	}
	res, err := os.ReadFile(filepath.Join(partial, "results.csv"))
	if err != nil || !strings.Contains(string(res), "bp") || strings.Contains(string(res), "\nmnist,fa,") {
		t.Errorf("partial results.csv (%v):\n%s", err, res)
	}
	man, _ := os.ReadFile(filepath.Join(partial, study.Manifest))
	if !strings.Contains(string(man), "missing: "+ids[1]) {
		t.Errorf("partial MANIFEST does not list the missing run:\n%s", man)
	}
	// Nothing at all to report is an error that writes nothing.
	empty := t.TempDir()
	if _, stderr, code := runReproduce(t, append([]string{"-out", empty, "-report"}, pair...)...); code != 1 || !strings.Contains(stderr, "nothing to report") {
		t.Errorf("-report over no result: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, study.Manifest)); err == nil {
		t.Error("-report over no result wrote a MANIFEST")
	}
}

// TestConcurrentRunsOneFolder is defect 5 of issue 17 as it was found: two processes doing the same study
// into one folder both exited 0, the last writer silently winning. Now the second fails at once, naming
// the first (its pid), and the first's outputs are whole.
func TestConcurrentRunsOneFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	bin := buildReproduce(t)
	out := t.TempDir()
	cmds := make([]*exec.Cmd, 2)
	outs := make([]bytes.Buffer, 2)
	for i := range cmds {
		cmds[i] = exec.Command(bin, append([]string{"-out", out}, pair...)...)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var failed []int
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			failed = append(failed, i)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("%d of two concurrent runs into one folder failed, want exactly one:\n%s\n---\n%s", len(failed), &outs[0], &outs[1])
	}
	loser, winner := failed[0], 1-failed[0]
	want := fmt.Sprintf("is being done by another process: %s", filepath.Join(out, study.RunsDir))
	if msg := outs[loser].String(); !strings.Contains(msg, want) || !strings.Contains(msg, fmt.Sprintf("held by pid %d on host", cmds[winner].Process.Pid)) {
		t.Errorf("the refused run does not name the holder (pid %d):\n%s", cmds[winner].Process.Pid, msg)
	}
	readOutputs(t, out) // the winner's outputs are all there
}

// TestRunLocked is defect 5 of issue 17 (two runs into one folder both exited 0, the last writer silently
// winning): while another process holds a run's lock, a plain reproduce and a -run of that run fail at
// once naming the holder, and write no output.
func TestRunLocked(t *testing.T) {
	out := t.TempDir()
	ids := planIDs(t, append([]string{"-out", out}, pair...)...)
	held, err := study.LockRun(context.Background(), out, study.Run{ID: ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	for _, extra := range [][]string{nil, {"-run-index", "1"}} {
		_, stderr, code := runReproduce(t, append(append([]string{"-out", out}, pair...), extra...)...)
		want := fmt.Sprintf("run %s is being done by another process: %s is held by pid %d on host", ids[1], study.RunLockPath(out, study.Run{ID: ids[1]}), os.Getpid())
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("reproduce %v with the run locked: exit %d, stderr %q; want exit 1 and %q", extra, code, stderr, want)
		}
	}
	for _, p := range []string{filepath.Join(out, "results.csv"), study.ResultPath(out, study.Run{ID: ids[0]}), study.ResultPath(out, study.Run{ID: ids[1]})} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written while a run was locked", p)
		}
	}
	// Flag combinations that make no sense are usage errors.
	for _, bad := range [][]string{{"-run", ids[0], "-run-index", "0"}, {"-report", "-run-index", "0"}, {"-plan", "-report"}, {"-run-index", "2"}, {"-run", "mnist-bp-seed42-0000"}} {
		if _, stderr, code := runReproduce(t, append(append([]string{"-out", out}, pair...), bad...)...); code != 2 || !strings.Contains(stderr, "-run") && !strings.Contains(stderr, "-report") {
			t.Errorf("reproduce %v: exit %d, %q; want a usage error", bad, code, stderr)
		}
	}
}

// TestOtherConfigurationSurvives is defect 4 of issue 17 (a finished run of another configuration in the
// same -out was replaced, results included): a run of another number of epochs into the same folder leaves
// the first configuration's checkpoints and results as they were, and -report with the first flags
// rebuilds its tables from them, training nothing.
func TestOtherConfigurationSurvives(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	out := t.TempDir()
	first := append(append([]string{}, pair...), "-rules", "bp", "-epochs", "2")
	other := append(append([]string{}, pair...), "-rules", "bp", "-epochs", "1")
	mustRun(t, append([]string{"-out", out}, first...)...)
	want := readOutputs(t, out)
	snapshot := func() map[string]string {
		m := map[string]string{}
		files, _ := filepath.Glob(filepath.Join(out, study.RunsDir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".lock") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m[filepath.Base(f)] = string(b)
		}
		return m
	}
	before := snapshot()
	if len(before) != 2 {
		t.Fatalf("runs/ after the first run: %d files, want a checkpoint and a result", len(before))
	}
	if stdout := mustRun(t, append([]string{"-out", out}, other...)...); strings.Contains(stdout, "starting afresh") {
		t.Errorf("the other configuration replaced a checkpoint:\n%s", stdout)
	}
	after := snapshot()
	for name, content := range before {
		if after[name] != content {
			t.Errorf("%s changed by a run of another configuration", name)
		}
	}
	if len(after) != 4 {
		t.Errorf("runs/ holds %d files, want both configurations' checkpoint and result", len(after))
	}
	stdout := mustRun(t, append([]string{"-out", out, "-report"}, first...)...)
	if strings.Contains(stdout, "epoch") {
		t.Errorf("-report trained:\n%s", stdout)
	}
	got := readOutputs(t, out)
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("%s of the first configuration, reported again, differs", n)
		}
	}
}

// TestStaleTemporariesRemoved is defect 7 of issue 17 (a SIGKILL during a checkpoint write left .ckpt.tmp-*
// files that later runs never removed): the temporaries that killed runs and writers leave are removed at
// the next start, and said so.
func TestStaleTemporariesRemoved(t *testing.T) {
	out := t.TempDir()
	ids := planIDs(t, append([]string{"-out", out}, pair...)...)
	stale := []string{
		filepath.Join(out, study.RunsDir, "."+ids[0]+".ckpt.tmp-4242"),
		filepath.Join(out, ".results.csv.tmp-77"),
		filepath.Join(out, ".partial-99", "scores.csv"),
	}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{1}, 100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, _, _ := runReproduce(t, append([]string{"-out", out, "-report"}, pair...)...)
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s left", p)
		}
		if !strings.Contains(stdout, "removed the stale temporary "+filepath.Dir(p)) {
			t.Errorf("stdout does not report removing %s:\n%s", p, stdout)
		}
	}
}
