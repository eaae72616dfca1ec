package study

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

// BrainDataEnvVar names a local copy of the brain data in the brain-data layout (brainio/, rsa92/,
// cowley-v4/), read before the cache and never written to; reproduce's -brain-data defaults to it.
const BrainDataEnvVar = "BPDL_BRAIN_DATA"

// BrainDirs returns where the brain benchmarks find their data: the local copy, then the brainscore
// folder of the data cache, downloading there unless offline.
func BrainDirs(local string, opts data.Options) benchmark.Dirs {
	cache := opts.CacheDir
	if cache == "" {
		cache = data.DefaultCacheDir()
	}
	return benchmark.Dirs{Local: local, Cache: filepath.Join(cache, "brainscore"), Offline: opts.Offline}
}

// BrainDirs returns where this study's brain benchmarks find their data.
func (s *Study) BrainDirs() benchmark.Dirs { return BrainDirs(s.cfg.BrainData, s.cfg.Data) }

// Score scores a trained learner on the brain benchmarks the study reports: the five public Brain-Score
// benchmarks (model-tools' preprocessing at the input's size on an 8-degree screen; "data not present"
// when their files are missing) and the offline macaque IT RSA and Cowley et al. V4 benchmarks (the
// dataset's own normalisation and input size). Layers are the learner's Linear outputs, or their ReLUs
// with Config.PostReLU. Every benchmark's per-layer scores go to the log, and, when the MajajHong2015
// data are present, Brain-Score's pixels model's score beside Brain-Score's published one. A benchmark that
// fails gives a *ScoreError along with every score (see StatusError); only a cancelled context or a model
// without layers gives no scores.
func (s *Study) Score(ctx context.Context, l train.Learner) ([]report.Score, error) {
	m := NewModel(l, s.info.C, s.info.H, s.info.W, s.cfg.PostReLU)
	if len(m.Layers()) == 0 {
		return nil, fmt.Errorf("brain scores of %s: the learner reports no layers", l.Name())
	}
	log := s.Log
	if log == nil {
		log = io.Discard
	}
	dirs := s.BrainDirs()
	results, err := benchmark.ScoreAll(ctx, m, benchmark.Options{Dirs: dirs, Benchmarks: s.cfg.Benchmarks, Log: &indent{w: log}})
	if err != nil {
		return nil, fmt.Errorf("brain scores of %s: %w", l.Name(), err)
	}
	var scores []report.Score
	var failures []error
	for _, r := range results {
		if r.Benchmark == benchmark.MajajHong2015IT && r.Status == benchmark.StatusOK {
			// The real MajajHong2015 data are here: compare Brain-Score's pixels model with Brain-Score's
			// published values (computed once, then cached).
			if cmp, err := benchmark.CheckPixels(ctx, dirs, log); err != nil {
				fmt.Fprintf(log, "  pixels check: %v\n", err)
			} else {
				fmt.Fprintf(&indent{w: log}, "%s\n", cmp)
			}
		}
		sc := r.Score()
		status := r.Status
		if r.Status != benchmark.StatusOK {
			n := math.NaN()
			sc.Raw, sc.Error, sc.Ceiling, sc.CeiledRC2, sc.CeiledR2C = n, n, n, n, n
		}
		if r.Status != benchmark.StatusOK && r.Status != benchmark.StatusNotPresent {
			// A failure's message names files and paths: it goes to the error, the tables get a short cell.
			status = StatusError
			failures = append(failures, fmt.Errorf("%s: %s", r.Benchmark, r.Status))
		}
		scores = append(scores, report.Score{
			Benchmark: r.Benchmark, Region: r.Region, Layer: r.Layer,
			Raw: sc.Raw, Error: sc.Error, Ceiling: sc.Ceiling, CeiledRC2: sc.CeiledRC2, CeiledR2C: sc.CeiledR2C,
			Status: status,
		})
	}
	if len(failures) > 0 {
		return scores, &ScoreError{Model: l.Name(), Failures: failures}
	}
	return scores, nil
}

// StatusError is the status a score has in the tables when its benchmark failed (its data unreadable, say);
// the full message is in the ScoreError.
const StatusError = benchmark.StatusSeeLog

// ScoreError reports the benchmarks that failed on a model (not those whose data is absent). The scores
// that come with it are complete otherwise: a failed benchmark's score is NaN with status StatusError.
type ScoreError struct {
	Model    string
	Failures []error
}

func (e *ScoreError) Error() string {
	msgs := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("brain scores of %s: %d benchmark(s) failed: %s", e.Model, len(e.Failures), strings.Join(msgs, "; "))
}

// indent writes through to w with every line indented by two spaces.
type indent struct {
	w   io.Writer
	mid bool // within a line
}

func (i *indent) Write(p []byte) (int, error) {
	var out []byte
	for _, b := range p {
		if !i.mid {
			out = append(out, ' ', ' ')
		}
		out = append(out, b)
		i.mid = b != '\n'
	}
	if _, err := i.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
