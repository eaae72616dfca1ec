//go:build goexperiment.simd && amd64

package dense

import (
	"simd/archsimd"
	"unsafe"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// The vector kernels, 16-wide AVX-512: Go's simd package, and the products' register tiles in assembly
// (tiles_amd64.s, see tile): eight or four rows by 32 columns, one broadcast of a by two loads of b per
// step (docs/speed.md lists the shapes tried with their measurements).

var hasAVX512 = archsimd.X86.AVX512() && archsimd.X86.FMA()

// Accelerated reports whether the vector kernels run (GOEXPERIMENT=simd on amd64, a CPU with AVX-512).
func Accelerated() bool { return hasAVX512 }

// tiledRows is the batch size from which Linear uses the register tiles rather than dot products.
const tiledRows = 16

// linearPanel is the number of inputs (q) a pass of the tiled Linear covers, so that the panel of x
// transposed that the tiles read stays in the L2 cache.
const linearPanel = 256

func (ws *Workspace) linear(out, x, w, b []float32, m, n, k, workers int) {
	switch {
	case !hasAVX512:
		linearGo(out, x, w, b, m, n, k, workers)
	case m >= tiledRows:
		ws.linearTiled(out, x, w, b, m, n, k, workers)
	default:
		ws.linearDot(out, x, w, b, m, n, k, workers)
	}
}

// linearTiled computes out^T [n, mp] = w [n, k] x^T [k, mp], x transposed and padded with zeros to mp, a
// multiple of 32 columns, with tiles of eight weight rows by 32 batch rows; every output is one chain of
// fused multiply-adds over q in increasing order.
func (ws *Workspace) linearTiled(out, x, w, b []float32, m, n, k, workers int) {
	f := ws.newTiled(out, x, w, b, m, n, k, workers)
	parallel((n+blockRows-1)/blockRows, workers, func(lo, hi int) { f.rows(blockRows*lo, min(blockRows*hi, n), 0, k) })
	f.finish()
}

// tiled is the tiled product as a forward: x transposed and padded in tiles of 32 batch rows (xt) and
// the outputs transposed (outT, [n, mp]).
type tiled struct {
	out, w, b, xt, outT []float32
	m, mp, n, k         int
	workers             int
	upper               bool // only the tiles on and above the diagonal (Gram)
}

// newTiled prepares the tiled product, transposing x with up to workers goroutines.
func (ws *Workspace) newTiled(out, x, w, b []float32, m, n, k, workers int) *tiled {
	mp := (m + 31) &^ 31
	// x transposed in tiles of 32 batch rows: tile j holds, for every input q, the 32 values
	// x[32j .. 32j+31, q] in a row (zeros past m), so that a product tile reads it sequentially.
	xt := grow(&ws.xt, k*mp)
	parallel((k+255)/256, workers, func(lo, hi int) {
		q0, q1 := 256*lo, min(256*hi, k)
		for j := 0; j < mp/32; j++ {
			tile := xt[j*k*32 : (j+1)*k*32]
			rows := min(32, m-32*j)
			transpose(tile[q0*32:], 32, x[32*j*k+q0:], k, rows, q1-q0, nil)
			for q := q0; rows < 32 && q < q1; q++ {
				clear(tile[q*32+rows : q*32+32])
			}
		}
	})
	return &tiled{out: out, w: w, b: b, xt: xt, outT: grow(&ws.outT, n*mp), m: m, mp: mp, n: n, k: k, workers: workers}
}

func (f *tiled) panels() bool { return true }

// rows runs the tiles of weight rows [o0, o1) over inputs [q0, q1), a panel of linearPanel inputs at a
// time so that the panel of xt stays in the L2 cache: blocks of eight rows, then four, then one.
func (f *tiled) rows(o0, o1, q0, q1 int) {
	w, xt, outT, k, mp := f.w, f.xt, f.outT, f.k, f.mp
	for p0 := q0; p0 < q1; p0 += linearPanel {
		nq := min(linearPanel, q1-p0)
		for o := o0; o < o1; {
			rows := 1
			switch {
			case o+8 <= o1:
				rows = 8
			case o+4 <= o1:
				rows = 4
			}
			j0 := 0
			if f.upper {
				j0 = o &^ 31
			}
			for j := j0; j < mp; j += 32 {
				if rows == 1 {
					tile1(outT[o*mp+j:], w[o*k+p0:][:nq], xt[(j*k+p0*32):], 32, 32, p0 == 0)
				} else {
					tile(rows, outT[o*mp+j:], mp, w[o*k+p0:], k, xt[(j*k+p0*32):], 32, nq, p0 == 0)
				}
			}
			o += rows
		}
	}
}

// finish writes out[r, o] = outT[o, r] + b[o].
func (f *tiled) finish() {
	parallel((f.n+15)/16, f.workers, func(lo, hi int) {
		o0, o1 := 16*lo, min(16*hi, f.n)
		var b []float32
		if f.b != nil {
			b = f.b[o0:o1]
		}
		transpose(f.out[o0:], f.n, f.outT[o0*f.mp:], f.mp, o1-o0, f.m, b)
	})
}

func (ws *Workspace) gram(out, x []float32, m, k, workers int) {
	if !hasAVX512 || m < tiledRows {
		ws.linear(out, x, x, nil, m, m, k, workers)
		return
	}
	f := ws.newTiled(out, x, x, nil, m, m, k, workers)
	f.upper = true
	// The lower rows have fewer tiles; the workers take blocks as they become free (parallel).
	parallel((m+blockRows-1)/blockRows, workers, func(lo, hi int) { f.rows(blockRows*lo, min(blockRows*hi, m), 0, k) })
	for o := 0; o < m; o++ {
		for r := 0; r < m; r++ {
			if r < o&^31 {
				out[o*m+r] = f.outT[r*f.mp+o]
			} else {
				out[o*m+r] = f.outT[o*f.mp+r]
			}
		}
	}
}

// newForward returns the product UpdateLinear computes rows at a time: the tiles from tiledRows batch
// rows, else dot products (whose rows take the whole input at once).
func (ws *Workspace) newForward(out, x, w, b []float32, m, n, k, workers int) forward {
	switch {
	case !hasAVX512:
		return nil
	case m >= tiledRows:
		return ws.newTiled(out, x, w, b, m, n, k, workers)
	}
	return ws.newDot(out, x, w, b, m, n, k)
}

// matMul is MatMul with the register tiles: blocks of eight rows of a (split between workers) by 32
// columns of b, read in place (row stride n); the last columns one row at a time with partial loads.
func matMul(out, a, b []float32, m, n, k, workers int) {
	if !hasAVX512 {
		matMulGo(out, a, b, m, n, k, workers)
		return
	}
	full := n &^ 31
	parallel((m+blockRows-1)/blockRows, workers, func(lo, hi int) {
		for r := blockRows * lo; r < min(blockRows*hi, m); {
			rows := tileRowsFor(min(blockRows*hi, m) - r)
			for j := 0; j < full; j += 32 {
				if rows == 1 {
					tile1(out[r*n+j:], a[r*k:(r+1)*k], b[j:], n, 32, true)
				} else {
					tile(rows, out[r*n+j:], n, a[r*k:], k, b[j:], n, k, true)
				}
			}
			if full < n {
				for i := r; i < r+rows; i++ {
					tile1(out[i*n+full:], a[i*k:(i+1)*k], b[full:], n, n-full, true)
				}
			}
			r += rows
		}
	})
}

// linearDot computes each output as a dot product over 16-wide lanes, two weight rows by four batch rows
// at a time, the lanes added at the end in a fixed order: for small batches, whose cost is reading w.
func (ws *Workspace) linearDot(out, x, w, b []float32, m, n, k, workers int) {
	f := ws.newDot(out, x, w, b, m, n, k)
	parallel((n+blockRows-1)/blockRows, workers, func(lo, hi int) { f.rows(blockRows*lo, min(blockRows*hi, n), 0, k) })
}

// dots is the dot-product form of the product: x padded with zero rows to a multiple of four (xp).
type dots struct {
	out, w, b, xp []float32
	m, mp, n, k   int
}

func (ws *Workspace) newDot(out, x, w, b []float32, m, n, k int) *dots {
	mp := (m + 3) &^ 3
	xp := x
	if mp != m {
		xp = grow(&ws.xt, mp*k)
		copy(xp, x[:m*k])
		clear(xp[m*k:])
	}
	return &dots{out: out, w: w, b: b, xp: xp, m: m, mp: mp, n: n, k: k}
}

func (f *dots) panels() bool { return false }
func (f *dots) finish()      {}

// rows computes the outputs of weight rows [o0, o1) (o0 even) over the whole input.
func (f *dots) rows(o0, o1, _, _ int) {
	w, xp, k, n := f.w, f.xp, f.k, f.n
	var sums [8]float32
	for o := o0; o < o1; o += 2 {
		w0 := w[o*k : (o+1)*k]
		w1 := w0
		if o+1 < o1 {
			w1 = w[(o+1)*k : (o+2)*k]
		}
		for r0 := 0; r0 < f.mp; r0 += 4 {
			dot2x4(&sums, w0, w1, xp[r0*k:(r0+1)*k], xp[(r0+1)*k:(r0+2)*k], xp[(r0+2)*k:(r0+3)*k], xp[(r0+3)*k:(r0+4)*k])
			for i := 0; i < 8; i++ {
				oo, r := o+i/4, r0+i%4
				if oo >= o1 || r >= f.m {
					continue
				}
				s := sums[i]
				if f.b != nil {
					s += f.b[oo]
				}
				f.out[r*n+oo] = s
			}
		}
	}
}

// dot2x4 sets sums[4*i + j] = <w_i, x_j> for the weight rows w0, w1 and batch rows x0..x3 (all of the same
// length): 16 lanes of fused multiply-adds over the inputs in order, the lanes then added pairwise.
func dot2x4(sums *[8]float32, w0, w1, x0, x1, x2, x3 []float32) {
	k := len(w0)
	w1, x0, x1, x2, x3 = w1[:k], x0[:k], x1[:k], x2[:k], x3[:k]
	var c00, c01, c02, c03, c10, c11, c12, c13 archsimd.Float32x16
	full := k &^ 15
	if full > 0 {
		pw0, pw1 := unsafe.Pointer(&w0[0]), unsafe.Pointer(&w1[0])
		px0, px1, px2, px3 := unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0]), unsafe.Pointer(&x2[0]), unsafe.Pointer(&x3[0])
		ld := func(p unsafe.Pointer, o uintptr) archsimd.Float32x16 {
			return archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, o)))
		}
		for o := uintptr(0); o < uintptr(full)*4; o += 64 {
			u0, u1 := ld(pw0, o), ld(pw1, o)
			v := ld(px0, o)
			c00, c10 = v.MulAdd(u0, c00), v.MulAdd(u1, c10)
			v = ld(px1, o)
			c01, c11 = v.MulAdd(u0, c01), v.MulAdd(u1, c11)
			v = ld(px2, o)
			c02, c12 = v.MulAdd(u0, c02), v.MulAdd(u1, c12)
			v = ld(px3, o)
			c03, c13 = v.MulAdd(u0, c03), v.MulAdd(u1, c13)
		}
	}
	if q := full; q < k {
		u0 := archsimd.LoadFloat32x16SlicePart(w0[q:])
		u1 := archsimd.LoadFloat32x16SlicePart(w1[q:])
		v := archsimd.LoadFloat32x16SlicePart(x0[q:])
		c00, c10 = v.MulAdd(u0, c00), v.MulAdd(u1, c10)
		v = archsimd.LoadFloat32x16SlicePart(x1[q:])
		c01, c11 = v.MulAdd(u0, c01), v.MulAdd(u1, c11)
		v = archsimd.LoadFloat32x16SlicePart(x2[q:])
		c02, c12 = v.MulAdd(u0, c02), v.MulAdd(u1, c12)
		v = archsimd.LoadFloat32x16SlicePart(x3[q:])
		c03, c13 = v.MulAdd(u0, c03), v.MulAdd(u1, c13)
	}
	sums[0], sums[1], sums[2], sums[3] = hsum(c00), hsum(c01), hsum(c02), hsum(c03)
	sums[4], sums[5], sums[6], sums[7] = hsum(c10), hsum(c11), hsum(c12), hsum(c13)
}

// hsum adds the 16 lanes of v pairwise: halves, then halves again, in a fixed order.
func hsum(v archsimd.Float32x16) float32 {
	h := v.GetLo().Add(v.GetHi())
	q := h.GetLo().Add(h.GetHi())
	var t [4]float32
	q.Store(&t)
	return (t[0] + t[2]) + (t[1] + t[3])
}

// gradBlock: see gradBlockGo. Tiles of eight, four and one rows by 32 columns; the last columns with
// partial loads. Every value is a chain of fused multiply-adds over q in increasing order, wherever it
// falls in the blocking.
func gradBlock(g []float32, ldg int, a []float32, m, rows int, h []float32, k, i0, cols int) {
	if !hasAVX512 {
		gradBlockGo(g, ldg, a, m, rows, h, k, i0, cols)
		return
	}
	if m == 4 {
		for r := 0; r < rows; r++ {
			grad4(g[r*ldg:r*ldg+cols], a[r*4:r*4+4], h, k, i0)
		}
		return
	}
	full := cols &^ 31
	for r := 0; r < rows; {
		n := tileRowsFor(rows - r)
		for c := 0; c < full; c += 32 {
			if n == 1 {
				tile1(g[r*ldg+c:], a[r*m:(r+1)*m], h[i0+c:], k, 32, true)
			} else {
				tile(n, g[r*ldg+c:], ldg, a[r*m:], m, h[i0+c:], k, m, true)
			}
		}
		r += n
	}
	if full < cols {
		for r := 0; r < rows; r++ {
			tile1(g[r*ldg+full:], a[r*m:(r+1)*m], h[i0+full:], k, cols-full, true)
		}
	}
}

// tileRowsFor returns the rows of the largest tile (8, 4 or 1) that fits in rows.
func tileRowsFor(rows int) int {
	switch {
	case rows >= 8:
		return 8
	case rows >= 4:
		return 4
	}
	return 1
}

// packInputs returns h [m, k] packed for gradBlockPacked, or nil where gradBlock reads h as it is (no
// AVX-512, or a batch of four, whose rows grad4 reads directly). The packed layout is h's columns in
// tiles of 32, each tile's m rows of 32 values in a row (the last tile padded with zeros): the tiles
// read it sequentially instead of one row of h every 4k bytes, which is faster (docs/speed.md).
func (ws *Workspace) packInputs(h []float32, m, k, workers int) []float32 {
	if !hasAVX512 || m == 4 {
		return nil
	}
	tiles := (k + 31) / 32
	hp := grow(&ws.hp, tiles*m*32)
	parallel(tiles, workers, func(lo, hi int) { packTiles(hp, h, m, k, lo, hi) })
	return hp
}

// packTiles packs tiles [t0, t1) of h for packInputs.
func packTiles(hp, h []float32, m, k, t0, t1 int) {
	for t := t0; t < t1; t++ {
		c0, w := 32*t, min(32, k-32*t)
		for q := 0; q < m; q++ {
			dst := hp[(t*m+q)*32 : (t*m+q)*32+32]
			copy(dst, h[q*k+c0:q*k+c0+w])
			clear(dst[w:])
		}
	}
}

// gradBlockPacked is gradBlock on inputs packed by packInputs (i0 a multiple of 32, and g with room for
// cols rounded up to 32): the same chains of fused multiply-adds, so the same bits.
func gradBlockPacked(g []float32, ldg int, a []float32, m, rows int, hp []float32, i0, cols int) {
	for c := 0; c < cols; c += 32 {
		b := hp[((i0+c)/32)*m*32:]
		for r := 0; r < rows; {
			n := tileRowsFor(rows - r)
			if n == 1 {
				tile1(g[r*ldg+c:], a[r*m:(r+1)*m], b, 32, 32, true)
			} else {
				tile(n, g[r*ldg+c:], ldg, a[r*m:], m, b, 32, m, true)
			}
			r += n
		}
	}
}

// grad4 is a row of gradBlock for a batch of four: g[c] = sum_q a[q] h[q*k + i0 + c], the four
// coefficients broadcast once for the whole row (the same chain of fused multiply-adds as the tiles).
func grad4(g []float32, a []float32, h []float32, k, i0 int) {
	n := len(g)
	s0, s1, s2, s3 := archsimd.BroadcastFloat32x16(a[0]), archsimd.BroadcastFloat32x16(a[1]), archsimd.BroadcastFloat32x16(a[2]), archsimd.BroadcastFloat32x16(a[3])
	h0, h1, h2, h3 := h[i0:i0+n], h[k+i0:k+i0+n], h[2*k+i0:2*k+i0+n], h[3*k+i0:3*k+i0+n]
	var zero archsimd.Float32x16
	full := n &^ 15
	if full > 0 {
		p0, p1, p2, p3, pg := unsafe.Pointer(&h0[0]), unsafe.Pointer(&h1[0]), unsafe.Pointer(&h2[0]), unsafe.Pointer(&h3[0]), unsafe.Pointer(&g[0])
		for o := uintptr(0); o < uintptr(full)*4; o += 64 {
			v := s0.MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p0, o))), zero)
			v = s1.MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p1, o))), v)
			v = s2.MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p2, o))), v)
			v = s3.MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p3, o))), v)
			v.Store((*[16]float32)(unsafe.Add(pg, o)))
		}
	}
	if c := full; c < n {
		v := s0.MulAdd(archsimd.LoadFloat32x16SlicePart(h0[c:]), zero)
		v = s1.MulAdd(archsimd.LoadFloat32x16SlicePart(h1[c:]), v)
		v = s2.MulAdd(archsimd.LoadFloat32x16SlicePart(h2[c:]), v)
		v = s3.MulAdd(archsimd.LoadFloat32x16SlicePart(h3[c:]), v)
		v.StoreSlicePart(g[c:])
	}
}

// tile accumulates into dst[r*ldd : r*ldd+32], r < rows (8 or 4), the products
// sum_q a[r*lda + q] b[q*ldb : q*ldb+32] over q < n, starting from zero when init is set, else from dst:
// one register tile of the assembly kernels (tiles_amd64.s), after checking once that every value it
// reads or writes is in its slice.
//
// The tiles are hand-written in assembly because Go's code generation caps them: its register allocator
// keeps about fifteen vectors in registers, so a tile held at most eight accumulators (four rows), and
// MulAdd writing its receiver made the loop move accumulators between registers; the Go tile ran at
// ~75% of the core's fused multiply-add peak, the assembly ones at ~95% (docs/speed.md). Every output is
// the same chain of fused multiply-adds over q in increasing order as in the Go tile, so the bits are the
// same (TestTileAsmEqualsGo).
func tile(rows int, dst []float32, ldd int, a []float32, lda int, b []float32, ldb int, n int, init bool) {
	_ = dst[(rows-1)*ldd+31]
	if n > 0 {
		_, _ = a[(rows-1)*lda+n-1], b[(n-1)*ldb+31]
	}
	pa, pb := &dst[0], &dst[0] // not read when n == 0
	if n > 0 {
		pa, pb = &a[0], &b[0]
	}
	switch rows {
	case 8:
		tile8x32asm(&dst[0], ldd, pa, lda, pb, ldb, n, init)
	case 4:
		tile4x32asm(&dst[0], ldd, pa, lda, pb, ldb, n, init)
	default:
		panic("dense: tile of other than 8 or 4 rows")
	}
}

//go:noescape
func tile8x32asm(dst *float32, ldd int, a *float32, lda int, b *float32, ldb int, n int, init bool)

// hasTileMomentum reports whether tileMomentum runs (it needs the assembly tiles).
var hasTileMomentum = hasAVX512

// tileMomentum forms the gradient of eight weight rows by 32 columns, sum_q a[r*lda + q] b[q*32 : q*32+32]
// over q < n (n >= 1), as tile does from zero, and applies SGD with momentum to the weights w[r*ldw :
// r*ldw+32] and velocities v (same layout) with it, as optim's momentumSpan does: the same bits as tile
// then momentumSpan, without storing the gradient. Unless pf is 0, it first asks the CPU for the same
// rows and columns of w and v pf values further on (w[pf:], v[pf:]), which the next tiles update.
func tileMomentum(w, v []float32, ldw int, a []float32, lda int, b []float32, n int, c optim.MomentumCoef, pf int) {
	_, _ = w[7*ldw+31], v[7*ldw+31]
	_, _ = a[7*lda+n-1], b[(n-1)*32+31]
	if pf != 0 {
		_, _ = w[pf+7*ldw+31], v[pf+7*ldw+31]
	}
	tile8x32momAsm(&w[0], &v[0], ldw, &a[0], lda, &b[0], 32, n, c.LR, c.Mu, c.Coef, 4*pf)
}

//go:noescape
func tile8x32momAsm(w *float32, v *float32, ldw int, a *float32, lda int, b *float32, ldb int, n int, lr, mu, coef float32, pf int)

//go:noescape
func tile4x32asm(dst *float32, ldd int, a *float32, lda int, b *float32, ldb int, n int, init bool)

// tile1 is tile for one row and the first w <= 32 columns.
func tile1(dst []float32, a0 []float32, b []float32, ldb, w int, init bool) {
	w0, w1 := min(w, 16), max(0, w-16)
	var c0, c1 archsimd.Float32x16
	if !init {
		c0 = archsimd.LoadFloat32x16SlicePart(dst[:w0])
		if w1 > 0 {
			c1 = archsimd.LoadFloat32x16SlicePart(dst[16 : 16+w1])
		}
	}
	for q, s := range a0 {
		row := b[q*ldb:]
		bs := archsimd.BroadcastFloat32x16(s)
		c0 = bs.MulAdd(archsimd.LoadFloat32x16SlicePart(row[:w0]), c0)
		if w1 > 0 {
			c1 = bs.MulAdd(archsimd.LoadFloat32x16SlicePart(row[16:16+w1]), c1)
		}
	}
	c0.StoreSlicePart(dst[:w0])
	if w1 > 0 {
		c1.StoreSlicePart(dst[16 : 16+w1])
	}
}

// prefetchRows asks the CPU to bring s[off + r*stride : off + r*stride + n], r < rows, into its caches
// (nothing for a nil s), without waiting for it: Update calls it for the weights and optimiser state that
// the optimiser step will read once the gradient block is formed, so that the memory reads overlap the
// product's arithmetic instead of stalling the step (docs/speed.md).
func prefetchRows(s []float32, off, stride, rows, n int) {
	if s == nil || rows <= 0 || n <= 0 {
		return
	}
	_ = s[off+(rows-1)*stride+n-1]
	prefetchRowsAsm(&s[off], 4*stride, rows, 4*n)
}

//go:noescape
func prefetchRowsAsm(p *float32, stride int, rows int, bytes int)

// reluVec is ReLU on the first multiple of 16 values; it returns how many it did. Where x <= 0 (-0
// included, NaN not) the result is 0, else x: Go's max(x, 0).
func reluVec(dst, src []float32) int {
	n := len(dst) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	pd, ps := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	var zero archsimd.Float32x16
	for o := uintptr(0); o < uintptr(n)*4; o += 64 {
		x := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(ps, o)))
		zero.Merge(x, x.LessEqual(zero)).Store((*[16]float32)(unsafe.Add(pd, o)))
	}
	return n
}

// maskVec is stepProduct on the first multiple of 16 values; it returns how many it did.
func maskVec(dst, s, a []float32, atZero float32) int {
	n := len(dst) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	pd, ps, pa := unsafe.Pointer(&dst[0]), unsafe.Pointer(&s[0]), unsafe.Pointer(&a[0])
	var zero archsimd.Float32x16
	one := archsimd.BroadcastFloat32x16(1)
	inclusive := atZero == 1
	for o := uintptr(0); o < uintptr(n)*4; o += 64 {
		x := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pa, o)))
		keep := x.Greater(zero)
		if inclusive {
			keep = x.GreaterEqual(zero)
		}
		archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(ps, o))).Mul(one.Masked(keep)).Store((*[16]float32)(unsafe.Add(pd, o)))
	}
	return n
}

// clampVec is Clamp on the first multiple of 16 values; it returns how many it did. A value above c
// becomes c, one below -c becomes -c, any other (NaN, -0 included) stays: min(max(x, -c), c) for c >= 0.
func clampVec(s []float32, c float32) int {
	n := len(s) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	p := unsafe.Pointer(&s[0])
	hi, lo := archsimd.BroadcastFloat32x16(c), archsimd.BroadcastFloat32x16(-c)
	for o := uintptr(0); o < uintptr(n)*4; o += 64 {
		x := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, o)))
		y := hi.Merge(x, x.Greater(hi))
		lo.Merge(y, x.Less(lo)).Store((*[16]float32)(unsafe.Add(p, o)))
	}
	return n
}

// transpose16 transposes one 16 x 16 block for transpose (dst[c*ldd + r] = src[r*lds + c] + add[r]) in
// registers (tiles_amd64.s), after checking the slices once; false without AVX-512.
func transpose16(dst []float32, ldd int, src []float32, lds int, add []float32) bool {
	if !hasAVX512 {
		return false
	}
	_, _ = dst[15*ldd+15], src[15*lds+15]
	var pa *float32
	if add != nil {
		_ = add[15]
		pa = &add[0]
	}
	transpose16asm(&dst[0], ldd, &src[0], lds, pa)
	return true
}

//go:noescape
func transpose16asm(dst *float32, ldd int, src *float32, lds int, add *float32)
