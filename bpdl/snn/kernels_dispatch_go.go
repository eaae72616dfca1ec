//go:build !(goexperiment.simd && amd64)

package snn

// Without GOEXPERIMENT=simd on amd64 the portable kernels run.

func addTo(dst, src []float32)                              { addToGo(dst, src) }
func addRows(dst, w []float32, stride, lo int, idx []int32) { addRowsGo(dst, w, stride, lo, idx) }
func addToRows(w []float32, stride, lo int, idx []int32, src []float32) {
	addToRowsGo(w, stride, lo, idx, src)
}
func lifForward(c lifCoef, v, i, cur, vd []float32)   { lifForwardGo(c, v, i, cur, vd) }
func lifBackward(c lifCoef, vd, gz, gv, gi []float32) { lifBackwardGo(c, vd, gz, gv, gi) }
func liForward(c liCoef, v, i, cur, out []float32)    { liForwardGo(c, v, i, cur, out) }
func liBackward(c liCoef, gout, gv, gi []float32)     { liBackwardGo(c, gout, gv, gi) }
func spikesAbove(dst []int32, vd []float32, vth float32, offset int32) []int32 {
	return spikesAboveGo(dst, vd, vth, offset)
}
func mulRows(dst []float32, ldd int, a []float32, m, k int, b []float32, ldb, jlo, jhi int) {
	mulRowsGo(dst, ldd, a, m, k, b, ldb, jlo, jhi)
}

// Kernels names the kernels in use: "go" (portable), "avx2" or "avx512".
func Kernels() string { return "go" }
