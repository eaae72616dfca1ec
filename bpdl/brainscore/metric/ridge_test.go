package metric

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestRidgeMatchesScikitLearn compares Ridge with scikit-learn's Ridge on the cases of
// testdata/gen_ridge.py: tall and wide data (the primal and the kernel solution), strong and weak
// penalties, least squares (alpha 0) and features far from zero.
func TestRidgeMatchesScikitLearn(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ridge", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Cases []struct {
			Name  string  `json:"name"`
			Alpha float64 `json:"alpha"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range index.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			load := func(key string) *mat.Dense {
				return readMatrix(t, filepath.Join("testdata", "ridge", fmt.Sprintf("%s_%s.npy", tc.Name, key)))
			}
			m, err := Ridge{Alpha: tc.Alpha}.FitModel(load("X"), load("Y"))
			if err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict(load("Xtest"))
			if err != nil {
				t.Fatal(err)
			}
			// scikit-learn's intercept is ȳ − x̄ᵀB: the prediction at the origin.
			origin, err := m.Predict(mat.NewDense(1, len(m.XMean), nil))
			if err != nil {
				t.Fatal(err)
			}
			for _, cmp := range []struct {
				key string
				got mat.Matrix
			}{{"predict", pred}, {"coef", m.Coef}, {"intercept", origin}} {
				if d := maxRelDiff(cmp.got, load(cmp.key)); d > 1e-9 {
					t.Errorf("%s differs from scikit-learn by %.3g relative", cmp.key, d)
				} else {
					t.Logf("%s: max relative difference %.2g", cmp.key, d)
				}
			}
		})
	}
}

// TestRidgeSingular checks the SVD fallback: least squares on rank-deficient features (a column
// repeated) gives the minimum-norm solution, which splits the weight of the repeated column equally,
// and fits the data exactly.
func TestRidgeSingular(t *testing.T) {
	const n = 12
	x := mat.NewDense(n, 3, nil)
	y := mat.NewDense(n, 1, nil)
	for i := range n {
		a, b := math.Sin(float64(i)), math.Cos(2*float64(i))
		x.SetRow(i, []float64{a, a, b})
		y.Set(i, 0, 4*a-b+1)
	}
	m, err := Ridge{}.FitModel(x, y)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2, 2, -1}
	for j, w := range want {
		if got := m.Coef.At(j, 0); math.Abs(got-w) > 1e-9 {
			t.Errorf("coef %d = %v, want %v (minimum norm)", j, got, w)
		}
	}
}

func TestRidgeErrors(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 9})
	y := mat.NewDense(4, 1, []float64{1, 2, 3, 5})
	tests := []struct {
		name  string
		alpha float64
		x, y  mat.Matrix
		want  string
	}{
		{"negative alpha", -1, x, y, "alpha -1"},
		{"NaN alpha", math.NaN(), x, y, "alpha NaN"},
		{"rows", 1, x, mat.NewDense(3, 1, nil), "4 rows but Y has 3"},
		{"nan", 1, x, mat.NewDense(4, 1, []float64{1, math.NaN(), 2, 3}), "NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Ridge{Alpha: tc.alpha}.Fit(tc.x, tc.y)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// firstFeature is a toy regression, the whole of a new one: each response regressed on the first
// feature alone, by least squares. A real one lives in a file of its own.
type firstFeature struct{}

type firstFeatureFit struct{ slope, intercept []float64 }

func (firstFeature) Fit(x, y mat.Matrix) (Predictor, error) {
	n, _ := x.Dims()
	_, q := y.Dims()
	col := mat.Col(nil, 0, x)
	f := &firstFeatureFit{}
	for j := range q {
		t := mat.Col(nil, j, y)
		mx, my := Mean(col), Mean(t)
		sxy, sxx := 0.0, 0.0
		for i := range n {
			sxy += (col[i] - mx) * (t[i] - my)
			sxx += (col[i] - mx) * (col[i] - mx)
		}
		f.slope = append(f.slope, sxy/sxx)
		f.intercept = append(f.intercept, my-sxy/sxx*mx)
	}
	return f, nil
}

func (f *firstFeatureFit) Predict(x mat.Matrix) (*mat.Dense, error) {
	n, _ := x.Dims()
	out := mat.NewDense(n, len(f.slope), nil)
	for i := range n {
		for j := range f.slope {
			out.Set(i, j, f.slope[j]*x.At(i, 0)+f.intercept[j])
		}
	}
	return out, nil
}

// TestRegisterToyRegression registers a toy regression (one type and one registry line) and
// cross-validates it as Brain-Score's predictivity does: responses that follow the first feature are
// predicted perfectly, the registry does not change DefaultRegressions, and every regression
// registered by default gives the same score as its direct fits.
func TestRegisterToyRegression(t *testing.T) {
	regs := DefaultRegressions()
	regs["first-feature"] = func() Regression { return firstFeature{} }
	if _, err := DefaultRegressions().New("first-feature"); err == nil {
		t.Error("registering changed DefaultRegressions")
	}
	if _, err := regs.New("nope"); err == nil || !strings.Contains(err.Error(), "first-feature, pls, ridge") {
		t.Errorf("unknown regression: error %v, want one listing first-feature, pls, ridge", err)
	}
	x, _, labels := BenchData(120, 30, 4, 5)
	y := mat.NewDense(120, 2, nil)
	for i := range 120 {
		y.Set(i, 0, 3*x.At(i, 0)-1)
		y.Set(i, 1, -x.At(i, 0)+7)
	}
	for i := range labels {
		labels[i] %= 8
	}
	splits, err := BrainScoreSplits(120, labels)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := regs.New("first-feature")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Predictivity(x, y, splits, reg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Raw-1) > 1e-12 {
		t.Errorf("raw %v, want 1", s.Raw)
	}
	// A regression without the products fast path and PLS with it must agree with fitting each split.
	_, y2, _ := BenchData(120, 30, 4, 5)
	for _, name := range []string{"pls", "ridge"} {
		reg, err := regs.New(name)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := reg.(PLS); ok {
			p.Components = 10
			reg = p
		}
		got, err := Predictivity(x, y2, splits, reg)
		if err != nil {
			t.Fatal(err)
		}
		want := directScore(t, x, y2, splits, reg)
		if math.Abs(got.Raw-want) > 1e-9 {
			t.Errorf("%s: raw %v, direct fits %v", name, got.Raw, want)
		}
	}
}

// directScore fits reg on each split's rows and returns the mean over splits of the median Pearson r.
func directScore(t *testing.T, x, y *mat.Dense, splits []Split, reg Regression) float64 {
	t.Helper()
	var raws []float64
	for _, sp := range splits {
		m, err := reg.Fit(rows(x, sp.Train), rows(y, sp.Train))
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(rows(x, sp.Test))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := PearsonColumns(pred, rows(y, sp.Test))
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, Median(rs))
	}
	return Mean(raws)
}
