//go:build !(goexperiment.simd && amd64)

package dense

import "github.com/bpdl/bpdl/bpdl/optim"

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
func (ws *Workspace) newForward(out, x, w, b []float32, m, n, k, workers int) forward { return nil }

// packInputs returns nil: the portable gradBlock reads h as it is.
func (ws *Workspace) packInputs(h []float32, m, k, workers int) []float32 { return nil }

func gradBlockPacked(g []float32, ldg int, a []float32, m, rows int, hp []float32, i0, cols int) {
	panic("dense: no packed inputs without the vector kernels")
}

func (ws *Workspace) gram(out, x []float32, m, k, workers int) {
	linearGo(out, x, x, nil, m, m, k, workers)
}

// prefetchRows does nothing without the assembly kernels.
func prefetchRows(s []float32, off, stride, rows, n int) {}

func matMul(out, a, b []float32, m, n, k, workers int) { matMulGo(out, a, b, m, n, k, workers) }

// reluVec, maskVec and clampVec leave every value to the portable loops.
func reluVec(dst, src []float32) int                  { return 0 }
func clampVec(s []float32, c float32) int             { return 0 }
func maskVec(dst, s, a []float32, atZero float32) int { return 0 }

// transpose16 leaves the block to transpose's portable loop.
func transpose16(dst []float32, ldd int, src []float32, lds int, add []float32) bool { return false }

// hasTileMomentum is false: Update forms the gradient and hands it to the optimiser's Span.
const hasTileMomentum = false

func tileMomentum(w, v []float32, ldw int, a []float32, lda int, b []float32, n int, c optim.MomentumCoef, pf int) {
	panic("dense: no momentum tiles without the vector kernels")
}
