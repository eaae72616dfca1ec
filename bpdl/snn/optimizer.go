package snn

import (
	"fmt"
	"math"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// optimizer applies an optim.Config to parameters held in Go slices, with the semantics of
// optim.Config.Step (PyTorch's): the gradients are first scaled by min(1, Clip/(norm + 1e-6)), norm their
// global L2 norm, when Clip > 0; then
//
//	SGD:  v <- mu v + g;  p <- p - lr v          (p <- p - lr g when mu = 0)
//	Adam: t <- t + 1;  m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
//	      p <- p - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
//
// A whole step runs on the host, in place: for the spiking net's small batches the compiled optimiser
// graph costs more than the rest of the step. The tests check it against optim.Config.Step.
type optimizer struct {
	cfg optim.Config
	// state holds, per parameter, the momentum buffer (SGD with momentum) or the first and second moments
	// (Adam), each shaped like the parameter; t counts Adam's steps.
	state [][]float32
	t     float32
}

func newOptimizer(cfg optim.Config, sizes []int) *optimizer {
	o := &optimizer{cfg: cfg}
	per := 0
	switch cfg.Kind {
	case optim.SGD:
		if cfg.Momentum != 0 {
			per = 1
		}
	case optim.Adam:
		per = 2
	}
	for _, n := range sizes {
		for k := 0; k < per; k++ {
			o.state = append(o.state, make([]float32, n))
		}
	}
	return o
}

// chunk is the number of values each goroutine of the optimiser and of the norm handles at a time.
const chunk = 1 << 14

// step updates params in place from grads (which it may scale), using up to workers goroutines.
func (o *optimizer) step(params, grads [][]float32, workers int) {
	coef := float32(1)
	if o.cfg.Clip > 0 {
		norm := globalNorm(grads, workers)
		coef = float32(math.Min(o.cfg.Clip/(norm+1e-6), 1))
	}
	type span struct{ p, lo, hi int }
	var spans []span
	for p, g := range grads {
		for lo := 0; lo < len(g); lo += chunk {
			spans = append(spans, span{p, lo, min(lo+chunk, len(g))})
		}
	}
	lr := float32(o.cfg.LR)
	switch o.cfg.Kind {
	case optim.SGD:
		mu := float32(o.cfg.Momentum)
		parallelRange(len(spans), workers, func(_, lo, hi int) {
			for _, s := range spans[lo:hi] {
				p, g := params[s.p][s.lo:s.hi], grads[s.p][s.lo:s.hi]
				if mu == 0 {
					for n := range p {
						p[n] -= lr * (coef * g[n])
					}
					continue
				}
				v := o.state[s.p][s.lo:s.hi]
				for n := range p {
					v[n] = mu*v[n] + coef*g[n]
					p[n] -= lr * v[n]
				}
			}
		})
	case optim.Adam:
		o.t++
		t := float64(o.t)
		bc1 := float32(-math.Expm1(t * math.Log(o.cfg.Beta1)))
		bc2 := float32(-math.Expm1(t * math.Log(o.cfg.Beta2)))
		b1, b2, eps := float32(o.cfg.Beta1), float32(o.cfg.Beta2), float32(o.cfg.Eps)
		parallelRange(len(spans), workers, func(_, lo, hi int) {
			for _, s := range spans[lo:hi] {
				p, g := params[s.p][s.lo:s.hi], grads[s.p][s.lo:s.hi]
				m, v := o.state[2*s.p][s.lo:s.hi], o.state[2*s.p+1][s.lo:s.hi]
				for n := range p {
					gn := coef * g[n]
					m[n] = b1*m[n] + (1-b1)*gn
					v[n] = b2*v[n] + (1-b2)*gn*gn
					p[n] -= lr * ((m[n] / bc1) / (float32(math.Sqrt(float64(v[n]/bc2))) + eps))
				}
			}
		})
	default:
		panic(fmt.Sprintf("snn: unknown optimiser %q", o.cfg.Kind))
	}
}

// globalNorm is the L2 norm of all the values of xs taken as one vector. Partial sums are taken in
// float64 over fixed chunks and added in order, so the result does not depend on workers.
func globalNorm(xs [][]float32, workers int) float64 {
	type span struct{ p, lo, hi int }
	var spans []span
	for p, x := range xs {
		for lo := 0; lo < len(x); lo += chunk {
			spans = append(spans, span{p, lo, min(lo+chunk, len(x))})
		}
	}
	partial := make([]float64, len(spans))
	parallelRange(len(spans), workers, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			s := spans[k]
			var sum float64
			for _, v := range xs[s.p][s.lo:s.hi] {
				sum += float64(v) * float64(v)
			}
			partial[k] = sum
		}
	})
	var total float64
	for _, v := range partial {
		total += v
	}
	return math.Sqrt(total)
}
