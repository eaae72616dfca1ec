package dense

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
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

// TestMatMul compares MatMul with a float64 product, and checks that the number of workers changes no
// bit.
func TestMatMul(t *testing.T) {
	for _, sz := range sizes {
		m, n, k := sz.m, sz.n, sz.k
		t.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(m), uint64(n)))
			a, b := random(rng, m*k), random(rng, k*n)
			var ws Workspace
			var ref []float32
			for _, workers := range []int{1, 2, 3} {
				out := random(rng, m*n)
				ws.MatMul(out, a, b, m, n, k, workers)
				if ref == nil {
					ref = out
					for r := 0; r < m; r++ {
						for i := 0; i < n; i++ {
							var want, scale float64
							for q := 0; q < k; q++ {
								p := float64(a[r*k+q]) * float64(b[q*n+i])
								want += p
								scale += math.Abs(p)
							}
							if got := float64(out[r*n+i]); math.Abs(got-want) > 1e-6*scale+1e-30 {
								t.Fatalf("out[%d, %d] = %g, want %g", r, i, got, want)
							}
						}
					}
					continue
				}
				for i := range out {
					if math.Float32bits(out[i]) != math.Float32bits(ref[i]) {
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
	for _, opt := range []optim.Optimizer{optim.SGD{LR: 0.1, Momentum: 0.9}, optim.DefaultAdam(0.01)} {
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
						ws.Update(param(w, 0), param(b, 1), d, h, m, n, k, optim.HostStepOf(opt, step, 1), workers)
					}
					// Two steps of SGD move w by about lr (1 + 1.9) g; Adam by about 2 lr per step. A
					// float32 error e in g moves w by e times that factor, and Adam divides by |g|.
					for i := range w {
						tol := 3e-6 * (1 + scale[i]) * 0.3
						if _, ok := opt.(optim.Adam); ok {
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

// TestUpdateLinear checks that UpdateLinear gives, bit for bit, what Update then Linear give: the
// parameters, optimiser state and the next product, for batches that take every path (rows or panels
// of the weights; dot products or tiles for the product).
func TestUpdateLinear(t *testing.T) {
	opt := optim.SGD{LR: 0.1, Momentum: 0.9}
	for _, tc := range []struct{ m, mx, n, k int }{
		{4, 4, 37, 600}, {4, 33, 9, 100}, {128, 128, 13, 1100}, {128, 5, 10, 1030}, {3, 0, 6, 50}, {40, 20, 64, 2000},
	} {
		t.Run(fmt.Sprintf("m=%d/mx=%d/%dx%d", tc.m, tc.mx, tc.n, tc.k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.k)))
			d, h, x := random(rng, tc.m*tc.n), random(rng, tc.m*tc.k), random(rng, tc.mx*tc.k)
			w0, b0 := random(rng, tc.n*tc.k), random(rng, tc.n)
			run := func(fused bool, workers int) []float32 {
				w, b := append([]float32{}, w0...), append([]float32{}, b0...)
				vw, vb := make([]float32, len(w)), make([]float32, len(b))
				out := make([]float32, tc.mx*tc.n)
				var ws Workspace
				for step := 1; step <= 2; step++ {
					if fused {
						ws.UpdateLinear(Param{P: w, S0: vw}, Param{P: b, S0: vb}, d, h, tc.m, tc.n, tc.k, optim.HostStepOf(opt, step, 1), out, x, tc.mx, workers)
					} else {
						ws.Update(Param{P: w, S0: vw}, Param{P: b, S0: vb}, d, h, tc.m, tc.n, tc.k, optim.HostStepOf(opt, step, 1), workers)
						ws.Linear(out, x, w, b, tc.mx, tc.n, tc.k, workers)
					}
				}
				return append(append(append(append(w, b...), vw...), vb...), out...)
			}
			want := run(false, 1)
			for _, workers := range []int{1, 2, 3} {
				got := run(true, workers)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("workers=%d: value %d = %g fused, %g apart", workers, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestUpdateMomentumTiles checks that Update gives the same bits, parameters and state, whether the tiles
// apply SGD with momentum themselves (optim.HostStep.Momentum) or hand the gradient to Span, for shapes
// that take the fused tiles and those that fall back (rows or columns short of a tile).
func TestUpdateMomentumTiles(t *testing.T) {
	opt := optim.SGD{LR: 0.1, Momentum: 0.9}
	for _, tc := range []struct{ m, n, k int }{{128, 21, 1100}, {40, 16, 1024}, {20, 13, 96}, {128, 8, 3072}} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.n, tc.k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
			d, h := random(rng, tc.m*tc.n), random(rng, tc.m*tc.k)
			w0, b0 := random(rng, tc.n*tc.k), random(rng, tc.n)
			run := func(tiles bool, workers int) []float32 {
				w, b := append([]float32{}, w0...), append([]float32{}, b0...)
				vw, vb := make([]float32, len(w)), make([]float32, len(b))
				var ws Workspace
				for step := 1; step <= 3; step++ {
					hs := optim.HostStepOf(opt, step, 0.7)
					if !tiles {
						hs.Momentum = nil
					} else if hs.Momentum == nil && hasTileMomentum {
						t.Fatal("HostStepOf gave SGD with momentum no Momentum")
					}
					ws.Update(Param{P: w, S0: vw}, Param{P: b, S0: vb}, d, h, tc.m, tc.n, tc.k, hs, workers)
				}
				return append(append(append(w, b...), vw...), vb...)
			}
			want := run(false, 1)
			for _, workers := range []int{1, 2} {
				got := run(true, workers)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("workers=%d: value %d = %g with the momentum tiles, %g without", workers, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestGradBlockPaths checks that the kernels' ways of forming a gradient block (tiles of four rows, one
// row, the batch-of-four rows) give the same bits as a tile does.
func TestGradBlockPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, m := range []int{1, 3, 4, 5} {
		k, cols := 200, 150
		a, h := random(rng, 4*m), random(rng, m*k)
		want := make([]float32, 4*cols)
		gradBlock(want, cols, a, m, 4, h, k, 37, cols)
		for rows := 1; rows <= 4; rows++ {
			got := make([]float32, 4*cols)
			gradBlock(got, cols, a, m, rows, h, k, 37, cols)
			for i := 0; i < rows*cols; i++ {
				if got[i] != want[i] {
					t.Fatalf("m=%d rows=%d: value %d = %g, %g with four rows", m, rows, i, got[i], want[i])
				}
			}
		}
		ref := make([]float32, 4*cols)
		gradBlockGo(ref, cols, a, m, 4, h, k, 37, cols)
		for i := range ref {
			if math.Abs(float64(ref[i]-want[i])) > 1e-5*(1+math.Abs(float64(ref[i]))) {
				t.Fatalf("m=%d: value %d = %g, portable %g", m, i, want[i], ref[i])
			}
		}
	}
}

// TestGram checks that Gram gives Linear's bits.
func TestGram(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, m := range []int{3, 16, 37, 70} {
		k := 130
		x := random(rng, m*k)
		want, got := make([]float32, m*m), make([]float32, m*m)
		var ws Workspace
		ws.Linear(want, x, x, nil, m, m, k, 2)
		for _, workers := range []int{1, 3} {
			ws.Gram(got, x, m, k, workers)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("m=%d workers=%d: value %d = %g, Linear %g", m, workers, i, got[i], want[i])
				}
			}
		}
	}
}

// TestReLU checks ReLU, ReLUMask and StepMask against Go's max and the product by the derivative, bit for bit,
// signed zeros, infinities and NaN included, over lengths that leave a partial vector.
func TestReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, -1e-40}
	for _, n := range []int{0, 5, 16, 37} {
		src, s := random(rng, n), random(rng, n)
		for i := range src {
			if i%3 == 0 {
				src[i] = special[(i/3)%len(special)]
				s[(i+1)%n] = special[(i/3+2)%len(special)]
			}
		}
		got, mask, step := make([]float32, n), make([]float32, n), make([]float32, n)
		ReLU(got, src)
		ReLUMask(mask, s, src)
		StepMask(step, s, src)
		for i := range src {
			want := max(src[i], 0)
			d, h := float32(0), float32(0)
			if src[i] > 0 {
				d = 1
			}
			if src[i] >= 0 {
				h = 1
			}
			wantMask, wantStep := s[i]*d, h*s[i]
			if math.Float32bits(got[i]) != math.Float32bits(want) || math.Float32bits(mask[i]) != math.Float32bits(wantMask) ||
				math.Float32bits(step[i]) != math.Float32bits(wantStep) {
				t.Fatalf("n=%d, value %d (%g, %g): ReLU %g, want %g; ReLUMask %g, want %g; StepMask %g, want %g",
					n, i, src[i], s[i], got[i], want, mask[i], wantMask, step[i], wantStep)
			}
		}
	}
}

// TestClamp checks Clamp against Go's min and max, bit for bit (any NaN for a NaN), signed zeros,
// infinities and values beyond the bound included, over lengths that leave a partial vector.
func TestClamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0.5, -0.5, 1e-40}
	for _, n := range []int{0, 5, 16, 37, 100} {
		s := random(rng, n)
		for i := range s {
			s[i] *= 2
			if i%3 == 0 {
				s[i] = special[(i/3)%len(special)]
			}
		}
		got := append([]float32{}, s...)
		Clamp(got, 0.5)
		for i, v := range s {
			want := min(max(v, -0.5), 0.5)
			if math.Float32bits(got[i]) != math.Float32bits(want) && !(want != want && got[i] != got[i]) {
				t.Fatalf("n=%d, value %d (%g): Clamp %g, want %g", n, i, v, got[i], want)
			}
		}
	}
}

// TestTranspose checks transpose, with and without the added vector, against the definition, for
// shapes with whole 16 x 16 blocks (the vector kernel's) and partial ones, with strides wider than the
// rows.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, sz := range []struct{ rows, cols int }{{16, 16}, {32, 48}, {17, 33}, {5, 70}, {128, 40}} {
		for _, withAdd := range []bool{false, true} {
			lds, ldd := sz.cols+3, sz.rows+5
			src, dst := random(rng, sz.rows*lds), random(rng, sz.cols*ldd)
			var add []float32
			if withAdd {
				add = random(rng, sz.rows)
			}
			want := append([]float32{}, dst...)
			for r := 0; r < sz.rows; r++ {
				for c := 0; c < sz.cols; c++ {
					v := src[r*lds+c]
					if add != nil {
						v += add[r]
					}
					want[c*ldd+r] = v
				}
			}
			transpose(dst, ldd, src, lds, sz.rows, sz.cols, add)
			for i := range want {
				if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%dx%d, add %v: value %d = %g, want %g", sz.rows, sz.cols, withAdd, i, dst[i], want[i])
				}
			}
		}
	}
}

// TestParallelIndexed checks that the ranges parallelIndexed hands out cover [0, n) exactly once, with
// worker numbers below workers, whatever the goroutines' timing.
func TestParallelIndexed(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 64, 192, 1000} {
		for _, workers := range []int{1, 2, 3, 8} {
			seen := make([]int32, n)
			var bad atomic.Bool
			parallelIndexed(n, workers, func(p, lo, hi int) {
				if p < 0 || p >= workers || lo < 0 || hi > n || (lo >= hi && n > 0) {
					bad.Store(true)
					return
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			if bad.Load() {
				t.Fatalf("n=%d, workers=%d: a range or worker number out of bounds", n, workers)
			}
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("n=%d, workers=%d: index %d covered %d times", n, workers, i, c)
				}
			}
		}
	}
}
