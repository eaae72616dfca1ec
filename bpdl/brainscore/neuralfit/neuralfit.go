// Package neuralfit scores a model's features against recorded neural responses from files, the way
// Brain-Score's neural predictivity benchmarks do: PLS regression with 25 components, fitted on 90% of
// the images and tested on the rest, over ten stratified splits; per split the median over neuroids of
// the Pearson r between predicted and recorded test responses, averaged over splits; and, when the
// individual repetitions are given, a split-half ceiling and the two ceiled scores. Ridge regression
// (Config.Regression) may replace PLS. The score does not depend on the scale of the features or of
// the responses; constant features and constant neuroids have no defined correlation, and the result's
// notes say so (a raw of null when nothing is left).
//
// Run takes the paths of NumPy .npy files (and an optional JSON file of splits); the reproduce command's
// neural-fit subcommand is a thin wrapper around it.
package neuralfit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// Config names the inputs of a neural fit. Paths are .npy files unless said otherwise.
type Config struct {
	// Features is the model's activations, images × features (further dimensions, as in
	// images × channels × height × width, are flattened into features). Required.
	Features string
	// Responses is the recorded responses, images × neuroids, in the same image order, typically the
	// mean over repetitions. Required unless Repetitions is given, in which case it defaults to the
	// NaN-ignoring mean of the repetitions.
	Responses string
	// Repetitions is optional: repetitions × images × neuroids, NaN where a repetition is missing. When
	// given, the result includes the split-half ceiling and the ceiled scores.
	Repetitions string
	// Labels is optional: one integer per image (such as the index of the image's object), used to
	// stratify the default splits. Without labels the default splits are plain shuffle splits.
	Labels string
	// Splits is an optional JSON file {"splits": [{"train": [...], "test": [...]}, ...],
	// "ceiling_halves": [[...], ...]} giving image indices of each split and, optionally, the
	// repetition indices of the first half of each ceiling split (the rest form the second half).
	// Other keys are ignored. Without it the splits are Brain-Score's defaults (see metric.BrainScoreSplits)
	// and so are the ceiling halves (see metric.DefaultCeilingHalves).
	Splits string
	// Regression names the regression among metric.DefaultRegressions: "pls" (Brain-Score's, the
	// default when empty) or "ridge".
	Regression string
	// Components is the number of PLS components; 0 means Brain-Score's 25.
	Components int
	// Alpha is the ridge penalty (Regression "ridge" only); 0 is least squares. The reproduce command's
	// flag defaults to scikit-learn's 1.
	Alpha float64
}

// Result is a neural fit's scores. It marshals to JSON with the keys raw, raw_per_split, error and, when
// repetitions were given, ceiling, ceiling_per_split, ceiled_r_over_c_squared and ceiled_r2_over_c. NaN
// values (a split where every neuroid was constant, say) marshal as null.
type Result struct {
	// Raw is the mean over splits of the median over neuroids of the test-image Pearson r.
	Raw Float `json:"raw"`
	// RawPerSplit is each split's median over neuroids.
	RawPerSplit []Float `json:"raw_per_split"`
	// Error is the standard error over splits, std/√splits with the population std, as Brain-Score reports.
	Error Float `json:"error"`
	// Ceiling is the split-half consistency of the repetitions (only with repetitions).
	Ceiling *Float `json:"ceiling,omitempty"`
	// CeilingPerSplit is the ceiling of each half assignment (only with repetitions).
	CeilingPerSplit []Float `json:"ceiling_per_split,omitempty"`
	// CeiledRC2 is (raw / ceiling)², the 2021 Brain-Score ceiled score (only with repetitions).
	CeiledRC2 *Float `json:"ceiled_r_over_c_squared,omitempty"`
	// CeiledR2C is raw² / ceiling, today's Brain-Score ceiled score (only with repetitions).
	CeiledR2C *Float `json:"ceiled_r2_over_c,omitempty"`
	// Images, Features and Neuroids are the sizes of the problem.
	Images   int `json:"n_images"`
	Features int `json:"n_features"`
	Neuroids int `json:"n_neuroids"`
	// SplitsFrom says where the splits came from: "file", "stratified" or "shuffle".
	SplitsFrom string `json:"splits_from"`
	// Regression describes the regression, e.g. "pls (25 components)".
	Regression string `json:"regression"`
	// Notes explain what the data made of the score: constant features or neuroids, an undefined raw.
	Notes []string `json:"notes,omitempty"`
}

// String prints the result for a reader: the problem's sizes, the splits and the regression, the raw
// score with its error, the ceiling and ceiled scores when there are repetitions, and the notes, one per
// line (the text form of `reproduce neural-fit`).
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d images, %d features, %d neuroids; splits: %s; regression: %s\n", r.Images, r.Features, r.Neuroids, r.SplitsFrom, r.Regression)
	fmt.Fprintf(&b, "raw %.6f ± %.6f (median r over neuroids, mean over %d splits)", float64(r.Raw), float64(r.Error), len(r.RawPerSplit))
	if r.Ceiling != nil && r.CeiledRC2 != nil && r.CeiledR2C != nil {
		fmt.Fprintf(&b, "\nceiling %.6f; ceiled (r/c)^2 %.6f, r^2/c %.6f", float64(*r.Ceiling), float64(*r.CeiledRC2), float64(*r.CeiledR2C))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nnote: %s", n)
	}
	return b.String()
}

// Float is a float64 that marshals NaN and infinities as JSON null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler; null becomes NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

func floats(x []float64) []Float {
	out := make([]Float, len(x))
	for i, v := range x {
		out[i] = Float(v)
	}
	return out
}

// splitsFile is the JSON layout of Config.Splits.
type splitsFile struct {
	Splits        []metric.Split `json:"splits"`
	CeilingHalves [][]int        `json:"ceiling_halves"`
}

// Run loads the inputs named by cfg and scores the features against the responses.
func Run(cfg Config) (*Result, error) {
	if cfg.Features == "" {
		return nil, errors.New("neuralfit: -features is required (a .npy file of images × features)")
	}
	if cfg.Responses == "" && cfg.Repetitions == "" {
		return nil, errors.New("neuralfit: -responses is required (a .npy file of images × neuroids), or -repetitions to average")
	}
	features, err := loadFeatures(cfg.Features)
	if err != nil {
		return nil, err
	}
	nImages, nFeatures := features.Dims()

	var reps *metric.Repetitions
	if cfg.Repetitions != "" {
		if reps, err = loadRepetitions(cfg.Repetitions); err != nil {
			return nil, err
		}
		if reps.Images != nImages {
			return nil, fmt.Errorf("neuralfit: -repetitions %s has %d images but -features %s has %d", cfg.Repetitions, reps.Images, cfg.Features, nImages)
		}
	}
	var responses *mat.Dense
	if cfg.Responses != "" {
		if responses, err = loadResponses(cfg.Responses); err != nil {
			return nil, err
		}
		if r, _ := responses.Dims(); r != nImages {
			return nil, fmt.Errorf("neuralfit: -responses %s has %d images (rows) but -features %s has %d", cfg.Responses, r, cfg.Features, nImages)
		}
		if _, c := responses.Dims(); reps != nil && c != reps.Neuroids {
			return nil, fmt.Errorf("neuralfit: -responses %s has %d neuroids but -repetitions %s has %d", cfg.Responses, c, cfg.Repetitions, reps.Neuroids)
		}
	} else {
		responses = reps.Mean(nil)
		for _, v := range responses.RawMatrix().Data {
			if math.IsNaN(v) {
				return nil, fmt.Errorf("neuralfit: -repetitions %s: some image has no recorded repetition for some neuroid, so its mean response is undefined; pass -responses", cfg.Repetitions)
			}
		}
	}
	_, nNeuroids := responses.Dims()

	var splits []metric.Split
	var halves [][]int
	from := ""
	if cfg.Splits != "" {
		sf, err := loadSplits(cfg.Splits, nImages)
		if err != nil {
			return nil, err
		}
		splits, halves, from = sf.Splits, sf.CeilingHalves, "file"
	} else {
		var labels []int
		if cfg.Labels != "" {
			if labels, err = loadLabels(cfg.Labels, nImages); err != nil {
				return nil, err
			}
			from = "stratified"
		} else {
			from = "shuffle"
		}
		if splits, err = metric.BrainScoreSplits(nImages, labels); err != nil {
			return nil, fmt.Errorf("neuralfit: default splits for %d images: %w", nImages, err)
		}
	}

	reg, desc, err := regression(cfg, nFeatures)
	if err != nil {
		return nil, err
	}
	score, err := metric.Predictivity(features, responses, splits, reg)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: %w", err)
	}
	res := &Result{
		Raw: Float(score.Raw), RawPerSplit: floats(score.RawPerSplit), Error: Float(score.Error),
		Images: nImages, Features: nFeatures, Neuroids: nNeuroids, SplitsFrom: from, Regression: desc,
		Notes: constantNotes(features, responses, score.Raw),
	}
	if reps != nil {
		c, err := metric.SplitHalfCeiling(reps, halves)
		if err != nil {
			return nil, fmt.Errorf("neuralfit: ceiling of -repetitions %s: %w", cfg.Repetitions, err)
		}
		score.SetCeiling(c)
		ceiling, rc2, r2c := Float(score.Ceiling), Float(score.CeiledRC2), Float(score.CeiledR2C)
		res.Ceiling, res.CeiledRC2, res.CeiledR2C = &ceiling, &rc2, &r2c
		res.CeilingPerSplit = floats(score.CeilingPerHalf)
	}
	return res, nil
}

// regression returns the configured regression and its description, checking its settings against the
// number of features.
func regression(cfg Config, nFeatures int) (metric.Regression, string, error) {
	name := cfg.Regression
	if name == "" {
		name = "pls"
	}
	reg, err := metric.DefaultRegressions().New(name)
	if err != nil {
		return nil, "", fmt.Errorf("neuralfit: -regression: %w", err)
	}
	switch r := reg.(type) {
	case metric.PLS:
		if cfg.Components < 0 {
			return nil, "", fmt.Errorf("neuralfit: -components %d: want a positive number of PLS components (0: Brain-Score's 25)", cfg.Components)
		}
		if cfg.Components != 0 {
			r.Components = cfg.Components
		}
		if r.Components > nFeatures {
			hint := ""
			if cfg.Components == 0 {
				hint = " (Brain-Score's default, used when -components is 0)"
			}
			return nil, "", fmt.Errorf("neuralfit: %d PLS components%s exceed the %d features of -features %s: PLS finds at most one component per feature; pass -components %d or fewer", r.Components, hint, nFeatures, cfg.Features, nFeatures)
		}
		return r, fmt.Sprintf("pls (%d components)", r.Components), nil
	case metric.Ridge:
		if !(cfg.Alpha >= 0) || math.IsInf(cfg.Alpha, 0) {
			return nil, "", fmt.Errorf("neuralfit: -alpha %v: want a finite ridge penalty >= 0", cfg.Alpha)
		}
		r.Alpha = cfg.Alpha
		return r, fmt.Sprintf("ridge (alpha %g)", r.Alpha), nil
	}
	return reg, name, nil
}

// constantNotes explains what constant features or neuroids do to the score, and an undefined raw.
func constantNotes(features, responses *mat.Dense, raw float64) []string {
	var notes []string
	constant := func(m *mat.Dense) (n, of int) {
		r, c := m.Dims()
		col := make([]float64, r)
		for j := range c {
			mat.Col(col, j, m)
			same := true
			for _, v := range col[1:] {
				same = same && v == col[0]
			}
			if same {
				n++
			}
		}
		return n, c
	}
	switch n, p := constant(features); {
	case n == p:
		notes = append(notes, "every feature is constant over the images: the predictions are constant, so no neuroid has a defined correlation")
	case n > 0:
		notes = append(notes, fmt.Sprintf("%d of %d features are constant over the images: they carry no information", n, p))
	}
	if n, q := constant(responses); n > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d neuroids are constant over the images: their r is undefined and left out of the median over neuroids", n, q))
	}
	if math.IsNaN(raw) {
		notes = append(notes, "raw is undefined (null): in every split every neuroid's r was undefined, its predictions or its test responses being constant")
	}
	return notes
}

// loadFeatures reads an images × features matrix, flattening any trailing dimensions.
func loadFeatures(path string) (*mat.Dense, error) {
	a, err := npy.Read(path)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -features: %w", err)
	}
	if len(a.Shape) < 2 || a.Shape[0] == 0 || len(a.Data) == 0 {
		return nil, fmt.Errorf("neuralfit: -features %s: expected a non-empty array of images × features, got shape %s", path, npy.ShapeString(a.Shape))
	}
	n := a.Shape[0]
	return mat.NewDense(n, len(a.Data)/n, a.Data), nil
}

// loadResponses reads an images × neuroids matrix.
func loadResponses(path string) (*mat.Dense, error) {
	a, err := npy.Read(path)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -responses: %w", err)
	}
	if len(a.Shape) != 2 || a.Shape[0] == 0 || a.Shape[1] == 0 {
		return nil, fmt.Errorf("neuralfit: -responses %s: expected a non-empty 2-dimensional array of images × neuroids, got shape %s", path, npy.ShapeString(a.Shape))
	}
	for _, v := range a.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("neuralfit: -responses %s: contains NaN or infinity; average repetitions ignoring missing ones first", path)
		}
	}
	return mat.NewDense(a.Shape[0], a.Shape[1], a.Data), nil
}

// loadRepetitions reads a repetitions × images × neuroids array.
func loadRepetitions(path string) (*metric.Repetitions, error) {
	a, err := npy.Read(path)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -repetitions: %w", err)
	}
	if len(a.Shape) != 3 {
		return nil, fmt.Errorf("neuralfit: -repetitions %s: expected a 3-dimensional array of repetitions × images × neuroids, got shape %s", path, npy.ShapeString(a.Shape))
	}
	if a.Shape[0] < 2 {
		return nil, fmt.Errorf("neuralfit: -repetitions %s: a split-half ceiling needs at least 2 repetitions, got shape %s", path, npy.ShapeString(a.Shape))
	}
	r, err := metric.NewRepetitions(a.Shape[0], a.Shape[1], a.Shape[2], a.Data)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -repetitions %s: %w", path, err)
	}
	return r, nil
}

// loadLabels reads one integer label per image, from an array of shape (images,) or (images, 1).
func loadLabels(path string, nImages int) ([]int, error) {
	a, err := npy.Read(path)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -labels: %w", err)
	}
	if !(len(a.Shape) == 1 || (len(a.Shape) == 2 && a.Shape[1] == 1)) || a.Shape[0] != nImages {
		return nil, fmt.Errorf("neuralfit: -labels %s: expected shape (%d,), one label per image, got %s", path, nImages, npy.ShapeString(a.Shape))
	}
	labels := make([]int, len(a.Data))
	for i, v := range a.Data {
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return nil, fmt.Errorf("neuralfit: -labels %s: label %d is %v, not an integer", path, i, v)
		}
		labels[i] = int(v)
	}
	return labels, nil
}

// loadSplits reads and checks a splits JSON file.
func loadSplits(path string, nImages int) (*splitsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("neuralfit: -splits: %w", err)
	}
	var sf splitsFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf(`neuralfit: -splits %s: expected {"splits": [{"train": [...], "test": [...]}, ...], "ceiling_halves": [[...], ...]}: %w`, path, err)
	}
	if len(sf.Splits) == 0 {
		return nil, fmt.Errorf(`neuralfit: -splits %s: no "splits" listed`, path)
	}
	if err := metric.CheckSplits(sf.Splits, nImages); err != nil {
		return nil, fmt.Errorf("neuralfit: -splits %s (for %d images): %w", path, nImages, err)
	}
	return &sf, nil
}
