package benchmark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// Folders of the brain-data layout: a brain-data directory holds brainio/ (BrainIO files under their
// storage names), rsa92/ and cowley-v4/, the layout of the project's shared test data.
const (
	DirBrainIO = "brainio"
	DirRSA92   = "rsa92"
	DirCowley  = "cowley-v4"
)

// DataFile is one file a benchmark needs: its folder in the brain-data layout, and its name, URL and
// checksum.
type DataFile struct {
	Dir  string
	File fetch.File
}

// Spec describes a benchmark: its identifier, what it compares and the files it needs.
type Spec struct {
	// Identifier is this package's identifier.
	Identifier string
	// BrainScore is Brain-Score's identifier of the benchmark in 2021; empty for the offline ones.
	BrainScore string
	// Region is the brain region, or "behavior".
	Region string
	// Metric names the comparison ("pls", "rsa", "i2n").
	Metric string
	// Description says what the data are.
	Description string
	// Public marks the public Brain-Score benchmarks (BrainIO data on Brain-Score's storage); the
	// others are the offline benchmarks on openly licensed data.
	Public bool
	// Selects marks a region's selection benchmark: the layer it scores best becomes the region's layer
	// for the benchmarks of that region scored after it (see Commitment). ScoreAll scores selection
	// benchmarks first.
	Selects bool
	// OnRequest marks a benchmark scored only when named (Options.Benchmarks), not by default.
	OnRequest bool
	// Files lists the data files.
	Files []DataFile
}

// brainioFiles lists the catalogued files of BrainIO items.
func brainioFiles(identifiers ...string) []DataFile {
	var out []DataFile
	for _, id := range identifiers {
		e, ok := brainio.Lookup(id)
		if !ok {
			panic("benchmark: " + id + " is not in brainio's catalog")
		}
		for _, f := range e.Files {
			out = append(out, DataFile{Dir: DirBrainIO, File: f})
		}
	}
	return out
}

// Specs lists the benchmarks of DefaultRegistry: the five public Brain-Score benchmarks the study
// reports, then the offline ones.
func Specs() []Spec { return DefaultRegistry().Specs() }

// LookupSpec returns the spec of a benchmark of DefaultRegistry.
func LookupSpec(identifier string) (Spec, bool) {
	d, ok := DefaultRegistry().Lookup(identifier)
	return d.Spec, ok
}

// Dirs says where brain data is found.
type Dirs struct {
	// Local is a directory holding a copy of the data in the brain-data layout (for example the
	// project's ../shared/data); files there are verified and used but never downloaded into it. Empty
	// for none.
	Local string
	// Cache is the download cache; files live in Cache/<folder>/.
	Cache string
	// Offline forbids downloads.
	Offline bool
	// Fetch controls downloads.
	Fetch fetch.Options
}

// Locate returns the paths of the files, in order: a verified copy under Local, else the cached (and
// verified) or newly downloaded file under Cache. When files are missing and cannot be downloaded, the
// error is a *fetch.OfflineError listing them all (with the cache folder of the first as its Dir).
func (d Dirs) Locate(ctx context.Context, files []DataFile) ([]string, error) {
	paths := make([]string, len(files))
	var missing []fetch.File
	var cause error
	dir := ""
	for i, f := range files {
		if p, ok, err := d.local(f); err != nil {
			return nil, err
		} else if ok {
			paths[i] = p
			continue
		}
		cdir := filepath.Join(d.Cache, f.Dir)
		opts := d.Fetch
		opts.Offline = opts.Offline || d.Offline
		p, err := fetch.Ensure(ctx, cdir, f.File, opts)
		var oe *fetch.OfflineError
		switch {
		case errors.As(err, &oe):
			missing = append(missing, oe.Missing...)
			if cause == nil {
				cause = oe.Cause
			}
			if dir == "" {
				dir = cdir
			}
		case err != nil:
			return nil, fmt.Errorf("benchmark: %w", err)
		default:
			paths[i] = p
		}
	}
	if len(missing) > 0 {
		return nil, &fetch.OfflineError{Dir: dir, Missing: missing, Cause: cause}
	}
	return paths, nil
}

// local returns the verified path of f under Local, if there is one.
func (d Dirs) local(f DataFile) (string, bool, error) {
	if d.Local == "" {
		return "", false, nil
	}
	p := filepath.Join(d.Local, f.Dir, f.File.Name)
	if _, err := os.Stat(p); err != nil {
		return "", false, nil
	}
	if err := fetch.Verify(p, f.File); err != nil {
		return "", false, fmt.Errorf("benchmark: local copy %s is not the expected file: %w", p, err)
	}
	return p, true, nil
}

// FileStatus is the state of one data file on this machine.
type FileStatus struct {
	DataFile
	// Path is where the file was found (or would be cached).
	Path string
	// Present reports a file found with the right checksum.
	Present bool
	// Problem says why a file that exists is not usable ("" otherwise).
	Problem string
}

// Check reports, without downloading anything, whether each file is present with the right checksum,
// under Local or Cache. It reads every file present in full.
func (d Dirs) Check(files []DataFile) []FileStatus {
	out := make([]FileStatus, len(files))
	for i, f := range files {
		s := FileStatus{DataFile: f, Path: filepath.Join(d.Cache, f.Dir, f.File.Name)}
		for _, base := range []string{d.Local, d.Cache} {
			if base == "" {
				continue
			}
			p := filepath.Join(base, f.Dir, f.File.Name)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			s.Path = p
			if err := fetch.Verify(p, f.File); err != nil {
				s.Problem = err.Error()
				continue
			}
			s.Present, s.Problem = true, ""
			break
		}
		out[i] = s
	}
	return out
}
