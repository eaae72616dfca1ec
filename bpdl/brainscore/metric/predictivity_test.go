package metric

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPredictivityEqualsDirectFits checks Predictivity (which derives each split's cross products from
// the all-image ones) against fitting each split's training rows directly, on data with large column
// offsets where a careless derivation would cancel badly.
func TestPredictivityEqualsDirectFits(t *testing.T) {
	x, y, labels := BenchData(240, 40, 12, 3)
	x.Apply(func(i, j int, v float64) float64 { return v + 1e4*float64(j%3) }, x)
	y.Apply(func(i, j int, v float64) float64 { return v - 500 }, y)
	for i := range labels {
		labels[i] %= 8
	}
	splits, err := BrainScoreSplits(240, labels)
	if err != nil {
		t.Fatal(err)
	}
	reg := PLS{Components: 10}
	s, err := Predictivity(x, y, splits, reg)
	if err != nil {
		t.Fatal(err)
	}
	var raws []float64
	for k, sp := range splits {
		xTr, yTr, xTe, yTe := rows(x, sp.Train), rows(y, sp.Train), rows(x, sp.Test), rows(y, sp.Test)
		m, err := reg.Fit(xTr, yTr)
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(xTe)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := PearsonColumns(pred, yTe)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range rs {
			if math.Abs(r-s.NeuroidR[k][j]) > 1e-9 {
				t.Errorf("split %d neuroid %d: r %v, direct fit %v", k, j, s.NeuroidR[k][j], r)
			}
		}
		raws = append(raws, Median(rs))
	}
	if math.Abs(s.Raw-Mean(raws)) > 1e-9 {
		t.Errorf("raw %v, direct fits %v", s.Raw, Mean(raws))
	}
	if math.Abs(s.Error-StdErr(raws)) > 1e-9 {
		t.Errorf("error %v, direct fits %v", s.Error, StdErr(raws))
	}
	if !math.IsNaN(s.Ceiling) || !math.IsNaN(s.CeiledRC2) {
		t.Error("ceiling fields are set without a ceiling")
	}
}

// rows returns the listed rows of m as a new matrix.
func rows(m *mat.Dense, idx []int) *mat.Dense {
	_, c := m.Dims()
	out := mat.NewDense(len(idx), c, nil)
	for i, r := range idx {
		out.SetRow(i, m.RawRowView(r))
	}
	return out
}

func TestPredictivityErrors(t *testing.T) {
	x := mat.NewDense(10, 3, nil)
	for i := 0; i < 10; i++ {
		for j := 0; j < 3; j++ {
			x.Set(i, j, float64(i*j%7))
		}
	}
	y := mat.NewDense(10, 2, nil)
	good := []Split{{Train: []int{0, 1, 2, 3, 4, 5, 6, 7}, Test: []int{8, 9}}}
	nanY := mat.DenseCopyOf(y)
	nanY.Set(3, 1, math.NaN())
	tests := []struct {
		name   string
		x, y   mat.Matrix
		splits []Split
		reg    PLS
		want   string
	}{
		{"rows", x, mat.NewDense(9, 2, nil), good, PLS{Components: 2}, "10 images (rows) but responses have 9"},
		{"no splits", x, y, nil, PLS{Components: 2}, "no splits"},
		{"bad index", x, y, []Split{{Train: []int{0, 10}, Test: []int{1}}}, PLS{Components: 2}, "outside"},
		{"components", x, y, good, PLS{Components: 4}, "exceed the 3 features"},
		{"nan", x, nanY, good, PLS{Components: 2}, "NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Predictivity(tc.x, tc.y, tc.splits, tc.reg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
