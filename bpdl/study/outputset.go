package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/bpdl/bpdl/bpdl/report"
)

// PrepareOut makes the output folder out and checks that files can be created in it, before any work
// that would write there.
func PrepareOut(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("-out %s: cannot create the output directory: %w", out, err)
	}
	f, err := os.CreateTemp(out, ".write-test-*")
	if err != nil {
		return fmt.Errorf("-out %s: output directory is not writable: %w", out, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// WriteOutputs writes the output set files (tables, figures, MANIFEST) into the output folder out as one
// unit, and renders the figures' PNGs when a browser is installed (reporting to log when it is not):
//
//  1. it takes the folder's report lock (runs/report.lock), waiting while another process writes its set,
//     and removes the temporaries that killed writers left (".partial-*", ".<file>.tmp-*");
//  2. it writes every file, and renders the PNGs, into a temporary folder inside out (".partial-*");
//  3. it removes the old MANIFEST, moves the files into place one by one (renames within one file
//     system), and moves the new MANIFEST last.
//
// So out holds at every moment either no MANIFEST or one whose every output is in place: a failure while
// writing (a full disk) leaves the previous set as it was, a failure or a kill while moving leaves no
// MANIFEST, and never a MANIFEST that lists files that do not exist.
func WriteOutputs(ctx context.Context, out string, files report.Files, log io.Writer) error {
	return setWriter{write: writeFile, rename: os.Rename}.writeSet(ctx, out, files, log)
}

// setWriter writes output sets; its file operations are fields so that tests can make them fail (a full
// disk) at any step.
type setWriter struct {
	write  func(path string, b []byte) error
	rename func(from, to string) error
}

func (w setWriter) writeSet(ctx context.Context, out string, files report.Files, log io.Writer) error {
	if _, ok := files[Manifest]; !ok {
		return fmt.Errorf("output set for %s has no %s", out, Manifest)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("-out %s: %w", out, err)
	}
	lock, err := takeLock(ctx, filepath.Join(out, RunsDir, ReportLock), "writing the output set", log)
	if err != nil {
		return fmt.Errorf("output set of %s: %w", out, err)
	}
	defer lock.Unlock()
	if lock.Unsupported == nil {
		// Under the lock, every set temporary is a killed writer's.
		if _, err := removeSetTemps(out); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(out, partialPrefix)
	if err != nil {
		return fmt.Errorf("output set of %s: %w", out, err)
	}
	defer os.RemoveAll(tmp) // empty after a successful move
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(tmp, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("output set of %s: %w", out, err)
		}
		if err := w.write(p, files[n]); err != nil {
			return fmt.Errorf("writing %s into %s: %w", n, out, err)
		}
	}
	report.RenderPNGs(tmp, files, log)
	// Everything the temporary folder holds now (the files and any PNGs), MANIFEST last.
	var moves []string
	err = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || isTemp(d.Name()) {
			return err // a renderer's leftover temporary is not part of the set
		}
		rel, err := filepath.Rel(tmp, p)
		if err == nil && rel != Manifest {
			moves = append(moves, rel)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("output set of %s: %w", out, err)
	}
	sort.Strings(moves)
	moves = append(moves, Manifest)
	if err := os.Remove(filepath.Join(out, Manifest)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old %s: %w", filepath.Join(out, Manifest), err)
	}
	for _, rel := range moves {
		to := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("output set of %s: %w", out, err)
		}
		if err := w.rename(filepath.Join(tmp, rel), to); err != nil {
			return fmt.Errorf("moving %s into %s: %w", rel, out, err)
		}
	}
	return nil
}

// writeFile writes b to path and syncs it, so that the rename that moves it into place publishes whole
// contents even after a crash.
func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
