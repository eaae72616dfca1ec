//go:build goexperiment.simd && amd64

package snn

import (
	"math/bits"
	"simd/archsimd"
)

// With GOEXPERIMENT=simd on amd64 the kernels use 8-wide AVX2 vectors when the CPU has them, and 16-wide
// AVX-512 ones in the matrix product when it has those. The elementwise kernels do the same float32
// operations in the same order as the portable ones (Go does not fuse a*b+c on amd64), so they give
// identical results; mulRows fuses its multiply-adds, so it rounds differently from mulRowsGo.

// hasAVX2 and hasAVX512 say which vector instructions the CPU has; they never change.
var (
	hasAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
	hasAVX512 = hasAVX2 && archsimd.X86.AVX512()
)

// Kernels names the kernels in use: "go" (portable), "avx2" or "avx512" (AVX-512 in the matrix
// product, AVX2 elsewhere).
func Kernels() string {
	switch {
	case hasAVX512:
		return "avx512"
	case hasAVX2:
		return "avx2"
	}
	return "go"
}

func addTo(dst, src []float32) {
	if !hasAVX2 {
		addToGo(dst, src)
		return
	}
	n := len(dst)
	src = src[:n]
	k := 0
	for ; k+32 <= n; k += 32 {
		a0 := archsimd.LoadFloat32x8Slice(dst[k:]).Add(archsimd.LoadFloat32x8Slice(src[k:]))
		a1 := archsimd.LoadFloat32x8Slice(dst[k+8:]).Add(archsimd.LoadFloat32x8Slice(src[k+8:]))
		a2 := archsimd.LoadFloat32x8Slice(dst[k+16:]).Add(archsimd.LoadFloat32x8Slice(src[k+16:]))
		a3 := archsimd.LoadFloat32x8Slice(dst[k+24:]).Add(archsimd.LoadFloat32x8Slice(src[k+24:]))
		a0.StoreSlice(dst[k:])
		a1.StoreSlice(dst[k+8:])
		a2.StoreSlice(dst[k+16:])
		a3.StoreSlice(dst[k+24:])
	}
	for ; k+8 <= n; k += 8 {
		archsimd.LoadFloat32x8Slice(dst[k:]).Add(archsimd.LoadFloat32x8Slice(src[k:])).StoreSlice(dst[k:])
	}
	addToGo(dst[k:], src[k:])
}

// addRows: see addRowsGo. The destination is taken 64 values at a time and kept in registers while the
// rows are added, in the same order as addRowsGo, so the results are identical.
func addRows(dst, w []float32, stride, lo int, idx []int32) {
	n := len(dst)
	if !hasAVX2 || n < 64 {
		addRowsGo(dst, w, stride, lo, idx)
		return
	}
	c := 0
	for ; c+64 <= n; c += 64 {
		d := dst[c : c+64]
		a0, a1, a2, a3 := archsimd.LoadFloat32x8Slice(d), archsimd.LoadFloat32x8Slice(d[8:]), archsimd.LoadFloat32x8Slice(d[16:]), archsimd.LoadFloat32x8Slice(d[24:])
		a4, a5, a6, a7 := archsimd.LoadFloat32x8Slice(d[32:]), archsimd.LoadFloat32x8Slice(d[40:]), archsimd.LoadFloat32x8Slice(d[48:]), archsimd.LoadFloat32x8Slice(d[56:])
		for _, j := range idx {
			off := int(j)*stride + lo + c
			r := w[off : off+64]
			a0, a1 = a0.Add(archsimd.LoadFloat32x8Slice(r)), a1.Add(archsimd.LoadFloat32x8Slice(r[8:]))
			a2, a3 = a2.Add(archsimd.LoadFloat32x8Slice(r[16:])), a3.Add(archsimd.LoadFloat32x8Slice(r[24:]))
			a4, a5 = a4.Add(archsimd.LoadFloat32x8Slice(r[32:])), a5.Add(archsimd.LoadFloat32x8Slice(r[40:]))
			a6, a7 = a6.Add(archsimd.LoadFloat32x8Slice(r[48:])), a7.Add(archsimd.LoadFloat32x8Slice(r[56:]))
		}
		a0.StoreSlice(d)
		a1.StoreSlice(d[8:])
		a2.StoreSlice(d[16:])
		a3.StoreSlice(d[24:])
		a4.StoreSlice(d[32:])
		a5.StoreSlice(d[40:])
		a6.StoreSlice(d[48:])
		a7.StoreSlice(d[56:])
	}
	if c < n {
		for _, j := range idx {
			off := int(j)*stride + lo
			addTo(dst[c:], w[off+c:off+n])
		}
	}
}

// addToRows: see addToRowsGo. The source is taken 64 values at a time and kept in registers while it is
// added to every row.
func addToRows(w []float32, stride, lo int, idx []int32, src []float32) {
	n := len(src)
	if !hasAVX2 || n < 64 {
		addToRowsGo(w, stride, lo, idx, src)
		return
	}
	c := 0
	for ; c+64 <= n; c += 64 {
		s := src[c : c+64]
		s0, s1, s2, s3 := archsimd.LoadFloat32x8Slice(s), archsimd.LoadFloat32x8Slice(s[8:]), archsimd.LoadFloat32x8Slice(s[16:]), archsimd.LoadFloat32x8Slice(s[24:])
		s4, s5, s6, s7 := archsimd.LoadFloat32x8Slice(s[32:]), archsimd.LoadFloat32x8Slice(s[40:]), archsimd.LoadFloat32x8Slice(s[48:]), archsimd.LoadFloat32x8Slice(s[56:])
		for _, j := range idx {
			off := int(j)*stride + lo + c
			r := w[off : off+64]
			archsimd.LoadFloat32x8Slice(r).Add(s0).StoreSlice(r)
			archsimd.LoadFloat32x8Slice(r[8:]).Add(s1).StoreSlice(r[8:])
			archsimd.LoadFloat32x8Slice(r[16:]).Add(s2).StoreSlice(r[16:])
			archsimd.LoadFloat32x8Slice(r[24:]).Add(s3).StoreSlice(r[24:])
			archsimd.LoadFloat32x8Slice(r[32:]).Add(s4).StoreSlice(r[32:])
			archsimd.LoadFloat32x8Slice(r[40:]).Add(s5).StoreSlice(r[40:])
			archsimd.LoadFloat32x8Slice(r[48:]).Add(s6).StoreSlice(r[48:])
			archsimd.LoadFloat32x8Slice(r[56:]).Add(s7).StoreSlice(r[56:])
		}
	}
	if c < n {
		for _, j := range idx {
			off := int(j)*stride + lo
			addTo(w[off+c:off+n], src[c:])
		}
	}
}

func lifForward(c lifCoef, v, i, cur, vd []float32) {
	if !hasAVX2 {
		lifForwardGo(c, v, i, cur, vd)
		return
	}
	n := len(v)
	i, cur, vd = i[:n], cur[:n], vd[:n]
	am, as := archsimd.BroadcastFloat32x8(c.am), archsimd.BroadcastFloat32x8(c.as)
	vleak, vth, vreset := archsimd.BroadcastFloat32x8(c.vleak), archsimd.BroadcastFloat32x8(c.vth), archsimd.BroadcastFloat32x8(c.vreset)
	k := 0
	for ; k+8 <= n; k += 8 {
		vv, ii := archsimd.LoadFloat32x8Slice(v[k:]), archsimd.LoadFloat32x8Slice(i[k:])
		d := vv.Add(am.Mul(vleak.Sub(vv).Add(ii)))
		d.StoreSlice(vd[k:])
		ii.Sub(as.Mul(ii)).Add(archsimd.LoadFloat32x8Slice(cur[k:])).StoreSlice(i[k:])
		// Reset where d > vth: Merge keeps d where the mask is false.
		vreset.Merge(d, d.Greater(vth)).StoreSlice(v[k:])
	}
	lifForwardGo(c, v[k:], i[k:], cur[k:], vd[k:])
}

func lifBackward(c lifCoef, vd, gz, gv, gi []float32) {
	if !hasAVX2 {
		lifBackwardGo(c, vd, gz, gv, gi)
		return
	}
	n := len(gv)
	vd, gz, gi = vd[:n], gz[:n], gi[:n]
	am, om, os := archsimd.BroadcastFloat32x8(c.am), archsimd.BroadcastFloat32x8(1-c.am), archsimd.BroadcastFloat32x8(1-c.as)
	vth, vreset, alpha := archsimd.BroadcastFloat32x8(c.vth), archsimd.BroadcastFloat32x8(c.vreset), archsimd.BroadcastFloat32x8(c.alpha)
	one := archsimd.BroadcastFloat32x8(1)
	var zero archsimd.Float32x8
	k := 0
	for ; k+8 <= n; k += 8 {
		d := archsimd.LoadFloat32x8Slice(vd[k:])
		g := archsimd.LoadFloat32x8Slice(gv[k:])
		x := d.Sub(vth)
		abs := x.Max(zero.Sub(x))
		den := alpha.Mul(abs).Add(one)
		sg := one.Div(den.Mul(den))
		gd := archsimd.LoadFloat32x8Slice(gz[k:]).Add(g.Mul(vreset.Sub(d))).Mul(sg)
		gd = gd.Add(g.Masked(x.LessEqual(zero)))
		om.Mul(gd).StoreSlice(gv[k:])
		am.Mul(gd).Add(os.Mul(archsimd.LoadFloat32x8Slice(gi[k:]))).StoreSlice(gi[k:])
	}
	lifBackwardGo(c, vd[k:], gz[k:], gv[k:], gi[k:])
}

func liForward(c liCoef, v, i, cur, out []float32) { liForwardGo(c, v, i, cur, out) }
func liBackward(c liCoef, gout, gv, gi []float32)  { liBackwardGo(c, gout, gv, gi) }

func spikesAbove(dst []int32, vd []float32, vth float32, offset int32) []int32 {
	if !hasAVX2 {
		return spikesAboveGo(dst, vd, vth, offset)
	}
	th := archsimd.BroadcastFloat32x8(vth)
	n := len(vd)
	k := 0
	for ; k+8 <= n; k += 8 {
		m := archsimd.LoadFloat32x8Slice(vd[k:]).Greater(th).ToBits()
		for m != 0 {
			dst = append(dst, offset+int32(k+bits.TrailingZeros8(m)))
			m &= m - 1
		}
	}
	return spikesAboveGo(dst, vd[k:], vth, offset+int32(k))
}

// mulRows: see mulRowsGo. Every element is the same chain of fused multiply-adds c <- a[r, q] b[q, j] + c
// over q in increasing order, whatever the vector width and wherever it falls in the blocking, so the
// results do not depend on how the columns are split (nor on AVX-512 against AVX2).
func mulRows(dst []float32, ldd int, a []float32, m, k int, b []float32, ldb, jlo, jhi int) {
	switch {
	case hasAVX512:
		mulRows512(dst, ldd, a, m, k, b, ldb, jlo, jhi)
	case hasAVX2:
		mulRows256(dst, ldd, a, m, k, b, ldb, jlo, jhi)
	default:
		mulRowsGo(dst, ldd, a, m, k, b, ldb, jlo, jhi)
	}
}

// mulRows512 takes rows eight at a time and columns 16 at a time (eight 16-wide accumulators sharing
// one load of b per step of q; this shape compiles to the fastest loop, about twice the speed of four rows
// by 32 columns), then leftover rows one at a time; leftover columns use partial loads and stores.
func mulRows512(dst []float32, ldd int, a []float32, m, k int, b []float32, ldb, jlo, jhi int) {
	r := 0
	for ; r+8 <= m; r += 8 {
		j := jlo
		for ; j+16 <= jhi; j += 16 {
			var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x16
			for q := 0; q < k; q++ {
				v := archsimd.LoadFloat32x16Slice(b[q*ldb+j:])
				c0 = archsimd.BroadcastFloat32x16(a[r*k+q]).MulAdd(v, c0)
				c1 = archsimd.BroadcastFloat32x16(a[(r+1)*k+q]).MulAdd(v, c1)
				c2 = archsimd.BroadcastFloat32x16(a[(r+2)*k+q]).MulAdd(v, c2)
				c3 = archsimd.BroadcastFloat32x16(a[(r+3)*k+q]).MulAdd(v, c3)
				c4 = archsimd.BroadcastFloat32x16(a[(r+4)*k+q]).MulAdd(v, c4)
				c5 = archsimd.BroadcastFloat32x16(a[(r+5)*k+q]).MulAdd(v, c5)
				c6 = archsimd.BroadcastFloat32x16(a[(r+6)*k+q]).MulAdd(v, c6)
				c7 = archsimd.BroadcastFloat32x16(a[(r+7)*k+q]).MulAdd(v, c7)
			}
			c0.StoreSlice(dst[r*ldd+j:])
			c1.StoreSlice(dst[(r+1)*ldd+j:])
			c2.StoreSlice(dst[(r+2)*ldd+j:])
			c3.StoreSlice(dst[(r+3)*ldd+j:])
			c4.StoreSlice(dst[(r+4)*ldd+j:])
			c5.StoreSlice(dst[(r+5)*ldd+j:])
			c6.StoreSlice(dst[(r+6)*ldd+j:])
			c7.StoreSlice(dst[(r+7)*ldd+j:])
		}
		if j < jhi {
			w := jhi - j
			var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x16
			for q := 0; q < k; q++ {
				v := archsimd.LoadFloat32x16SlicePart(b[q*ldb+j : q*ldb+j+w])
				c0 = archsimd.BroadcastFloat32x16(a[r*k+q]).MulAdd(v, c0)
				c1 = archsimd.BroadcastFloat32x16(a[(r+1)*k+q]).MulAdd(v, c1)
				c2 = archsimd.BroadcastFloat32x16(a[(r+2)*k+q]).MulAdd(v, c2)
				c3 = archsimd.BroadcastFloat32x16(a[(r+3)*k+q]).MulAdd(v, c3)
				c4 = archsimd.BroadcastFloat32x16(a[(r+4)*k+q]).MulAdd(v, c4)
				c5 = archsimd.BroadcastFloat32x16(a[(r+5)*k+q]).MulAdd(v, c5)
				c6 = archsimd.BroadcastFloat32x16(a[(r+6)*k+q]).MulAdd(v, c6)
				c7 = archsimd.BroadcastFloat32x16(a[(r+7)*k+q]).MulAdd(v, c7)
			}
			c0.StoreSlicePart(dst[r*ldd+j : r*ldd+j+w])
			c1.StoreSlicePart(dst[(r+1)*ldd+j : (r+1)*ldd+j+w])
			c2.StoreSlicePart(dst[(r+2)*ldd+j : (r+2)*ldd+j+w])
			c3.StoreSlicePart(dst[(r+3)*ldd+j : (r+3)*ldd+j+w])
			c4.StoreSlicePart(dst[(r+4)*ldd+j : (r+4)*ldd+j+w])
			c5.StoreSlicePart(dst[(r+5)*ldd+j : (r+5)*ldd+j+w])
			c6.StoreSlicePart(dst[(r+6)*ldd+j : (r+6)*ldd+j+w])
			c7.StoreSlicePart(dst[(r+7)*ldd+j : (r+7)*ldd+j+w])
		}
	}
	for ; r < m; r++ {
		for j := jlo; j < jhi; j += 16 {
			w := min(16, jhi-j)
			var c archsimd.Float32x16
			for q := 0; q < k; q++ {
				c = archsimd.BroadcastFloat32x16(a[r*k+q]).MulAdd(archsimd.LoadFloat32x16SlicePart(b[q*ldb+j:q*ldb+j+w]), c)
			}
			c.StoreSlicePart(dst[r*ldd+j : r*ldd+j+w])
		}
	}
}

// mulRows256 is mulRows512 with 8-wide vectors: tiles of four rows by 16 columns.
func mulRows256(dst []float32, ldd int, a []float32, m, k int, b []float32, ldb, jlo, jhi int) {
	r := 0
	for ; r+4 <= m; r += 4 {
		a0, a1, a2, a3 := a[r*k:(r+1)*k], a[(r+1)*k:(r+2)*k], a[(r+2)*k:(r+3)*k], a[(r+3)*k:(r+4)*k]
		j := jlo
		for ; j+16 <= jhi; j += 16 {
			var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
			for q := 0; q < k; q++ {
				row := b[q*ldb+j : q*ldb+j+16]
				w0, w1 := archsimd.LoadFloat32x8Slice(row), archsimd.LoadFloat32x8Slice(row[8:])
				x := archsimd.BroadcastFloat32x8(a0[q])
				c00, c01 = x.MulAdd(w0, c00), x.MulAdd(w1, c01)
				x = archsimd.BroadcastFloat32x8(a1[q])
				c10, c11 = x.MulAdd(w0, c10), x.MulAdd(w1, c11)
				x = archsimd.BroadcastFloat32x8(a2[q])
				c20, c21 = x.MulAdd(w0, c20), x.MulAdd(w1, c21)
				x = archsimd.BroadcastFloat32x8(a3[q])
				c30, c31 = x.MulAdd(w0, c30), x.MulAdd(w1, c31)
			}
			c00.StoreSlice(dst[r*ldd+j:])
			c01.StoreSlice(dst[r*ldd+j+8:])
			c10.StoreSlice(dst[(r+1)*ldd+j:])
			c11.StoreSlice(dst[(r+1)*ldd+j+8:])
			c20.StoreSlice(dst[(r+2)*ldd+j:])
			c21.StoreSlice(dst[(r+2)*ldd+j+8:])
			c30.StoreSlice(dst[(r+3)*ldd+j:])
			c31.StoreSlice(dst[(r+3)*ldd+j+8:])
		}
		for ; j < jhi; j += 8 {
			w := min(8, jhi-j)
			var c0, c1, c2, c3 archsimd.Float32x8
			for q := 0; q < k; q++ {
				v := archsimd.LoadFloat32x8SlicePart(b[q*ldb+j : q*ldb+j+w])
				c0 = archsimd.BroadcastFloat32x8(a0[q]).MulAdd(v, c0)
				c1 = archsimd.BroadcastFloat32x8(a1[q]).MulAdd(v, c1)
				c2 = archsimd.BroadcastFloat32x8(a2[q]).MulAdd(v, c2)
				c3 = archsimd.BroadcastFloat32x8(a3[q]).MulAdd(v, c3)
			}
			c0.StoreSlicePart(dst[r*ldd+j : r*ldd+j+w])
			c1.StoreSlicePart(dst[(r+1)*ldd+j : (r+1)*ldd+j+w])
			c2.StoreSlicePart(dst[(r+2)*ldd+j : (r+2)*ldd+j+w])
			c3.StoreSlicePart(dst[(r+3)*ldd+j : (r+3)*ldd+j+w])
		}
	}
	for ; r < m; r++ {
		ar := a[r*k : (r+1)*k]
		for j := jlo; j < jhi; j += 8 {
			w := min(8, jhi-j)
			var c archsimd.Float32x8
			for q, s := range ar {
				c = archsimd.BroadcastFloat32x8(s).MulAdd(archsimd.LoadFloat32x8SlicePart(b[q*ldb+j:q*ldb+j+w]), c)
			}
			c.StoreSlicePart(dst[r*ldd+j : r*ldd+j+w])
		}
	}
}
