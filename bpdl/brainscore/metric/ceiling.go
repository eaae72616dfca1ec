package metric

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Repetitions holds repeated recordings: Reps × Images × Neuroids responses, NaN where a repetition is
// missing. Data is in C order, so the response of neuroid k to image i on repetition r is
// Data[(r*Images+i)*Neuroids+k] — the layout of a NumPy array of shape (reps, images, neuroids).
type Repetitions struct {
	Reps, Images, Neuroids int
	Data                   []float64
}

// NewRepetitions wraps data (C order, shape reps × images × neuroids) after checking its length.
func NewRepetitions(reps, images, neuroids int, data []float64) (*Repetitions, error) {
	if reps < 1 || images < 1 || neuroids < 1 {
		return nil, fmt.Errorf("metric: repetitions shape (%d, %d, %d) has an empty dimension", reps, images, neuroids)
	}
	if len(data) != reps*images*neuroids {
		return nil, fmt.Errorf("metric: %d values for repetitions of shape (%d, %d, %d)", len(data), reps, images, neuroids)
	}
	return &Repetitions{Reps: reps, Images: images, Neuroids: neuroids, Data: data}, nil
}

// Mean returns the images × neuroids mean over the listed repetitions (all of them when reps is nil),
// ignoring NaNs: each entry averages the repetitions that were recorded, and is NaN when none was. It
// panics if a listed repetition is out of range.
func (r *Repetitions) Mean(reps []int) *mat.Dense {
	if reps == nil {
		reps = make([]int, r.Reps)
		for i := range reps {
			reps[i] = i
		}
	}
	cells := r.Images * r.Neuroids
	sum := make([]float64, cells)
	cnt := make([]int, cells)
	for _, rep := range reps {
		block := r.Data[rep*cells : (rep+1)*cells]
		for i, v := range block {
			if !math.IsNaN(v) {
				sum[i] += v
				cnt[i]++
			}
		}
	}
	for i := range sum {
		if cnt[i] == 0 {
			sum[i] = math.NaN()
		} else {
			sum[i] /= float64(cnt[i])
		}
	}
	return mat.NewDense(r.Images, r.Neuroids, sum)
}

// Ceiling is a split-half internal-consistency estimate of how well any model could predict the
// responses: the reliability of the repetition-averaged responses.
type Ceiling struct {
	// Value is the mean of PerHalf over the half assignments.
	Value float64
	// PerHalf is, for each half assignment, the median over neuroids of the Spearman-Brown corrected
	// Pearson correlation between the two halves' mean responses.
	PerHalf []float64
	// Halves are the repetition indices of each assignment's first half; the second is the rest.
	Halves [][]int
}

// DefaultCeilingHalves returns the half assignments Brain-Score's InternalConsistency ceiling draws
// for reps repetitions: ten shuffle splits of the repetition indices with train_size=0.5 (the first half
// is floor(reps/2) repetitions, the second the rest), random_state=1. Each entry is the first half.
func DefaultCeilingHalves(reps int) ([][]int, error) {
	splits, err := ShuffleSplit(reps, SplitSpec{Splits: 10, TrainSize: 0.5, Seed: 1})
	if err != nil {
		return nil, fmt.Errorf("metric: ceiling halves for %d repetitions: %w", reps, err)
	}
	halves := make([][]int, len(splits))
	for i, s := range splits {
		halves[i] = s.Train
	}
	return halves, nil
}

// SplitHalfCeiling estimates the ceiling as Brain-Score's InternalConsistency does. For each half
// assignment (a list of repetition indices; the other half is the remaining repetitions) it averages
// each half over its repetitions (ignoring NaNs), correlates the two halves per neuroid across images
// (Pearson r), corrects each r to full length with the Spearman-Brown formula 2r/(1+r), and takes the
// median over neuroids (ignoring NaNs). The ceiling is the mean of these medians over the assignments.
// When halves is nil, DefaultCeilingHalves(r.Reps) is used.
func SplitHalfCeiling(r *Repetitions, halves [][]int) (*Ceiling, error) {
	if r.Reps < 2 {
		return nil, fmt.Errorf("metric: split-half ceiling needs at least 2 repetitions, got %d", r.Reps)
	}
	if halves == nil {
		var err error
		if halves, err = DefaultCeilingHalves(r.Reps); err != nil {
			return nil, err
		}
	}
	if len(halves) == 0 {
		return nil, fmt.Errorf("metric: split-half ceiling: no half assignments")
	}
	c := &Ceiling{Halves: halves, PerHalf: make([]float64, len(halves))}
	for h, first := range halves {
		in := make([]bool, r.Reps)
		for _, rep := range first {
			if rep < 0 || rep >= r.Reps {
				return nil, fmt.Errorf("metric: ceiling half %d names repetition %d of %d", h, rep, r.Reps)
			}
			if in[rep] {
				return nil, fmt.Errorf("metric: ceiling half %d names repetition %d twice", h, rep)
			}
			in[rep] = true
		}
		var second []int
		for rep, used := range in {
			if !used {
				second = append(second, rep)
			}
		}
		if len(first) == 0 || len(second) == 0 {
			return nil, fmt.Errorf("metric: ceiling half %d leaves one half empty", h)
		}
		rs, err := PearsonColumns(r.Mean(first), r.Mean(second))
		if err != nil {
			return nil, err
		}
		for k, v := range rs {
			rs[k] = SpearmanBrown(v)
		}
		c.PerHalf[h] = Median(rs)
	}
	c.Value = Mean(c.PerHalf)
	return c, nil
}
