//go:build goexperiment.simd && amd64

package dense

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"simd/archsimd"

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
		tile(4, tiles[c:], cols, a, 4, h[i0+c:], k, 4, true)
	}
	for r := 0; r < 4; r++ {
		row, one := make([]float32, cols-5), make([]float32, cols)
		grad4(row, a[4*r:4*r+4], h, k, i0)
		for c := 0; c < cols; c += 32 {
			tile1(one[c:], a[4*r:4*r+4], h[i0+c:], k, 32, true)
		}
		for c := range row {
			if row[c] != tiles[r*cols+c] || one[c] != tiles[r*cols+c] {
				t.Fatalf("row %d column %d: grad4 %g, tile1 %g, tile %g", r, c, row[c], one[c], tiles[r*cols+c])
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
		hp := ws.packInputs(h, m, k, 2)
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

// TestTileAsmEqualsGo checks that the assembly tiles (eight and four rows) give the bits of the Go tile,
// starting from zero and from dst, with strides that are not the tile's width, for loop counts 0 to 40.
func TestTileAsmEqualsGo(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	const lda, ldb, ldd = 45, 37, 41
	for _, rows := range []int{8, 4} {
		for _, n := range []int{0, 1, 7, 40} {
			for _, init := range []bool{true, false} {
				t.Run(fmt.Sprintf("rows=%d/n=%d/init=%v", rows, n, init), func(t *testing.T) {
					a, b, d0 := random(rng, rows*lda), random(rng, max(1, n)*ldb), random(rng, rows*ldd)
					want, got := append([]float32{}, d0...), append([]float32{}, d0...)
					for r := 0; r < rows; r += 4 {
						tile4x32(want[r*ldd:], ldd, a[r*lda:][:n], a[(r+1)*lda:][:n], a[(r+2)*lda:][:n], a[(r+3)*lda:][:n], b, ldb, init)
					}
					tile(rows, got, ldd, a, lda, b, ldb, n, init)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("value %d (row %d, column %d) = %g, Go tile %g", i, i/ldd, i%ldd, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// tile4x32 is the register tile of four rows in Go (archsimd), as the kernels had it before the assembly
// tiles: it accumulates into dst[r*ldd : r*ldd+32], r < 4, the products sum_q a_r[q] b[q*ldb : q*ldb+32]
// over q < len(a0) (starting from zero when init is set, else from dst). The assembly tiles must give
// its bits.
func tile4x32(dst []float32, ldd int, a0, a1, a2, a3 []float32, b []float32, ldb int, init bool) {
	n := len(a0)
	d := func(i int) *[16]float32 { return (*[16]float32)(dst[(i/2)*ldd+16*(i%2):]) }
	var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x16
	if !init {
		c0, c1, c2, c3 = archsimd.LoadFloat32x16(d(0)), archsimd.LoadFloat32x16(d(1)), archsimd.LoadFloat32x16(d(2)), archsimd.LoadFloat32x16(d(3))
		c4, c5, c6, c7 = archsimd.LoadFloat32x16(d(4)), archsimd.LoadFloat32x16(d(5)), archsimd.LoadFloat32x16(d(6)), archsimd.LoadFloat32x16(d(7))
	}
	if n > 0 {
		_, _, _, _ = a1[n-1], a2[n-1], a3[n-1], b[(n-1)*ldb+31]
		p0, p1, p2, p3 := unsafe.Pointer(&a0[0]), unsafe.Pointer(&a1[0]), unsafe.Pointer(&a2[0]), unsafe.Pointer(&a3[0])
		pb, sb := unsafe.Pointer(&b[0]), uintptr(ldb)*4
		for q := uintptr(0); q < uintptr(n)*4; q += 4 {
			v := archsimd.LoadFloat32x16((*[16]float32)(pb))
			u := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 64)))
			s := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(p0, q)))
			c0, c1 = s.MulAdd(v, c0), s.MulAdd(u, c1)
			s = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(p1, q)))
			c2, c3 = s.MulAdd(v, c2), s.MulAdd(u, c3)
			s = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(p2, q)))
			c4, c5 = s.MulAdd(v, c4), s.MulAdd(u, c5)
			s = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(p3, q)))
			c6, c7 = s.MulAdd(v, c6), s.MulAdd(u, c7)
			pb = unsafe.Add(pb, sb)
		}
	}
	c0.Store(d(0))
	c1.Store(d(1))
	c2.Store(d(2))
	c3.Store(d(3))
	c4.Store(d(4))
	c5.Store(d(5))
	c6.Store(d(6))
	c7.Store(d(7))
}
