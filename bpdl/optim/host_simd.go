//go:build goexperiment.simd && amd64

package optim

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64 the span kernels use 8-wide AVX2 vectors when the CPU has them. They do
// the operations of the portable kernels in the same order, without fused multiply-adds, so they give
// identical results (the vector square root is correctly rounded, as float32(math.Sqrt(float64(x))) is).

var hasAVX2 = archsimd.X86.AVX2()

func sgdSpan(p, g []float32, lr, coef float32) {
	if !hasAVX2 {
		sgdSpanGo(p, g, lr, coef)
		return
	}
	n := len(p)
	g = g[:n]
	vlr, vcoef := archsimd.BroadcastFloat32x8(lr), archsimd.BroadcastFloat32x8(coef)
	k := 0
	for ; k+8 <= n; k += 8 {
		step := archsimd.LoadFloat32x8Slice(g[k:]).Mul(vcoef).Mul(vlr)
		archsimd.LoadFloat32x8Slice(p[k:]).Sub(step).StoreSlice(p[k:])
	}
	sgdSpanGo(p[k:], g[k:], lr, coef)
}

func momentumSpan(p, g, v []float32, lr, mu, coef float32) {
	if !hasAVX2 {
		momentumSpanGo(p, g, v, lr, mu, coef)
		return
	}
	n := len(p)
	g, v = g[:n], v[:n]
	vlr, vmu, vcoef := archsimd.BroadcastFloat32x8(lr), archsimd.BroadcastFloat32x8(mu), archsimd.BroadcastFloat32x8(coef)
	k := 0
	for ; k+16 <= n; k += 16 {
		v0 := archsimd.LoadFloat32x8Slice(v[k:]).Mul(vmu).Add(archsimd.LoadFloat32x8Slice(g[k:]).Mul(vcoef))
		v1 := archsimd.LoadFloat32x8Slice(v[k+8:]).Mul(vmu).Add(archsimd.LoadFloat32x8Slice(g[k+8:]).Mul(vcoef))
		v0.StoreSlice(v[k:])
		v1.StoreSlice(v[k+8:])
		archsimd.LoadFloat32x8Slice(p[k:]).Sub(v0.Mul(vlr)).StoreSlice(p[k:])
		archsimd.LoadFloat32x8Slice(p[k+8:]).Sub(v1.Mul(vlr)).StoreSlice(p[k+8:])
	}
	momentumSpanGo(p[k:], g[k:], v[k:], lr, mu, coef)
}

func adamSpan(c adamCoef, p, g, m, s []float32) {
	if !hasAVX2 {
		adamSpanGo(c, p, g, m, s)
		return
	}
	n := len(p)
	g, m, s = g[:n], m[:n], s[:n]
	b := archsimd.BroadcastFloat32x8
	lr, b1, b2, nb1, nb2, eps, coef, bc1, bc2 := b(c.lr), b(c.b1), b(c.b2), b(c.nb1), b(c.nb2), b(c.eps), b(c.coef), b(c.bc1), b(c.bc2)
	k := 0
	for ; k+8 <= n; k += 8 {
		gn := archsimd.LoadFloat32x8Slice(g[k:]).Mul(coef)
		mm := archsimd.LoadFloat32x8Slice(m[k:]).Mul(b1).Add(gn.Mul(nb1))
		ss := archsimd.LoadFloat32x8Slice(s[k:]).Mul(b2).Add(gn.Mul(gn).Mul(nb2))
		mm.StoreSlice(m[k:])
		ss.StoreSlice(s[k:])
		step := mm.Div(bc1).Div(ss.Div(bc2).Sqrt().Add(eps)).Mul(lr)
		archsimd.LoadFloat32x8Slice(p[k:]).Sub(step).StoreSlice(p[k:])
	}
	adamSpanGo(c, p[k:], g[k:], m[k:], s[k:])
}
