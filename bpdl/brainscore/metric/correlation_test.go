package metric

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// same reports whether a and b are equal within tol, treating two NaNs as equal.
func same(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestPearson(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"scipy value", []float64{1, 2, 3, 4, 5.5}, []float64{2, 1, 4, 3, 7}, 0.8580868382401788},
		{"perfect", []float64{1, 2, 3}, []float64{10, 20, 30}, 1},
		{"anti", []float64{1, 2, 3}, []float64{3, 2, 1}, -1},
		{"constant", []float64{1, 1, 1}, []float64{1, 2, 3}, nan},
		{"nan", []float64{1, nan, 3}, []float64{1, 2, 3}, nan},
		{"one element", []float64{1}, []float64{2}, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pearson(tc.x, tc.y); !same(got, tc.want, 1e-15) {
				t.Errorf("Pearson = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPearsonColumns(t *testing.T) {
	a := mat.NewDense(3, 2, []float64{1, 5, 2, 5, 3, 5})
	b := mat.NewDense(3, 2, []float64{2, 1, 4, 2, 7, 3})
	got, err := PearsonColumns(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got[0], Pearson([]float64{1, 2, 3}, []float64{2, 4, 7}), 0) || !math.IsNaN(got[1]) {
		t.Errorf("PearsonColumns = %v", got)
	}
	if _, err := PearsonColumns(a, mat.NewDense(2, 2, nil)); err == nil {
		t.Error("shape mismatch not reported")
	}
}

func TestRanksAndSpearman(t *testing.T) {
	a := []float64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	b := []float64{2, 7, 1, 8, 2, 8, 1, 8, 2, 8}
	if got, want := Ranks(a), []float64{4.5, 1.5, 6, 1.5, 7.5, 10, 3, 9, 7.5, 4.5}; !slices.Equal(got, want) {
		t.Errorf("Ranks = %v, want %v (scipy rankdata)", got, want)
	}
	if got := Spearman(a, b); !same(got, 0.13471506281091267, 1e-15) {
		t.Errorf("Spearman = %v, want scipy's 0.13471506281091267", got)
	}
	if got := Spearman([]float64{1, math.NaN()}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("Spearman with NaN = %v", got)
	}
}

func TestAggregates(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                   string
		x                      []float64
		median, mean, stdError float64
	}{
		{"odd", []float64{3, 1, 2}, 2, 2, math.Sqrt(2.0/3) / math.Sqrt(3)},
		{"even", []float64{4, 1, 3, 2}, 2.5, 2.5, math.Sqrt(1.25) / 2},
		{"nan skipped", []float64{3, nan, 1, 2, 10}, 2.5, 4, math.Sqrt(12.5) / math.Sqrt(5)},
		{"all nan", []float64{nan, nan}, nan, nan, nan},
		{"empty", nil, nan, nan, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.x); !same(got, tc.median, 1e-15) {
				t.Errorf("Median = %v, want %v", got, tc.median)
			}
			if got := Mean(tc.x); !same(got, tc.mean, 1e-15) {
				t.Errorf("Mean = %v, want %v", got, tc.mean)
			}
			if got := StdErr(tc.x); !same(got, tc.stdError, 1e-15) {
				t.Errorf("StdErr = %v, want %v", got, tc.stdError)
			}
		})
	}
}

func TestCeiled(t *testing.T) {
	if got := SpearmanBrown(0.5); !same(got, 2.0/3, 1e-15) {
		t.Errorf("SpearmanBrown(0.5) = %v", got)
	}
	if got := CeiledRC2(0.6, 0.8); !same(got, 0.5625, 1e-15) {
		t.Errorf("CeiledRC2 = %v", got)
	}
	if got := CeiledR2C(0.6, 0.8); !same(got, 0.45, 1e-15) {
		t.Errorf("CeiledR2C = %v", got)
	}
	s := &Score{Raw: 0.6}
	s.SetCeiling(&Ceiling{Value: 0.8, PerHalf: []float64{0.7, 0.9}})
	if s.Ceiling != 0.8 || !same(s.CeiledRC2, 0.5625, 1e-15) || !same(s.CeiledR2C, 0.45, 1e-15) {
		t.Errorf("SetCeiling gave %+v", s)
	}
}

func TestSplitHalfCeiling(t *testing.T) {
	// Four repetitions of 5 images x 2 neuroids. Neuroid 0 repeats exactly (ceiling 1); neuroid 1 has a
	// missing repetition and noise.
	const reps, images, neuroids = 4, 5, 2
	data := make([]float64, reps*images*neuroids)
	noise := []float64{0.3, -0.2, 0.1, 0.4, -0.5, 0.2, 0.1, -0.3, 0.0, 0.2, -0.1, 0.3, 0.5, -0.4, 0.1, 0.2, -0.2, 0.3, -0.1, 0.0}
	for r := 0; r < reps; r++ {
		for i := 0; i < images; i++ {
			data[(r*images+i)*neuroids] = float64(i * i)
			data[(r*images+i)*neuroids+1] = float64(i) + noise[r*images+i]
		}
	}
	data[(2*images+1)*neuroids+1] = math.NaN()
	r, err := NewRepetitions(reps, images, neuroids, data)
	if err != nil {
		t.Fatal(err)
	}
	halves := [][]int{{0, 1}, {1, 3}, {2}}
	c, err := SplitHalfCeiling(r, halves)
	if err != nil {
		t.Fatal(err)
	}
	// Independent computation of the expected per-half values.
	for h, first := range halves {
		var second []int
		for rep := 0; rep < reps; rep++ {
			if !slices.Contains(first, rep) {
				second = append(second, rep)
			}
		}
		a, b := r.Mean(first), r.Mean(second)
		r1 := Pearson(mat.Col(nil, 1, a), mat.Col(nil, 1, b))
		want := (1 + 2*r1/(1+r1)) / 2 // median of neuroid 0's 1 and neuroid 1's corrected r
		if math.IsNaN(r1) {
			want = 1 // a half whose only repetition is missing gives NaN, which the median skips
		}
		if !same(c.PerHalf[h], want, 1e-12) {
			t.Errorf("half %d: %v, want %v", h, c.PerHalf[h], want)
		}
	}
	if !same(c.Value, Mean(c.PerHalf), 0) {
		t.Errorf("ceiling %v is not the mean of %v", c.Value, c.PerHalf)
	}
	if m := r.Mean([]int{1, 2}); !same(m.At(1, 1), data[(1*images+1)*neuroids+1], 0) {
		t.Errorf("mean over a missing repetition = %v", m.At(1, 1))
	}

	for _, bad := range []struct {
		halves [][]int
		want   string
	}{
		{[][]int{{0, 4}}, "repetition 4 of 4"},
		{[][]int{{0, 0}}, "twice"},
		{[][]int{{0, 1, 2, 3}}, "empty"},
		{[][]int{}, "no half"},
	} {
		if _, err := SplitHalfCeiling(r, bad.halves); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("halves %v: error %v, want one containing %q", bad.halves, err, bad.want)
		}
	}
}

func TestDefaultCeilingHalves(t *testing.T) {
	c := loadSplitsCases(t)
	for _, tc := range c.Cases {
		if !strings.HasPrefix(tc.Name, "halves of") {
			continue
		}
		got, err := DefaultCeilingHalves(tc.N)
		if err != nil {
			t.Fatal(err)
		}
		for k := range tc.Splits {
			if !slices.Equal(got[k], tc.Splits[k].Train) {
				t.Errorf("%d repetitions, half %d: %v, scikit-learn ShuffleSplit train %v", tc.N, k, got[k], tc.Splits[k].Train)
			}
		}
	}
}
