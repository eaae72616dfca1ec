package benchmark

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
)

// Stimuli gives a benchmark its images by stimulus ID. *brainio.StimulusSet is one.
type Stimuli interface {
	Image(id string) (image.Image, error)
}

// stimulusFields is implemented by stimulus sets that also carry each stimulus's metadata
// (*brainio.StimulusSet).
type stimulusFields interface {
	Stimulus(id string) (brainio.Stimulus, bool)
}

// neuralDefinition registers a neural predictivity benchmark of a BrainIO assembly and stimulus set: a
// selection benchmark of its region. The benchmarks of one assembly's regions share the assembly and the
// prepared images.
func neuralDefinition(s neuralSpec, description string) Definition {
	return Definition{
		Spec: Spec{Identifier: s.identifier, BrainScore: s.brainScore, Region: s.region, Metric: "pls", Public: true, Selects: true,
			Description: description, Files: brainioFiles(s.assembly, s.stimuli)},
		Load: neuralLoader(s),
	}
}

// neuralLoader loads the benchmark from an assembly, a stimulus set CSV and its ZIP (src.Paths in
// that order).
func neuralLoader(s neuralSpec) func(context.Context, *Source) (Benchmark, error) {
	return func(ctx context.Context, src *Source) (Benchmark, error) {
		a, err := Shared(src, "assembly", func() (*brainio.Assembly, error) { return brainio.ReadAssembly(src.Paths[0]) })
		if err != nil {
			return nil, err
		}
		st, err := Shared(src, "stimuli", func() (*preparedImages, error) {
			st, err := brainio.ReadStimulusSet(src.Paths[1], src.Paths[2])
			if err != nil {
				return nil, err
			}
			src.OnClose(st)
			return newPreparedImages(st), nil
		})
		if err != nil {
			return nil, err
		}
		b, err := newNeural(s, a, st)
		if err != nil {
			return nil, err
		}
		b.Preprocess = src.Preprocess
		return b, nil
	}
}

// neuralSpec describes a Brain-Score neural predictivity benchmark on a BrainIO assembly (NeuralBenchmark
// with CrossRegressedCorrelation(pls_regression, pearsonr_correlation) and an InternalConsistency
// ceiling).
type neuralSpec struct {
	identifier string // this package's identifier, e.g. "MajajHong2015public.IT-pls"
	brainScore string // Brain-Score's identifier in 2021, e.g. "dicarlo.MajajHong2015public.IT-pls"
	assembly   string // BrainIO identifier of the assembly
	stimuli    string // BrainIO identifier of its stimulus set
	region     string
	// timeStart and timeEnd bound the time bins (by time_bin_start and time_bin_end, in ms) whose
	// responses are averaged.
	timeStart, timeEnd float64
	// stratify names the presentation coordinate the cross-validation is stratified by.
	stratify string
	// degrees is the visual angle the stimuli were shown at.
	degrees float64
}

// Neural is a neural predictivity benchmark with its data loaded: Brain-Score's NeuralBenchmark over
// the repetition-averaged responses of one region, scored by PLS regression (25 components, no
// scaling) from model features, Pearson r per neuroid on held-out images, median over neuroids, mean
// over ten stratified 90/10 splits, and a split-half ceiling over repetitions.
type Neural struct {
	spec neuralSpec
	// StimulusIDs lists the images in the order of the rows of Responses and of the features the
	// benchmark scores: sorted by stimulus_id.
	StimulusIDs []string
	// Labels holds each image's stratification label (its object_name or texture_type).
	Labels []string
	// Responses holds the responses averaged over repetitions (NaN-skipping), images × neuroids.
	Responses *mat.Dense
	// Repetitions holds the responses by repetition (sorted repetition values) for the ceiling.
	Repetitions *metric.Repetitions
	// Splits are the cross-validation splits over the images.
	Splits []metric.Split
	// Ceiling is the split-half ceiling with Brain-Score's default half assignments.
	Ceiling *metric.Ceiling
	// Preprocess chooses how the images are prepared for a model; nil means PublicPreprocessing.
	Preprocess Preprocessor
	stimuli    *preparedImages
}

// Identifier returns the benchmark's identifier.
func (b *Neural) Identifier() string { return b.spec.identifier }

// Region returns the brain region.
func (b *Neural) Region() string { return b.spec.region }

// Degrees returns the visual angle the stimuli were shown at.
func (b *Neural) Degrees() float64 { return b.spec.degrees }

// newNeural prepares the benchmark's data from the assembly as Brain-Score's load_assembly and
// NeuralBenchmark do: the region's neuroids; the mean over the time bins inside the window; the
// responses grouped by stimulus_id and repetition; the mean over repetitions; stratified splits; the
// ceiling.
//
// Brain-Score orders the averaged images by the values of all their presentation coordinates (xarray's
// groupby over brainio's multi-coordinate key), which is stimulus_id order when that coordinate comes
// first, as in the synthetic fixture; this implementation sorts by stimulus_id.
func newNeural(spec neuralSpec, a *brainio.Assembly, st *preparedImages) (*Neural, error) {
	rs, err := responsesByPresentation(a, spec.region, spec.timeStart, spec.timeEnd)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", spec.identifier, err)
	}
	b := &Neural{spec: spec, stimuli: st}
	if err := b.group(a, rs); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", spec.identifier, err)
	}
	if b.Splits, err = metric.BrainScoreSplits(len(b.StimulusIDs), metric.LabelCodes(b.Labels)); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", spec.identifier, err)
	}
	if b.Ceiling, err = metric.SplitHalfCeiling(b.Repetitions, nil); err != nil {
		return nil, fmt.Errorf("benchmark: %s: ceiling: %w", spec.identifier, err)
	}
	return b, nil
}

// presentationResponses are the time-averaged responses of one region: Data[p*Neuroids+k].
type presentationResponses struct {
	Presentations, Neuroids int
	Data                    []float64
}

// responsesByPresentation returns the responses of the region's neuroids averaged (NaN-skipping) over
// the time bins within [start, end], one row per presentation. It reads the assembly in one pass without
// copying it (FreemanZiemba2013's 1-ms bins make it large). An assembly without a time_bin dimension is
// taken as it is.
func responsesByPresentation(a *brainio.Assembly, region string, start, end float64) (*presentationResponses, error) {
	pAxis, nAxis, tAxis := a.Axis("presentation"), a.Axis("neuroid"), a.Axis("time_bin")
	if pAxis < 0 || nAxis < 0 {
		return nil, fmt.Errorf("assembly %s has dimensions %v, want presentation and neuroid", a.Identifier, a.Dims)
	}
	if len(a.Dims) > 3 || (len(a.Dims) == 3 && tAxis < 0) {
		return nil, fmt.Errorf("assembly %s has dimensions %v, want presentation, neuroid and time_bin", a.Identifier, a.Dims)
	}
	reg, ok := a.Coords["region"]
	if !ok || reg.Dim != "neuroid" {
		return nil, fmt.Errorf("assembly %s has no region coordinate along neuroid", a.Identifier)
	}
	var neuroids []int
	for k := range a.Shape[nAxis] {
		if reg.Key(k) == region {
			neuroids = append(neuroids, k)
		}
	}
	if len(neuroids) == 0 {
		return nil, fmt.Errorf("assembly %s has no neuroid in region %s", a.Identifier, region)
	}
	bins := []int{0}
	if tAxis >= 0 {
		lo, okLo := a.Coords["time_bin_start"]
		hi, okHi := a.Coords["time_bin_end"]
		if !okLo || !okHi || lo.Dim != "time_bin" || hi.Dim != "time_bin" {
			return nil, fmt.Errorf("assembly %s has no time_bin_start and time_bin_end along time_bin", a.Identifier)
		}
		bins = bins[:0]
		for t := range a.Shape[tAxis] {
			if lo.Float(t) >= start && hi.Float(t) <= end {
				bins = append(bins, t)
			}
		}
		if len(bins) == 0 {
			return nil, fmt.Errorf("assembly %s has no time bin within [%g, %g] ms", a.Identifier, start, end)
		}
	}
	stride := make([]int, len(a.Dims))
	s := 1
	for i := len(a.Dims) - 1; i >= 0; i-- {
		stride[i] = s
		s *= a.Shape[i]
	}
	if len(a.Data) != s {
		return nil, fmt.Errorf("assembly %s has %d values for shape %v", a.Identifier, len(a.Data), a.Shape)
	}
	tStride := 0
	if tAxis >= 0 {
		tStride = stride[tAxis]
	}
	np := a.Shape[pAxis]
	out := &presentationResponses{Presentations: np, Neuroids: len(neuroids), Data: make([]float64, np*len(neuroids))}
	for p := range np {
		row := out.Data[p*len(neuroids) : (p+1)*len(neuroids)]
		for j, k := range neuroids {
			base := p*stride[pAxis] + k*stride[nAxis]
			sum, cnt := 0.0, 0
			for _, t := range bins {
				v := a.Data[base+t*tStride]
				if !math.IsNaN(v) {
					sum += v
					cnt++
				}
			}
			if cnt == 0 {
				row[j] = math.NaN()
			} else {
				row[j] = sum / float64(cnt)
			}
		}
	}
	return out, nil
}

// group arranges the presentations by image (sorted stimulus_id) and repetition (sorted repetition
// values) and averages over repetitions.
func (b *Neural) group(a *brainio.Assembly, rs *presentationResponses) error {
	ids, ok := a.Coords["stimulus_id"]
	if !ok || ids.Dim != "presentation" {
		return fmt.Errorf("assembly %s has no stimulus_id (or image_id) coordinate along presentation", a.Identifier)
	}
	reps, ok := a.Coords["repetition"]
	if !ok || reps.Dim != "presentation" {
		return fmt.Errorf("assembly %s has no repetition coordinate along presentation", a.Identifier)
	}
	np := rs.Presentations
	imageOf := map[string]int{}
	for p := range np {
		imageOf[ids.Key(p)] = 0
	}
	b.StimulusIDs = make([]string, 0, len(imageOf))
	for id := range imageOf {
		b.StimulusIDs = append(b.StimulusIDs, id)
	}
	slices.Sort(b.StimulusIDs)
	for i, id := range b.StimulusIDs {
		imageOf[id] = i
	}
	// Repetition values in np.unique order: numeric order for numbers, else string order.
	numeric := reps.Strings == nil
	repIndex := map[string]int{}
	var repValues []string
	for p := range np {
		k := reps.Key(p)
		if _, ok := repIndex[k]; !ok {
			repIndex[k] = 0
			repValues = append(repValues, k)
		}
	}
	slices.SortFunc(repValues, func(x, y string) int {
		if numeric {
			fx, _ := strconv.ParseFloat(x, 64)
			fy, _ := strconv.ParseFloat(y, 64)
			if c := cmp.Compare(fx, fy); c != 0 {
				return c
			}
		}
		return cmp.Compare(x, y)
	})
	for r, v := range repValues {
		repIndex[v] = r
	}
	nImg, nNeu, nRep := len(b.StimulusIDs), rs.Neuroids, len(repValues)
	data := make([]float64, nRep*nImg*nNeu)
	for i := range data {
		data[i] = math.NaN()
	}
	filled := make([]bool, nRep*nImg)
	for p := range np {
		r, i := repIndex[reps.Key(p)], imageOf[ids.Key(p)]
		if filled[r*nImg+i] {
			return fmt.Errorf("stimulus %s has two presentations with repetition %s", ids.Key(p), reps.Key(p))
		}
		filled[r*nImg+i] = true
		copy(data[(r*nImg+i)*nNeu:(r*nImg+i+1)*nNeu], rs.Data[p*nNeu:(p+1)*nNeu])
	}
	var err error
	if b.Repetitions, err = metric.NewRepetitions(nRep, nImg, nNeu, data); err != nil {
		return err
	}
	b.Responses = b.Repetitions.Mean(nil)
	return b.labels(a, ids, imageOf)
}

// labels finds each image's stratification label: from the assembly's presentation coordinate, or else
// from the stimulus set's column of that name.
func (b *Neural) labels(a *brainio.Assembly, ids brainio.Coord, imageOf map[string]int) error {
	name := b.spec.stratify
	b.Labels = make([]string, len(b.StimulusIDs))
	if c, ok := a.Coords[name]; ok && c.Dim == "presentation" {
		seen := make([]bool, len(b.StimulusIDs))
		for p := range ids.Len() {
			i := imageOf[ids.Key(p)]
			if !seen[i] {
				b.Labels[i], seen[i] = c.Key(p), true
			} else if b.Labels[i] != c.Key(p) {
				return fmt.Errorf("stimulus %s has %s %q and %q", b.StimulusIDs[i], name, b.Labels[i], c.Key(p))
			}
		}
		return nil
	}
	sf, ok := b.stimuli.Stimuli.(stimulusFields)
	if !ok {
		return fmt.Errorf("assembly %s has no %s coordinate along presentation and the stimuli carry no metadata", a.Identifier, name)
	}
	for i, id := range b.StimulusIDs {
		s, ok := sf.Stimulus(id)
		if !ok {
			return fmt.Errorf("stimulus %s of assembly %s is not in the stimulus set", id, a.Identifier)
		}
		v, ok := s.Fields[name]
		if !ok {
			return fmt.Errorf("neither assembly %s nor its stimulus set has a %s for stimulus %s", a.Identifier, name, id)
		}
		b.Labels[i] = v
	}
	return nil
}

// ScoreFeatures scores precomputed features: for each layer, a matrix with one row per image in
// StimulusIDs order. The result commits to the layer with the best ceiled score, as Brain-Score's
// LayerSelection does on this (public) benchmark.
func (b *Neural) ScoreFeatures(model string, layers []string, features map[string]*mat.Dense) (*Result, error) {
	res := &Result{Benchmark: b.spec.identifier, Region: b.spec.region, Model: model, Status: StatusOK}
	for _, l := range layers {
		f, ok := features[l]
		if !ok {
			return nil, fmt.Errorf("benchmark: %s: no features for layer %q", b.spec.identifier, l)
		}
		s, err := metric.Predictivity(f, b.Responses, b.Splits, metric.BrainScorePLS())
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: layer %s: %w", b.spec.identifier, l, err)
		}
		s.SetCeiling(b.Ceiling)
		ls := nanScore(l)
		ls.Raw, ls.Error, ls.PerSplit = s.Raw, s.Error, s.RawPerSplit
		ls.Ceiling, ls.CeiledRC2, ls.CeiledR2C = s.Ceiling, s.CeiledRC2, s.CeiledR2C
		res.Layers = append(res.Layers, ls)
	}
	res.Commit("")
	return res, nil
}

// Score runs the benchmark's images through the model, prepared by b.Preprocess (by default
// PublicPreprocessing of the model's input), and scores every layer.
func (b *Neural) Score(ctx context.Context, m Model) (*Result, error) {
	prep := b.preprocessing(m.Input())
	inputs, err := b.stimuli.prepare(ctx, b.StimulusIDs, b.spec.degrees, prep, m)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", b.spec.identifier, err)
	}
	acts, err := activations(ctx, m, inputs, m.Layers())
	if err != nil {
		return nil, err
	}
	res, err := b.ScoreFeatures(m.Identifier(), m.Layers(), acts)
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, "preprocessing "+prep.Name)
	return res, nil
}

// Inputs implements ImageBenchmark: the images in StimulusIDs order, as Score prepares them.
func (b *Neural) Inputs(ctx context.Context, channels, height, width int) ([]InputSet, error) {
	prep := b.preprocessing(channels, height, width)
	inputs, err := b.stimuli.prepareImages(ctx, b.StimulusIDs, b.spec.degrees, prep)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", b.spec.identifier, err)
	}
	return []InputSet{{Name: "stimuli", IDs: b.StimulusIDs, Inputs: inputs, Preprocessing: prep.Name}}, nil
}

func (b *Neural) preprocessing(channels, height, width int) stimuli.Preprocessing {
	if b.Preprocess != nil {
		return b.Preprocess(channels, height, width)
	}
	return PublicPreprocessing(channels, height, width)
}

// preparedImages serves a stimulus set's images and remembers the last set it prepared, which the
// benchmarks of one assembly's regions share.
type preparedImages struct {
	Stimuli
	mu     sync.Mutex
	key    preparedKey
	inputs [][]float32
}

type preparedKey struct {
	ids     string
	degrees float64
	prep    stimuli.Preprocessing
}

// newPreparedImages wraps st, unless it is already wrapped.
func newPreparedImages(st Stimuli) *preparedImages {
	if p, ok := st.(*preparedImages); ok {
		return p
	}
	return &preparedImages{Stimuli: st}
}

// prepare is prepareImages with a check that the preprocessing gives the model's input shape.
func (p *preparedImages) prepare(ctx context.Context, ids []string, degrees float64, prep stimuli.Preprocessing, m Model) ([][]float32, error) {
	if err := checkShape(prep, m); err != nil {
		return nil, err
	}
	return p.prepareImages(ctx, ids, degrees, prep)
}

// checkShape checks that the preprocessing gives the model's input shape.
func checkShape(prep stimuli.Preprocessing, m Model) error {
	c, h, w := m.Input()
	if prep.Channels != c || prep.Height != h || prep.Width != w {
		return fmt.Errorf("preprocessing %q gives %dx%dx%d inputs, model %s takes %dx%dx%d", prep.Name, prep.Channels, prep.Height, prep.Width, m.Identifier(), c, h, w)
	}
	return nil
}

// prepareImages returns the prepared images, from memory when they are the last ones prepared. The
// slices returned are shared and must not be modified.
func (p *preparedImages) prepareImages(ctx context.Context, ids []string, degrees float64, prep stimuli.Preprocessing) ([][]float32, error) {
	key := preparedKey{strings.Join(ids, "\x00"), degrees, prep}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inputs != nil && key == p.key {
		return p.inputs, nil
	}
	inputs, err := prepareImages(ctx, p.Stimuli, ids, degrees, prep)
	if err != nil {
		return nil, err
	}
	p.key, p.inputs = key, inputs
	return inputs, nil
}

// prepareImages decodes and preprocesses the listed stimuli, concurrently.
func prepareImages(ctx context.Context, st Stimuli, ids []string, degrees float64, prep stimuli.Preprocessing) ([][]float32, error) {
	if err := prep.Validate(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(ids))
	errs := make([]error, len(ids))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				img, err := st.Image(ids[i])
				if err == nil {
					out[i], err = prep.Apply(img, degrees)
				}
				if err != nil {
					errs[i] = fmt.Errorf("stimulus %s: %w", ids[i], err)
				}
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
