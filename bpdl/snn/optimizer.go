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
	// slots holds each parameter's buffers, in the order of the parameters step is given; t counts
	// Adam's steps.
	slots []slots
	t     float32
}

// slots are the buffers the optimiser keeps for one parameter, each shaped like it: the momentum of SGD
// with momentum, or Adam's first and second moments m and v. Unused ones are nil.
type slots struct {
	momentum, m, v []float32
}

// buffers returns pointers to the buffers in use, in optim.Config.State's order: the momentum, or m
// then v.
func (s *slots) buffers() []*[]float32 {
	var out []*[]float32
	for _, b := range []*[]float32{&s.momentum, &s.m, &s.v} {
		if *b != nil {
			out = append(out, b)
		}
	}
	return out
}

// newOptimizer returns cfg's optimiser for parameters of the given lengths, its buffers at zero.
func newOptimizer(cfg optim.Config, lengths []int) *optimizer {
	o := &optimizer{cfg: cfg, slots: make([]slots, len(lengths))}
	for p, n := range lengths {
		switch {
		case cfg.Kind == optim.SGD && cfg.Momentum != 0:
			o.slots[p].momentum = make([]float32, n)
		case cfg.Kind == optim.Adam:
			o.slots[p].m, o.slots[p].v = make([]float32, n), make([]float32, n)
		}
	}
	return o
}

// chunk is the number of values each goroutine of the optimiser and of the norm handles at a time.
const chunk = 1 << 14

// step updates params in place from grads, using up to workers goroutines, and sets grads to zero.
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
					sgdPlainGo(p, g, lr, coef)
					continue
				}
				sgdMomentum(p, o.slots[s.p].momentum[s.lo:s.hi], g, lr, mu, coef)
			}
		})
	case optim.Adam:
		o.t++
		t := float64(o.t)
		c := adamCoef{
			lr: lr, b1: float32(o.cfg.Beta1), b2: float32(o.cfg.Beta2), eps: float32(o.cfg.Eps), coef: coef,
			bc1: float32(-math.Expm1(t * math.Log(o.cfg.Beta1))),
			bc2: float32(-math.Expm1(t * math.Log(o.cfg.Beta2))),
		}
		parallelRange(len(spans), workers, func(_, lo, hi int) {
			for _, s := range spans[lo:hi] {
				sl := &o.slots[s.p]
				adam(c, params[s.p][s.lo:s.hi], sl.m[s.lo:s.hi], sl.v[s.lo:s.hi], grads[s.p][s.lo:s.hi])
			}
		})
	default:
		panic(fmt.Sprintf("snn: unknown optimiser %q", o.cfg.Kind))
	}
}

// sgdPlainGo is plain SGD on a span: p <- p - lr (coef g), then g <- 0.
func sgdPlainGo(p, g []float32, lr, coef float32) {
	g = g[:len(p)]
	for n := range p {
		p[n] -= lr * (coef * g[n])
		g[n] = 0
	}
}

// sgdMomentumGo is SGD with momentum on a span: v <- mu v + coef g; p <- p - lr v; then g <- 0.
func sgdMomentumGo(p, v, g []float32, lr, mu, coef float32) {
	v, g = v[:len(p)], g[:len(p)]
	for n := range p {
		v[n] = mu*v[n] + coef*g[n]
		p[n] -= lr * v[n]
		g[n] = 0
	}
}

// adamCoef are the constants of one Adam step: bc1 = 1 - b1^t and bc2 = 1 - b2^t are the bias
// corrections, coef the clipping factor.
type adamCoef struct {
	lr, b1, b2, eps, coef, bc1, bc2 float32
}

// adamGo is Adam on a span (see optimizer), then g <- 0.
func adamGo(c adamCoef, p, m, v, g []float32) {
	m, v, g = m[:len(p)], v[:len(p)], g[:len(p)]
	for n := range p {
		gn := c.coef * g[n]
		m[n] = c.b1*m[n] + (1-c.b1)*gn
		v[n] = c.b2*v[n] + (1-c.b2)*gn*gn
		p[n] -= c.lr * ((m[n] / c.bc1) / (float32(math.Sqrt(float64(v[n]/c.bc2))) + c.eps))
		g[n] = 0
	}
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
			partial[k] = sumSquares(xs[s.p][s.lo:s.hi])
		}
	})
	var total float64
	for _, v := range partial {
		total += v
	}
	return math.Sqrt(total)
}
