package benchmark

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/npy"
)

func readNPY(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func npyMatrix(t *testing.T, path string) *mat.Dense {
	t.Helper()
	a := readNPY(t, path)
	r, c, err := a.Dims2()
	if err != nil {
		t.Fatal(err)
	}
	return mat.NewDense(r, c, a.Data)
}

// TestLogisticMatchesSklearn compares the probabilities of the fitted classifier with scikit-learn's
// (testdata/gen_logistic.py): with model-tools' C = 1e-3 within 1e-7 of a tightly converged newton-cg
// fit, and within 1e-5 of one with scikit-learn's default tolerance, which model-tools used.
func TestLogisticMatchesSklearn(t *testing.T) {
	cases := []struct {
		name    string
		c       float64
		classes int
		tol     float64 // against the tightly converged fit
	}{
		{"c1e-3", 1e-3, 6, 1e-7}, // model-tools' C
		{"c1", 1, 6, 1e-5},       // weak regularisation: both solvers stop further from the optimum
		{"binary", 1e-3, 2, 1e-7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := func(s string) string {
				return filepath.Join("testdata", "logistic", fmt.Sprintf("%s_%s.npy", c.name, s))
			}
			x := npyMatrix(t, p("x"))
			ya := readNPY(t, p("y"))
			y := make([]int, len(ya.Data))
			for i, v := range ya.Data {
				y[i] = int(v)
			}
			m, err := fitProbabilities(x, y, c.classes, c.c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.predictProba(npyMatrix(t, p("xtest")))
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []struct {
				file string
				tol  float64
			}{{"proba_tight", c.tol}, {"proba", 1e-5}} {
				want := npyMatrix(t, p(ref.file))
				worst := 0.0
				r, k := want.Dims()
				for i := range r {
					for j := range k {
						worst = math.Max(worst, math.Abs(got.At(i, j)-want.At(i, j)))
					}
				}
				if worst > ref.tol {
					t.Errorf("largest difference from scikit-learn's %s: %.3g (tolerance %g)", ref.file, worst, ref.tol)
				}
				t.Logf("largest difference from scikit-learn's %s: %.3g", ref.file, worst)
			}
		})
	}
}
