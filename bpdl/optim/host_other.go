//go:build !(goexperiment.simd && amd64)

package optim

// Without GOEXPERIMENT=simd on amd64 the portable span kernels run.

func sgdSpan(p, g []float32, lr, coef float32) { sgdSpanGo(p, g, lr, coef) }
func momentumSpan(p, g, v []float32, lr, mu, coef float32) {
	momentumSpanGo(p, g, v, lr, mu, coef)
}
func adamSpan(c adamCoef, p, g, m, s []float32) { adamSpanGo(c, p, g, m, s) }
