package metric

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func matrixFromRows(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// TestRSAMatchesNumPy checks RDM, CompareRDMs and the bootstrap against testdata/rsa_case.json, which
// testdata/gen_rsa.py computed with NumPy and SciPy.
func TestRSAMatchesNumPy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "rsa_case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Activations       [][]float64 `json:"activations"`
		TargetActivations [][]float64 `json:"target_activations"`
		RDMCondensed      []float64   `json:"rdm_condensed"`
		Score             float64     `json:"score"`
		Seed              uint32      `json:"seed"`
		NBoot             int         `json:"n_boot"`
		Bootstrap         []float64   `json:"bootstrap"`
		Low               float64     `json:"low"`
		High              float64     `json:"high"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	model := RDM(matrixFromRows(c.Activations))
	target := RDM(matrixFromRows(c.TargetActivations))
	for k, v := range Condensed(model) {
		if math.Abs(v-c.RDMCondensed[k]) > 1e-14 {
			t.Fatalf("RDM entry %d: %v, NumPy %v", k, v, c.RDMCondensed[k])
		}
	}
	res, err := RSA(model, target, c.NBoot, c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Score-c.Score) > 1e-12 {
		t.Errorf("score %v, SciPy %v", res.Score, c.Score)
	}
	for k, v := range c.Bootstrap {
		if math.Abs(res.Bootstrap[k]-v) > 1e-12 {
			t.Fatalf("bootstrap %d: %v, NumPy/SciPy %v", k, res.Bootstrap[k], v)
		}
	}
	if math.Abs(res.Low-c.Low) > 1e-12 || math.Abs(res.High-c.High) > 1e-12 {
		t.Errorf("interval [%v, %v], NumPy [%v, %v]", res.Low, res.High, c.Low, c.High)
	}
	again, err := RSA(model, target, c.NBoot, c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if again.Low != res.Low || again.High != res.High {
		t.Error("RSA is not deterministic")
	}
}

func TestSquareForm(t *testing.T) {
	m, err := SquareForm([]float64{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if n := m.SymmetricDim(); n != 4 || m.At(0, 1) != 1 || m.At(3, 2) != 6 || m.At(1, 3) != 5 || m.At(2, 2) != 0 {
		t.Errorf("SquareForm gave %v", mat.Formatted(m))
	}
	if got := Condensed(m); len(got) != 6 || got[5] != 6 {
		t.Errorf("Condensed = %v", got)
	}
	if _, err := SquareForm([]float64{1, 2}); err == nil {
		t.Error("SquareForm accepted 2 values")
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		x    []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{4, 1, 3, 2}, 2.5, 1.075},
		{[]float64{4, 1, math.NaN(), 2}, 100, 4},
		{[]float64{7}, 97.5, 7},
		{nil, 50, math.NaN()},
	}
	for _, tc := range tests {
		if got := Percentile(tc.x, tc.q); !same(got, tc.want, 1e-12) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.x, tc.q, got, tc.want)
		}
	}
}

func TestCompareRDMsErrors(t *testing.T) {
	if _, err := CompareRDMs(mat.NewSymDense(3, nil), mat.NewSymDense(4, nil)); err == nil {
		t.Error("size mismatch not reported")
	}
	if _, err := RSA(mat.NewSymDense(4, nil), mat.NewSymDense(4, nil), 0, 1); err == nil {
		t.Error("zero resamples not reported")
	}
}

// TestRSAFastBootstrap checks RSA's weighted-rank bootstrap against listing each resample's pairs,
// resample by resample, on RDMs with ties (rounded values) and without.
func TestRSAFastBootstrap(t *testing.T) {
	const n = 12
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := mat.NewDense(n, 20, nil), mat.NewDense(n, 30, nil)
	for i := range n {
		for j := range 20 {
			a.Set(i, j, rng.NormFloat64())
		}
		for j := range 30 {
			b.Set(i, j, rng.NormFloat64()+0.5*a.At(i, j%20))
		}
	}
	ra, rb := RDM(a), RDM(b)
	tied := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i + 1; j < n; j++ {
			tied.SetSym(i, j, math.Round(4*ra.At(i, j))/4)
		}
	}
	for _, c := range []struct {
		name  string
		model mat.Symmetric
	}{{"distinct", ra}, {"ties", tied}} {
		got, err := RSA(c.model, rb, 300, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := resampleRDMs(c.model, rb, 300, 5)
		for k := range want {
			if math.Abs(got.Bootstrap[k]-want[k]) > 1e-12 && !(math.IsNaN(got.Bootstrap[k]) && math.IsNaN(want[k])) {
				t.Fatalf("%s: resample %d: %.15f, direct %.15f", c.name, k, got.Bootstrap[k], want[k])
			}
		}
	}
}
