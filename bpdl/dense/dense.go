// Package dense holds hand-written CPU kernels for the dense layers of package nn (weights stored
// [out, in]): the forward product X W^T + b, and the optimiser step of a layer whose gradient is
// factored as D^T H (as every rule of package rules gives it), taken without forming the gradient.
//
// They exist for speed only. Package train runs them as the fast path of an MLP training step on GoMLX's
// go backend, where a graph pays a full pass over memory for every operation: the step's GoMLX graph (the
// rule's math, the optimiser's update, package optim) stays the definition of the step and runs on every
// other backend, and train's tests check that both give the same weights. What the kernels change is
// where the big products run and how often each weight is read:
//
//   - Linear computes X W^T + b. For batches of at least 16 rows it uses register tiles of eight weight
//     rows by 32 batch rows (AVX-512, in assembly), on X transposed and padded to 32 columns; each output
//     is one chain of fused multiply-adds over the inputs in increasing order. Smaller batches are bound
//     by reading W, and take dot products over 16-wide lanes, reduced at the end.
//   - Update forms the gradient D^T H of a few weight rows at a time in a small buffer that stays in
//     cache, and hands each row to the optimiser's host update (optim.Optimizer.Span), so that the weights
//     and optimiser state are read and written once per step and the gradient never reaches memory. While
//     the tiles form a block, the CPU is asked to fetch the weights and state the update reads next. For
//     SGD with momentum (optim.HostStep.Momentum) the tiles apply the update themselves to the gradient
//     in their registers, with Span's roundings.
//
// Work is split over weight rows; every value is computed the same way whatever the number of workers, so
// results do not depend on it. The vector kernels (Go's simd package, and the register tiles in
// assembly) need GOEXPERIMENT=simd on amd64 and a CPU with AVX-512 (Accelerated reports it); elsewhere
// portable Go loops compute the same products (rounded differently: no fused multiply-adds), slowly.
package dense

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// Param is a parameter with its optimiser state: S0 and S1 are the optimiser's state slots for it
// (optim.Optimizer.Slots; nil when unused), each as long as P.
type Param struct {
	P, S0, S1 []float32
}

// Workers is the default number of goroutines a kernel uses: GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// Workspace holds the buffers the kernels reuse from call to call, so that a training step allocates
// nothing. The zero Workspace is ready to use; it is not safe for concurrent use.
type Workspace struct {
	xt, outT, dt, gb, hp []float32
	g                    [][]float32 // one gradient block per worker
}

// grow returns a buffer of n values from *buf, reallocated when too small (its contents are unspecified).
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// Linear sets out = x w^T + b: out[r, o] = b[o] + sum_q x[r, q] w[o, q] for x [m, k], w [n, k] and out
// [m, n] (row-major); b [n] may be nil. It uses up to workers goroutines.
func (ws *Workspace) Linear(out, x, w, b []float32, m, n, k, workers int) {
	check("Linear", out, m*n, x, m*k, w, n*k)
	if b != nil && len(b) < n {
		panic(fmt.Sprintf("dense: Linear bias has %d values, want %d", len(b), n))
	}
	if m == 0 || n == 0 {
		return
	}
	ws.linear(out, x, w, b, m, n, k, max(1, workers))
}

// Gram sets out = x x^T ([m, m], row-major) for x [m, k]: what Linear(out, x, x, nil, m, m, k) gives, bit for
// bit (a product and its mirror are the same chain of multiply-adds), with about half the work where
// the product takes register tiles: the tiles on and above the diagonal, then the mirror.
func (ws *Workspace) Gram(out, x []float32, m, k, workers int) {
	check("Gram", out, m*m, x, m*k, nil, 0)
	if m == 0 {
		return
	}
	ws.gram(out, x, m, k, max(1, workers))
}

// MatMul sets out = a b: out[r, i] = sum_q a[r, q] b[q, i] for a [m, k], b [k, n] and out [m, n]
// (row-major), each output a chain of fused multiply-adds over q in increasing order where the vector
// kernels run. It is the product of a layer's deltas with a matrix stored [out, in] (the weights, or a
// feedback matrix), which sends the deltas back to the layer's inputs. It uses up to workers goroutines.
func (ws *Workspace) MatMul(out, a, b []float32, m, n, k, workers int) {
	check("MatMul", out, m*n, a, m*k, b, k*n)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(out[:m*n])
		return
	}
	matMul(out, a, b, m, n, k, max(1, workers))
}

// Update takes one optimiser step on a dense layer's weight w [n, k] and bias b [n] (either may have a
// nil P to leave it out), whose gradients are d^T h ([n, k]) and the batch sum of d ([n]), for d [m, n]
// and h [m, k]. step is the optimiser's update for this step (optim.HostStepOf), with the gradient
// already scaled (clipped) through d. The gradient of a block of eight weight rows is formed in a buffer
// that stays in cache and handed to step.Span row by row; for a batch of four, step.Rows4 (when there is
// one) forms each row's gradient in the same pass as the update; for SGD with momentum (step.Momentum),
// blocks of eight rows by 32 columns are updated from the registers that hold their gradient. Either way
// the gradient entry (o, i) is the chain of fused multiply-adds over the batch, in order, of d[r, o] h[r, i],
// and the update gives Span's bits.
func (ws *Workspace) Update(w, b Param, d, h []float32, m, n, k int, step optim.HostStep, workers int) {
	ws.update(w, b, d, h, m, n, k, step, nil, max(1, workers))
}

// UpdateLinear is Update followed by Linear(out, x, w, b, mx, n, k) on the updated parameters, in one pass
// over the weights: each block of weight rows enters the next batch's product while it is in cache. The
// results are those of Update then Linear, bit for bit. w.P and b.P must not be nil.
func (ws *Workspace) UpdateLinear(w, b Param, d, h []float32, m, n, k int, step optim.HostStep, out, x []float32, mx, workers int) {
	check("UpdateLinear", out, mx*n, x, mx*k, nil, 0)
	if w.P == nil || b.P == nil {
		panic("dense: UpdateLinear needs the weight and the bias")
	}
	ws.update(w, b, d, h, m, n, k, step, &next{out: out, x: x, m: mx}, max(1, workers))
}

// next is the product UpdateLinear computes with the updated weights: out = x w^T + b, x [m, k].
type next struct {
	out, x []float32
	m      int
}

func (ws *Workspace) update(w, b Param, d, h []float32, m, n, k int, step optim.HostStep, nx *next, workers int) {
	span := step.Span
	check("Update", d, m*n, h, m*k, nil, 0)
	if w.P != nil {
		checkParam("weight", w, n*k)
	}
	if b.P != nil {
		checkParam("bias", b, n)
		// The batch sum of d, each column summed in row order; columns split between workers.
		g := grow(&ws.gb, n)
		parallel((n+63)/64, workers, func(lo, hi int) {
			o0, o1 := 64*lo, min(64*hi, n)
			gs := g[o0:o1]
			clear(gs)
			for r := 0; r < m; r++ {
				for o, v := range d[r*n+o0 : r*n+o1] {
					gs[o] += v
				}
			}
		})
		span(b.P[:n], g, sub(b.S0, 0, n), sub(b.S1, 0, n))
	}
	if w.P == nil || n == 0 || k == 0 {
		return
	}
	// d transposed, [n, m]: each weight row's coefficients in a row.
	dt := grow(&ws.dt, n*m)
	parallel((n+63)/64, workers, func(lo, hi int) {
		o0, o1 := 64*lo, min(64*hi, n)
		transpose(dt[o0*m:], m, d[o0:], n, m, o1-o0, nil)
	})
	var fwd forward
	if nx != nil {
		if nx.m == 0 {
			nx = nil
		} else if fwd = ws.newForward(nx.out, nx.x, w.P, b.P, nx.m, n, k, workers); fwd == nil {
			// No fused product on this machine: the product after the update.
			defer ws.linear(nx.out, nx.x, w.P, b.P, nx.m, n, k, workers)
			nx = nil
		}
	}
	blocks := (n + blockRows - 1) / blockRows
	workers = max(1, min(workers, blocks))
	for len(ws.g) < workers {
		ws.g = append(ws.g, make([]float32, blockRows*updateChunk))
	}
	hp := ws.packInputs(h, m, k, workers)
	mom := step.Momentum
	if w.S0 == nil || w.S1 != nil || m == 0 || !hasTileMomentum {
		mom = nil
	}
	rows4 := step.Rows4
	if m != 4 {
		rows4 = nil
	}
	// update updates the weight rows of block blk in columns [i0, i0+updateChunk). The momentum tiles ask
	// for their first columns when first is set (else the block before asked for them), and for the next
	// block's first columns at the end when next is set.
	update := func(g []float32, blk, i0 int, first, next bool) {
		o0 := blockRows * blk
		rows := min(blockRows, n-o0)
		cols := min(updateChunk, k-i0)
		if mom != nil && hp != nil && rows == blockRows && cols%32 == 0 {
			// The update applied by the tiles to the gradient in their registers. Each tile first asks
			// for the weights and state momPrefetch columns on, or once past the chunk, for those of
			// the next block of rows.
			if first {
				prefetchRows(w.P, o0*k+i0, k, rows, min(momPrefetch, cols))
				prefetchRows(w.S0, o0*k+i0, k, rows, min(momPrefetch, cols))
			}
			for c := 0; c < cols; c += 32 {
				off := o0*k + i0 + c
				pf := 0
				if ahead := c + momPrefetch; ahead < cols {
					pf = momPrefetch
				} else if next && o0+2*blockRows <= n && ahead-cols < momPrefetch && ahead-cols+32 <= cols {
					pf = blockRows*k + ahead - cols - c
				}
				tileMomentum(w.P[off:], w.S0[off:], k, dt[o0*m:], m, hp[((i0+c)/32)*m*32:], m, *mom, pf)
			}
			return
		}
		if hp != nil {
			// 32 columns at a time, each after asking for the same columns of the weights and state
			// that span reads next.
			for c := 0; c < cols; c += 32 {
				nc := min(32, cols-c)
				off := o0*k + i0 + c
				prefetchRows(w.P, off, k, rows, nc)
				prefetchRows(w.S0, off, k, rows, nc)
				prefetchRows(w.S1, off, k, rows, nc)
				gradBlockPacked(g[c:], updateChunk, dt[o0*m:], m, rows, hp, i0+c, nc)
			}
		} else {
			gradBlock(g, updateChunk, dt[o0*m:], m, rows, h, k, i0, cols)
		}
		for r := 0; r < rows; r++ {
			off := (o0+r)*k + i0
			span(w.P[off:off+cols], g[r*updateChunk:r*updateChunk+cols], sub(w.S0, off, cols), sub(w.S1, off, cols))
		}
	}
	parallelIndexed(blocks, workers, func(p, lo, hi int) {
		g := ws.g[p]
		if m*k <= updateRowMajor {
			// h fits in cache: the weights row after row, each block into the next product when done.
			for blk := lo; blk < hi; blk++ {
				if rows4 != nil {
					for o := blockRows * blk; o < min(blockRows*(blk+1), n); o++ {
						a := [4]float32{dt[4*o], dt[4*o+1], dt[4*o+2], dt[4*o+3]}
						rows4(w.P[o*k:(o+1)*k], sub(w.S0, o*k, k), sub(w.S1, o*k, k), a, h[:k], h[k:2*k], h[2*k:3*k], h[3*k:4*k])
					}
				} else {
					for i0 := 0; i0 < k; i0 += updateChunk {
						update(g, blk, i0, true, false)
					}
				}
				if nx != nil {
					fwd.rows(blockRows*blk, min(blockRows*(blk+1), n), 0, k)
				}
			}
			return
		}
		// A panel of h's columns at a time, so that it stays in the L2 cache while every row block uses
		// it; the next product takes the same panel of its inputs, when its tiles allow.
		panels := nx != nil && fwd.panels()
		for i0 := 0; i0 < k; i0 += updateChunk {
			for blk := lo; blk < hi; blk++ {
				update(g, blk, i0, blk == lo, blk+1 < hi)
				if panels {
					fwd.rows(blockRows*blk, min(blockRows*(blk+1), n), i0, min(i0+updateChunk, k))
				}
			}
		}
		if nx != nil && !panels {
			fwd.rows(blockRows*lo, min(blockRows*hi, n), 0, k)
		}
	})
	if nx != nil {
		fwd.finish()
	}
}

// forward is a product x w^T + b that UpdateLinear computes rows of weights at a time (kernels_*.go).
type forward interface {
	// rows computes the contributions of inputs [q0, q1) to the outputs of weight rows [o0, o1); the
	// ranges of a row come in increasing order, from q0 = 0.
	rows(o0, o1, q0, q1 int)
	// panels reports whether rows may be called with q ranges shorter than the whole input.
	panels() bool
	// finish writes the outputs.
	finish()
}

// blockRows is the number of weight rows the kernels take at a time, the rows of the largest register
// tile: Linear splits the weight rows between workers in such blocks, Update forms their gradient
// together.
const blockRows = 8

// updateRowMajor is the size of h (values) up to which Update goes through the weights row after row;
// above it, h is taken a panel of columns at a time.
const updateRowMajor = 1 << 16

// momPrefetch is how many columns ahead of the tiles Update asks for the weights and momentum that the
// tiles update themselves (tileMomentum).
const momPrefetch = 128

// updateChunk is the number of columns of the gradient block Update forms at a time: a block of rows of
// it (16 KiB) stays in the L1 cache while the optimiser updates them.
const updateChunk = 512

// gradBlockGo sets g[r*ldg + c] = sum_q a[r*m + q] h[q*k + i0 + c] for r < rows, c < cols: rows of a
// [rows, m] times columns i0.. of h [m, k], each a sum over q in increasing order.
func gradBlockGo(g []float32, ldg int, a []float32, m, rows int, h []float32, k, i0, cols int) {
	for r := 0; r < rows; r++ {
		gr := g[r*ldg : r*ldg+cols]
		clear(gr)
		for q := 0; q < m; q++ {
			s := a[r*m+q]
			hr := h[q*k+i0 : q*k+i0+cols]
			for c := range gr {
				gr[c] += s * hr[c]
			}
		}
	}
}

// ReLU sets dst[i] = max(src[i], 0) for i < len(dst), with Go's max (as GoMLX's go backend computes
// MaxScalar): NaN stays NaN, -0 becomes 0.
func ReLU(dst, src []float32) {
	src = src[:len(dst)]
	done := reluVec(dst, src)
	for i := done; i < len(dst); i++ {
		dst[i] = max(src[i], 0)
	}
}

// ReLUMask sets dst[i] = s[i] * ReLU'(a[i]) for i < len(dst), ReLU'(a) = 1 where a > 0, else 0: the
// product the graph takes (nn.ReluDerivative), so s times 0 keeps s's sign and NaN stays NaN.
func ReLUMask(dst, s, a []float32) { stepProduct(dst, s, a, 0) }

// Clamp sets s[i] = min(max(s[i], -c), c) for every i, with Go's min and max (as GoMLX's go backend
// computes ClipScalar): NaN stays NaN, -0 stays -0. c must be >= 0.
func Clamp(s []float32, c float32) {
	done := clampVec(s, c)
	for i := done; i < len(s); i++ {
		s[i] = min(max(s[i], -c), c)
	}
}

// StepMask sets dst[i] = s[i] * H(a[i]) for i < len(dst), H(a) = 1 where a >= 0, else 0: the product
// by the derivative of a ReLU with the convention f'(0) = 1 (DTP's Jacobian, rules.DTP), taken as the
// graph takes it.
func StepMask(dst, s, a []float32) { stepProduct(dst, s, a, 1) }

// stepProduct sets dst[i] = s[i] * H(a[i]) for i < len(dst), with H(a) = 1 where a > 0, 0 where a < 0 or
// a is NaN, and atZero (0 or 1) at a = 0: ReLUMask's and StepMask's one loop. s times 0 keeps s's sign
// and a NaN in s stays NaN, as in the graph's product by the derivative.
func stepProduct(dst, s, a []float32, atZero float32) {
	s, a = s[:len(dst)], a[:len(dst)]
	done := maskVec(dst, s, a, atZero)
	for i := done; i < len(dst); i++ {
		m := float32(0)
		if a[i] > 0 || (a[i] == 0 && atZero == 1) {
			m = 1
		}
		dst[i] = s[i] * m
	}
}

// matMulGo is MatMul in portable Go: each output a sum over q in increasing order.
func matMulGo(out, a, b []float32, m, n, k, workers int) {
	parallel(m, workers, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out[r*n : (r+1)*n]
			clear(o)
			for q, s := range a[r*k : (r+1)*k] {
				br := b[q*n : (q+1)*n]
				for i, v := range br {
					o[i] += s * v
				}
			}
		}
	})
}

// linearGo is Linear in portable Go: each output a sum over q in increasing order, then the bias.
func linearGo(out, x, w, b []float32, m, n, k, workers int) {
	parallel(n, workers, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			wr := w[o*k : (o+1)*k]
			for r := 0; r < m; r++ {
				xr := x[r*k : (r+1)*k]
				var s float32
				for q, v := range wr {
					s += xr[q] * v
				}
				if b != nil {
					s += b[o]
				}
				out[r*n+o] = s
			}
		}
	})
}

// transpose sets dst[c*ldd + r] = src[r*lds + c] (+ add[r] when add is not nil) for r < rows, c < cols,
// in blocks of 16 x 16: with the vector kernels one block at a time in registers (transpose16), else
// element by element within the block, so that the rows of both that a block touches stay in the L1
// cache (element by element over whole rows, a column of dst is rows cache lines apart, and large
// operands evict each line before the next column reuses it).
func transpose(dst []float32, ldd int, src []float32, lds, rows, cols int, add []float32) {
	const bs = 16
	for r0 := 0; r0 < rows; r0 += bs {
		r1 := min(r0+bs, rows)
		for c0 := 0; c0 < cols; c0 += bs {
			c1 := min(c0+bs, cols)
			if r1-r0 == bs && c1-c0 == bs && transpose16(dst[c0*ldd+r0:], ldd, src[r0*lds+c0:], lds, sub(add, r0, bs)) {
				continue
			}
			for r := r0; r < r1; r++ {
				row := src[r*lds+c0 : r*lds+c1]
				if add != nil {
					a := add[r]
					for i, v := range row {
						dst[(c0+i)*ldd+r] = v + a
					}
				} else {
					for i, v := range row {
						dst[(c0+i)*ldd+r] = v
					}
				}
			}
		}
	}
}

// sub returns s[off:off+n], or nil for a nil s.
func sub(s []float32, off, n int) []float32 {
	if s == nil {
		return nil
	}
	return s[off : off+n]
}

func check(name string, a []float32, na int, b []float32, nb int, c []float32, nc int) {
	if len(a) < na || len(b) < nb || len(c) < nc {
		panic(fmt.Sprintf("dense: %s operands have %d, %d and %d values, want at least %d, %d and %d", name, len(a), len(b), len(c), na, nb, nc))
	}
}

func checkParam(what string, p Param, n int) {
	if len(p.P) < n || (p.S0 != nil && len(p.S0) < n) || (p.S1 != nil && len(p.S1) < n) {
		panic(fmt.Sprintf("dense: Update %s or its state has fewer than %d values", what, n))
	}
}

// parallel runs f on ranges that together cover [0, n) exactly once, on up to workers goroutines
// (parallelIndexed).
func parallel(n, workers int, f func(lo, hi int)) {
	parallelIndexed(n, workers, func(_, lo, hi int) { f(lo, hi) })
}

// parallelIndexed runs f on ranges that together cover [0, n) exactly once, on up to workers goroutines
// numbered p < workers (for per-worker buffers). The goroutines take the ranges as they become free, in
// increasing order, large ones first and smaller ones towards the end (guided scheduling: each takes
// 1/(2 workers) of what is left): a goroutine that the operating system runs less often (other jobs on
// the machine) takes fewer of them, where a split into equal parts fixed in advance would keep the others
// waiting for it at the end. f may thus be called several times with the same p, each call with another
// range; which goroutine runs which range must not change the results.
func parallelIndexed(n, workers int, f func(p, lo, hi int)) {
	parts := max(1, min(workers, n))
	if parts == 1 {
		f(0, 0, n)
		return
	}
	var next atomic.Int64
	take := func(p int) {
		for {
			lo := int(next.Load())
			if lo >= n {
				return
			}
			hi := lo + max(1, (n-lo)/(2*parts))
			if next.CompareAndSwap(int64(lo), int64(hi)) {
				f(p, lo, hi)
			}
		}
	}
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Go(func() { take(p) })
	}
	take(0) // the caller takes ranges too
	wg.Wait()
}
