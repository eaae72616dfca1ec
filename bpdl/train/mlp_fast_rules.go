package train

import (
	"math"

	"github.com/bpdl/bpdl/bpdl/dense"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// hostTail is step 2 of cpuStep on the host: DTP's (dtpTail), or that of a rule whose math is a backward
// pass of deltas (BP, FA and DFA): the rest of the forward pass, the loss and the deltas, computed with package dense's
// kernels as the rule's Updates graph computes them (rules.BP, rules.FA, rules.DFA, rules.Deltas and
// nn.CrossEntropy are the definition; TestCPUStepEqualsGraph checks that both agree). On the go backend
// the tail graph pays a pass over memory and an allocation for every operation, and its products run at
// about half the speed of dense's tiles; at batch 128 it took about as long as everything else of the
// step but the first layer's two products (docs/speed.md).
type hostTail struct {
	dtp     *dtpTail // DTP's tail (its own file), or nil for the rules below
	send    hostSend
	clamp   float32 // FA's clamp of the sent signal (0: none)
	dfaNorm float32 // DFA's normalisation of the projected error (1/sqrt(N), or 1)
	ws      dense.Workspace
	bufs    map[int]*hostBuffers
}

// hostSend says how a hostTail sends deltas back.
type hostSend int

const (
	sendWeights  hostSend = iota // BP: delta_l W_l
	sendFeedback                 // FA: clamp(delta_l B_l), B_l the rule's tensor l-1
	sendDirect                   // DFA: every hidden layer gets e F, F the rule's tensor 0
)

// hostBuffers are a hostTail's buffers for one batch size, reused from step to step.
type hostBuffers struct {
	pre, post, deltas [][]float32 // per layer; pre[0] and post[L-1] unused
	sig               []float32   // a signal sent back, [batch, widest layer]
}

// newHostTail returns the host tail of rule r for a net of spec, or nil when r's math has none.
func newHostTail(r rules.Rule, spec nn.Spec) *hostTail {
	h := &hostTail{bufs: map[int]*hostBuffers{}, dfaNorm: 1}
	switch r := r.(type) {
	case rules.BP:
		h.send = sendWeights
	case rules.FA:
		h.send, h.clamp = sendFeedback, float32(r.Clamp)
		if r.Clamp <= 0 {
			h.clamp = 0
		}
	case rules.DTP:
		h.dtp = newDTPTail(r)
	case rules.DFA:
		h.send = sendDirect
		if r.Normalize {
			n := 0
			for _, w := range spec.Sizes[1 : len(spec.Sizes)-1] {
				n = max(n, w)
			}
			// The graph multiplies by the float32 constant 1/sqrt(N) (MulScalar).
			h.dfaNorm = float32(1 / math.Sqrt(float64(n)))
		}
	default:
		return nil
	}
	return h
}

// buffersFor returns the buffers of a batch size, made on first use.
func (h *hostTail) buffersFor(spec nn.Spec, batch int) *hostBuffers {
	if b, ok := h.bufs[batch]; ok {
		return b
	}
	layers := spec.Layers()
	b := &hostBuffers{pre: make([][]float32, layers), post: make([][]float32, layers), deltas: make([][]float32, layers)}
	widest := 0
	for l := 0; l < layers; l++ {
		n := spec.Sizes[l+1]
		widest = max(widest, n)
		if l > 0 {
			b.pre[l] = make([]float32, batch*n)
		}
		if l < layers-1 {
			b.post[l] = make([]float32, batch*n)
		}
		b.deltas[l] = make([]float32, batch*n)
	}
	b.sig = make([]float32, batch*widest)
	h.bufs[batch] = b
	return b
}

// run computes, from the batch x and labels y and the first layer's pre-activation pre0, every layer's
// deltas and inputs (the rule's update factors, x the first layer's input) and the batch loss. w and b are
// the layers' weights and biases, aux the rule's tensors. The slices it returns are the tail's buffers,
// valid until its next run.
func (h *hostTail) run(spec nn.Spec, batch int, x, pre0 []float32, y []int32, w, b, aux [][]float32, workers int) (deltas, inputs [][]float32, loss float64) {
	layers := spec.Layers()
	bf := h.buffersFor(spec, batch)
	sizes := spec.Sizes
	// The forward pass: h_l = ReLU(a_l) for the hidden layers (nn.ForwardFrom), the logits a_L.
	pre := func(l int) []float32 {
		if l == 0 {
			return pre0[:batch*sizes[1]]
		}
		return bf.pre[l]
	}
	inputs = append(inputs, x[:batch*sizes[0]])
	for l := 0; l < layers-1; l++ {
		hl := bf.post[l]
		dense.ReLU(hl, pre(l))
		h.ws.Linear(bf.pre[l+1], hl, w[l+1], b[l+1], batch, sizes[l+2], sizes[l+1], workers)
		inputs = append(inputs, hl)
	}
	// The loss and its gradient with respect to the logits (nn.CrossEntropy).
	classes := sizes[layers]
	e := bf.deltas[layers-1]
	loss = crossEntropy(e, pre(layers-1), y, batch, classes)
	// The backward pass (rules.Deltas; DFA's Updates).
	switch h.send {
	case sendDirect:
		if layers > 1 {
			f := aux[0]
			n := len(f) / classes
			p := bf.sig[:batch*n]
			h.ws.MatMul(p, e, f, batch, n, classes, workers)
			for i := range p {
				p[i] *= h.dfaNorm
			}
			for l := 0; l < layers-1; l++ {
				nl := sizes[l+1]
				d, a := bf.deltas[l], pre(l)
				for r := 0; r < batch; r++ {
					dense.ReLUMask(d[r*nl:(r+1)*nl], p[r*n:r*n+nl], a[r*nl:(r+1)*nl])
				}
			}
		}
	default:
		for l := layers - 1; l > 0; l-- {
			m := w[l]
			if h.send == sendFeedback {
				m = aux[l-1]
			}
			in := sizes[l]
			sig := bf.sig[:batch*in]
			h.ws.MatMul(sig, bf.deltas[l], m, batch, in, sizes[l+1], workers)
			if h.clamp > 0 {
				dense.Clamp(sig, h.clamp)
			}
			dense.ReLUMask(bf.deltas[l-1], sig, pre(l-1))
		}
	}
	return bf.deltas, inputs, loss
}

// crossEntropy sets dz = dL/dz = (softmax(z) - onehot(y)) / B for logits z [B, classes] and returns the
// mean cross-entropy L = -(1/B) sum_b log softmax(z_b)[y_b], in float32 as nn.CrossEntropy computes them
// (GoMLX's LogSoftmax: the logits less their maximum, less the log of the sum of their exponentials). A
// label outside [0, classes) has no one-hot entry, as in the graph.
func crossEntropy(dz, z []float32, y []int32, batch, classes int) float64 {
	var total float32
	inv := float32(1 / float64(batch)) // DivScalar multiplies by the reciprocal
	logp := make([]float32, classes)
	for r := 0; r < batch; r++ {
		zr := z[r*classes : (r+1)*classes]
		mx := float32(math.Inf(-1))
		for _, v := range zr {
			mx = max(mx, v)
		}
		var sum float32
		for j, v := range zr {
			logp[j] = v - mx
			sum += float32(math.Exp(float64(logp[j])))
		}
		lse := float32(math.Log(float64(sum)))
		for j := range logp {
			logp[j] -= lse
			oh := float32(0)
			if int(y[r]) == j {
				oh = 1
				total += logp[j]
			}
			dz[r*classes+j] = (float32(math.Exp(float64(logp[j]))) - oh) * inv
		}
	}
	return float64(-total * inv)
}
