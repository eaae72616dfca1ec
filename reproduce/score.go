package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

// BrainDataEnvVar names a local copy of the brain data in the brain-data layout (brainio/, rsa92/,
// cowley-v4/; the project's ../shared/data has rsa92/ and cowley-v4/), used before the cache and never
// written to. With it, `reproduce -quick` scores the offline benchmarks without a network.
const BrainDataEnvVar = "BPDL_BRAIN_DATA"

// brainDirs returns where the brain data are: the local copy named by $BPDL_BRAIN_DATA, then the
// brainscore folder of the data cache (-data-dir, $BPDL_DATA_DIR or the user cache), downloading there
// unless -offline.
func (c *studyConfig) brainDirs() benchmark.Dirs {
	cache := c.DataDir
	if cache == "" {
		cache = data.DefaultCacheDir()
	}
	return benchmark.Dirs{Local: c.BrainData, Cache: filepath.Join(cache, "brainscore"), Offline: c.Offline}
}

// score scores a trained learner on the brain benchmarks the study reports: the five public Brain-Score
// benchmarks (model-tools' preprocessing at 32 × 32 on an 8-degree screen; "data not present" rows
// when their BrainIO files are missing) and the offline macaque IT RSA and Cowley et al. V4 benchmarks
// (the dataset's own normalisation and input size). Layers are the learner's Linear outputs, or their
// ReLUs with -post-relu. Every benchmark's per-layer scores go to w, and, when the MajajHong2015 data
// are present, Brain-Score's pixels model's score beside Brain-Score's published one.
func (c *studyConfig) score(ctx context.Context, l train.Learner, ds *data.Dataset, w io.Writer) ([]report.Score, error) {
	m := newLearnerModel(l, ds.Train.C, ds.Train.H, ds.Train.W, c.PostReLU)
	if len(m.Layers()) == 0 {
		return nil, fmt.Errorf("brain scores of %s: the learner reports no layers", l.Name())
	}
	results, err := benchmark.ScoreAll(ctx, m, benchmark.Options{Dirs: c.brainDirs(), Log: &indent{w: w}})
	if err != nil {
		return nil, fmt.Errorf("brain scores of %s: %w", l.Name(), err)
	}
	var scores []report.Score
	for _, r := range results {
		if r.Benchmark == benchmark.MajajHong2015IT && r.Status == benchmark.StatusOK {
			// The real MajajHong2015 data are here: compare Brain-Score's pixels model with Brain-Score's
			// published values (computed once, then cached).
			if cmp, err := benchmark.CheckPixels(ctx, c.brainDirs(), w); err != nil {
				fmt.Fprintf(w, "  pixels check: %v\n", err)
			} else {
				fmt.Fprintf(&indent{w: w}, "%s\n", cmp)
			}
		}
		s := r.Score()
		if r.Status != benchmark.StatusOK {
			n := math.NaN()
			s.Raw, s.Error, s.Ceiling, s.CeiledRC2, s.CeiledR2C = n, n, n, n, n
		}
		scores = append(scores, report.Score{
			Benchmark: r.Benchmark, Region: r.Region, Layer: r.Layer,
			Raw: s.Raw, Error: s.Error, Ceiling: s.Ceiling, CeiledRC2: s.CeiledRC2, CeiledR2C: s.CeiledR2C,
			Status: r.Status,
		})
	}
	return scores, nil
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
