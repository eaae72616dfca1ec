package benchmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// StudyBenchmarks lists the benchmarks the study reports, in order: the five public Brain-Score
// benchmarks, then the offline macaque IT RSA and Cowley V4 benchmarks.
func StudyBenchmarks() []string {
	return []string{FreemanZiemba2013V1, FreemanZiemba2013V2, MajajHong2015V4, MajajHong2015IT, Rajalingham2018I2n, RSA92MacaqueIT, CowleyV4}
}

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
	// Benchmarks lists the identifiers to run; nil means StudyBenchmarks.
	Benchmarks []string
	// Public and Offline override the preprocessing of the public benchmarks (default
	// PublicPreprocessing of the model's input) and of the offline ones (default stimuli.Study of the
	// model's input).
	Public, Offline *stimuli.Preprocessing
	// Log receives progress and every layer's scores; nil discards them.
	Log io.Writer
}

// ScoreAll scores the model on the benchmarks, fetching their data as Dirs allows. A benchmark whose
// data are missing has status StatusNotPresent with the missing files in its notes; one whose data
// cannot be read has status "error: ...". Only a cancelled context is an error.
//
// Layers are committed as a ModelCommitment does: each region to the layer with the best ceiled score
// on its public benchmark (V1, V2: FreemanZiemba2013; V4, IT: MajajHong2015), the behavioural readout to
// the model's last layer; the offline benchmarks use their region's commitment when the public
// benchmark ran, else their own best layer.
func ScoreAll(ctx context.Context, m Model, opts Options) ([]*Result, error) {
	ids := opts.Benchmarks
	if ids == nil {
		ids = StudyBenchmarks()
	}
	for _, id := range ids {
		if _, ok := LookupSpec(id); !ok {
			return nil, fmt.Errorf("benchmark: unknown benchmark %q", id)
		}
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	c, h, w := m.Input()
	public, offline := PublicPreprocessing(c, h, w), stimuli.Study(c, h, w)
	if opts.Public != nil {
		public = *opts.Public
	}
	if opts.Offline != nil {
		offline = *opts.Offline
	}
	results := map[string]*Result{}
	want := func(id string) bool { return slices.Contains(ids, id) }
	run := func(group []string, score func([]string) ([]*Result, error)) error {
		var sel []string
		for _, id := range group {
			if want(id) {
				sel = append(sel, id)
			}
		}
		if len(sel) == 0 {
			return nil
		}
		start := time.Now()
		rs, err := score(sel)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			rs = nil
			for _, id := range sel {
				rs = append(rs, failed(id, m, err))
			}
		}
		for _, r := range rs {
			results[r.Benchmark] = r
			fmt.Fprintf(log, "%s\n", r)
		}
		fmt.Fprintf(log, "  (%s in %s)\n", strings.Join(sel, ", "), time.Since(start).Round(time.Millisecond))
		return nil
	}
	dirs := opts.Dirs
	neural := func(assembly, stimulusSet string, build func(*brainio.Assembly, Stimuli, ...string) ([]*Neural, error), region map[string]string) func([]string) ([]*Result, error) {
		return func(sel []string) ([]*Result, error) {
			paths, err := dirs.Locate(ctx, brainioFiles(assembly, stimulusSet))
			if err != nil {
				return notPresent(sel, m, err)
			}
			a, err := brainio.ReadAssembly(paths[0])
			if err != nil {
				return nil, err
			}
			st, err := brainio.ReadStimulusSet(paths[1], paths[2])
			if err != nil {
				return nil, err
			}
			defer st.Close()
			var regions []string
			for _, id := range sel {
				regions = append(regions, region[id])
			}
			benches, err := build(a, st, regions...)
			if err != nil {
				return nil, err
			}
			return scoreShared(ctx, m, public, benches)
		}
	}
	if err := run([]string{FreemanZiemba2013V1, FreemanZiemba2013V2}, neural("movshon.FreemanZiemba2013.public", "FreemanZiemba2013.aperture-public",
		NewFreemanZiemba2013, map[string]string{FreemanZiemba2013V1: "V1", FreemanZiemba2013V2: "V2"})); err != nil {
		return nil, err
	}
	if err := run([]string{MajajHong2015V4, MajajHong2015IT}, neural("dicarlo.MajajHong2015.public", "hvm-public",
		NewMajajHong2015, map[string]string{MajajHong2015V4: "V4", MajajHong2015IT: "IT"})); err != nil {
		return nil, err
	}
	commit := map[string]string{}
	for _, r := range results {
		if r.Status == StatusOK {
			commit[r.Region] = r.Layer
		}
	}
	layers := m.Layers()
	if err := run([]string{Rajalingham2018I2n}, func(sel []string) ([]*Result, error) {
		paths, err := dirs.Locate(ctx, brainioFiles("dicarlo.Rajalingham2018.public", "objectome.public"))
		if err != nil {
			return notPresent(sel, m, err)
		}
		b, closer, err := LoadRajalingham2018(paths[0], paths[1], paths[2])
		if err != nil {
			return nil, err
		}
		defer closer.Close()
		r, err := b.Score(ctx, m, public, layers[len(layers)-1])
		if err != nil {
			return nil, err
		}
		return []*Result{r}, nil
	}); err != nil {
		return nil, err
	}
	if err := run([]string{RSA92MacaqueIT, RSA92HumanIT}, func(sel []string) ([]*Result, error) {
		paths, err := dirs.Locate(ctx, []DataFile{{Dir: DirRSA92, File: rsa92File}})
		if err != nil {
			return notPresent(sel, m, err)
		}
		d, err := LoadRSA92(paths[0])
		if err != nil {
			return nil, err
		}
		var out []*Result
		for _, id := range sel {
			r, err := d.Score(ctx, m, offline, id)
			if err != nil {
				return nil, err
			}
			commitOffline(r, commit)
			out = append(out, r)
		}
		return out, nil
	}); err != nil {
		return nil, err
	}
	if err := run([]string{CowleyV4}, func(sel []string) ([]*Result, error) {
		spec, _ := LookupSpec(CowleyV4)
		paths, err := dirs.Locate(ctx, spec.Files)
		if err != nil {
			return notPresent(sel, m, err)
		}
		if !sameDir(paths) {
			return nil, errors.New("the Cowley et al. files are split between the local copy and the cache: put all of them in one folder")
		}
		b, err := LoadCowley(filepath.Dir(paths[0]))
		if err != nil {
			return nil, err
		}
		r, err := b.Score(ctx, m, offline)
		if err != nil {
			return nil, err
		}
		commitOffline(r, commit)
		return []*Result{r}, nil
	}); err != nil {
		return nil, err
	}
	out := make([]*Result, 0, len(ids))
	for _, id := range ids {
		if r, ok := results[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// scoreShared scores benchmarks of the same images (the regions of one assembly), running the images
// through the model once.
func scoreShared(ctx context.Context, m Model, prep stimuli.Preprocessing, benches []*Neural) ([]*Result, error) {
	first := benches[0]
	inputs, err := prepare(ctx, first.stimuli, first.StimulusIDs, first.spec.degrees, prep, m)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", first.spec.identifier, err)
	}
	acts, err := activations(ctx, m, inputs, m.Layers())
	if err != nil {
		return nil, err
	}
	var out []*Result
	for _, b := range benches {
		if !slices.Equal(b.StimulusIDs, first.StimulusIDs) || b.spec.degrees != first.spec.degrees {
			return nil, fmt.Errorf("benchmark: %s and %s show different images", first.spec.identifier, b.spec.identifier)
		}
		r, err := b.ScoreFeatures(m.Identifier(), m.Layers(), acts)
		if err != nil {
			return nil, err
		}
		r.Notes = append(r.Notes, "preprocessing "+prep.Name)
		out = append(out, r)
	}
	return out, nil
}

// commitOffline commits an offline benchmark's result to its region's public commitment, if any.
func commitOffline(r *Result, commit map[string]string) {
	if l, ok := commit[r.Region]; ok {
		r.Commit(l)
		r.Notes = append(r.Notes, fmt.Sprintf("layer committed to %s by its public benchmark", r.Region))
	} else {
		r.Commit("")
		r.Notes = append(r.Notes, "layer committed by this benchmark (its region's public benchmark did not run)")
	}
}

func sameDir(paths []string) bool {
	for _, p := range paths {
		if filepath.Dir(p) != filepath.Dir(paths[0]) {
			return false
		}
	}
	return true
}

// notPresent returns StatusNotPresent results naming the missing files, or err when it is not about
// missing files.
func notPresent(ids []string, m Model, err error) ([]*Result, error) {
	var oe *fetch.OfflineError
	if !errors.As(err, &oe) {
		return nil, err
	}
	var names []string
	for _, f := range oe.Missing {
		names = append(names, f.Name)
	}
	var out []*Result
	for _, id := range ids {
		spec, _ := LookupSpec(id)
		out = append(out, &Result{Benchmark: id, Region: spec.Region, Model: m.Identifier(), Status: StatusNotPresent,
			Notes: []string{fmt.Sprintf("missing in %s: %s (%v)", oe.Dir, strings.Join(names, ", "), oe.Cause)}})
	}
	return out, nil
}

// failed returns an error result.
func failed(id string, m Model, err error) *Result {
	spec, _ := LookupSpec(id)
	return &Result{Benchmark: id, Region: spec.Region, Model: m.Identifier(), Status: "error: " + err.Error()}
}

// LoadRajalingham2018 reads the benchmark from the BrainIO files of dicarlo.Rajalingham2018.public and
// objectome.public (CSV and ZIP; its image_label column labels the fitting images). The stimulus set is
// both the fitting and the test set, as in Brain-Score's public benchmark. Close the returned closer
// when done.
func LoadRajalingham2018(assemblyPath, csvPath, zipPath string) (*Rajalingham2018, io.Closer, error) {
	a, err := brainio.ReadAssembly(assemblyPath)
	if err != nil {
		return nil, nil, err
	}
	trials, err := TrialsFromAssembly(a)
	if err != nil {
		return nil, nil, err
	}
	st, err := brainio.ReadStimulusSet(csvPath, zipPath)
	if err != nil {
		return nil, nil, err
	}
	var ids, labels []string
	for _, s := range st.Stimuli {
		l, ok := s.Fields["image_label"]
		if !ok {
			st.Close()
			return nil, nil, fmt.Errorf("benchmark: %s: stimulus set %s has no image_label column", Rajalingham2018I2n, csvPath)
		}
		ids, labels = append(ids, s.ID), append(labels, l)
	}
	b, err := NewRajalingham2018(trials, ids, labels, ids, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return b, st, nil
}
