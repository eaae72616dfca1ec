package metric

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/npy"
)

// readMatrix reads a 2-dimensional .npy file as a matrix.
func readMatrix(tb testing.TB, path string) *mat.Dense {
	tb.Helper()
	a, err := npy.Read(path)
	if err != nil {
		tb.Fatal(err)
	}
	r, c, err := a.Dims2()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return mat.NewDense(r, c, a.Data)
}

// maxRelDiff returns max|got-want| / max|want| (or the absolute difference when want is all zero).
func maxRelDiff(got, want mat.Matrix) float64 {
	r, c := want.Dims()
	scale, diff := 0.0, 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			scale = math.Max(scale, math.Abs(want.At(i, j)))
			diff = math.Max(diff, math.Abs(got.At(i, j)-want.At(i, j)))
		}
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

func TestPLSMatchesScikitLearn(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "pls", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Cases []struct {
			Name       string `json:"name"`
			Components int    `json:"components"`
			MaxIter    int    `json:"max_iter"`
			NIter      []int  `json:"n_iter"`
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
				return readMatrix(t, filepath.Join("testdata", "pls", fmt.Sprintf("%s_%s.npy", tc.Name, key)))
			}
			m, err := PLS{Components: tc.Components, MaxIter: tc.MaxIter}.FitModel(load("X"), load("Y"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.NIter, tc.NIter) {
				t.Errorf("iterations per component %v, scikit-learn %v", m.NIter, tc.NIter)
			}
			pred, err := m.Predict(load("Xtest"))
			if err != nil {
				t.Fatal(err)
			}
			for _, cmp := range []struct {
				key string
				got mat.Matrix
			}{
				{"predict", pred},
				{"coef", m.Coef},
				{"x_weights", m.XWeights},
				{"x_loadings", m.XLoadings},
				{"y_loadings", m.YLoadings},
				{"x_rotations", m.XRotations},
			} {
				want := load(cmp.key)
				gr, gc := cmp.got.Dims()
				wr, wc := want.Dims()
				if gr != wr || gc != wc {
					t.Errorf("%s: %dx%d, scikit-learn %dx%d", cmp.key, gr, gc, wr, wc)
					continue
				}
				if d := maxRelDiff(cmp.got, want); d > 1e-6 {
					t.Errorf("%s differs from scikit-learn by %.3g relative", cmp.key, d)
				} else {
					t.Logf("%s: max relative difference %.2g", cmp.key, d)
				}
			}
		})
	}
}

// TestPLSPowerSpaces checks that the power iterations give the same fit in the X-weight and the
// Y-weight space, on cases with fewer and with more targets than features.
func TestPLSPowerSpaces(t *testing.T) {
	for _, name := range []string{"medium_25", "many_targets", "wide", "constant_column", "max_iter_3"} {
		t.Run(name, func(t *testing.T) {
			x := readMatrix(t, filepath.Join("testdata", "pls", name+"_X.npy"))
			y := readMatrix(t, filepath.Join("testdata", "pls", name+"_Y.npy"))
			_, p := x.Dims()
			_, q := y.Dims()
			k := min(p, 25, q+3)
			maxIter := 0
			if name == "max_iter_3" {
				maxIter = 3
			}
			var fits [2]*PLSModel
			for i, space := range []powerSpace{xSpace, ySpace} {
				m, err := PLS{Components: k, MaxIter: maxIter, space: space}.FitModel(x, y)
				if err != nil {
					t.Fatal(err)
				}
				fits[i] = m
			}
			if !slices.Equal(fits[0].NIter, fits[1].NIter) {
				t.Errorf("iterations %v in X space, %v in Y space", fits[0].NIter, fits[1].NIter)
			}
			if d := maxRelDiff(fits[1].Coef, fits[0].Coef); d > 1e-9 {
				t.Errorf("coefficients differ by %.3g relative", d)
			}
		})
	}
}

// TestPLSLargerAgainstScikitLearn fits a larger problem (600 images, 300 features, 80 neuroids, 25
// components) here and with scikit-learn, when Debian's python3 with scikit-learn is installed.
func TestPLSLargerAgainstScikitLearn(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import sklearn, numpy").Run(); err != nil {
		t.Skipf("%s with scikit-learn not available: %v", py, err)
	}
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	x, y, _ := BenchData(660, 300, 80, 7)
	xTrain, xTest := x.Slice(0, 600, 0, 300), x.Slice(600, 660, 0, 300)
	yTrain := y.Slice(0, 600, 0, 80)
	dir := t.TempDir()
	for name, m := range map[string]mat.Matrix{"X": xTrain, "Y": yTrain, "Xtest": xTest} {
		r, c := m.Dims()
		if err := npy.Write(filepath.Join(dir, name+".npy"), []int{r, c}, denseCopy(m)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(py, filepath.Join("testdata", "fit_pls.py"), filepath.Join(dir, "X.npy"),
		filepath.Join(dir, "Y.npy"), filepath.Join(dir, "Xtest.npy"), "25", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("fit_pls.py: %v\n%s", err, out)
	}
	m, err := BrainScorePLS().FitModel(xTrain, yTrain)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(xTest)
	if err != nil {
		t.Fatal(err)
	}
	nIter, err := npy.Read(filepath.Join(dir, "n_iter.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range nIter.Data {
		if k >= len(m.NIter) || m.NIter[k] != int(v) {
			t.Fatalf("iterations %v, scikit-learn %v", m.NIter, nIter.Data)
		}
	}
	for key, got := range map[string]mat.Matrix{"coef": m.Coef, "predict": pred} {
		d := maxRelDiff(got, readMatrix(t, filepath.Join(dir, key+".npy")))
		if d > 1e-6 {
			t.Errorf("%s differs from scikit-learn by %.3g relative", key, d)
		}
		t.Logf("%s: max relative difference %.2g", key, d)
	}
}

// TestPLSRankDeficientX checks the documented difference from scikit-learn: with more components than
// X has rank, the fit stops at the rank instead of fitting rounding noise, and equals the fit with as
// many components as the rank.
func TestPLSRankDeficientX(t *testing.T) {
	const n, p = 30, 6
	x := mat.NewDense(n, p, nil)
	y := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		a, b := math.Sin(1.3*float64(i)), math.Cos(0.7*float64(i*i))
		for j := 0; j < p; j++ {
			x.Set(i, j, a*float64(j+1)+b*float64(p-j)+3) // rank 2 after centring
		}
		y.Set(i, 0, a-2*b+0.1*math.Sin(float64(5*i)))
		y.Set(i, 1, 0.5*a+math.Cos(float64(3*i)))
	}
	for _, space := range []powerSpace{xSpace, ySpace} {
		full, err := PLS{Components: 5, space: space}.FitModel(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.NIter) != 2 {
			t.Errorf("extracted %d components from rank-2 X", len(full.NIter))
		}
		two, err := PLS{Components: 2, space: space}.FitModel(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(full.Coef, two.Coef); d > 1e-9 {
			t.Errorf("5-component fit of rank-2 X differs from the 2-component fit by %.3g", d)
		}
	}
}

func TestPLSErrors(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 9})
	y := mat.NewDense(4, 1, []float64{1, 2, 3, 5})
	nan := mat.NewDense(4, 1, []float64{1, math.NaN(), 3, 5})
	tests := []struct {
		name string
		pls  PLS
		x, y mat.Matrix
		want string
	}{
		{"too many components", PLS{Components: 3}, x, y, "exceed the 2 features"},
		{"no components", PLS{}, x, y, "at least one component"},
		{"row mismatch", PLS{Components: 1}, x, mat.NewDense(3, 1, nil), "4 rows but Y has 3"},
		{"one sample", PLS{Components: 1}, mat.NewDense(1, 2, nil), mat.NewDense(1, 1, nil), "at least 2 samples"},
		{"nan", PLS{Components: 1}, x, nan, "NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.pls.Fit(tc.x, tc.y)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	m, err := PLS{Components: 1}.FitModel(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(mat.NewDense(2, 3, nil)); err == nil {
		t.Error("Predict accepted the wrong number of columns")
	}
}

// TestPLSExactFit checks the algebra on a case with a known answer: with as many components as
// features and Y an exact linear function of X, PLS recovers ordinary least squares exactly.
func TestPLSExactFit(t *testing.T) {
	x := mat.NewDense(6, 2, []float64{1, 0, 0, 1, 1, 1, 2, 1, 1, 3, 0, 2})
	y := mat.NewDense(6, 1, nil)
	for i := 0; i < 6; i++ {
		y.Set(i, 0, 3*x.At(i, 0)-2*x.At(i, 1)+5)
	}
	m, err := PLS{Components: 2}.FitModel(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(m.Coef.At(0, 0)-3) + math.Abs(m.Coef.At(1, 0)+2); d > 1e-12 {
		t.Errorf("coefficients %v, want [3 -2]", mat.Formatted(m.Coef.T()))
	}
	pred, err := m.Predict(mat.NewDense(1, 2, []float64{10, 10}))
	if err != nil {
		t.Fatal(err)
	}
	if got := pred.At(0, 0); math.Abs(got-15) > 1e-10 {
		t.Errorf("prediction %v, want 15", got)
	}
}
