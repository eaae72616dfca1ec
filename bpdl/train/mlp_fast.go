package train

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/dense"
	"github.com/bpdl/bpdl/bpdl/optim"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// cpuStep is the MLP's training step on GoMLX's go backend: the same step as the step graph (MLP.compile),
// with the work that the go backend does slowly moved to the hand-written kernels of package dense. The
// go backend runs a graph one operation at a time, each a full pass over memory, so the graph step reads
// the first layer's 18.9 MB of weights (CIFAR-10) about ten times; here:
//
//  1. dense.Linear computes the first layer's pre-activation x W_0^T + b_0 (and, when the optimiser
//     clips, the Gram matrix x x^T that the clipping norm needs);
//  2. a GoMLX graph, the tail, computes everything else of the step exactly as the step graph does: the
//     rest of the forward pass, the loss, the rule's updates in factored form (rules.Update.Deltas and
//     Inputs) and its own tensors, and the clipping factor of the optimiser (optim.ClipFactor), by which
//     it scales the deltas;
//  3. dense.Update takes the optimiser's step on every layer's weights and biases from the factors,
//     forming each block of the gradient in cache and handing it to the optimiser's host update
//     (optim.Optimizer.Span): the weights and optimiser state are read and written once.
//
// The first layer's update waits for the next step (or for anything that reads the parameters, which
// calls flush first), where dense.UpdateLinear applies it and computes the next batch's pre-activation
// in the same pass over the weights: step 1 of one step and step 3 of the previous one read the first
// layer's weights once between them. The values are those of the update followed by the product.
//
// The parameters and optimiser state live in tensors shared between Go and the backend (no copies), in
// the layout the step graph uses, so checkpoints and the other graphs (logits, probe, layers) do not
// change. The results equal the step graph's up to float32 rounding (the products are summed in another
// order); TestCPUStepEqualsGraph checks it. A rule whose Update has no factors cannot take this path; the
// MLP then runs the step graph.
type cpuStep struct {
	m        *MLP
	tail     *Exec
	clip     bool
	ws       dense.Workspace
	w, b     []dense.Param // views of the parameters and their optimiser state, per layer
	steps    []float32     // Adam's step count (the optimiser state's scalar), or nil
	buffers  map[int]*cpuBuffers
	unusable bool // set by the tail graph when the rule's Update is not factored

	// The first layer's update of the previous step, until the next step or flush applies it: the
	// factors (the tail graph's output holding the scaled deltas, and a copy of the inputs), the batch
	// size and the optimiser's update of that step.
	pending  bool
	pendD    *tensors.Tensor
	pendX    []float32
	pendM    int
	pendSpan optim.SpanFunc
}

// cpuBuffers are the shared tensors of one batch size that the kernels write and the tail graph reads.
type cpuBuffers struct {
	pre0, gram       *tensors.Tensor
	pre0View, gramVw []float32
}

// goBackendName is what GoMLX's go backend answers to Name().
const goBackendName = "Go Backend"

// newCPUStep sets up the fast path for m, moving its parameters and optimiser state into shared tensors.
// It returns nil when the backend is not the go backend or the net is not float32.
func newCPUStep(m *MLP) (*cpuStep, error) {
	if m.backend.Name() != goBackendName || !m.backend.HasSharedBuffers() {
		return nil, nil
	}
	for _, t := range append(append([]*tensors.Tensor{}, m.params...), m.opt...) {
		if t.DType() != dtypes.Float32 {
			return nil, nil
		}
	}
	c := &cpuStep{m: m, clip: m.settings.Optimizer.ClipNorm() > 0, buffers: map[int]*cpuBuffers{}}
	var err error
	if m.params, err = shareAll(m.backend, m.params); err != nil {
		return nil, err
	}
	if m.opt, err = shareAll(m.backend, m.opt); err != nil {
		return nil, err
	}
	c.views()
	c.tail, err = NewExec(m.backend, c.tailGraph)
	if err != nil {
		return nil, err
	}
	c.tail = c.tail.WithName(m.rule.Name() + "-tail")
	return c, nil
}

// views points the kernels' parameters at the shared tensors' data.
func (c *cpuStep) views() {
	m := c.m
	slots := m.settings.Optimizer.Slots()
	param := func(i int) dense.Param {
		p := dense.Param{P: view(m.params[i])}
		if slots > 0 {
			p.S0 = view(m.opt[slots*i])
		}
		if slots > 1 {
			p.S1 = view(m.opt[slots*i+1])
		}
		return p
	}
	c.w, c.b = nil, nil
	for l := 0; l < m.spec.Layers(); l++ {
		c.w = append(c.w, param(2*l))
		c.b = append(c.b, param(2*l+1))
	}
	c.steps = nil
	if extra := len(m.opt) - slots*len(m.params); extra == 1 {
		c.steps = view(m.opt[len(m.opt)-1])
	}
}

// share returns a tensor that shares its storage with the backend, holding t's values.
func share(b compute.Backend, t *tensors.Tensor) (*tensors.Tensor, error) {
	if t.IsShared() {
		return t, nil
	}
	s, err := tensors.FromShapeForBackend(b, 0, t.Shape())
	if err != nil {
		return nil, err
	}
	var cerr error
	err = t.ConstBytes(func(src []byte) {
		cerr = s.MutableBytes(func(dst []byte) { copy(dst, src) })
	})
	if err != nil || cerr != nil {
		return nil, fmt.Errorf("copy a tensor to shared memory: %v %v", err, cerr)
	}
	return s, nil
}

func shareAll(b compute.Backend, ts []*tensors.Tensor) ([]*tensors.Tensor, error) {
	out := make([]*tensors.Tensor, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = share(b, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// view returns the float32 data of a tensor without copying it: a shared tensor's storage, or the buffer
// of a go backend output. It stays valid while the tensor is alive; the kernels write through it.
func view(t *tensors.Tensor) []float32 {
	var v []float32
	tensors.MustConstFlatData(t, func(flat []float32) { v = flat })
	return v
}

// tailGraph is step 2 of cpuStep: [pre0, y, x, (x x^T), W_1, b_1, ..., aux...] -> [the deltas of every
// layer scaled by the clipping factor, the inputs of layers 1.., loss, aux'...].
func (c *cpuStep) tailGraph(in []*Node) []*Node {
	m := c.m
	layers := m.spec.Layers()
	pre0, y, x := in[0], in[1], in[2]
	i := 3
	var gram *Node
	if c.clip {
		gram, i = in[3], 4
	}
	w, b := make([]*Node, layers), make([]*Node, layers)
	for l := 1; l < layers; l++ {
		w[l], b[l] = in[i], in[i+1]
		i += 2
	}
	u := m.rule.Updates(rules.NewStepFrom(m.spec, x, pre0, y, w, b, in[i:]))
	if u.Deltas == nil {
		c.unusable = true
		return []*Node{u.Loss}
	}
	deltas := append([]*Node{}, u.Deltas...)
	grads := u.Grads()
	grads[0].HGram = gram
	if coef := optim.ClipFactor(m.settings.Optimizer, grads); coef != nil {
		for l, d := range deltas {
			deltas[l] = Mul(d, ConvertDType(coef, d.DType()))
		}
	}
	out := append(deltas, u.Inputs[1:]...)
	return append(append(out, u.Loss), u.Aux...)
}

// run takes one training step and returns the batch loss; ok is false when the rule's updates are not
// factored, and the caller must run the step graph instead (nothing has changed then).
func (c *cpuStep) run(x, y *tensors.Tensor) (loss float64, ok bool, err error) {
	m := c.m
	batch := x.Shape().Dimensions[0]
	sizes := m.spec.Sizes
	layers := m.spec.Layers()
	workers := dense.Workers()
	buf, err := c.buffersFor(batch)
	if err != nil {
		return 0, false, err
	}
	xv := view(x)
	if c.pending {
		c.ws.UpdateLinear(c.w[0], c.b[0], view(c.pendD), c.pendX, c.pendM, sizes[1], sizes[0], c.pendSpan,
			buf.pre0View, xv, batch, workers)
		c.release()
	} else {
		c.ws.Linear(buf.pre0View, xv, c.w[0].P, c.b[0].P, batch, sizes[1], sizes[0], workers)
	}
	args := []any{buf.pre0, y, x}
	if c.clip {
		c.ws.Linear(buf.gramVw, xv, xv, nil, batch, batch, sizes[0], workers)
		args = append(args, buf.gram)
	}
	for l := 1; l < layers; l++ {
		args = append(args, m.params[2*l], m.params[2*l+1])
	}
	for _, t := range m.aux {
		args = append(args, t)
	}
	outs, err := c.tail.Exec(args...)
	if err != nil {
		return 0, false, err
	}
	if c.unusable {
		for _, o := range outs {
			_ = o.FinalizeAll()
		}
		return 0, false, nil
	}
	step := 1
	if c.steps != nil {
		c.steps[0]++
		step = int(c.steps[0])
	}
	span := m.settings.Optimizer.Span(step, 1)
	for l := 1; l < layers; l++ {
		c.ws.Update(c.w[l], c.b[l], view(outs[l]), view(outs[layers+l-1]), batch, sizes[l+1], sizes[l], span, workers)
	}
	// The first layer's update waits for the next step.
	c.pending, c.pendD, c.pendM, c.pendSpan = true, outs[0], batch, span
	c.pendX = append(c.pendX[:0], xv[:batch*sizes[0]]...)
	n := 2*layers - 1
	loss = scalar(outs[n])
	finalize(m.aux, outs[1:n+1])
	m.aux = outs[n+1:]
	return loss, true, nil
}

// flush applies the first layer's pending update, if any: every reader of the parameters calls it.
func (c *cpuStep) flush() {
	if !c.pending {
		return
	}
	sizes := c.m.spec.Sizes
	c.ws.Update(c.w[0], c.b[0], view(c.pendD), c.pendX, c.pendM, sizes[1], sizes[0], c.pendSpan, dense.Workers())
	c.release()
}

// release forgets the pending update (applied, or replaced by SetState).
func (c *cpuStep) release() {
	if c.pendD != nil {
		_ = c.pendD.FinalizeAll()
	}
	c.pending, c.pendD, c.pendSpan = false, nil, nil
}

// buffersFor returns the shared tensors for a batch size, made on first use.
func (c *cpuStep) buffersFor(batch int) (*cpuBuffers, error) {
	if b, ok := c.buffers[batch]; ok {
		return b, nil
	}
	mk := func(dims ...int) (*tensors.Tensor, []float32, error) {
		t, err := tensors.FromShapeForBackend(c.m.backend, 0, shapesOf(dims...))
		if err != nil {
			return nil, nil, err
		}
		return t, view(t), nil
	}
	b := &cpuBuffers{}
	var err error
	if b.pre0, b.pre0View, err = mk(batch, c.m.spec.Sizes[1]); err != nil {
		return nil, err
	}
	if c.clip {
		if b.gram, b.gramVw, err = mk(batch, batch); err != nil {
			return nil, err
		}
	}
	c.buffers[batch] = b
	return b, nil
}

func shapesOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
