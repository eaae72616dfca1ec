package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// Locks keep processes that share an output folder out of each other's way. They are advisory file locks
// (flock(2) through github.com/gofrs/flock), so the kernel releases them when their process ends, however
// it ends (a SIGKILL, a node that fails): a lock never outlives its holder, and a later process never has
// to guess whether a lock is stale. Lock files live in the output folder's runs/ folder:
//
//   - runs/<ID>.lock is held while a process trains and scores the run <ID>. Runs of different
//     configurations, and different runs of one plan (the tasks of a job array), have different locks, so
//     they share a folder freely; a second process asking for a held run fails fast with a *LockedError
//     naming the holder (pid, host, start time).
//   - runs/report.lock is held while a process writes the output set (tables, figures, MANIFEST); a second
//     writer waits for it, so two sets are never interleaved.
//
// The holder records itself in the lock file (JSON) while it holds the lock and empties it on release. Lock
// files are never removed: removing a lock file while another process waits on it would let two processes
// hold "the same" lock on two different files.
//
// On a file system without file locks (Lustre mounted without -o flock, some FUSE file systems), taking a
// lock returns an unsupported lock and the study warns that the folder is unprotected: a job array, whose
// tasks each do a different run, is still safe there.

// ReportLock is the lock of the output set in the output folder's runs/ folder.
const ReportLock = "report.lock"

// runLockGrace is how long taking a run's lock retries before failing: long enough to outlast a process
// that holds it for a moment to clean stale temporaries (CleanStale), short enough to fail fast.
const runLockGrace = time.Second

// Holder is who holds a lock, as the lock file records it.
type Holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
	// What the holder is doing: "run <ID>", "writing the output set", "cleaning stale temporaries".
	What string `json:"what"`
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d on host %s since %s (%s)", h.PID, h.Host, h.Since.Format(time.RFC3339), h.What)
}

// LockedError is a lock that another process holds.
type LockedError struct {
	// Path is the lock file.
	Path string
	// Holder is its holder, nil when the holder had not recorded itself yet.
	Holder *Holder
}

func (e *LockedError) Error() string {
	who := "another process (not recorded yet)"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("%s is held by %s: wait for it to finish or stop it (the lock is released when its process ends)", e.Path, who)
}

// Lock is a held lock. Unlock releases it.
type Lock struct {
	fl   *flock.Flock // nil when the file system has no file locks
	path string
	// Unsupported is why the file system could not lock (nil when the lock is held).
	Unsupported error
}

// Unlock empties the lock file and releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	_ = os.Truncate(l.path, 0) // the holder is gone; a failure here only leaves a stale record
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

// takeLock takes the lock at path for what, retrying until ctx is done (a context without a deadline
// waits as long as the holder holds it). While it waits it says so to log once (nil: silently). It fails
// with a *LockedError naming the holder when ctx ends first.
func takeLock(ctx context.Context, path, what string, log io.Writer) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	fl := flock.New(path, flock.SetPermissions(0o644))
	told := false
	for {
		ok, err := fl.TryLock()
		if err != nil {
			if unsupported(err) {
				return &Lock{path: path, Unsupported: err}, nil
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			host, _ := os.Hostname()
			b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second), What: what})
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				_ = fl.Unlock()
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
			return &Lock{fl: fl, path: path}, nil
		}
		if log != nil && !told {
			fmt.Fprintf(log, "waiting: %v\n", lockedError(path))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, lockedError(path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tryLock takes the lock at path without waiting; it returns nil and no error when another process holds it.
func tryLock(path, what string) (*Lock, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := takeLock(ctx, path, what, nil)
	var le *LockedError
	if errors.As(err, &le) {
		return nil, nil
	}
	return l, err
}

// lockedError reads the holder of the lock at path.
func lockedError(path string) *LockedError {
	e := &LockedError{Path: path}
	if b, err := os.ReadFile(path); err == nil {
		var h Holder
		if json.Unmarshal(b, &h) == nil && h.PID != 0 {
			e.Holder = &h
		}
	}
	return e
}

// unsupported reports whether err says that the file system has no file locks.
func unsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOLCK)
}

// RunLockPath is the lock file of run r in the output folder out.
func RunLockPath(out string, r Run) string { return runLockPath(out, r.ID) }

func runLockPath(out, id string) string { return filepath.Join(out, RunsDir, id+".lock") }

// LockRun takes run r's lock in the output folder out, failing fast (within about a second) with a
// *LockedError naming the holder when another process does r. The caller unlocks it when done.
func LockRun(ctx context.Context, out string, r Run) (*Lock, error) {
	ctx, cancel := context.WithTimeout(ctx, runLockGrace)
	defer cancel()
	l, err := takeLock(ctx, RunLockPath(out, r), "run "+r.ID, nil)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("run %s is being done by another process: %w", r.ID, err)
		}
		return nil, fmt.Errorf("run %s: %w", r.ID, err)
	}
	return l, nil
}

// Temporary files: what fetch.WriteAtomic and the PNG renderer leave when their process is killed
// (".<name>.tmp-<random>") and what WriteOutputs leaves (".partial-<random>", a folder).
const partialPrefix = ".partial-"

func isTemp(name string) bool {
	return strings.HasPrefix(name, partialPrefix) || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-"))
}

// tempOwner returns the run ID whose file the temporary name in runs/ stands for (".<ID>.ckpt.tmp-123":
// "<ID>"), or "" when name is not a temporary of a run's file.
func tempOwner(name string) string {
	i := strings.Index(name, ".tmp-")
	if !strings.HasPrefix(name, ".") || i < 0 {
		return ""
	}
	base := name[1:i]
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// removeTemps removes the temporaries in dir that keep(name) accepts, returning their paths.
func removeTemps(dir string, keep func(name string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !isTemp(e.Name()) || !keep(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("removing the stale temporary %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// removeRunTemps removes run id's temporaries from runs/; the caller holds its lock.
func removeRunTemps(out, id string) ([]string, error) {
	return removeTemps(filepath.Join(out, RunsDir), func(name string) bool { return tempOwner(name) == id })
}

// removeSetTemps removes the output set's temporaries from out; the caller holds the report lock.
func removeSetTemps(out string) ([]string, error) {
	return removeTemps(out, func(string) bool { return true })
}

// CleanStale removes the temporaries that killed processes left in the output folder out: half-written
// checkpoints and results in runs/ (".<ID>.ckpt.tmp-*", ".<ID>.json.tmp-*") and half-written output sets
// (".partial-*", ".<file>.tmp-*"). A temporary is removed only while its lock (the run's, or the report's)
// is free, and is taken for the moment of removal: a live process's temporaries are left alone. It returns
// the paths it removed.
func CleanStale(out string) ([]string, error) {
	var removed []string
	entries, err := os.ReadDir(filepath.Join(out, RunsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if id := tempOwner(e.Name()); id != "" {
			ids[id] = true
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	clean := func(lockPath string, remove func() ([]string, error)) error {
		l, err := tryLock(lockPath, "cleaning stale temporaries")
		if err != nil || l == nil {
			return err // nil, nil: a live process holds it
		}
		defer l.Unlock()
		if l.Unsupported != nil {
			return nil // no way to tell a live process's temporaries from stale ones
		}
		r, err := remove()
		removed = append(removed, r...)
		return err
	}
	for _, id := range sorted {
		if err := clean(runLockPath(out, id), func() ([]string, error) { return removeRunTemps(out, id) }); err != nil {
			return removed, err
		}
	}
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		return removed, nil
	}
	err = clean(filepath.Join(out, RunsDir, ReportLock), func() ([]string, error) { return removeSetTemps(out) })
	return removed, err
}
