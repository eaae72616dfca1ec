package train

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

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
	qt                [][]float32 // per mapping: Q^T [n_l, n_{l-1}]
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
			b.qt = append(b.qt, make([]float32, n*spec.Sizes[l]))
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
		qt := bf.qt[l-1]
		dense.Transpose(qt, q[l-1], in, out)
		gt, gh := bf.gt[:batch*in], bf.gh[:batch*in]
		d.feedback(gt, rows(bf.t[l], l+1), qt, qb[l-1], batch, in, out, workers)
		d.feedback(gh, h(l), qt, qb[l-1], batch, in, out, workers)
		tp, hp := rows(bf.t[l-1], l), h(l-1)
		for i := range tp {
			tp[i] = (gt[i] - gh[i]) + hp[i]
		}
	}
	// The deltas e_l / B = 2/B (h_l - t_l), times f_l'(a_l) (1 where a_l >= 0) for ReLU layers.
	c := float32(2 / float64(batch))
	for l := 0; l < layers; l++ {
		e, hl, tl := rows(bf.deltas[l], l+1), h(l), rows(bf.t[l], l+1)
		for i := range e {
			e[i] = (hl[i] - tl[i]) * c
		}
		if l < layers-1 || r.OutputReLU {
			dense.StepMask(e, e, pre(l))
		}
	}
	// The reconstructions (DTP.reconstructFactors), layers 2..L in turn, each drawing its noise.
	for l := 1; l < layers; l++ {
		in, out := sizes[l], sizes[l+1]
		inp := h(l - 1)
		hc, u := bf.hc[:batch*in], bf.u[:batch*in]
		hostNormal(hc, u, &rng, workers)
		sigma := float32(r.Sigma)
		for i, v := range inp {
			hc[i] = v + hc[i]*sigma
		}
		a := bf.a[:batch*out]
		d.ws.Linear(a, hc, w[l], b[l], batch, out, in, workers)
		hf := rows(bf.ownH[l-1], l+1)
		if l < layers-1 || r.OutputReLU {
			dense.ReLU(hf, a)
		} else {
			copy(hf, a)
		}
		z := bf.z[:batch*in]
		d.ws.MatMul(z, hf, bf.qt[l-1], batch, in, out, workers)
		addBias(z, qb[l-1], in)
		dzl := rows(bf.ownD[l-1], l)
		// r = s(z) into dzl, then diff = r - hc, dz = diff 2 scale/n (times s'(z)).
		d.act(dzl, z)
		scale := 1 / math.Pow(math.Max(r.Sigma, r.SigmaFloor), 2)
		k := float32(2 * scale / float64(batch*in))
		switch r.FeedbackActivation {
		case rules.ActReLU:
			for i, v := range dzl {
				dzl[i] = (v - hc[i]) * k
			}
			dense.ReLUMask(dzl, dzl, z)
		case rules.ActTanh:
			for i, v := range dzl {
				dzl[i] = ((v - hc[i]) * k) * (1 - v*v)
			}
		default:
			for i, v := range dzl {
				dzl[i] = (v - hc[i]) * k
			}
		}
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

// feedback sets out = s(v Q^T + d) ([batch, in]) for v [batch, out], with qt = Q^T [out, in]: DTP.g.
func (d *dtpTail) feedback(out, v, qt, bias []float32, batch, in, n, workers int) {
	d.ws.MatMul(out, v, qt, batch, in, n, workers)
	addBias(out, bias, in)
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

// addBias adds bias [n] to every row of x [rows, n].
func addBias(x, bias []float32, n int) {
	for r := 0; r < len(x); r += n {
		row := x[r : r+n]
		for i, v := range bias[:n] {
			row[i] += v
		}
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
	*rng = hostUniform(u, *rng)
	*rng = hostUniform(dst, *rng)
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
// state after it.
func hostUniform(dst []float32, state [2]uint64) [2]uint64 {
	pcg := rand.NewPCG(state[0], state[1])
	const scale = float32(1.0 / (1 << 32))
	below1 := math.Nextafter32(1, 0)
	uniform := func(bits uint32) float32 {
		v := float32(bits) * scale
		if v < 0 {
			v = -v
		}
		return min(v, below1)
	}
	for i := 0; i < len(dst); i += 2 {
		bits := pcg.Uint64()
		dst[i] = uniform(uint32(bits))
		if i+1 < len(dst) {
			dst[i+1] = uniform(uint32(bits >> 32))
		}
	}
	b, err := pcg.MarshalBinary()
	if err != nil || len(b) != 20 {
		panic("train: math/rand/v2's PCG state changed format")
	}
	return [2]uint64{binary.LittleEndian.Uint64(b[4:12]), binary.LittleEndian.Uint64(b[12:20])}
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
