//go:build goexperiment.simd && amd64

package snn

import (
	"math/bits"
	"simd/archsimd"
)

// With GOEXPERIMENT=simd on amd64 the kernels use 8-wide AVX2 vectors (with FMA for the dot products)
// when the CPU has them. The elementwise kernels do the same float32 operations in the same order as the
// portable ones (Go does not fuse a*b+c on amd64), so they give identical results; dotRows sums in a
// different order (8 interleaved partial sums), identical for every element whatever the blocking.

// hasAVX2 is whether the CPU runs the vectorised kernels; it never changes.
var hasAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// Kernels names the kernels in use: "go" (portable) or "avx2".
func Kernels() string {
	if hasAVX2 {
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

// dotRows: see dotRowsGo. Rows are taken four at a time and columns two at a time, each of the eight
// dot products kept as eight partial sums over k = lane (mod 8); leftover rows and columns go through the
// same per-element arithmetic one at a time.
func dotRows(dst []float32, ldd int, a []float32, m, k int, b []float32, jlo, jhi int) {
	if !hasAVX2 || k < 8 {
		dotRowsGo(dst, ldd, a, m, k, b, jlo, jhi)
		return
	}
	kv := k &^ 7
	r := 0
	for ; r+4 <= m; r += 4 {
		a0, a1, a2, a3 := a[r*k:(r+1)*k], a[(r+1)*k:(r+2)*k], a[(r+2)*k:(r+3)*k], a[(r+3)*k:(r+4)*k]
		j := jlo
		for ; j+2 <= jhi; j += 2 {
			b0, b1 := b[j*k:(j+1)*k], b[(j+1)*k:(j+2)*k]
			var s00, s01, s10, s11, s20, s21, s30, s31 archsimd.Float32x8
			for q := 0; q < kv; q += 8 {
				w0, w1 := archsimd.LoadFloat32x8Slice(b0[q:]), archsimd.LoadFloat32x8Slice(b1[q:])
				x := archsimd.LoadFloat32x8Slice(a0[q:])
				s00, s01 = x.MulAdd(w0, s00), x.MulAdd(w1, s01)
				x = archsimd.LoadFloat32x8Slice(a1[q:])
				s10, s11 = x.MulAdd(w0, s10), x.MulAdd(w1, s11)
				x = archsimd.LoadFloat32x8Slice(a2[q:])
				s20, s21 = x.MulAdd(w0, s20), x.MulAdd(w1, s21)
				x = archsimd.LoadFloat32x8Slice(a3[q:])
				s30, s31 = x.MulAdd(w0, s30), x.MulAdd(w1, s31)
			}
			dst[r*ldd+j] = finishDot(s00, a0, b0, kv)
			dst[r*ldd+j+1] = finishDot(s01, a0, b1, kv)
			dst[(r+1)*ldd+j] = finishDot(s10, a1, b0, kv)
			dst[(r+1)*ldd+j+1] = finishDot(s11, a1, b1, kv)
			dst[(r+2)*ldd+j] = finishDot(s20, a2, b0, kv)
			dst[(r+2)*ldd+j+1] = finishDot(s21, a2, b1, kv)
			dst[(r+3)*ldd+j] = finishDot(s30, a3, b0, kv)
			dst[(r+3)*ldd+j+1] = finishDot(s31, a3, b1, kv)
		}
		for ; j < jhi; j++ {
			for q := 0; q < 4; q++ {
				dst[(r+q)*ldd+j] = dot1(a[(r+q)*k:(r+q+1)*k], b[j*k:(j+1)*k], kv)
			}
		}
	}
	for ; r < m; r++ {
		for j := jlo; j < jhi; j++ {
			dst[r*ldd+j] = dot1(a[r*k:(r+1)*k], b[j*k:(j+1)*k], kv)
		}
	}
}

// dot1 is one dot product with the arithmetic of dotRows' blocks.
func dot1(x, y []float32, kv int) float32 {
	var s archsimd.Float32x8
	for q := 0; q < kv; q += 8 {
		s = archsimd.LoadFloat32x8Slice(x[q:]).MulAdd(archsimd.LoadFloat32x8Slice(y[q:]), s)
	}
	return finishDot(s, x, y, kv)
}

// finishDot adds the eight partial sums of s in a fixed order, then the products of x and y past kv.
func finishDot(s archsimd.Float32x8, x, y []float32, kv int) float32 {
	var p [8]float32
	s.Store(&p)
	t := ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
	for q := kv; q < len(x); q++ {
		t += x[q] * y[q]
	}
	return t
}
