//go:build goexperiment.simd && amd64

package dense

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// TestGrad4EqualsTiles checks that the batch-of-four row kernel gives the bits of the four-row tiles and
// of the one-row tiles.
func TestGrad4EqualsTiles(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	k, i0, cols := 300, 13, 224
	a, h := random(rng, 16), random(rng, 4*k)
	tiles := make([]float32, 4*cols)
	for c := 0; c < cols; c += 32 {
		tile4x32(tiles[c:], cols, a[0:4], a[4:8], a[8:12], a[12:16], h[i0+c:], k, true)
	}
	for r := 0; r < 4; r++ {
		row, one := make([]float32, cols-5), make([]float32, cols)
		grad4(row, a[4*r:4*r+4], h, k, i0)
		for c := 0; c < cols; c += 32 {
			tile1(one[c:], a[4*r:4*r+4], h[i0+c:], k, 32, true)
		}
		for c := range row {
			if row[c] != tiles[r*cols+c] || one[c] != tiles[r*cols+c] {
				t.Fatalf("row %d column %d: grad4 %g, tile1 %g, tile4x32 %g", r, c, row[c], one[c], tiles[r*cols+c])
			}
		}
	}
}

// TestGradBlockPackedEqualsGradBlock checks that the packed inputs give the bits of the unpacked ones,
// partial tiles and leftover rows included.
func TestGradBlockPackedEqualsGradBlock(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	for _, m := range []int{1, 5, 33} {
		k := 1100
		a, h := random(rng, 4*m), random(rng, m*k)
		var ws Workspace
		hp := ws.packInputs(h, m, k)
		for _, rows := range []int{4, 3} {
			for _, i0 := range []int{0, 512, 1024} {
				cols := min(512, k-i0)
				want, got := make([]float32, 4*512), make([]float32, 4*512)
				gradBlock(want, 512, a, m, rows, h, k, i0, cols)
				gradBlockPacked(got, 512, a, m, rows, hp, i0, cols)
				for r := 0; r < rows; r++ {
					for c := 0; c < cols; c++ {
						if got[r*512+c] != want[r*512+c] {
							t.Fatalf("m=%d rows=%d i0=%d: (%d, %d) = %g packed, %g not", m, rows, i0, r, c, got[r*512+c], want[r*512+c])
						}
					}
				}
			}
		}
	}
}

// TestRows4EqualsSpan checks that an update through the optimiser's Rows4Func (the gradient formed in the
// update's pass) gives the bits of the update through its Span (the gradient formed in a buffer first), for
// SGD with and without momentum, at a batch of four.
func TestRows4EqualsSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m, n, k := 4, 9, 1000
	d, h := random(rng, m*n), random(rng, m*k)
	for _, opt := range []optim.Optimizer{optim.Study(), optim.SGD{LR: 0.05}} {
		step := optim.HostStepOf(opt, 1, 0.7)
		if step.Rows4 == nil {
			t.Skipf("%v: no Rows4 on this CPU", opt)
		}
		run := func(hs optim.HostStep) []float32 {
			w, b := random(rand.New(rand.NewPCG(1, 1)), n*k), make([]float32, n)
			vw, vb := make([]float32, n*k), make([]float32, n)
			pw, pb := Param{P: w}, Param{P: b}
			if opt.Slots() > 0 {
				pw.S0, pb.S0 = vw, vb
			}
			var ws Workspace
			for i := 0; i < 3; i++ {
				ws.Update(pw, pb, d, h, m, n, k, hs, 2)
			}
			return append(w, vw...)
		}
		want, got := run(optim.HostStep{Span: step.Span}), run(step)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: value %d = %g with Rows4, %g with Span", opt, i, got[i], want[i])
			}
		}
	}
}
