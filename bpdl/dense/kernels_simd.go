//go:build goexperiment.simd && amd64

package dense

import (
	"simd/archsimd"
	"unsafe"
)

// The vector kernels, 16-wide AVX-512. Go's register allocator keeps about fifteen vectors in registers,
// so the product tiles hold eight accumulators: four rows by 32 columns, one broadcast of a by two loads
// of b per step, the fastest of the shapes tried (docs/speed.md lists them with their measurements).

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
// multiple of 32 columns, with tiles of four weight rows by 32 batch rows; every output is one chain of
// fused multiply-adds over q in increasing order.
func (ws *Workspace) linearTiled(out, x, w, b []float32, m, n, k, workers int) {
	f := ws.newTiled(out, x, w, b, m, n, k)
	parallel((n+3)/4, workers, func(lo, hi int) { f.rows(4*lo, min(4*hi, n), 0, k) })
	f.finish()
}

// tiled is the tiled product as a forward: x transposed and padded in tiles of 32 batch rows (xt) and
// the outputs transposed (outT, [n, mp]).
type tiled struct {
	out, w, b, xt, outT []float32
	m, mp, n, k         int
	upper               bool // only the tiles on and above the diagonal (Gram)
}

func (ws *Workspace) newTiled(out, x, w, b []float32, m, n, k int) *tiled {
	mp := (m + 31) &^ 31
	// x transposed in tiles of 32 batch rows: tile j holds, for every input q, the 32 values
	// x[32j .. 32j+31, q] in a row (zeros past m), so that a product tile reads it sequentially.
	xt := grow(&ws.xt, k*mp)
	for j := 0; j < mp/32; j++ {
		tile := xt[j*k*32 : (j+1)*k*32]
		for c := 0; c < 32; c++ {
			r := 32*j + c
			if r >= m {
				for q := 0; q < k; q++ {
					tile[q*32+c] = 0
				}
				continue
			}
			xr := x[r*k : (r+1)*k]
			for q, v := range xr {
				tile[q*32+c] = v
			}
		}
	}
	return &tiled{out: out, w: w, b: b, xt: xt, outT: grow(&ws.outT, n*mp), m: m, mp: mp, n: n, k: k}
}

func (f *tiled) panels() bool { return true }

// rows runs the tiles of weight rows [o0, o1) over inputs [q0, q1), a panel of linearPanel inputs at a
// time so that the panel of xt stays in the L2 cache.
func (f *tiled) rows(o0, o1, q0, q1 int) {
	w, xt, outT, k, mp := f.w, f.xt, f.outT, f.k, f.mp
	for p0 := q0; p0 < q1; p0 += linearPanel {
		nq := min(linearPanel, q1-p0)
		o := o0
		for ; o+4 <= o1; o += 4 {
			a0, a1, a2, a3 := w[o*k+p0:][:nq], w[(o+1)*k+p0:][:nq], w[(o+2)*k+p0:][:nq], w[(o+3)*k+p0:][:nq]
			j0 := 0
			if f.upper {
				j0 = o &^ 31
			}
			for j := j0; j < mp; j += 32 {
				tile4x32(outT[o*mp+j:], mp, a0, a1, a2, a3, xt[(j*k+p0*32):], 32, p0 == 0)
			}
		}
		for ; o < o1; o++ {
			j0 := 0
			if f.upper {
				j0 = o &^ 31
			}
			for j := j0; j < mp; j += 32 {
				tile1(outT[o*mp+j:], w[o*k+p0:][:nq], xt[(j*k+p0*32):], 32, 32, p0 == 0)
			}
		}
	}
}

// finish writes out[r, o] = outT[o, r] + b[o].
func (f *tiled) finish() {
	for o := 0; o < f.n; o++ {
		row := f.outT[o*f.mp : o*f.mp+f.m]
		if f.b != nil {
			for r, v := range row {
				f.out[r*f.n+o] = v + f.b[o]
			}
		} else {
			for r, v := range row {
				f.out[r*f.n+o] = v
			}
		}
	}
}

func (ws *Workspace) gram(out, x []float32, m, k, workers int) {
	if !hasAVX512 || m < tiledRows {
		ws.linear(out, x, x, nil, m, m, k, workers)
		return
	}
	f := ws.newTiled(out, x, x, nil, m, m, k)
	f.upper = true
	// Blocks dealt round-robin: the lower rows have fewer tiles.
	blocks := (m + 3) / 4
	parallelIndexed(workers, workers, func(p, _, _ int) {
		for blk := p; blk < blocks; blk += workers {
			f.rows(4*blk, min(4*blk+4, m), 0, k)
		}
	})
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
func (ws *Workspace) newForward(out, x, w, b []float32, m, n, k int) forward {
	switch {
	case !hasAVX512:
		return nil
	case m >= tiledRows:
		return ws.newTiled(out, x, w, b, m, n, k)
	}
	return ws.newDot(out, x, w, b, m, n, k)
}

// linearDot computes each output as a dot product over 16-wide lanes, two weight rows by four batch rows
// at a time, the lanes added at the end in a fixed order: for small batches, whose cost is reading w.
func (ws *Workspace) linearDot(out, x, w, b []float32, m, n, k, workers int) {
	f := ws.newDot(out, x, w, b, m, n, k)
	parallel((n+3)/4, workers, func(lo, hi int) { f.rows(4*lo, min(4*hi, n), 0, k) })
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

// gradBlock: see gradBlockGo. Four rows by 32 columns at a time, then one row at a time; the last
// columns with partial loads. Every value is a chain of fused multiply-adds over q in increasing order,
// wherever it falls in the blocking.
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
	if rows == 4 {
		a0, a1, a2, a3 := a[:m], a[m:2*m], a[2*m:3*m], a[3*m:4*m]
		for c := 0; c < full; c += 32 {
			tile4x32(g[c:], ldg, a0, a1, a2, a3, h[i0+c:], k, true)
		}
	} else {
		for r := 0; r < rows; r++ {
			for c := 0; c < full; c += 32 {
				tile1(g[r*ldg+c:], a[r*m:(r+1)*m], h[i0+c:], k, 32, true)
			}
		}
	}
	if full < cols {
		for r := 0; r < rows; r++ {
			tile1(g[r*ldg+full:], a[r*m:(r+1)*m], h[i0+full:], k, cols-full, true)
		}
	}
}

// packInputs returns h [m, k] packed for gradBlockPacked, or nil where gradBlock reads h as it is (no
// AVX-512, or a batch of four, whose rows grad4 reads directly). The packed layout is h's columns in
// tiles of 32, each tile's m rows of 32 values in a row (the last tile padded with zeros): the tiles
// read it sequentially instead of one row of h every 4k bytes, which is faster (docs/speed.md).
func (ws *Workspace) packInputs(h []float32, m, k int) []float32 {
	if !hasAVX512 || m == 4 {
		return nil
	}
	tiles := (k + 31) / 32
	hp := grow(&ws.hp, tiles*m*32)
	for t := 0; t < tiles; t++ {
		c0, w := 32*t, min(32, k-32*t)
		for q := 0; q < m; q++ {
			dst := hp[(t*m+q)*32 : (t*m+q)*32+32]
			copy(dst, h[q*k+c0:q*k+c0+w])
			clear(dst[w:])
		}
	}
	return hp
}

// gradBlockPacked is gradBlock on inputs packed by packInputs (i0 a multiple of 32, and g with room for
// cols rounded up to 32): the same chains of fused multiply-adds, so the same bits.
func gradBlockPacked(g []float32, ldg int, a []float32, m, rows int, hp []float32, i0, cols int) {
	for c := 0; c < cols; c += 32 {
		b := hp[((i0+c)/32)*m*32:]
		if rows == 4 {
			tile4x32(g[c:], ldg, a[:m], a[m:2*m], a[2*m:3*m], a[3*m:4*m], b, 32, true)
			continue
		}
		for r := 0; r < rows; r++ {
			tile1(g[r*ldg+c:], a[r*m:(r+1)*m], b, 32, 32, true)
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

// tile4x32 accumulates into dst[r*ldd : r*ldd+32], r < 4, the products sum_q a_r[q] b[q*ldb : q*ldb+32]
// over q < len(a0) (starting from zero when init is set, else from dst).
//
// The loop walks a and b with unsafe pointers, after checking the last element it reads of each: Go's
// bounds checks and slice arithmetic in the loop cost about a quarter of its speed (docs/speed.md).
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

// tile1 is tile4x32 for one row and the first w <= 32 columns.
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
