package benchmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// StudyBenchmarks lists the benchmarks the study reports, in order: the five public Brain-Score
// benchmarks, then the offline macaque IT RSA and Cowley V4 benchmarks (DefaultRegistry's defaults).
func StudyBenchmarks() []string { return DefaultRegistry().Defaults() }

// PublicPreprocessing returns the preprocessing of the public benchmarks for a model input: model-tools'
// load_preprocess_images(image_size=size) on the 8-degree screen for square RGB inputs (the study's
// 3×32×32), and for others, which model-tools cannot feed (one-channel MNIST nets), the study's own
// normalisation on the same 8-degree screen.
func PublicPreprocessing(channels, height, width int) stimuli.Preprocessing {
	if channels == 3 && height == width {
		return stimuli.ModelTools(height)
	}
	p := stimuli.Study(channels, height, width)
	p.VisualDegrees = stimuli.ModelToolsVisualDegrees
	p.Name = fmt.Sprintf("study(%dx%dx%d, x/255*2-1, visual_degrees=%d)", channels, height, width, stimuli.ModelToolsVisualDegrees)
	return p
}

// Options configure ScoreAll.
type Options struct {
	// Dirs says where the data are.
	Dirs Dirs
	// Registry holds the benchmarks; nil means DefaultRegistry.
	Registry *Registry
	// Benchmarks lists the identifiers to run; nil means the registry's Defaults (for DefaultRegistry,
	// StudyBenchmarks).
	Benchmarks []string
	// Public and Offline override the preprocessing of the public benchmarks (default
	// PublicPreprocessing of the model's input) and of the offline ones (default stimuli.Study of the
	// model's input).
	Public, Offline *stimuli.Preprocessing
	// Log receives progress and every layer's scores; nil discards them.
	Log io.Writer
}

// ScoreAll scores the model on the benchmarks, fetching their data as Dirs allows, and returns one
// result per benchmark in the order asked. A benchmark whose data are missing has status
// StatusNotPresent with the missing files in its notes; one whose data cannot be read, or that fails,
// has status "error: ...". Only a cancelled context is an error.
//
// Layers are committed by a Commitment: the selection benchmarks (Spec.Selects: the public neural
// benchmarks, V1 and V2 by FreemanZiemba2013, V4 and IT by MajajHong2015) run first and commit their
// regions to their best layers; every other benchmark then sees the model restricted to its region's
// layer (behaviour: the last layer), or, when no selection benchmark of its region ran, scores every
// layer and commits to its own best.
//
// Benchmarks that need the same files are loaded together from one Source, and a model asked twice in
// a row for the same images (V4 and IT see the same 3200) computes them once.
func ScoreAll(ctx context.Context, m Model, opts Options) ([]*Result, error) {
	commit := NewCommitment(m)
	model := m
	attacher, attach := m.(Attacher)
	if !attach {
		model = Memo(m)
	}
	return visit(ctx, opts, m.Identifier(), func(d Definition, b Benchmark) *Result {
		if attach {
			if err := attacher.Attach(ctx, b); err != nil {
				var na *NoActivationsError
				if errors.As(err, &na) {
					return &Result{Benchmark: d.Identifier, Region: d.Region, Model: m.Identifier(), Status: StatusNoActivations, Notes: []string{na.Error()}}
				}
				return failed(d.Spec, m.Identifier(), err)
			}
		}
		r, err := b.Score(ctx, commit.Model(model, d.Region))
		if err != nil {
			return failed(d.Spec, m.Identifier(), err)
		}
		if d.Selects {
			commit.Select(r)
		} else {
			commit.Apply(r)
		}
		return r
	})
}

// visit runs do on every benchmark opts lists: it orders them (selection benchmarks first), loads
// those that need the same files together, and returns one result per benchmark in the order asked,
// with StatusNotPresent or an error status for those it could not load. It logs every result and the
// time of each group. Only a cancelled context is an error.
func visit(ctx context.Context, opts Options, model string, do func(Definition, Benchmark) *Result) ([]*Result, error) {
	reg := opts.Registry
	if reg == nil {
		reg = DefaultRegistry()
	}
	ids := opts.Benchmarks
	if ids == nil {
		ids = reg.Defaults()
	}
	var defs []Definition
	for _, id := range ids {
		d, ok := reg.Lookup(id)
		if !ok {
			return nil, reg.unknown(id)
		}
		defs = append(defs, d)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	results := map[string]*Result{}
	for _, group := range loadGroups(defs) {
		start := time.Now()
		rs, err := visitGroup(ctx, group, opts, model, do)
		if err != nil {
			return nil, err
		}
		var names []string
		for i, r := range rs {
			results[group[i].Identifier] = r
			names = append(names, group[i].Identifier)
			fmt.Fprintf(log, "%s\n", r)
		}
		fmt.Fprintf(log, "  (%s in %s)\n", strings.Join(names, ", "), time.Since(start).Round(time.Millisecond))
	}
	out := make([]*Result, 0, len(ids))
	for _, id := range ids {
		if r, ok := results[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// loadGroups orders the definitions for scoring, selection benchmarks first, and groups those that
// need the same files.
func loadGroups(defs []Definition) [][]Definition {
	var ordered []Definition
	for _, sel := range []bool{true, false} {
		for _, d := range defs {
			if d.Selects == sel {
				ordered = append(ordered, d)
			}
		}
	}
	var groups [][]Definition
	index := map[string]int{}
	for _, d := range ordered {
		k := filesKey(d.Files)
		if i, ok := index[k]; ok {
			groups[i] = append(groups[i], d)
			continue
		}
		index[k] = len(groups)
		groups = append(groups, []Definition{d})
	}
	return groups
}

func filesKey(files []DataFile) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s/%s\x00", f.Dir, f.File.Name)
	}
	return b.String()
}

// visitGroup locates the files of a group of benchmarks, loads every benchmark of the group, and runs
// do on each in turn. Only a cancelled context is an error.
func visitGroup(ctx context.Context, group []Definition, opts Options, model string, do func(Definition, Benchmark) *Result) ([]*Result, error) {
	out := make([]*Result, len(group))
	paths, err := opts.Dirs.Locate(ctx, group[0].Files)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		for i, d := range group {
			out[i] = notPresent(d.Spec, model, err)
		}
		return out, nil
	}
	src := NewSource(paths)
	defer src.Close()
	benches := make([]Benchmark, len(group))
	for i, d := range group {
		src.Preprocess = override(d.Spec, opts)
		b, err := d.Load(ctx, src)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			out[i] = failed(d.Spec, model, err)
			continue
		}
		benches[i] = b
	}
	src.Release()
	for i, d := range group {
		if benches[i] == nil {
			continue
		}
		out[i] = do(d, benches[i])
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// override returns the preprocessing Options sets for a benchmark of this spec, or nil.
func override(s Spec, opts Options) Preprocessor {
	switch {
	case s.Public && opts.Public != nil:
		return Fixed(*opts.Public)
	case !s.Public && opts.Offline != nil:
		return Fixed(*opts.Offline)
	}
	return nil
}

// notPresent returns a StatusNotPresent result naming the missing files, or an error result when err is
// not about missing files.
func notPresent(s Spec, model string, err error) *Result {
	var oe *fetch.OfflineError
	if !errors.As(err, &oe) {
		return failed(s, model, err)
	}
	var names []string
	for _, f := range oe.Missing {
		names = append(names, f.Name)
	}
	return &Result{Benchmark: s.Identifier, Region: s.Region, Model: model, Status: StatusNotPresent,
		Notes: []string{fmt.Sprintf("missing in %s: %s (%v)", oe.Dir, strings.Join(names, ", "), oe.Cause)}}
}

// failed returns an error result.
func failed(s Spec, model string, err error) *Result {
	return &Result{Benchmark: s.Identifier, Region: s.Region, Model: model, Status: "error: " + err.Error()}
}
