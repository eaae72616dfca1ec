package benchmark

import (
	"fmt"
	"math"
	"strings"
)

// Status values of a Result.
const (
	// StatusOK marks a score.
	StatusOK = "ok"
	// StatusNotPresent marks a benchmark whose data files are missing and could not be downloaded.
	StatusNotPresent = "data not present"
)

// LayerScore is one layer's score on a benchmark. Fields that a benchmark does not define are NaN.
type LayerScore struct {
	// Layer names the layer.
	Layer string
	// Raw is the unceiled score: the mean over splits of the median Pearson r over neuroids
	// (predictivity), Spearman's ρ between dissimilarity matrices (RSA) or the mean over splits of the
	// Pearson r between model and human i2n (behaviour).
	Raw float64
	// Error is the standard error over splits (std/√splits, as Brain-Score reports it), or for RSA half
	// the width of the bootstrap interval.
	Error float64
	// Low and High bound the bootstrap confidence interval of Raw (RSA only).
	Low, High float64
	// PerSplit holds Raw of each split.
	PerSplit []float64
	// Ceiling is the data's reliability (split-half consistency with Spearman-Brown correction).
	Ceiling float64
	// CeiledRC2 is (Raw/Ceiling)², the 2021 Brain-Score normalisation of predictivity; for i2n it is
	// Brain-Score's ceiled i2n, the mean over splits of r/√ceiling (the same in 2021 and today).
	CeiledRC2 float64
	// CeiledR2C is Raw²/Ceiling, today's Brain-Score normalisation of predictivity; for i2n the same as
	// CeiledRC2.
	CeiledR2C float64
}

// nanScore returns a LayerScore with every number NaN.
func nanScore(layer string) LayerScore {
	n := math.NaN()
	return LayerScore{Layer: layer, Raw: n, Error: n, Low: n, High: n, Ceiling: n, CeiledRC2: n, CeiledR2C: n}
}

// Result is a model's score on one benchmark.
type Result struct {
	// Benchmark is the benchmark's identifier, e.g. "MajajHong2015public.IT-pls".
	Benchmark string
	// Region is the brain region (V1, V2, V4, IT) or "behavior".
	Region string
	// Model is the model's identifier.
	Model string
	// Layer is the layer the benchmark commits to (see Commit); empty when there is no score.
	Layer string
	// Layers holds the score of every layer scored, in the model's layer order.
	Layers []LayerScore
	// Status is StatusOK, StatusNotPresent, or another reason why there is no score.
	Status string
	// Notes say how the score was obtained where it departs from the reference implementation.
	Notes []string
}

// Score returns the score of the committed layer, or NaNs when there is none.
func (r *Result) Score() LayerScore {
	for _, s := range r.Layers {
		if s.Layer == r.Layer {
			return s
		}
	}
	return nanScore(r.Layer)
}

// Best returns the layer whose ceiled score (CeiledRC2, or Raw when there is no ceiling) is highest,
// the first on ties, as LayerSelection's argmax over layers does; "" when no layer has a score. Like
// Brain-Score's 2021 selection it compares (r/c)², so a layer with a clearly negative r can win over
// one near zero.
func (r *Result) Best() string {
	best, bestV := "", math.Inf(-1)
	for _, s := range r.Layers {
		v := s.CeiledRC2
		if math.IsNaN(v) {
			v = s.Raw
		}
		if !math.IsNaN(v) && v > bestV {
			best, bestV = s.Layer, v
		}
	}
	return best
}

// Commit sets Layer: to layer when it is one of the scored layers, else to Best.
func (r *Result) Commit(layer string) {
	for _, s := range r.Layers {
		if s.Layer == layer && layer != "" {
			r.Layer = layer
			return
		}
	}
	r.Layer = r.Best()
}

// String summarises the result on one line per layer.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) %s: %s", r.Benchmark, r.Region, r.Model, r.Status)
	for _, s := range r.Layers {
		mark := " "
		if s.Layer == r.Layer {
			mark = "*"
		}
		fmt.Fprintf(&b, "\n  %s %-8s raw %.4f ± %.4f", mark, s.Layer, s.Raw, s.Error)
		if !math.IsNaN(s.Low) {
			fmt.Fprintf(&b, " [%.4f, %.4f]", s.Low, s.High)
		}
		if !math.IsNaN(s.Ceiling) {
			fmt.Fprintf(&b, "  ceiling %.4f  (r/c)^2 %.4f  r^2/c %.4f", s.Ceiling, s.CeiledRC2, s.CeiledR2C)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n  note: %s", n)
	}
	return b.String()
}
