package snn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPoissonRates(t *testing.T) {
	xs := []float32{-1, -0.5, 0, 0.1, 0.25, 0.5, 0.9, 1}
	const (
		batch = 500
		steps = 100
	)
	for _, tc := range []struct {
		name string
		q    float32 // FMax*DT
	}{
		{"study 20 Hz", 0.02},
		{"100 Hz", 0.1},
		{"500 Hz", 0.5},
		{"1000 Hz", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dim := len(xs)
			x := make([]float32, batch*dim)
			for b := 0; b < batch; b++ {
				copy(x[b*dim:], xs)
			}
			var enc poissonEncoder
			var e events
			enc.encode(&e, x, batch, dim, steps, tc.q, func(b int) *rand.Rand { return exampleRNG(7, streamTrain, 0, b) })
			// Spike count of every (example, unit) over the steps.
			counts := make([]int, batch*dim)
			for r := 0; r < steps*batch; r++ {
				row := e.row(r)
				if !slices.IsSorted(row) {
					t.Fatalf("row %d is not in increasing order: %v", r, row)
				}
				for _, j := range row {
					counts[(r%batch)*dim+int(j)]++
				}
			}
			for j, xj := range xs {
				p := math.Min(1, float64(tc.q)*math.Max(float64(xj), 0))
				var sum, sumSq float64
				for b := 0; b < batch; b++ {
					c := float64(counts[b*dim+j])
					sum += c
					sumSq += c * c
				}
				n := float64(batch * steps)
				rate := sum / n
				// The total is Binomial(n, p): within 5 standard deviations.
				if sd := math.Sqrt(p * (1 - p) / n); math.Abs(rate-p) > 5*sd+1e-12 {
					t.Errorf("x = %v: rate %.5f, want %.5f +- %.5f", xj, rate, p, 5*sd)
				}
				// Each (example, unit) count is Binomial(steps, p): its variance is steps p (1-p). This checks
				// that the steps are independent, not just the mean.
				mean := sum / batch
				variance := sumSq/batch - mean*mean
				want := steps * p * (1 - p)
				if tol := 6*want*math.Sqrt(2.0/batch) + 1e-9; math.Abs(variance-want) > tol {
					t.Errorf("x = %v: count variance %.3f, want %.3f +- %.3f", xj, variance, want, tol)
				}
			}
		})
	}
}

func TestPoissonIsSeeded(t *testing.T) {
	x := make([]float32, 3*50)
	r := rand.New(rand.NewPCG(1, 2))
	for k := range x {
		x[k] = float32(2*r.Float64() - 1)
	}
	draw := func(seed, call uint64, workers int) events {
		enc := poissonEncoder{workers: workers}
		var e events
		enc.encode(&e, x, 3, 50, 100, 0.2, func(b int) *rand.Rand { return exampleRNG(seed, streamTrain, call, b) })
		return e
	}
	a, b, c, d := draw(1, 0, 1), draw(1, 0, 1), draw(2, 0, 1), draw(1, 1, 1)
	if !slices.Equal(a.ptr, b.ptr) || !slices.Equal(a.idx, b.idx) {
		t.Error("the same seed and call gave different spike trains")
	}
	for _, workers := range []int{2, 3} {
		if w := draw(1, 0, workers); !slices.Equal(a.ptr, w.ptr) || !slices.Equal(a.idx, w.idx) {
			t.Errorf("%d workers drew other spike trains than one", workers)
		}
	}
	if slices.Equal(a.idx, c.idx) || slices.Equal(a.idx, d.idx) {
		t.Error("another seed or call gave the same spike trains")
	}
}
