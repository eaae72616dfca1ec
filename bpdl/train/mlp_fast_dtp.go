package train

import (
	"math"
	"math/bits"

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

// dtpBuffers are a dtpTail's buffers for one batch size; the per-layer ones are [batch, n_l] (l the
// 0-based layer), the mappings' ones [batch, n_{l-1}] for the mapping of layer l >= 1.
type dtpBuffers struct {
	pre, h, t, deltas [][]float32 // pre-activations (pre[0] unused), outputs, targets, deltas
	ownD, ownH        [][]float32 // per mapping: dz [batch, n_{l-1}], hf [batch, n_l]
	gt, gh, u         []float32   // g(t), g(h) and a uniform draw, [batch, widest]
	hc, z             []float32   // the noisy input and the mapping's pre-activation, [batch, widest]
	a                 []float32   // the layer's pre-activation on the noisy input, [batch, widest]
	dz                []float32   // the output's gradient, [batch, classes]
}

func newDTPTail(r rules.DTP) *dtpTail { return &dtpTail{r: r, bufs: map[int]*dtpBuffers{}} }

func (d *dtpTail) buffersFor(spec nn.Spec, batch int) *dtpBuffers {
	if b, ok := d.bufs[batch]; ok {
		return b
	}
	layers := spec.Layers()
	b := &dtpBuffers{}
	widest := 0
	for l := 0; l < layers; l++ {
		n := spec.Sizes[l+1]
		widest = max(widest, n)
		b.pre = append(b.pre, make([]float32, batch*n))
		b.h = append(b.h, make([]float32, batch*n))
		b.t = append(b.t, make([]float32, batch*n))
		b.deltas = append(b.deltas, make([]float32, batch*n))
		if l > 0 {
			b.ownD = append(b.ownD, make([]float32, batch*spec.Sizes[l]))
			b.ownH = append(b.ownH, make([]float32, batch*n))
		}
	}
	b.gt, b.gh, b.u = make([]float32, batch*widest), make([]float32, batch*widest), make([]float32, batch*widest)
	b.hc, b.z, b.a = make([]float32, batch*widest), make([]float32, batch*widest), make([]float32, batch*widest)
	b.dz = make([]float32, batch*spec.Sizes[layers])
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
	rows := func(s []float32, l int) []float32 { return s[:batch*sizes[l]] }
	// The forward pass (nn.ForwardFrom) and the layers' outputs (DTP.outputs: the last through Output).
	pre := func(l int) []float32 {
		if l == 0 {
			return pre0[:batch*sizes[1]]
		}
		return rows(bf.pre[l], l+1)
	}
	inputs := [][]float32{x[:batch*sizes[0]]}
	for l := 0; l < layers; l++ {
		hl := rows(bf.h[l], l+1)
		if l < layers-1 || r.OutputReLU {
			dense.ReLU(hl, pre(l))
		} else {
			copy(hl, pre(l))
		}
		if l < layers-1 {
			d.ws.Linear(rows(bf.pre[l+1], l+2), hl, w[l+1], b[l+1], batch, sizes[l+2], sizes[l+1], workers)
			inputs = append(inputs, hl)
		}
	}
	h := func(l int) []float32 { return rows(bf.h[l], l+1) }
	// The targets (DTP.Targets): t_L = h_L - λ dL/dh_L, t_{l-1} = g(t_l) - g(h_l) + h_{l-1}.
	classes := sizes[layers]
	dz := bf.dz[:batch*classes]
	loss := crossEntropy(dz, h(layers-1), y, batch, classes)
	lam := float32(r.TargetStep)
	t := rows(bf.t[layers-1], layers)
	for i, v := range h(layers - 1) {
		t[i] = v - dz[i]*lam
	}
	for l := layers - 1; l > 0; l-- {
		in, out := sizes[l], sizes[l+1]
		gt, gh := bf.gt[:batch*in], bf.gh[:batch*in]
		d.feedback(gt, rows(bf.t[l], l+1), q[l-1], qb[l-1], batch, in, out, workers)
		d.feedback(gh, h(l), q[l-1], qb[l-1], batch, in, out, workers)
		tp, hp := rows(bf.t[l-1], l), h(l-1)
		parallelChunks(len(tp), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				tp[i] = (gt[i] - gh[i]) + hp[i]
			}
		})
	}
	// The deltas e_l / B = 2/B (h_l - t_l), times f_l'(a_l) (1 where a_l >= 0) for ReLU layers.
	c := float32(2 / float64(batch))
	for l := 0; l < layers; l++ {
		e, hl, tl, a := rows(bf.deltas[l], l+1), h(l), rows(bf.t[l], l+1), pre(l)
		jacobian := l < layers-1 || r.OutputReLU
		parallelChunks(len(e), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				e[i] = (hl[i] - tl[i]) * c
			}
			if jacobian {
				dense.StepMask(e[lo:hi], e[lo:hi], a[lo:hi])
			}
		})
	}
	// The reconstructions (DTP.reconstructFactors), layers 2..L in turn, each drawing its noise.
	for l := 1; l < layers; l++ {
		in, out := sizes[l], sizes[l+1]
		inp := h(l - 1)
		hc, u := bf.hc[:batch*in], bf.u[:batch*in]
		hostNormal(hc, u, &rng, workers)
		sigma := float32(r.Sigma)
		parallelChunks(len(hc), workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hc[i] = inp[i] + hc[i]*sigma
			}
		})
		a := bf.a[:batch*out]
		d.ws.Linear(a, hc, w[l], b[l], batch, out, in, workers)
		hf := rows(bf.ownH[l-1], l+1)
		if l < layers-1 || r.OutputReLU {
			dense.ReLU(hf, a)
		} else {
			copy(hf, a)
		}
		z := bf.z[:batch*in]
		d.ws.Linear(z, hf, q[l-1], qb[l-1], batch, in, out, workers)
		dzl := rows(bf.ownD[l-1], l)
		// r = s(z) into dzl, then diff = r - hc, dz = diff 2 scale/n (times s'(z)).
		d.act(dzl, z)
		scale := 1 / math.Pow(math.Max(r.Sigma, r.SigmaFloor), 2)
		k := float32(2 * scale / float64(batch*in))
		act := r.FeedbackActivation
		parallelChunks(len(dzl), workers, func(lo, hi int) {
			d := dzl[lo:hi]
			switch act {
			case rules.ActReLU:
				for i, v := range d {
					d[i] = (v - hc[lo+i]) * k
				}
				dense.ReLUMask(d, d, z[lo:hi])
			case rules.ActTanh:
				for i, v := range d {
					d[i] = ((v - hc[lo+i]) * k) * (1 - v*v)
				}
			default:
				for i, v := range d {
					d[i] = (v - hc[lo+i]) * k
				}
			}
		})
	}
	st := dtpStep{inputs: inputs, loss: loss, rng: rng}
	for l := 0; l < layers; l++ {
		st.deltas = append(st.deltas, rows(bf.deltas[l], l+1))
		if l > 0 {
			st.ownD, st.ownH = append(st.ownD, rows(bf.ownD[l-1], l)), append(st.ownH, rows(bf.ownH[l-1], l+1))
		}
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
	done := make(chan struct{}, parts)
	for p := 0; p < parts; p++ {
		go func() {
			f(p*n/parts, (p+1)*n/parts)
			done <- struct{}{}
		}()
	}
	for p := 0; p < parts; p++ {
		<-done
	}
}
