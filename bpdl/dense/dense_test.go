package dense

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpdl/bpdl/bpdl/optim"
)

func random(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// sizes cover the tiled and dot-product paths of Linear, partial tiles, and rows left over from blocks
// of four.
var sizes = []struct{ m, n, k int }{
	{1, 1, 1}, {4, 6, 48}, {3, 5, 17}, {5, 7, 300}, {15, 2, 33},
	{16, 4, 64}, {33, 9, 100}, {128, 37, 600}, {40, 64, 513},
}

// TestLinear compares Linear with a float64 product, and checks that the number of workers changes no
// bit.
func TestLinear(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%dx%d", sz.m, sz.n, sz.k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(sz.m), uint64(sz.k)))
			x, w, b := random(rng, sz.m*sz.k), random(rng, sz.n*sz.k), random(rng, sz.n)
			var ws Workspace
			var ref []float32
			for _, workers := range []int{1, 2, 3} {
				out := random(rng, sz.m*sz.n) // garbage that must be overwritten
				ws.Linear(out, x, w, b, sz.m, sz.n, sz.k, workers)
				if ref == nil {
					ref = out
					for r := 0; r < sz.m; r++ {
						for o := 0; o < sz.n; o++ {
							want, scale := float64(b[o]), math.Abs(float64(b[o]))
							for q := 0; q < sz.k; q++ {
								p := float64(x[r*sz.k+q]) * float64(w[o*sz.k+q])
								want += p
								scale += math.Abs(p)
							}
							if got := float64(out[r*sz.n+o]); math.Abs(got-want) > 1e-6*scale+1e-30 {
								t.Fatalf("out[%d, %d] = %g, want %g", r, o, got, want)
							}
						}
					}
					continue
				}
				for i := range out {
					if out[i] != ref[i] {
						t.Fatalf("workers=%d changes out[%d]: %g vs %g", workers, i, out[i], ref[i])
					}
				}
			}
		})
	}
}

// TestUpdate checks that Update takes the optimiser step that optim.Host takes on the formed gradient
// (within float32 rounding of the product), for SGD with momentum and for Adam, and that the number of
// workers changes no bit.
func TestUpdate(t *testing.T) {
	for _, opt := range []optim.Optimizer{optim.SGDOptimizer{LR: 0.1, Momentum: 0.9}, optim.DefaultAdam(0.01)} {
		for _, sz := range sizes {
			m, n, k := sz.m, sz.n, sz.k
			t.Run(fmt.Sprintf("%v/%dx%dx%d", opt, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
				d, h := random(rng, m*n), random(rng, m*k)
				w0, b0 := random(rng, n*k), random(rng, n)
				// The reference: the gradient formed in float64, then the host optimiser's step.
				gw, gb := make([]float32, n*k), make([]float32, n)
				scale := make([]float64, n*k)
				for o := 0; o < n; o++ {
					var sb float64
					for r := 0; r < m; r++ {
						sb += float64(d[r*n+o])
					}
					gb[o] = float32(sb)
					for i := 0; i < k; i++ {
						var s float64
						for r := 0; r < m; r++ {
							p := float64(d[r*n+o]) * float64(h[r*k+i])
							s += p
							scale[o*k+i] += math.Abs(p)
						}
						gw[o*k+i] = float32(s)
					}
				}
				host := optim.NewHost(opt, []int{n * k, n})
				wantW, wantB := append([]float32{}, w0...), append([]float32{}, b0...)
				for step := 0; step < 2; step++ {
					host.Step([][]float32{wantW, wantB}, [][]float32{gw, gb}, 1)
				}
				var ref []float32
				for _, workers := range []int{1, 2, 3} {
					state := make([][]float32, 2*opt.Slots())
					for i := range state {
						state[i] = make([]float32, []int{n * k, n}[i/max(1, opt.Slots())])
					}
					param := func(p []float32, i int) Param {
						pr := Param{P: p}
						if opt.Slots() > 0 {
							pr.S0 = state[opt.Slots()*i]
						}
						if opt.Slots() > 1 {
							pr.S1 = state[opt.Slots()*i+1]
						}
						return pr
					}
					w, b := append([]float32{}, w0...), append([]float32{}, b0...)
					var ws Workspace
					for step := 1; step <= 2; step++ {
						ws.Update(param(w, 0), param(b, 1), d, h, m, n, k, opt.Span(step, 1), workers)
					}
					// Two steps of SGD move w by about lr (1 + 1.9) g; Adam by about 2 lr per step. A
					// float32 error e in g moves w by e times that factor, and Adam divides by |g|.
					for i := range w {
						tol := 3e-6 * (1 + scale[i]) * 0.3
						if _, ok := opt.(optim.AdamOptimizer); ok {
							tol = 1e-5 * (1 + scale[i]/math.Max(math.Abs(float64(gw[i])), 1e-3))
						}
						if math.Abs(float64(w[i]-wantW[i])) > tol {
							t.Fatalf("w[%d] = %.8g, want %.8g (gradient %g)", i, w[i], wantW[i], gw[i])
						}
					}
					for i := range b {
						if math.Abs(float64(b[i]-wantB[i])) > 1e-5 {
							t.Fatalf("b[%d] = %.8g, want %.8g", i, b[i], wantB[i])
						}
					}
					if ref == nil {
						ref = append(w, b...)
						continue
					}
					for i, v := range append(w, b...) {
						if v != ref[i] {
							t.Fatalf("workers=%d changes parameter %d: %g vs %g", workers, i, v, ref[i])
						}
					}
				}
			})
		}
	}
}
