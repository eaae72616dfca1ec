//go:build !(goexperiment.simd && amd64 && !amd64.v3 && !amd64.v4)

package train

// boxMullerVec leaves every value to boxMuller's portable loop.
func boxMullerVec(dst, u1, u2 []float32) int { return 0 }
