package study

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/report"
)

func twoRuns(t *testing.T) (*Study, []Run) {
	t.Helper()
	s := newTestStudy(t, func(c *Config) { c.Rules = []string{"bp", "fa"} })
	runs, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return s, runs
}

// TestLockRun checks a run's lock: a second taker fails fast naming the holder (pid, host, start time),
// another run's lock is independent, and the lock is free again, its record emptied, after Unlock.
func TestLockRun(t *testing.T) {
	s, runs := twoRuns(t)
	out := s.Config().Out
	ctx := context.Background()
	l, err := LockRun(ctx, out, runs[0])
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = LockRun(ctx, out, runs[0])
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil {
		t.Fatalf("second LockRun: %v, want a *LockedError naming the holder", err)
	}
	if waited := time.Since(start); waited > 5*runLockGrace {
		t.Errorf("second LockRun took %s: not fast", waited)
	}
	host, _ := os.Hostname()
	for _, want := range []string{fmt.Sprintf("pid %d", os.Getpid()), "host " + host, "since 20", "run " + runs[0].ID, RunLockPath(out, runs[0])} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	other, err := LockRun(ctx, out, runs[1])
	if err != nil {
		t.Fatalf("another run's lock: %v", err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(RunLockPath(out, runs[0])); err != nil || len(b) != 0 {
		t.Errorf("lock file after Unlock: %q, %v; want it empty", b, err)
	}
	again, err := LockRun(ctx, out, runs[0])
	if err != nil {
		t.Fatalf("LockRun after Unlock: %v", err)
	}
	again.Unlock()
}

// TestExecuteLocked is defect 5 of issue 17 (two processes doing the same run both succeeded, the last
// writer silently winning): Execute of a run whose lock another holder has fails at once, before
// training, and writes nothing; Lock of a plan holds none when one run is taken.
func TestExecuteLocked(t *testing.T) {
	s, runs := twoRuns(t)
	out := s.Config().Out
	held, err := LockRun(context.Background(), out, runs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	_, err = s.Execute(context.Background(), runs[1])
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("Execute of a locked run: %v, want a *LockedError naming this process", err)
	}
	for _, p := range []string{CheckpointPath(out, runs[1]), ResultPath(out, runs[1])} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a refused Execute", p)
		}
	}
	if err := s.Lock(context.Background(), runs); !errors.As(err, &le) {
		t.Fatalf("Lock of a plan with a held run: %v", err)
	}
	if len(s.locks) != 0 {
		t.Errorf("a failed Lock holds %d locks", len(s.locks))
	}
	// The first run's lock was released: another taker gets it.
	l, err := LockRun(context.Background(), out, runs[0])
	if err != nil {
		t.Fatalf("run 0 after a failed Lock: %v", err)
	}
	l.Unlock()
}

// TestCleanStale is defect 7 of issue 17 (a SIGKILL during a checkpoint write left .ckpt.tmp-* files that
// no later run removed): the temporaries of free runs and of a free output set are removed, those whose
// lock a live process holds are kept, and Lock removes the temporaries of the runs it takes.
func TestCleanStale(t *testing.T) {
	s, runs := twoRuns(t)
	out := s.Config().Out
	mk := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runsDir := filepath.Join(out, RunsDir)
	free := []string{
		mk(filepath.Join(runsDir, "."+runs[0].ID+".ckpt.tmp-123")),
		mk(filepath.Join(runsDir, "."+runs[0].ID+".json.tmp-456")),
		mk(filepath.Join(out, ".results.csv.tmp-789")),
		mk(filepath.Join(out, ".training.png.tmp-1.png")),
		mk(filepath.Join(out, partialPrefix+"abc", "results.csv")),
	}
	busy := mk(filepath.Join(runsDir, "."+runs[1].ID+".ckpt.tmp-321"))
	keep := []string{mk(filepath.Join(out, "results.csv")), mk(CheckpointPath(out, runs[0])), mk(filepath.Join(out, ".hidden"))}

	held, err := LockRun(context.Background(), out, runs[1])
	if err != nil {
		t.Fatal(err)
	}
	removed, err := CleanStale(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(free) {
		t.Errorf("removed %v, want the %d stale temporaries", removed, len(free))
	}
	for _, p := range free {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s left", p)
		}
	}
	if _, err := os.Stat(filepath.Join(out, partialPrefix+"abc")); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale .partial- folder left")
	}
	for _, p := range append(keep, busy) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	// The output set's temporaries are kept while a writer holds its lock.
	report, err := tryLock(filepath.Join(runsDir, ReportLock), "test")
	if err != nil || report == nil {
		t.Fatalf("report lock: %v", err)
	}
	setTemp := mk(filepath.Join(out, ".scores.csv.tmp-5"))
	if _, err := CleanStale(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(setTemp); err != nil {
		t.Errorf("a live writer's temporary removed: %v", err)
	}
	report.Unlock()
	// Once the holder is gone, the run's own Lock removes its temporaries.
	held.Unlock()
	var log bytes.Buffer
	s.Log = &log
	if err := s.Lock(context.Background(), runs[1:]); err != nil {
		t.Fatal(err)
	}
	defer s.Unlock()
	if _, err := os.Stat(busy); !errors.Is(err, os.ErrNotExist) || !strings.Contains(log.String(), "removed the stale temporary") {
		t.Errorf("Lock left %s (log %q)", busy, log.String())
	}
}

func TestTempOwner(t *testing.T) {
	for name, want := range map[string]string{
		".mnist-bp-seed42-c4209dc7.ckpt.tmp-123":      "mnist-bp-seed42-c4209dc7",
		".mnist-snn-tuned-seed7-00ff00ff.json.tmp-9":  "mnist-snn-tuned-seed7-00ff00ff",
		"mnist-bp-seed42-c4209dc7.ckpt":               "",
		".mnist-bp-seed42-c4209dc7.lock":              "",
		".partial-123":                                "",
		".cifar10-dtp-seed1-12345678.ckpt.tmp-1.tmp-": "cifar10-dtp-seed1-12345678",
	} {
		if got := tempOwner(name); got != want {
			t.Errorf("tempOwner(%q) = %q, want %q", name, got, want)
		}
	}
}

// checkManifest fails unless dir holds no MANIFEST or one whose every output exists with its checksum.
func checkManifest(t *testing.T, dir string) (present bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, Manifest))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var name, sum string
		if _, err := fmt.Sscanf(sc.Text(), "output: %s sha256:%s", &name, &sum); err != nil {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("MANIFEST lists %s: %v", name, err)
			continue
		}
		got := sha256.Sum256(content)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("MANIFEST's checksum of %s does not match the file", name)
		}
	}
	return true
}

// TestWriteOutputsFullDisk is defect 6 of issue 17 (outputs were written one by one, MANIFEST first, so a
// full disk left a MANIFEST listing files that do not exist): a write or a move that fails at any step
// (ENOSPC) leaves either the previous set whole or no MANIFEST, never a MANIFEST listing a missing or
// different file, and no temporary folder.
func TestWriteOutputsFullDisk(t *testing.T) {
	s, _ := twoRuns(t)
	mkSet := func(tag string) report.Files {
		runs := []report.Run{{Dataset: "mnist", Rule: "bp", Seed: 42, Epochs: 1, Batch: 4, TestAccuracy: 0.5, Backend: tag}}
		files, err := s.Outputs(runs, "reproduce "+tag, false)
		if err != nil {
			t.Fatal(err)
		}
		files["extra-"+tag+".txt"] = []byte(tag)
		return files
	}
	old, next := mkSet("old"), mkSet("new")
	ctx := context.Background()
	for _, failOn := range []string{"write", "rename"} {
		for k := 1; k <= len(next); k++ {
			t.Run(fmt.Sprintf("%s-%d", failOn, k), func(t *testing.T) {
				out := t.TempDir()
				if err := WriteOutputs(ctx, out, old, nil); err != nil {
					t.Fatal(err)
				}
				n := 0
				fail := func(op string) error {
					if op == failOn {
						if n++; n == k {
							return &os.PathError{Op: op, Path: "x", Err: syscall.ENOSPC}
						}
					}
					return nil
				}
				w := setWriter{
					write: func(p string, b []byte) error {
						if err := fail("write"); err != nil {
							return err
						}
						return writeFile(p, b)
					},
					rename: func(from, to string) error {
						if err := fail("rename"); err != nil {
							return err
						}
						// A rename is checked against MANIFEST at every step.
						if err := os.Rename(from, to); err != nil {
							return err
						}
						checkManifest(t, out)
						return nil
					},
				}
				err := w.writeSet(ctx, out, next, nil)
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("writeSet with a full disk: %v", err)
				}
				present := checkManifest(t, out)
				if failOn == "write" && !present {
					t.Error("a failed write lost the previous set's MANIFEST")
				}
				if m, _ := filepath.Glob(filepath.Join(out, partialPrefix+"*")); len(m) != 0 {
					t.Errorf("temporary folder left: %v", m)
				}
			})
		}
	}
	// Then a set written whole replaces the old one.
	out := t.TempDir()
	if err := WriteOutputs(ctx, out, old, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutputs(ctx, out, next, nil); err != nil {
		t.Fatal(err)
	}
	if !checkManifest(t, out) {
		t.Fatal("no MANIFEST")
	}
	if b, _ := os.ReadFile(filepath.Join(out, Manifest)); !bytes.Equal(b, next[Manifest]) {
		t.Error("MANIFEST is not the new set's")
	}
}

// TestWriteOutputsWaits checks that a second writer waits for the output set's lock, saying so, and
// writes once the first is done.
func TestWriteOutputsWaits(t *testing.T) {
	out := t.TempDir()
	l, err := tryLock(filepath.Join(out, RunsDir, ReportLock), "writing the output set")
	if err != nil || l == nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	done := make(chan error)
	go func() {
		done <- WriteOutputs(context.Background(), out, report.Files{Manifest: []byte("m\n")}, &log)
	}()
	select {
	case err := <-done:
		t.Fatalf("WriteOutputs did not wait for the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	l.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "waiting") || !strings.Contains(log.String(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("log %q does not say whom it waited for", log.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	l, _ = tryLock(filepath.Join(out, RunsDir, ReportLock), "writing the output set")
	defer l.Unlock()
	var le *LockedError
	if err := WriteOutputs(ctx, out, report.Files{Manifest: []byte("m\n")}, nil); !errors.As(err, &le) {
		t.Errorf("WriteOutputs cancelled while waiting: %v", err)
	}
}

func TestSelect(t *testing.T) {
	_, runs := twoRuns(t)
	if r, i, err := Select(runs, runs[1].ID, -1); err != nil || i != 1 || r.ID != runs[1].ID {
		t.Errorf("Select by ID: %v %d %v", r.ID, i, err)
	}
	if r, i, err := Select(runs, "", 0); err != nil || i != 0 || r.ID != runs[0].ID {
		t.Errorf("Select by index: %v %d %v", r.ID, i, err)
	}
	for _, tc := range []struct {
		id    string
		index int
		flag  string
		want  string
	}{
		{"", 2, "run-index", "0 to 1 (the plan has 2 runs)"},
		{"", -1, "run-index", "0 to 1"},
		{"mnist-bp-seed42-00000000", -1, "run", "with these flags that run is " + runs[0].ID},
		{"nope", -1, "run", "reproduce -plan with the same flags lists them"},
	} {
		_, _, err := Select(runs, tc.id, tc.index)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Flag != tc.flag || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Select(%q, %d) = %v, want -%s ... %q", tc.id, tc.index, err, tc.flag, tc.want)
		}
	}
}

// TestNewForReport checks that a report plans the runs of a backend without opening it: the same IDs as
// the training processes' plan, on a machine that lacks the backend.
func TestNewForReport(t *testing.T) {
	c := Quick()
	c.Hidden, c.Out = []int{16}, t.TempDir()
	c.Backend = backend.Default
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trained, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewForReport(c)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reported, err := r.Plan()
	if err != nil {
		t.Fatal(err)
	}
	for i := range trained {
		if trained[i].ID != reported[i].ID {
			t.Errorf("run %d: trained as %s, reported as %s", i, trained[i].ID, reported[i].ID)
		}
	}
	c.Backend = "xla:/nonexistent/pjrt_plugin.so"
	if s, err := New(c); err == nil {
		s.Close()
		t.Skip("this machine opens the test's missing backend")
	}
	r, err = NewForReport(c)
	if err != nil {
		t.Fatalf("NewForReport on a machine without the backend: %v", err)
	}
	defer r.Close()
	runs, err := r.Plan()
	if err != nil || runs[0].Backend != c.Backend || runs[0].ID == trained[0].ID {
		t.Errorf("plan of another backend: %v, backend %q, ID %s", err, runs[0].Backend, runs[0].ID)
	}
}
