//go:build !(goexperiment.simd && amd64)

package dense

// Without GOEXPERIMENT=simd on amd64 the portable kernels run.

// Accelerated reports whether the vector kernels run (GOEXPERIMENT=simd on amd64, a CPU with AVX-512).
func Accelerated() bool { return false }

func (ws *Workspace) linear(out, x, w, b []float32, m, n, k, workers int) {
	linearGo(out, x, w, b, m, n, k, workers)
}

func gradBlock(g []float32, ldg int, a []float32, m, rows int, h []float32, k, i0, cols int) {
	gradBlockGo(g, ldg, a, m, rows, h, k, i0, cols)
}

// newForward returns nil: without the vector kernels UpdateLinear runs Linear after the update.
func (ws *Workspace) newForward(out, x, w, b []float32, m, n, k int) forward { return nil }
