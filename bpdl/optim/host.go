package optim

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Host is an optimiser together with its state for parameters held in Go slices, which it updates in
// place: the host form of Step, for engines that compute their gradients on the host (the spiking net's
// event-driven kernels of package snn). Its state is the graph form's, slice for tensor, so a checkpoint
// written by one form resumes in the other (Tensors, SetTensors, or ParamState for callers that keep a
// parameter in another layout than its tensor's). A step clips the gradients to the optimiser's ClipNorm by their global norm
// (taken in float64), then applies the optimiser's Span to fixed chunks of every parameter, several
// chunks at once; every value is computed the same way whatever the number of workers.
type Host struct {
	Opt Optimizer
	// State holds Opt.Slots() slices per parameter, parameter after parameter, each as long as its
	// parameter: the order of Optimizer.State.
	State [][]float32
	// Steps counts the steps taken (Adam's t).
	Steps int
	// ZeroGrads, when set, makes Step set the gradients to zero after using them, chunk by chunk while
	// they are in cache, for callers that accumulate gradients.
	ZeroGrads bool
}

// NewHost returns o with zero state for parameters of the given lengths.
func NewHost(o Optimizer, sizes []int) *Host {
	h := &Host{Opt: o}
	for _, n := range sizes {
		for k := 0; k < o.Slots(); k++ {
			h.State = append(h.State, make([]float32, n))
		}
	}
	return h
}

// HostChunk is the number of values one worker of Host.Step and HostNorm handles at a time.
const HostChunk = 1 << 14

type span struct{ p, lo, hi int }

// chunks splits parameters of the given lengths into spans of at most HostChunk values.
func chunks(lengths func(i int) int, n int) []span {
	var out []span
	for p := 0; p < n; p++ {
		for lo := 0; lo < lengths(p); lo += HostChunk {
			out = append(out, span{p, lo, min(lo+HostChunk, lengths(p))})
		}
	}
	return out
}

// Step updates params in place from grads (one gradient per parameter, of the same length), using up
// to workers goroutines.
func (h *Host) Step(params, grads [][]float32, workers int) {
	coef := float32(1)
	if max := h.Opt.ClipNorm(); max > 0 {
		coef = HostClipCoefficient(HostNorm(grads, workers), max)
	}
	h.Steps++
	fn := h.Opt.Span(h.Steps, coef)
	slots := h.Opt.Slots()
	spans := chunks(func(i int) int { return len(params[i]) }, len(params))
	parallelRange(len(spans), workers, func(lo, hi int) {
		for _, s := range spans[lo:hi] {
			var s0, s1 []float32
			if slots > 0 {
				s0 = h.State[slots*s.p][s.lo:s.hi]
			}
			if slots > 1 {
				s1 = h.State[slots*s.p+1][s.lo:s.hi]
			}
			g := grads[s.p][s.lo:s.hi]
			fn(params[s.p][s.lo:s.hi], g, s0, s1)
			if h.ZeroGrads {
				clear(g)
			}
		}
	})
}

// Tensors returns the state as Optimizer.State lays it out for the graph form (copies): the slots, then
// for Adam the step count as a float32 scalar. shapes gives each parameter's shape.
func (h *Host) Tensors(params []shapes.Shape) []*tensors.Tensor {
	var out []*tensors.Tensor
	for i, s := range h.State {
		out = append(out, tensors.FromFlatDataAndDimensions(append([]float32(nil), s...), params[i/max(1, h.Opt.Slots())].Dimensions...))
	}
	if h.CountsSteps() {
		out = append(out, h.StepTensor())
	}
	return out
}

// ParamState returns the state slices of parameter i, Opt.Slots() of them (SGD's momentum, Adam's m and
// s), which Step updates in place.
func (h *Host) ParamState(i int) [][]float32 { return ParamState(h.Opt, h.State, i) }

// CountsSteps reports whether the optimiser's graph state ends with a step count (Adam's t): the one
// tensor its State makes for no parameters.
func (h *Host) CountsSteps() bool { return len(h.Opt.State(nil)) == 1 }

// StepTensor returns Steps as the graph form holds the step count: a float32 scalar.
func (h *Host) StepTensor() *tensors.Tensor { return tensors.FromScalar(float32(h.Steps)) }

// SetStepTensor sets Steps from a step count in the graph form's layout (a float32 scalar).
func (h *Host) SetStepTensor(t *tensors.Tensor) error {
	if t.DType() != dtypes.Float32 || t.Size() != 1 {
		return fmt.Errorf("optim: %s step count is %s, want a float32 scalar", h.Opt, t.Shape())
	}
	h.Steps = int(tensors.MustCopyFlatData[float32](t)[0])
	return nil
}

// SetTensors loads state laid out as Tensors returns it (for example the graph form's state).
func (h *Host) SetTensors(ts []*tensors.Tensor) error {
	extra := 0
	if h.CountsSteps() {
		extra = 1
	}
	if len(ts) != len(h.State)+extra {
		return fmt.Errorf("optim: %s state has %d tensors, want %d", h.Opt, len(ts), len(h.State)+extra)
	}
	for i, s := range h.State {
		if ts[i].DType() != dtypes.Float32 || ts[i].Size() != len(s) {
			return fmt.Errorf("optim: %s state tensor %d is %s, want %d float32 values", h.Opt, i, ts[i].Shape(), len(s))
		}
		copy(s, tensors.MustCopyFlatData[float32](ts[i]))
	}
	if extra == 1 {
		return h.SetStepTensor(ts[len(ts)-1])
	}
	return nil
}

// HostNorm is the L2 norm of all the values of xs taken as one vector, in float64: partial sums over
// fixed chunks, added in order, so the result does not depend on workers.
func HostNorm(xs [][]float32, workers int) float64 {
	spans := chunks(func(i int) int { return len(xs[i]) }, len(xs))
	partial := make([]float64, len(spans))
	parallelRange(len(spans), workers, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			s := spans[k]
			partial[k] = sumSquares(xs[s.p][s.lo:s.hi])
		}
	})
	var total float64
	for _, v := range partial {
		total += v
	}
	return math.Sqrt(total)
}

// HostFactoredNorm is Norm for the factored gradients of dense layers, on the host: layer l's weight
// gradient D_l^T H_l and bias gradient (the batch sum of D_l), given the Gram matrices dd[l] = D_l D_l^T
// and hh[l] = H_l H_l^T (each [batch, batch], row-major): ||D^T H||_F^2 = sum((D D^T) ⊙ (H H^T)) and
// ||1^T D||^2 = sum(D D^T), summed in float64, layer after layer.
func HostFactoredNorm(dd, hh [][]float32) float64 {
	var total float64
	for l := range dd {
		var w, b float64
		h := hh[l][:len(dd[l])]
		for i, v := range dd[l] {
			w += float64(v) * float64(h[i])
			b += float64(v)
		}
		total += w + b
	}
	return math.Sqrt(math.Max(total, 0))
}

// sumSquares is sum_n x[n]^2 in float64, over four interleaved partial sums added in a fixed order.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	n := 0
	for ; n+4 <= len(x); n += 4 {
		a, b, c, d := float64(x[n]), float64(x[n+1]), float64(x[n+2]), float64(x[n+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; n < len(x); n++ {
		s0 += float64(x[n]) * float64(x[n])
	}
	return (s0 + s1) + (s2 + s3)
}

// parallelRange splits [0, n) into at most workers contiguous ranges and runs f on each concurrently.
func parallelRange(n, workers int, f func(lo, hi int)) {
	if n == 0 {
		return
	}
	parts := max(1, min(workers, n))
	if parts == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Go(func() { f(p*n/parts, (p+1)*n/parts) })
	}
	wg.Wait()
}

// The portable span kernels. Each does, element by element, the float32 operations of the optimiser's
// Apply in the same order (Go does not fuse a*b+c into one rounding on amd64); host_simd.go has
// vectorised versions with the same operations.

// sgdSpanGo is plain SGD: p <- p - (coef g) lr.
func sgdSpanGo(p, g []float32, lr, coef float32) {
	g = g[:len(p)]
	for n := range p {
		p[n] -= (g[n] * coef) * lr
	}
}

// momentumSpanGo is SGD with momentum: v <- v mu + coef g; p <- p - v lr.
func momentumSpanGo(p, g, v []float32, lr, mu, coef float32) {
	g, v = g[:len(p)], v[:len(p)]
	for n := range p {
		v[n] = v[n]*mu + g[n]*coef
		p[n] -= v[n] * lr
	}
}

// adamSpanGo is Adam (see Adam) with the step's constants c.
func adamSpanGo(c adamCoef, p, g, m, s []float32) {
	g, m, s = g[:len(p)], m[:len(p)], s[:len(p)]
	for n := range p {
		gn := g[n] * c.coef
		m[n] = m[n]*c.b1 + gn*c.nb1
		s[n] = s[n]*c.b2 + (gn*gn)*c.nb2
		mhat := m[n] / c.bc1
		shat := s[n] / c.bc2
		p[n] -= (mhat / (float32(math.Sqrt(float64(shat))) + c.eps)) * c.lr
	}
}
