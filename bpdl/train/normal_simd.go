//go:build goexperiment.simd && amd64 && !amd64.v3 && !amd64.v4

package train

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// boxMullerVec is boxMuller's loop eight values at a time with AVX-512, on the first multiple of eight
// values; it returns how many it did (none without AVX-512). It evaluates math.Log (the amd64 assembly
// archLog) and math.Cos (sin.go) for arguments in their ranges here (a positive float32; [0, 2π)) with
// the same float64 operations in the same order, so it gives their bits: neither fuses multiply-adds
// when the Go compiler targets GOAMD64 v1 or v2, which the build tag requires (from v3 the compiler may
// fuse them in math.Cos, and the portable loop runs). TestHostNormal compares with the graph's draws.
func boxMullerVec(dst, u1, u2 []float32) int {
	n := len(dst) &^ 7
	if !hasAVX512 || n == 0 {
		return 0
	}
	u1, u2 = u1[:n], u2[:n]
	p1, p2, pd := unsafe.Pointer(&u1[0]), unsafe.Pointer(&u2[0]), unsafe.Pointer(&dst[0])
	at := func(p unsafe.Pointer, o uintptr) *[8]float32 { return (*[8]float32)(unsafe.Add(p, o)) }
	tiny := archsimd.BroadcastFloat32x8(math.SmallestNonzeroFloat32)
	minus2, twoPi := archsimd.BroadcastFloat32x8(-2), archsimd.BroadcastFloat32x8(2*math.Pi)
	for o := uintptr(0); o < uintptr(n)*4; o += 32 {
		a := archsimd.LoadFloat32x8(at(p1, o)).Max(tiny)
		l := logVec(a.ConvertToFloat64()).ConvertToFloat32().Mul(minus2)
		s := l.ConvertToFloat64().Sqrt().ConvertToFloat32()
		c := cosVec(archsimd.LoadFloat32x8(at(p2, o)).Mul(twoPi).ConvertToFloat64()).ConvertToFloat32()
		s.Mul(c).Store(at(pd, o))
	}
	return n
}

var hasAVX512 = archsimd.X86.AVX512()

func bcast(v float64) archsimd.Float64x8 { return archsimd.BroadcastFloat64x8(v) }

// logVec is math.Log (log_amd64.s) for positive normal finite x.
func logVec(x archsimd.Float64x8) archsimd.Float64x8 {
	const (
		hSqrt2 = 7.07106781186547524401e-01
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
		l1     = 6.666666666666735130e-01
		l2     = 3.999999999940941908e-01
		l3     = 2.857142874366239149e-01
		l4     = 2.222219843214978396e-01
		l5     = 1.818357216161805012e-01
		l6     = 1.531383769920937332e-01
		l7     = 1.479819860511658591e-01
	)
	bits := x.AsUint64x8()
	// f1, ki := Frexp(x): the mantissa with the exponent of 0.5, and the exponent less 0x3FE.
	f1 := bits.And(archsimd.BroadcastUint64x8(0x000FFFFFFFFFFFFF)).Or(archsimd.BroadcastUint64x8(0x3FE0000000000000)).AsFloat64x8()
	k := bits.ShiftAllRight(52).And(archsimd.BroadcastUint64x8(0x7FF)).AsInt64x8().Sub(archsimd.BroadcastInt64x8(0x3FE)).ConvertToFloat64()
	// Where f1 <= sqrt(2)/2 (the assembly's not-less-than comparison): k -= 1, f1 *= 2.
	small := f1.LessEqual(bcast(hSqrt2))
	k = k.Sub(bcast(1)).Merge(k, small)
	f1 = f1.Mul(bcast(2)).Merge(f1, small)
	f := f1.Sub(bcast(1))
	s := f.Div(bcast(2).Add(f))
	s2 := s.Mul(s)
	s4 := s2.Mul(s2)
	t1 := s2.Mul(bcast(l7).Mul(s4).Add(bcast(l5)).Mul(s4).Add(bcast(l3)).Mul(s4).Add(bcast(l1)))
	t2 := s4.Mul(bcast(l6).Mul(s4).Add(bcast(l4)).Mul(s4).Add(bcast(l2)))
	r := t1.Add(t2)
	hfsq := bcast(0.5).Mul(f).Mul(f)
	u := s.Mul(r.Add(hfsq)).Add(bcast(ln2Lo).Mul(k))
	v := hfsq.Sub(u).Sub(f)
	return k.Mul(bcast(ln2Hi)).Sub(v)
}

// cosVec is math.Cos for 0 <= x < 2^29 (no reduction by trigReduce).
func cosVec(x archsimd.Float64x8) archsimd.Float64x8 {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	one := archsimd.BroadcastInt64x8(1)
	j := x.Mul(bcast(4 / math.Pi)).ConvertToInt64()
	j = j.Add(j.And(one)) // map zeros to origin: odd octants to the next
	y := j.ConvertToFloat64()
	z := x.Sub(y.Mul(bcast(pi4A))).Sub(y.Mul(bcast(pi4B))).Sub(y.Mul(bcast(pi4C)))
	j = j.And(archsimd.BroadcastInt64x8(7))
	// Octants 2 and 6 take the sine polynomial, 2 and 4 the negative sign.
	two := archsimd.BroadcastInt64x8(2)
	useSin := j.And(two).Equal(two)
	negative := j.Equal(two).Or(j.Equal(archsimd.BroadcastInt64x8(4)))
	zz := z.Mul(z)
	sin := z.Add(z.Mul(zz).Mul(bcast(1.58962301576546568060e-10).Mul(zz).Add(bcast(-2.50507477628578072866e-8)).Mul(zz).
		Add(bcast(2.75573136213857245213e-6)).Mul(zz).Add(bcast(-1.98412698295895385996e-4)).Mul(zz).
		Add(bcast(8.33333333332211858878e-3)).Mul(zz).Add(bcast(-1.66666666666666307295e-1))))
	cos := bcast(1).Sub(bcast(0.5).Mul(zz)).Add(zz.Mul(zz).Mul(bcast(-1.13585365213876817300e-11).Mul(zz).
		Add(bcast(2.08757008419747316778e-9)).Mul(zz).Add(bcast(-2.75573141792967388112e-7)).Mul(zz).
		Add(bcast(2.48015872888517045348e-5)).Mul(zz).Add(bcast(-1.38888888888730564116e-3)).Mul(zz).
		Add(bcast(4.16666666666665929218e-2))))
	r := sin.Merge(cos, useSin)
	return r.Mul(bcast(-1)).Merge(r, negative)
}
