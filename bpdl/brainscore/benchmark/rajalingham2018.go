package benchmark

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
)

// Rajalingham2018I2n is the identifier of the Rajalingham et al. (2018) public behavioural benchmark.
const Rajalingham2018I2n = "Rajalingham2018public-i2n"

// i2nSplits is the number of random halvings of the human trials (the metric's repetitions).
const i2nSplits = 2

// i2nCap clips d' values to ±5.
const i2nCap = 5

// Rajalingham2018 is Brain-Score's RajalinghamMatchtosamplePublicBenchmark
// (dicarlo.Rajalingham2018public-i2n): human choices in a two-alternative match-to-sample task on
// images of 24 objects (objectome), compared with the model's image-by-distractor pattern of
// normalised d' (i2n).
//
// The model is read out as model-tools' ProbabilitiesMapping does: a standardised multinomial logistic
// regression (C = 1e-3) fitted on the fitting images' object labels from the readout layer (a
// ModelCommitment's last layer), whose class probabilities on the test images give, for each image and
// distractor object, the choice probability p(distractor)/(p(distractor) + p(truth)). The human trials
// are halved at random (NumPy RandomState(0), two halvings); the first half gives the human
// probabilities (errors towards a distractor over trials offering it). For both, d' = z(1 − p) − z(FA),
// FA the mean probability of choosing the image's object on images of the distractor object, clipped
// to ±5, minus the mean of its (object, distractor) group; the score of a halving is the Pearson r
// between the model's and the human's values, the ceiling the r between the two halves' (over entries
// where both exist); the ceiled score is the mean over halvings of r/√ceiling.
type Rajalingham2018 struct {
	// FittingIDs and FittingLabels are the fitting stimuli and their object labels (image_label).
	FittingIDs, FittingLabels []string
	// TestIDs are the stimuli the model is tested on (the assembly's stimulus set).
	TestIDs []string
	// Trials are the human trials.
	Trials Trials
	// Ceiling is the split-half ceiling of each halving.
	Ceiling []float64
	// Preprocess chooses how the images are prepared for a model; nil means PublicPreprocessing.
	Preprocess Preprocessor
	stimuli    Stimuli
	degrees    float64
}

// Identifier implements Benchmark.
func (b *Rajalingham2018) Identifier() string { return Rajalingham2018I2n }

// Region implements Benchmark.
func (b *Rajalingham2018) Region() string { return BehaviorRegion }

// rajalingham2018Definition registers the benchmark.
func rajalingham2018Definition() Definition {
	return Definition{
		Spec: Spec{Identifier: Rajalingham2018I2n, BrainScore: "dicarlo.Rajalingham2018public-i2n", Region: BehaviorRegion, Metric: "i2n", Public: true,
			Description: "human match-to-sample choices on objectome images of 24 objects (Rajalingham et al. 2018)",
			Files:       brainioFiles("dicarlo.Rajalingham2018.public", "objectome.public")},
		Load: func(ctx context.Context, src *Source) (Benchmark, error) {
			b, closer, err := LoadRajalingham2018(src.Paths[0], src.Paths[1], src.Paths[2])
			if err != nil {
				return nil, err
			}
			src.OnClose(closer)
			b.Preprocess = src.Preprocess
			return b, nil
		},
	}
}

// Trials are match-to-sample trials: for trial i the image shown (stimulus_id), its object
// (sample_obj), the distractor object offered (dist_obj) and the object chosen (choice).
type Trials struct {
	Image, Sample, Distractor, Choice []string
}

// Len is the number of trials.
func (t Trials) Len() int { return len(t.Image) }

// TrialsFromAssembly reads the trials of a behavioural assembly in the layout of
// dicarlo.Rajalingham2018.public: one presentation per trial with the coordinates stimulus_id (or
// image_id), sample_obj, dist_obj and choice.
func TrialsFromAssembly(a *brainio.Assembly) (Trials, error) {
	get := func(name string) ([]string, error) {
		c, ok := a.Coords[name]
		if !ok && name == "choice" && a.Values != nil && len(a.Dims) == 1 && a.Dims[0] == "presentation" {
			// The public assembly's data are the choices themselves.
			return a.Values, nil
		}
		if !ok || c.Dim != "presentation" {
			return nil, fmt.Errorf("benchmark: %s: assembly %s has no %s coordinate along presentation", Rajalingham2018I2n, a.Identifier, name)
		}
		out := make([]string, c.Len())
		for i := range out {
			out[i] = c.Key(i)
		}
		return out, nil
	}
	var t Trials
	var err error
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"stimulus_id", &t.Image}, {"sample_obj", &t.Sample}, {"dist_obj", &t.Distractor}, {"choice", &t.Choice}} {
		if *f.dst, err = get(f.name); err != nil {
			return Trials{}, err
		}
	}
	return t, nil
}

// NewRajalingham2018 prepares the benchmark from the human trials, the fitting stimuli with their
// labels, the test stimuli, and the images of both (shown at 8 degrees).
func NewRajalingham2018(trials Trials, fittingIDs, fittingLabels, testIDs []string, st Stimuli) (*Rajalingham2018, error) {
	if len(fittingIDs) != len(fittingLabels) || len(fittingIDs) == 0 {
		return nil, fmt.Errorf("benchmark: %s: %d fitting stimuli with %d labels", Rajalingham2018I2n, len(fittingIDs), len(fittingLabels))
	}
	n := trials.Len()
	if n < 2 || len(trials.Sample) != n || len(trials.Distractor) != n || len(trials.Choice) != n {
		return nil, fmt.Errorf("benchmark: %s: trials of unequal lengths or fewer than two", Rajalingham2018I2n)
	}
	b := &Rajalingham2018{FittingIDs: fittingIDs, FittingLabels: fittingLabels, TestIDs: testIDs, Trials: trials, stimuli: st, degrees: 8}
	rng := metric.NewRandomState(0)
	for k := range i2nSplits {
		h0, h1 := halves(rng, n)
		a, err := humanI2n(trials, h0)
		if err != nil {
			return nil, err
		}
		c, err := humanI2n(trials, h1)
		if err != nil {
			return nil, err
		}
		r, err := correlateI2n(a, c, true)
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: ceiling of halving %d: %w", Rajalingham2018I2n, k, err)
		}
		b.Ceiling = append(b.Ceiling, r)
	}
	return b, nil
}

// halves shuffles the trial indices as RandomState.shuffle does and splits them at int(n/2).
func halves(rng *metric.RandomState, n int) (first, second []int) {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	rng.Shuffle(idx)
	return idx[:n/2], idx[n/2:]
}

// responseMatrix is an images × choices matrix of i2n values: rows sorted by stimulus ID, columns by
// object name; NaN where the choice is the image's own object or no value exists.
type responseMatrix struct {
	images, truth, choices []string
	v                      []float64
}

func (m *responseMatrix) at(i, c int) float64 { return m.v[i*len(m.choices)+c] }

// humanI2n returns the normalised d' of the trials listed in idx: the error rate towards each
// distractor (choices of it over trials offering it, the choices being the objects chosen in these
// trials), then d'.
func humanI2n(t Trials, idx []int) (*responseMatrix, error) {
	type key struct{ image, object string }
	chosen := map[key]int{}
	offered := map[key]int{}
	truthOf := map[string]string{}
	choiceSet := map[string]bool{}
	for _, i := range idx {
		chosen[key{t.Image[i], t.Choice[i]}]++
		offered[key{t.Image[i], t.Sample[i]}]++
		offered[key{t.Image[i], t.Distractor[i]}]++
		if _, ok := truthOf[t.Image[i]]; !ok {
			truthOf[t.Image[i]] = t.Sample[i]
		}
		choiceSet[t.Choice[i]] = true
	}
	m := &responseMatrix{}
	for id := range truthOf {
		m.images = append(m.images, id)
	}
	slices.Sort(m.images)
	for c := range choiceSet {
		m.choices = append(m.choices, c)
	}
	slices.Sort(m.choices)
	m.v = make([]float64, len(m.images)*len(m.choices))
	for i, id := range m.images {
		m.truth = append(m.truth, truthOf[id])
		for c, obj := range m.choices {
			p := math.NaN()
			if obj != truthOf[id] {
				if n := offered[key{id, obj}]; n > 0 {
					p = float64(chosen[key{id, obj}]) / float64(n)
				}
			}
			m.v[i*len(m.choices)+c] = p
		}
	}
	return dprimes(m), nil
}

// modelI2n returns the normalised d' of class probabilities (images × labels) of the listed images
// with their objects: p(choice)/(p(choice) + p(truth)) for every other label, then d'.
func modelI2n(proba *mat.Dense, images, truth, labels []string) (*responseMatrix, error) {
	m := &responseMatrix{}
	order := make([]int, len(images))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmpStrings(images[a], images[b]) })
	corder := make([]int, len(labels))
	for i := range corder {
		corder[i] = i
	}
	slices.SortFunc(corder, func(a, b int) int { return cmpStrings(labels[a], labels[b]) })
	col := map[string]int{}
	for j, l := range labels {
		col[l] = j
	}
	for _, j := range corder {
		m.choices = append(m.choices, labels[j])
	}
	m.v = make([]float64, len(images)*len(labels))
	for r, i := range order {
		m.images = append(m.images, images[i])
		m.truth = append(m.truth, truth[i])
		jt, ok := col[truth[i]]
		if !ok {
			return nil, fmt.Errorf("benchmark: %s: image %s shows %q, which is not one of the classifier's labels", Rajalingham2018I2n, images[i], truth[i])
		}
		pt := proba.At(i, jt)
		for c, j := range corder {
			v := math.NaN()
			if j != jt {
				pc := proba.At(i, j)
				v = pc / (pc + pt)
			}
			m.v[r*len(labels)+c] = v
		}
	}
	return dprimes(m), nil
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dprimes turns choice probabilities into normalised d' in place: d' = z(1 − p) − z(FA), FA the mean
// (NaN-skipping) of the probabilities of choosing this image's object on the images of the choice's
// object; clipped to ±5; then each (object, choice) group's mean subtracted (NaN-skipping).
func dprimes(m *responseMatrix) *responseMatrix {
	nc := len(m.choices)
	cidx := map[string]int{}
	for c, o := range m.choices {
		cidx[o] = c
	}
	// fa[(object, column)]: mean over images of object of their value in column.
	type key struct {
		object string
		column int
	}
	sum, cnt := map[key]float64{}, map[key]int{}
	for i := range m.images {
		for c := range nc {
			if v := m.at(i, c); !math.IsNaN(v) {
				k := key{m.truth[i], c}
				sum[k] += v
				cnt[k]++
			}
		}
	}
	d := make([]float64, len(m.v))
	for i := range m.images {
		for c, obj := range m.choices {
			fa := math.NaN()
			if tc, ok := cidx[m.truth[i]]; ok {
				if n := cnt[key{obj, tc}]; n > 0 {
					fa = sum[key{obj, tc}] / float64(n)
				}
			}
			v := probit(1-m.at(i, c)) - probit(fa)
			if !math.IsNaN(v) {
				v = math.Max(-i2nCap, math.Min(i2nCap, v))
			}
			d[i*nc+c] = v
		}
	}
	// Subtract the mean of each (object, choice) group.
	gsum, gcnt := map[key]float64{}, map[key]int{}
	for i := range m.images {
		for c := range nc {
			if v := d[i*nc+c]; !math.IsNaN(v) {
				gsum[key{m.truth[i], c}] += v
				gcnt[key{m.truth[i], c}]++
			}
		}
	}
	for i := range m.images {
		for c := range nc {
			k := key{m.truth[i], c}
			if n := gcnt[k]; n > 0 {
				d[i*nc+c] -= gsum[k] / float64(n)
			} else {
				d[i*nc+c] = math.NaN()
			}
		}
	}
	m.v = d
	return m
}

// probit is the standard normal quantile function (scipy.stats.norm.ppf): −∞ at 0, +∞ at 1, NaN
// outside [0, 1]. Abramowitz and Stegun's rational approximation 26.2.23 (error below 4.5e-4) starts
// Newton's method on log Φ(x) = log p, with Φ(x) = erfc(−x/√2)/2, which converges to full precision
// down to p ≈ 1e-300. (Go's math.Erfcinv, which computes Erfinv(1 − x), loses precision in the tail.)
func probit(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	case p > 0.5:
		return -probit(1 - p) // 1 − p is exact here
	}
	t := math.Sqrt(-2 * math.Log(p))
	x := -(t - (2.515517+0.802853*t+0.010328*t*t)/(1+1.432788*t+0.189269*t*t+0.001308*t*t*t))
	lp := math.Log(p)
	for range 8 {
		cdf := 0.5 * math.Erfc(-x/math.Sqrt2)
		pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		if cdf <= 0 || pdf <= 0 {
			break
		}
		step := (math.Log(cdf) - lp) * cdf / pdf
		x -= step
		if math.Abs(step) <= 1e-16*math.Max(1, math.Abs(x)) {
			break
		}
	}
	return x
}

// correlateI2n returns the Pearson r between two i2n matrices over the entries where the target b has
// a value (and, with skipna, a too), aligned by image and choice. Like Brain-Score it requires both to
// cover the same images and choices, and without skipna a value of a wherever b has one.
func correlateI2n(a, b *responseMatrix, skipna bool) (float64, error) {
	if !slices.Equal(a.images, b.images) {
		return math.NaN(), fmt.Errorf("the matrices cover different images (%d and %d)", len(a.images), len(b.images))
	}
	if !slices.Equal(a.choices, b.choices) {
		return math.NaN(), fmt.Errorf("the matrices cover different choices (%v and %v)", a.choices, b.choices)
	}
	var x, y []float64
	for k, vb := range b.v {
		va := a.v[k]
		if math.IsNaN(vb) || (skipna && math.IsNaN(va)) {
			continue
		}
		if math.IsNaN(va) {
			return math.NaN(), fmt.Errorf("the model has no value for image %s, choice %s", a.images[k/len(a.choices)], a.choices[k%len(a.choices)])
		}
		x = append(x, va)
		y = append(y, vb)
	}
	return metric.Pearson(x, y), nil
}

// Score reads the model out at its last layer (a ModelCommitment's behavioural readout; to read out
// another layer, pass Only(m, layer)): it fits the readout on the fitting images' activations, computes
// the test images' class probabilities and compares their i2n with the humans'. Images are prepared by
// b.Preprocess (by default PublicPreprocessing of the model's input).
func (b *Rajalingham2018) Score(ctx context.Context, m Model) (*Result, error) {
	layers := m.Layers()
	if len(layers) == 0 {
		return nil, fmt.Errorf("benchmark: %s: model %s has no layers", Rajalingham2018I2n, m.Identifier())
	}
	layer := layers[len(layers)-1]
	prep := b.preprocessing(m.Input())
	if err := checkShape(prep, m); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", Rajalingham2018I2n, err)
	}
	ids := b.shown()
	inputs, err := prepareImages(ctx, b.stimuli, ids, b.degrees, prep)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", Rajalingham2018I2n, err)
	}
	acts, err := activations(ctx, m, inputs, []string{layer})
	if err != nil {
		return nil, err
	}
	f := acts[layer]
	row := map[string]int{}
	for i, id := range ids {
		row[id] = i
	}
	_, p := f.Dims()
	pick := func(list []string) *mat.Dense {
		out := mat.NewDense(len(list), p, nil)
		for i, id := range list {
			out.SetRow(i, f.RawRowView(row[id]))
		}
		return out
	}
	res, err := b.ScoreFeatures(m.Identifier(), layer, pick(b.FittingIDs), pick(b.TestIDs))
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, "preprocessing "+prep.Name)
	return res, nil
}

// Inputs implements ImageBenchmark: the fitting images, then the test images that are not among them.
func (b *Rajalingham2018) Inputs(ctx context.Context, channels, height, width int) ([]InputSet, error) {
	prep := b.preprocessing(channels, height, width)
	ids := b.shown()
	inputs, err := prepareImages(ctx, b.stimuli, ids, b.degrees, prep)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", Rajalingham2018I2n, err)
	}
	return []InputSet{{Name: "stimuli", IDs: ids, Inputs: inputs, Preprocessing: prep.Name}}, nil
}

// shown lists the images Score shows: the fitting images, then the test images not among them.
func (b *Rajalingham2018) shown() []string {
	ids := slices.Clone(b.FittingIDs)
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for _, id := range b.TestIDs {
		if !seen[id] {
			ids = append(ids, id)
			seen[id] = true
		}
	}
	return ids
}

func (b *Rajalingham2018) preprocessing(channels, height, width int) stimuli.Preprocessing {
	if b.Preprocess != nil {
		return b.Preprocess(channels, height, width)
	}
	return PublicPreprocessing(channels, height, width)
}

// ScoreFeatures scores precomputed readout features of the fitting stimuli and of the test stimuli
// (rows in FittingIDs and TestIDs order).
func (b *Rajalingham2018) ScoreFeatures(model, layer string, fitting, test *mat.Dense) (*Result, error) {
	// Labels in order of first appearance, as model-tools' labels_to_indices numbers them.
	var labels []string
	index := map[string]int{}
	y := make([]int, len(b.FittingLabels))
	for i, l := range b.FittingLabels {
		k, ok := index[l]
		if !ok {
			k = len(labels)
			index[l] = k
			labels = append(labels, l)
		}
		y[i] = k
	}
	clf, err := fitProbabilities(fitting, y, len(labels), classifierC)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: readout of layer %s: %w", Rajalingham2018I2n, layer, err)
	}
	proba, err := clf.predictProba(test)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", Rajalingham2018I2n, err)
	}
	return b.ScoreProbabilities(model, layer, proba, labels)
}

// ScoreProbabilities scores the model's class probabilities of the test stimuli (rows in TestIDs
// order, columns labels).
func (b *Rajalingham2018) ScoreProbabilities(model, layer string, proba *mat.Dense, labels []string) (*Result, error) {
	truthOf := map[string]string{}
	for i, id := range b.Trials.Image {
		truthOf[id] = b.Trials.Sample[i]
	}
	// The model's i2n over the images that have human trials, as Brain-Score's correlation aligns them.
	var images, truth []string
	var rows []int
	for i, id := range b.TestIDs {
		if t, ok := truthOf[id]; ok {
			images, truth, rows = append(images, id), append(truth, t), append(rows, i)
		}
	}
	_, k := proba.Dims()
	sub := mat.NewDense(len(rows), k, nil)
	for r, i := range rows {
		sub.SetRow(r, proba.RawRowView(i))
	}
	model2n, err := modelI2n(sub, images, truth, labels)
	if err != nil {
		return nil, err
	}
	res := &Result{Benchmark: Rajalingham2018I2n, Region: BehaviorRegion, Model: model, Layer: layer, Status: StatusOK}
	s := nanScore(layer)
	rng := metric.NewRandomState(0)
	var raws, ceiled []float64
	for k := range i2nSplits {
		h0, _ := halves(rng, b.Trials.Len())
		human, err := humanI2n(b.Trials, h0)
		if err != nil {
			return nil, err
		}
		r, err := correlateI2n(model2n, human, false)
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: halving %d: %w", Rajalingham2018I2n, k, err)
		}
		raws = append(raws, r)
		ceiled = append(ceiled, r/math.Sqrt(b.Ceiling[k]))
	}
	s.Raw, s.PerSplit = metric.Mean(raws), raws
	s.Error = populationStd(raws)
	s.Ceiling = metric.Mean(b.Ceiling)
	s.CeiledRC2 = metric.Mean(ceiled)
	s.CeiledR2C = s.CeiledRC2
	res.Layers = []LayerScore{s}
	res.Notes = append(res.Notes, fmt.Sprintf("readout layer %s; ceiled = mean over %d halvings of r/sqrt(ceiling) (error of the ceiled score %.4f)", layer, i2nSplits, populationStd(ceiled)))
	return res, nil
}

// populationStd is the standard deviation with ddof = 0 (xarray's std), ignoring NaNs.
func populationStd(x []float64) float64 {
	m := metric.Mean(x)
	s, n := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) {
			s += (v - m) * (v - m)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(s / float64(n))
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
