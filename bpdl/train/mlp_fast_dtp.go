package train

import (
	"math"
	"math/bits"
	"sync"

	"github.com/bpdl/bpdl/bpdl/dense"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// dtpTail is DTP's tail on the host (rules.DTP.UpdatesOwn is the definition): the rest of the forward
// pass, the targets by difference target propagation through the feedback mappings, the layers' deltas,
// and the factors of the feedback mappings' reconstruction-loss gradients, with the reconstruction noise
// drawn as GoMLX's go backend draws it (hostNormal), bit for bit, from the same random-number state. The
// feedback mappings' optimiser step stays with cpuStep.ownUpdate, as for the tail graph.
type dtpTail struct {
	r    rules.DTP
	ws   dense.Workspace
	bufs map[int]*dtpBuffers
}

// dtpBuffers are a dtpTail's buffers for one batch size. The products that share a matrix take their
// inputs stacked, one call each (every output row is its own chain of multiply-adds, so stacking changes
// no value): layer l's weights multiply [h_{l-1}; h~_l] (the forward pass and the reconstruction's
// noisy input) into [a_l; a~_l], and mapping l's weights multiply [t_l; h_l; hf_l] (the target, the
// output, the reconstruction's layer output) into [g(t_l); g(h_l); z_l] before the nonlinearity.
type dtpBuffers struct {
	x, y      [][]float32 // per layer l >= 1: [h_{l-1}; h~_l] [2 batch, n_{l-1}] and [a_l; a~_l] [2 batch, n_l]
	tin, tout [][]float32 // per layer l >= 1: [t_l; h_l; hf_l] [3 batch, n_l] and its image [3 batch, n_{l-1}]
	hOut      []float32   // the output h_L [batch, classes]
	t0        []float32   // the first layer's target [batch, n_1]
	deltas    [][]float32 // per layer
	ownD      [][]float32 // per layer l >= 1: dz [batch, n_{l-1}]
	u         []float32   // a uniform draw, [batch, widest]
	dz        []float32   // the output's gradient, [batch, classes]
}

func newDTPTail(r rules.DTP) *dtpTail { return &dtpTail{r: r, bufs: map[int]*dtpBuffers{}} }

func (d *dtpTail) buffersFor(spec nn.Spec, batch int) *dtpBuffers {
	if b, ok := d.bufs[batch]; ok {
		return b
	}
	layers, sizes := spec.Layers(), spec.Sizes
	b := &dtpBuffers{x: make([][]float32, layers), y: make([][]float32, layers), tin: make([][]float32, layers),
		tout: make([][]float32, layers), ownD: make([][]float32, layers)}
	widest := 0
	for l := 0; l < layers; l++ {
		widest = max(widest, sizes[l+1])
		b.deltas = append(b.deltas, make([]float32, batch*sizes[l+1]))
		if l > 0 {
			b.x[l], b.y[l] = make([]float32, 2*batch*sizes[l]), make([]float32, 2*batch*sizes[l+1])
			b.tin[l], b.tout[l] = make([]float32, 3*batch*sizes[l+1]), make([]float32, 3*batch*sizes[l])
			b.ownD[l] = make([]float32, batch*sizes[l])
		}
	}
	b.hOut, b.t0 = make([]float32, batch*sizes[layers]), make([]float32, batch*sizes[1])
	b.u, b.dz = make([]float32, batch*widest), make([]float32, batch*sizes[layers])
	d.bufs[batch] = b
	return b
}

// dtpStep is what a dtpTail computes for one step: the rule's update factors and loss, the factors of
// the feedback mappings' gradients, and the random-number state after the noise.
type dtpStep struct {
	deltas, inputs [][]float32
	ownD, ownH     [][]float32
	loss           float64
	rng            [2]uint64
}

// run computes dtpStep for the batch x, labels y and first pre-activation pre0; w and b are the layers'
// weights and biases, q and qb the feedback mappings' weights Q_l [n_{l-1}, n_l] and biases (layers
// 2..L), rng the random-number state (its first two words: GoMLX's RNGBitGenerator keeps a PCG there).
func (d *dtpTail) run(spec nn.Spec, batch int, x, pre0 []float32, y []int32, w, b, q, qb [][]float32, rng [2]uint64, workers int) dtpStep {
	r := d.r
	layers := spec.Layers()
	sizes := spec.Sizes
	bf := d.buffersFor(spec, batch)
	n := func(l int) int { return batch * sizes[l] } // values of a [batch, n_l] block
	relu := func(l int) bool { return l < layers-1 || r.OutputReLU }
	// Layer l's pre-activation a_l and output h_l (0-based l; nn.ForwardFrom, DTP.outputs).
	pre := func(l int) []float32 {
		if l == 0 {
			return pre0[:n(1)]
		}
		return bf.y[l][:n(l+1)]
	}
	h := func(l int) []float32 {
		if l == layers-1 {
			return bf.hOut
		}
		return bf.x[l+1][:n(l+1)]
	}
	// The forward pass with, stacked under each layer's input, the reconstruction's noisy copy of it
	// (DTP.reconstructFactors: h~ = h_{l-1} + σ ε, ε drawn layer after layer from rng), and the
	// reconstructions' layer outputs hf_l = f_l(a~_l).
	inputs := [][]float32{x[:n(0)]}
	sigma := float32(r.Sigma)
	for l := 0; l < layers; l++ {
		if relu(l) {
			dense.ReLU(h(l), pre(l))
		} else {
			copy(h(l), pre(l))
		}
		if l > 0 {
			hf := bf.tin[l][2*n(l+1) : 3*n(l+1)]
			if relu(l) {
				dense.ReLU(hf, bf.y[l][n(l+1):])
			} else {
				copy(hf, bf.y[l][n(l+1):])
			}
			copy(bf.tin[l][n(l+1):2*n(l+1)], h(l))
		}
		if l == layers-1 {
			break
		}
		inputs = append(inputs, h(l))
		in := h(l)
		hc := bf.x[l+1][n(l+1):]
		hostNormal(hc, bf.u[:n(l+1)], &rng, workers)
		parallelChunks(len(hc), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hc[i] = in[i] + hc[i]*sigma
			}
		})
		d.ws.Linear(bf.y[l+1], bf.x[l+1], w[l+1], b[l+1], 2*batch, sizes[l+2], sizes[l+1], workers)
	}
	// The targets (DTP.Targets): t_L = h_L - λ dL/dh_L, t_{l-1} = g(t_l) - g(h_l) + h_{l-1}; with the
	// same products, the reconstructions' z_l and their gradient factors dz_l.
	classes := sizes[layers]
	dz := bf.dz[:batch*classes]
	loss := crossEntropy(dz, h(layers-1), y, batch, classes)
	lam := float32(r.TargetStep)
	t := bf.tin[layers-1][:n(layers)]
	for i, v := range h(layers - 1) {
		t[i] = v - dz[i]*lam
	}
	scale := 1 / math.Pow(math.Max(r.Sigma, r.SigmaFloor), 2)
	target := func(l int) []float32 {
		if l == 0 {
			return bf.t0
		}
		return bf.tin[l][:n(l+1)]
	}
	for l := layers - 1; l > 0; l-- {
		in, out := sizes[l], sizes[l+1]
		g := bf.tout[l]
		d.ws.Linear(g, bf.tin[l], q[l-1], qb[l-1], 3*batch, in, out, workers)
		d.act(g, g) // [g(t_l); g(h_l); r_l = s(z_l)]
		gt, gh, rl := g[:n(l)], g[n(l):2*n(l)], g[2*n(l):]
		tp, hp := target(l-1), h(l-1)
		parallelChunks(len(tp), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				tp[i] = (gt[i] - gh[i]) + hp[i]
			}
		})
		// dz = (r - h~) 2 scale/n, times s'(z) (DTP.reconstructFactors).
		k := float32(2 * scale / float64(batch*in))
		hc, dzl := bf.x[l][n(l):], bf.ownD[l]
		act := r.FeedbackActivation
		var z []float32
		if act == rules.ActReLU {
			// s'(z) = 1 where z > 0, which is where r = max(z, 0) > 0 (NaN > 0 in neither): the mask
			// from r, which replaced z.
			z = rl
		}
		parallelChunks(len(dzl), workers, func(lo, hi int) {
			dl := dzl[lo:hi]
			switch act {
			case rules.ActTanh:
				for i, v := range rl[lo:hi] {
					dl[i] = ((v - hc[lo+i]) * k) * (1 - v*v)
				}
			default:
				for i, v := range rl[lo:hi] {
					dl[i] = (v - hc[lo+i]) * k
				}
				if z != nil {
					dense.ReLUMask(dl, dl, z[lo:hi])
				}
			}
		})
	}
	// The deltas e_l / B = 2/B (h_l - t_l), times f_l'(a_l) (1 where a_l >= 0) for ReLU layers.
	c := float32(2 / float64(batch))
	for l := 0; l < layers; l++ {
		e, hl, tl, a := bf.deltas[l], h(l), target(l), pre(l)
		jacobian := relu(l)
		parallelChunks(len(e), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				e[i] = (hl[i] - tl[i]) * c
			}
			if jacobian {
				dense.StepMask(e[lo:hi], e[lo:hi], a[lo:hi])
			}
		})
	}
	st := dtpStep{inputs: inputs, loss: loss, rng: rng, deltas: bf.deltas}
	for l := 1; l < layers; l++ {
		st.ownD, st.ownH = append(st.ownD, bf.ownD[l]), append(st.ownH, bf.tin[l][2*n(l+1):3*n(l+1)])
	}
	return st
}

// feedback sets out = s(v Q^T + d) ([batch, in]) for v [batch, out] and Q [in, out]: DTP.g.
func (d *dtpTail) feedback(out, v, q, bias []float32, batch, in, n, workers int) {
	d.ws.Linear(out, v, q, bias, batch, in, n, workers)
	d.act(out, out)
}

// act sets dst = s(src), the feedback nonlinearity (DTP.act), as GoMLX's go backend computes it.
func (d *dtpTail) act(dst, src []float32) {
	switch d.r.FeedbackActivation {
	case rules.ActReLU:
		dense.ReLU(dst, src)
	case rules.ActTanh:
		for i, v := range src {
			dst[i] = float32(math.Tanh(float64(v)))
		}
	default:
		copy(dst, src)
	}
}

// hostNormal fills dst with standard normal values as GoMLX's RandomNormal draws them for a float32
// tensor of len(dst) values on the go backend, from the random-number state rng (which it advances), bit
// for bit: two RandomUniform draws u1 and u2 (a PCG seeded with the state's two words gives the bits,
// each Uint64 two uint32 values, low half first; u = min(|float32(bits) 2^-32|, the float32 below 1)), then
// sqrt(-2 log(max(u1, the smallest float32))) cos(2π u2), every operation a float32 operation as the
// backend's (its transcendental functions through float64). u is scratch of at least len(dst) values.
// TestHostNormal checks it against the graph.
func hostNormal(dst, u []float32, rng *[2]uint64, workers int) {
	n := len(dst)
	u = u[:n]
	*rng = hostUniform(u, *rng, workers)
	*rng = hostUniform(dst, *rng, workers)
	parallelChunks(n, workers, func(lo, hi int) { boxMuller(dst[lo:hi], u[lo:hi], dst[lo:hi]) })
}

// boxMuller sets dst[i] = sqrt(-2 log(max(u1[i], the smallest float32))) cos(2π u2[i]), as RandomNormal's
// float32 operations compute it (dst may be u2).
func boxMuller(dst, u1, u2 []float32) {
	const twoPi = float32(2 * math.Pi)
	for i := boxMullerVec(dst, u1, u2); i < len(dst); i++ {
		a := max(u1[i], math.SmallestNonzeroFloat32)
		s := float32(math.Sqrt(float64(float32(math.Log(float64(a))) * -2)))
		dst[i] = s * float32(math.Cos(float64(u2[i]*twoPi)))
	}
}

// hostUniform fills dst as GoMLX's RandomUniform (float32, go backend) does from state, and returns the
// state after it as the backend leaves it. The PCG's draws are split between workers, each starting from the state it would have
// reached (pcgJump), so the values do not depend on the number of workers.
func hostUniform(dst []float32, state [2]uint64, workers int) [2]uint64 {
	draws := (len(dst) + 1) / 2 // each Uint64 gives two values
	parallelChunks(draws, workers, func(lo, hi int) {
		p := pcg(pcgJump(state, uint64(lo)))
		full := min(hi, len(dst)/2) // draws whose two values are both in dst
		out := dst[2*lo : 2*full]
		for k := 0; k+1 < len(out); k += 2 {
			bits := p.uint64()
			out[k], out[k+1] = uniform32(uint32(bits)), uniform32(uint32(bits>>32))
		}
		if full < hi {
			dst[2*full] = uniform32(uint32(p.uint64()))
		}
	})
	// GoMLX writes the PCG's state back as its MarshalBinary bytes (big-endian) read little-endian.
	next := pcgJump(state, uint64(draws))
	return [2]uint64{bits.ReverseBytes64(next[0]), bits.ReverseBytes64(next[1])}
}

// uniform32 is RandomUniform's value for 32 random bits: |float32(bits) 2^-32|, at most the float32 below 1.
func uniform32(bits uint32) float32 {
	v := float32(bits) * (1.0 / (1 << 32))
	if v < 0 {
		v = -v
	}
	return min(v, 0x1.fffffep-01)
}

// pcg is math/rand/v2's PCG (its state: high, low words), written out so that the draw loop inlines it;
// TestPCGJump checks it against rand.PCG.
type pcg [2]uint64

// PCG's 128-bit multiplier and increment.
const (
	pcgMulHi = 2549297995355413924
	pcgMulLo = 4865540595714422341
	pcgIncHi = 6364136223846793005
	pcgIncLo = 1442695040888963407
)

// uint64 is rand.PCG.Uint64: the linear congruential step, then the DXSM output function.
func (p *pcg) uint64() uint64 {
	hi, lo := bits.Mul64(p[1], pcgMulLo)
	hi += p[0]*pcgMulLo + p[1]*pcgMulHi
	lo, c := bits.Add64(lo, pcgIncLo, 0)
	hi, _ = bits.Add64(hi, pcgIncHi, c)
	p[0], p[1] = hi, lo
	hi ^= hi >> 32
	hi *= 0xda942042e4dd58b5
	hi ^= hi >> 48
	return hi * (lo | 1)
}

// pcgJump returns the state (high, low words) of math/rand/v2's PCG after n draws from state: its
// 128-bit linear congruential step s = s mul + inc, composed n times by repeated squaring.
func pcgJump(state [2]uint64, n uint64) [2]uint64 {
	type u128 struct{ hi, lo uint64 }
	mul := func(a, b u128) u128 {
		hi, lo := bits.Mul64(a.lo, b.lo)
		return u128{hi + a.hi*b.lo + a.lo*b.hi, lo}
	}
	add := func(a, b u128) u128 {
		lo, c := bits.Add64(a.lo, b.lo, 0)
		hi, _ := bits.Add64(a.hi, b.hi, c)
		return u128{hi, lo}
	}
	accMul, accAdd := u128{0, 1}, u128{}
	curMul, curAdd := u128{pcgMulHi, pcgMulLo}, u128{pcgIncHi, pcgIncLo}
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			accMul, accAdd = mul(accMul, curMul), add(mul(accAdd, curMul), curAdd)
		}
		curAdd = mul(add(curMul, u128{0, 1}), curAdd)
		curMul = mul(curMul, curMul)
	}
	s := add(mul(u128{state[0], state[1]}, accMul), accAdd)
	return [2]uint64{s.hi, s.lo}
}

// parallelChunks splits [0, n) into at most workers contiguous ranges and runs f on each concurrently.
func parallelChunks(n, workers int, f func(lo, hi int)) {
	parts := max(1, min(workers, n/4096))
	if parts == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Go(func() { f(p*n/parts, (p+1)*n/parts) })
	}
	f(0, n/parts) // the caller takes the first range
	wg.Wait()
}
