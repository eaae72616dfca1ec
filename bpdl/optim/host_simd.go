//go:build goexperiment.simd && amd64

package optim

import (
	"simd/archsimd"
	"unsafe"
)

// With GOEXPERIMENT=simd on amd64 the span kernels use 16-wide AVX-512 vectors, or 8-wide AVX2 ones, when
// the CPU has them. They do the operations of the portable kernels in the same order, without fused
// multiply-adds, so they give identical results (the vector square root is correctly rounded, as
// float32(math.Sqrt(float64(x))) is). The loops walk their slices with unsafe pointers after checking
// the lengths once: Go's per-iteration slicing and bounds checks otherwise cost more than the arithmetic.

var (
	hasAVX2   = archsimd.X86.AVX2()
	hasAVX512 = hasAVX2 && archsimd.X86.AVX512()
	// vectorFMA reports whether the Rows4Func kernels run: they need the vector fused multiply-add.
	vectorFMA = hasAVX512 && archsimd.X86.FMA()
)

// at16 returns a pointer to the 16 values of s starting at byte offset off.
func at16(s unsafe.Pointer, off uintptr) *[16]float32 { return (*[16]float32)(unsafe.Add(s, off)) }

// at8 returns a pointer to the 8 values of s starting at byte offset off.
func at8(s unsafe.Pointer, off uintptr) *[8]float32 { return (*[8]float32)(unsafe.Add(s, off)) }

// vectors returns how many values of an n-long span the vector loop covers, and the vector width.
func vectors(n int) (done, width int) {
	switch {
	case hasAVX512:
		return n &^ 15, 16
	case hasAVX2:
		return n &^ 7, 8
	}
	return 0, 1
}

func sgdSpan(p, g []float32, lr, coef float32) {
	n := len(p)
	g = g[:n]
	done, width := vectors(n)
	if done > 0 {
		pp, pg := unsafe.Pointer(&p[0]), unsafe.Pointer(&g[0])
		end := uintptr(done) * 4
		if width == 16 {
			vlr, vcoef := archsimd.BroadcastFloat32x16(lr), archsimd.BroadcastFloat32x16(coef)
			for o := uintptr(0); o < end; o += 64 {
				step := archsimd.LoadFloat32x16(at16(pg, o)).Mul(vcoef).Mul(vlr)
				archsimd.LoadFloat32x16(at16(pp, o)).Sub(step).Store(at16(pp, o))
			}
		} else {
			vlr, vcoef := archsimd.BroadcastFloat32x8(lr), archsimd.BroadcastFloat32x8(coef)
			for o := uintptr(0); o < end; o += 32 {
				step := archsimd.LoadFloat32x8(at8(pg, o)).Mul(vcoef).Mul(vlr)
				archsimd.LoadFloat32x8(at8(pp, o)).Sub(step).Store(at8(pp, o))
			}
		}
	}
	sgdSpanGo(p[done:], g[done:], lr, coef)
}

func momentumSpan(p, g, v []float32, lr, mu, coef float32) {
	n := len(p)
	g, v = g[:n], v[:n]
	done, width := vectors(n)
	if done > 0 {
		pp, pg, pv := unsafe.Pointer(&p[0]), unsafe.Pointer(&g[0]), unsafe.Pointer(&v[0])
		end := uintptr(done) * 4
		if width == 16 {
			vlr, vmu, vcoef := archsimd.BroadcastFloat32x16(lr), archsimd.BroadcastFloat32x16(mu), archsimd.BroadcastFloat32x16(coef)
			for o := uintptr(0); o < end; o += 64 {
				vv := archsimd.LoadFloat32x16(at16(pv, o)).Mul(vmu).Add(archsimd.LoadFloat32x16(at16(pg, o)).Mul(vcoef))
				vv.Store(at16(pv, o))
				archsimd.LoadFloat32x16(at16(pp, o)).Sub(vv.Mul(vlr)).Store(at16(pp, o))
			}
		} else {
			vlr, vmu, vcoef := archsimd.BroadcastFloat32x8(lr), archsimd.BroadcastFloat32x8(mu), archsimd.BroadcastFloat32x8(coef)
			for o := uintptr(0); o < end; o += 32 {
				vv := archsimd.LoadFloat32x8(at8(pv, o)).Mul(vmu).Add(archsimd.LoadFloat32x8(at8(pg, o)).Mul(vcoef))
				vv.Store(at8(pv, o))
				archsimd.LoadFloat32x8(at8(pp, o)).Sub(vv.Mul(vlr)).Store(at8(pp, o))
			}
		}
	}
	momentumSpanGo(p[done:], g[done:], v[done:], lr, mu, coef)
}

func adamSpan(c adamCoef, p, g, m, s []float32) {
	n := len(p)
	g, m, s = g[:n], m[:n], s[:n]
	done, width := vectors(n)
	if done > 0 {
		pp, pg, pm, ps := unsafe.Pointer(&p[0]), unsafe.Pointer(&g[0]), unsafe.Pointer(&m[0]), unsafe.Pointer(&s[0])
		end := uintptr(done) * 4
		if width == 16 {
			b := archsimd.BroadcastFloat32x16
			lr, b1, b2, nb1, nb2, eps, coef, bc1, bc2 := b(c.lr), b(c.b1), b(c.b2), b(c.nb1), b(c.nb2), b(c.eps), b(c.coef), b(c.bc1), b(c.bc2)
			for o := uintptr(0); o < end; o += 64 {
				gn := archsimd.LoadFloat32x16(at16(pg, o)).Mul(coef)
				mm := archsimd.LoadFloat32x16(at16(pm, o)).Mul(b1).Add(gn.Mul(nb1))
				ss := archsimd.LoadFloat32x16(at16(ps, o)).Mul(b2).Add(gn.Mul(gn).Mul(nb2))
				mm.Store(at16(pm, o))
				ss.Store(at16(ps, o))
				step := mm.Div(bc1).Div(ss.Div(bc2).Sqrt().Add(eps)).Mul(lr)
				archsimd.LoadFloat32x16(at16(pp, o)).Sub(step).Store(at16(pp, o))
			}
		} else {
			b := archsimd.BroadcastFloat32x8
			lr, b1, b2, nb1, nb2, eps, coef, bc1, bc2 := b(c.lr), b(c.b1), b(c.b2), b(c.nb1), b(c.nb2), b(c.eps), b(c.coef), b(c.bc1), b(c.bc2)
			for o := uintptr(0); o < end; o += 32 {
				gn := archsimd.LoadFloat32x8(at8(pg, o)).Mul(coef)
				mm := archsimd.LoadFloat32x8(at8(pm, o)).Mul(b1).Add(gn.Mul(nb1))
				ss := archsimd.LoadFloat32x8(at8(ps, o)).Mul(b2).Add(gn.Mul(gn).Mul(nb2))
				mm.Store(at8(pm, o))
				ss.Store(at8(ps, o))
				step := mm.Div(bc1).Div(ss.Div(bc2).Sqrt().Add(eps)).Mul(lr)
				archsimd.LoadFloat32x8(at8(pp, o)).Sub(step).Store(at8(pp, o))
			}
		}
	}
	adamSpanGo(c, p[done:], g[done:], m[done:], s[done:])
}

// rows4 forms 16 values of a Rows4Func's gradient at byte offset o of the rows.
func rows4(s0, s1, s2, s3 archsimd.Float32x16, h0, h1, h2, h3 unsafe.Pointer, o uintptr) archsimd.Float32x16 {
	var zero archsimd.Float32x16
	g := s0.MulAdd(archsimd.LoadFloat32x16(at16(h0, o)), zero)
	g = s1.MulAdd(archsimd.LoadFloat32x16(at16(h1, o)), g)
	g = s2.MulAdd(archsimd.LoadFloat32x16(at16(h2, o)), g)
	return s3.MulAdd(archsimd.LoadFloat32x16(at16(h3, o)), g)
}

// rows4Part is rows4 for the last n < 16 values.
func rows4Part(s0, s1, s2, s3 archsimd.Float32x16, h0, h1, h2, h3 []float32) archsimd.Float32x16 {
	var zero archsimd.Float32x16
	g := s0.MulAdd(archsimd.LoadFloat32x16SlicePart(h0), zero)
	g = s1.MulAdd(archsimd.LoadFloat32x16SlicePart(h1), g)
	g = s2.MulAdd(archsimd.LoadFloat32x16SlicePart(h2), g)
	return s3.MulAdd(archsimd.LoadFloat32x16SlicePart(h3), g)
}

func broadcast4(a [4]float32) (s0, s1, s2, s3 archsimd.Float32x16) {
	b := archsimd.BroadcastFloat32x16
	return b(a[0]), b(a[1]), b(a[2]), b(a[3])
}

// sgdRows4 is sgdSpan with the gradient of a Rows4Func.
func sgdRows4(p []float32, a [4]float32, h0, h1, h2, h3 []float32, lr, coef float32) {
	n := len(p)
	h0, h1, h2, h3 = h0[:n], h1[:n], h2[:n], h3[:n]
	s0, s1, s2, s3 := broadcast4(a)
	vlr, vcoef := archsimd.BroadcastFloat32x16(lr), archsimd.BroadcastFloat32x16(coef)
	full := n &^ 15
	if full > 0 {
		pp, p0, p1, p2, p3 := unsafe.Pointer(&p[0]), unsafe.Pointer(&h0[0]), unsafe.Pointer(&h1[0]), unsafe.Pointer(&h2[0]), unsafe.Pointer(&h3[0])
		for o := uintptr(0); o < uintptr(full)*4; o += 64 {
			g := rows4(s0, s1, s2, s3, p0, p1, p2, p3, o)
			archsimd.LoadFloat32x16(at16(pp, o)).Sub(g.Mul(vcoef).Mul(vlr)).Store(at16(pp, o))
		}
	}
	if c := full; c < n {
		g := rows4Part(s0, s1, s2, s3, h0[c:], h1[c:], h2[c:], h3[c:])
		archsimd.LoadFloat32x16SlicePart(p[c:]).Sub(g.Mul(vcoef).Mul(vlr)).StoreSlicePart(p[c:])
	}
}

// momentumRows4 is momentumSpan with the gradient of a Rows4Func.
func momentumRows4(p, v []float32, a [4]float32, h0, h1, h2, h3 []float32, lr, mu, coef float32) {
	n := len(p)
	v, h0, h1, h2, h3 = v[:n], h0[:n], h1[:n], h2[:n], h3[:n]
	s0, s1, s2, s3 := broadcast4(a)
	vlr, vmu, vcoef := archsimd.BroadcastFloat32x16(lr), archsimd.BroadcastFloat32x16(mu), archsimd.BroadcastFloat32x16(coef)
	full := n &^ 15
	if full > 0 {
		pp, pv := unsafe.Pointer(&p[0]), unsafe.Pointer(&v[0])
		p0, p1, p2, p3 := unsafe.Pointer(&h0[0]), unsafe.Pointer(&h1[0]), unsafe.Pointer(&h2[0]), unsafe.Pointer(&h3[0])
		for o := uintptr(0); o < uintptr(full)*4; o += 64 {
			g := rows4(s0, s1, s2, s3, p0, p1, p2, p3, o)
			vv := archsimd.LoadFloat32x16(at16(pv, o)).Mul(vmu).Add(g.Mul(vcoef))
			vv.Store(at16(pv, o))
			archsimd.LoadFloat32x16(at16(pp, o)).Sub(vv.Mul(vlr)).Store(at16(pp, o))
		}
	}
	if c := full; c < n {
		g := rows4Part(s0, s1, s2, s3, h0[c:], h1[c:], h2[c:], h3[c:])
		vv := archsimd.LoadFloat32x16SlicePart(v[c:]).Mul(vmu).Add(g.Mul(vcoef))
		vv.StoreSlicePart(v[c:])
		archsimd.LoadFloat32x16SlicePart(p[c:]).Sub(vv.Mul(vlr)).StoreSlicePart(p[c:])
	}
}
