//go:build !(goexperiment.simd && amd64)

package optim

// Without GOEXPERIMENT=simd on amd64 the portable span kernels run.

func sgdSpan(p, g []float32, lr, coef float32) { sgdSpanGo(p, g, lr, coef) }
func momentumSpan(p, g, v []float32, lr, mu, coef float32) {
	momentumSpanGo(p, g, v, lr, mu, coef)
}
func adamSpan(c adamCoef, p, g, m, s []float32) { adamSpanGo(c, p, g, m, s) }

// vectorFMA reports whether the Rows4Func kernels run: not without GOEXPERIMENT=simd on amd64 (portable Go
// has no float32 fused multiply-add to match the vector one).
const vectorFMA = false

func sgdRows4(p []float32, a [4]float32, h0, h1, h2, h3 []float32, lr, coef float32) {
	panic("optim: no Rows4 kernels in this build")
}

func momentumRows4(p, v []float32, a [4]float32, h0, h1, h2, h3 []float32, lr, mu, coef float32) {
	panic("optim: no Rows4 kernels in this build")
}
