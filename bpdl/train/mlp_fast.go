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
	"github.com/bpdl/bpdl/bpdl/pack"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// cpuStep is the MLP's training step on GoMLX's go backend: the same step as the step graph (MLP.compile),
// with the work that the go backend does slowly moved to the hand-written kernels of package dense. The
// go backend runs a graph one operation at a time, each a full pass over memory, so the graph step reads
// the first layer's 18.9 MB of weights (CIFAR-10) about ten times; here:
//
//  1. dense.Linear computes the first layer's pre-activation x W_0^T + b_0;
//  2. the tail computes everything else of the rule's math: the rest of the forward pass, the loss, the
//     rule's updates in factored form (rules.Update.Deltas and Inputs) and its own tensors. For BP, FA
//     and DFA it runs on the host with dense's kernels (hostTail); for other rules it is a GoMLX graph
//     built from the rule's Updates, exactly as the step graph does;
//  3. when the optimiser clips, dense.Gram forms the factors' Gram matrices D D^T and H H^T ([batch,
//     batch]) and optim.HostFactoredNorm the global norm, from which optim.HostClipCoefficient gives the
//     clipping factor (the step graph computes the same in float32, in the graph);
//  4. dense.Update takes the optimiser's step on every layer's weights and biases from the factors,
//     forming each block of the gradient in cache and handing it to the optimiser's host update
//     (optim.HostStepOf, with the clipping factor): the weights and optimiser state are read and written
//     once.
//
// A rule that trains tensors of its own from factored gradients (rules.OwnTrainer: DTP's feedback
// mappings) has that step taken the same way: the tail graph returns the factors (UpdatesOwn) and
// dense.Update applies the rule's optimiser to the tensors, which live in shared tensors too.
//
// The first layer's update waits for the next step (or for anything that reads the parameters, which
// calls flush first), where dense.UpdateLinear applies it and computes the next batch's pre-activation
// in the same pass over the weights: step 1 of one step and step 4 of the previous one read the first
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

	// own is the rule's own training step (rules.OwnTrainer), once the tail graph has been built; nil for
	// rules without one.
	own *ownStep

	// host is the rule's tail on the host (hostTail), or nil where the tail graph runs.
	host *hostTail

	// The first layer's update of the previous step, until the next step or flush applies it: the
	// factors (the deltas, in the host tail's buffer or in pendT, the tail graph's output holding them;
	// and a copy of the inputs), the batch size and the optimiser's update of that step.
	pending  bool
	pendD    []float32
	pendT    *tensors.Tensor
	pendX    []float32
	pendM    int
	pendSpan optim.HostStep
}

// ownStep is a rule's own training step on the host: where its trained tensors are in the rule's
// tensors (Step.Aux), the positions the tail graph returns (the others), and the kernels' views.
type ownStep struct {
	opt      optim.Optimizer
	layers   []rules.OwnLayer // positions only; the factors come back from the tail graph
	state    []int
	graphAux []int
	w, b     []dense.Param
	steps    []float32 // the optimiser's step count (Adam's t), or nil
}

// cpuBuffers are the buffers of one batch size: the first layer's pre-activation (shared with the
// backend: the kernels write it, the tail graph reads it) and the Gram matrices of the clipping norm.
type cpuBuffers struct {
	pre0     *tensors.Tensor
	pre0View []float32
	dd, hh   [][]float32 // per layer, [batch, batch]
}

// fastPathOn reports whether the CPU fast path runs on a backend: on GoMLX's go backend (goBackend), where
// package dense has its vector kernels (or where a test forces it).
func fastPathOn(goBackend, force bool) bool {
	return goBackend && (dense.Accelerated() || force)
}

// goBackendName is what GoMLX's go backend answers to Name().
const goBackendName = "Go Backend"

// newCPUStep sets up the fast path for m, moving its parameters and optimiser state into shared tensors.
// It returns nil when the backend is not the go backend, the net is not float32, or package dense has no
// vector kernels on this machine (unless force is set).
func newCPUStep(m *MLP, force bool) (*cpuStep, error) {
	if !fastPathOn(m.backend.Name() == goBackendName, force) || !m.backend.HasSharedBuffers() {
		return nil, nil
	}
	for _, t := range append(m.state.params(), m.state.Opt...) {
		if t.DType() != dtypes.Float32 {
			return nil, nil
		}
	}
	c := &cpuStep{m: m, clip: m.settings.Optimizer.ClipNorm() > 0, buffers: map[int]*cpuBuffers{},
		host: newHostTail(m.rule, m.spec)}
	if err := c.adopt(m.state); err != nil {
		return nil, err
	}
	if c.host != nil && c.host.dtp != nil {
		if err := c.ownLayout(); err != nil {
			return nil, err
		}
	}
	var err error
	c.tail, err = NewExec(m.backend, c.tailGraph)
	if err != nil {
		return nil, err
	}
	c.tail = c.tail.WithName(m.rule.Name() + "-tail")
	return c, nil
}

// adopt makes st the MLP's state, its parameters and optimiser state in shared tensors (copied there
// unless they are already), and points the kernels at them.
func (c *cpuStep) adopt(st state[*tensors.Tensor]) error {
	var err error
	for l := range st.Layers {
		if st.Layers[l].W, err = share(c.m.backend, st.Layers[l].W); err != nil {
			return err
		}
		if st.Layers[l].B, err = share(c.m.backend, st.Layers[l].B); err != nil {
			return err
		}
	}
	if st.Opt, err = shareAll(c.m.backend, st.Opt); err != nil {
		return err
	}
	c.m.state = st
	c.views()
	return c.shareOwn()
}

// shareOwn moves the tensors of the rule's own training step to shared tensors (unless they are already)
// and points the kernels at them; it does nothing before the tail graph has named them.
func (c *cpuStep) shareOwn() error {
	o := c.own
	if o == nil {
		return nil
	}
	aux := c.m.state.Aux
	view1 := func(i int) ([]float32, error) {
		var err error
		if aux[i], err = share(c.m.backend, aux[i]); err != nil {
			return nil, err
		}
		return view(aux[i]), nil
	}
	states := make([][]float32, len(o.state))
	for j, i := range o.state {
		var err error
		if states[j], err = view1(i); err != nil {
			return err
		}
	}
	o.w, o.b, o.steps = nil, nil, nil
	param := func(pos, i int) (dense.Param, error) {
		p, err := view1(pos)
		if err != nil {
			return dense.Param{}, err
		}
		dp := dense.Param{P: p}
		if s := optim.ParamState(o.opt, states, i); len(s) > 0 {
			dp.S0 = s[0]
			if len(s) > 1 {
				dp.S1 = s[1]
			}
		}
		return dp, nil
	}
	for k, l := range o.layers {
		w, err := param(l.W, 2*k)
		if err != nil {
			return err
		}
		b, err := param(l.B, 2*k+1)
		if err != nil {
			return err
		}
		o.w, o.b = append(o.w, w), append(o.b, b)
	}
	if t, ok := optim.StepCount(o.opt, states, 2*len(o.layers)); ok {
		o.steps = t
	}
	return nil
}

// views points the kernels' parameters at the shared tensors' data.
func (c *cpuStep) views() {
	st, o := c.m.state, c.m.settings.Optimizer
	param := func(p *tensors.Tensor, i int) dense.Param {
		dp := dense.Param{P: view(p)}
		if s := optim.ParamState(o, st.Opt, i); len(s) > 0 {
			dp.S0 = view(s[0])
			if len(s) > 1 {
				dp.S1 = view(s[1])
			}
		}
		return dp
	}
	c.w, c.b = nil, nil
	for l, ly := range st.Layers {
		c.w = append(c.w, param(ly.W, 2*l))
		c.b = append(c.b, param(ly.B, 2*l+1))
	}
	c.steps = nil
	if t, ok := optim.StepCount(o, st.Opt, 2*len(st.Layers)); ok {
		c.steps = view(t)
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

// tailArgs are the tail graph's arguments: the first layer's pre-activation computed by the kernels, the
// batch, the parameters of the layers after the first, the rule's tensors.
type tailArgs[T any] struct {
	Pre0, Y, X T
	Layers     []layer[T]
	Aux        []T
}

// tailOut are the tail graph's results: every layer's deltas and the inputs of the layers after the first
// (the rule's update factors), the loss, the rule's new tensors (those it does not leave to an own step),
// and the factors of its own step's gradients.
type tailOut[T any] struct {
	Deltas, Inputs []T
	Loss           T
	Aux            []T
	OwnD, OwnH     []T
}

// tailShape returns empty tail results of m's shape, for pack.Unflatten.
func (c *cpuStep) tailShape() tailOut[*tensors.Tensor] {
	layers := c.m.spec.Layers()
	out := tailOut[*tensors.Tensor]{Deltas: make([]*tensors.Tensor, layers), Inputs: make([]*tensors.Tensor, layers-1),
		Aux: make([]*tensors.Tensor, len(c.m.state.Aux))}
	if c.own != nil {
		out.Aux = make([]*tensors.Tensor, len(c.own.graphAux))
		out.OwnD, out.OwnH = make([]*tensors.Tensor, len(c.own.layers)), make([]*tensors.Tensor, len(c.own.layers))
	}
	return out
}

// tailGraph is step 2 of cpuStep: tailArgs -> tailOut.
func (c *cpuStep) tailGraph(in []*Node) []*Node {
	m := c.m
	layers := m.spec.Layers()
	a := tailArgs[*Node]{Layers: make([]layer[*Node], layers-1), Aux: make([]*Node, len(m.state.Aux))}
	pack.MustUnflatten(&a, in)
	w, b := weights(append([]layer[*Node]{{}}, a.Layers...)) // the first layer's are not needed
	step := rules.NewStepFrom(m.spec, a.X, a.Pre0, a.Y, w, b, a.Aux)
	var u *rules.Update
	var own *rules.OwnStep
	if ot, ok := m.rule.(rules.OwnTrainer); ok {
		u, own = ot.UpdatesOwn(step)
	} else {
		u = m.rule.Updates(step)
	}
	if u.Deltas == nil {
		c.unusable = true
		return []*Node{u.Loss}
	}
	out := tailOut[*Node]{Deltas: u.Deltas, Inputs: u.Inputs[1:], Loss: u.Loss, Aux: u.Aux}
	if own != nil {
		// The same for every batch size: recorded once.
		if c.own == nil {
			c.own = newOwnStep(own, len(u.Aux))
		}
		out.Aux = nil
		for _, i := range c.own.graphAux {
			out.Aux = append(out.Aux, u.Aux[i])
		}
		for _, l := range own.Layers {
			out.OwnD, out.OwnH = append(out.OwnD, l.D), append(out.OwnH, l.H)
		}
	}
	return pack.Flatten[*Node](out)
}

// newOwnStep records where a rule's own step's tensors are among its n tensors.
func newOwnStep(own *rules.OwnStep, n int) *ownStep {
	o := &ownStep{opt: own.Optimizer, state: own.State}
	host := map[int]bool{}
	for _, i := range own.State {
		host[i] = true
	}
	for _, l := range own.Layers {
		o.layers = append(o.layers, rules.OwnLayer{W: l.W, B: l.B})
		host[l.W], host[l.B] = true, true
	}
	for i := 0; i < n; i++ {
		if !host[i] {
			o.graphAux = append(o.graphAux, i)
		}
	}
	return o
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
		c.ws.UpdateLinear(c.w[0], c.b[0], c.pendD, c.pendX, c.pendM, sizes[1], sizes[0], c.pendSpan,
			buf.pre0View, xv, batch, workers)
		c.release()
	} else {
		c.ws.Linear(buf.pre0View, xv, c.w[0].P, c.b[0].P, batch, sizes[1], sizes[0], workers)
	}
	// The tail: on the host when the rule has a host tail, else the tail graph.
	var deltas, inputs [][]float32
	var res tailOut[*tensors.Tensor]
	var ownD, ownH [][]float32
	if c.host != nil {
		var yv []int32
		tensors.MustConstFlatData(y, func(flat []int32) { yv = flat })
		w, b := make([][]float32, layers), make([][]float32, layers)
		for l := range w {
			w[l], b[l] = c.w[l].P, c.b[l].P
		}
		if c.host.dtp != nil {
			st, err := c.runDTP(batch, xv, buf.pre0View, yv, w, b, workers)
			if err != nil {
				return 0, false, err
			}
			deltas, inputs, loss, ownD, ownH = st.deltas, st.inputs, st.loss, st.ownD, st.ownH
		} else {
			aux := make([][]float32, len(m.state.Aux))
			for i, t := range m.state.Aux {
				aux[i] = view(t)
			}
			deltas, inputs, loss = c.host.run(m.spec, batch, xv, buf.pre0View, yv, w, b, aux, workers)
		}
	} else {
		a := tailArgs[*tensors.Tensor]{Pre0: buf.pre0, Y: y, X: x, Layers: m.state.Layers[1:], Aux: m.state.Aux}
		outs, err := c.tail.Exec(argsOf(a)...)
		if err != nil {
			return 0, false, err
		}
		if c.unusable {
			finalize(outs)
			return 0, false, nil
		}
		res = c.tailShape()
		pack.MustUnflatten(&res, outs)
		inputs = append(inputs, xv)
		for l := 0; l < layers; l++ {
			deltas = append(deltas, view(res.Deltas[l]))
			if l > 0 {
				inputs = append(inputs, view(res.Inputs[l-1]))
			}
		}
	}
	step := 1
	if c.steps != nil {
		c.steps[0]++
		step = int(c.steps[0])
	}
	coef := float32(1)
	if c.clip {
		for l := 0; l < layers; l++ {
			c.ws.Gram(buf.dd[l], deltas[l], batch, sizes[l+1], workers)
			c.ws.Gram(buf.hh[l], inputs[l], batch, sizes[l], workers)
		}
		coef = optim.HostClipCoefficient(optim.HostFactoredNorm(buf.dd, buf.hh), m.settings.Optimizer.ClipNorm())
	}
	span := optim.HostStepOf(m.settings.Optimizer, step, coef)
	for l := 1; l < layers; l++ {
		c.ws.Update(c.w[l], c.b[l], deltas[l], inputs[l], batch, sizes[l+1], sizes[l], span, workers)
	}
	// The first layer's update waits for the next step.
	c.pending, c.pendD, c.pendM, c.pendSpan = true, deltas[0], batch, span
	c.pendX = append(c.pendX[:0], xv[:batch*sizes[0]]...)
	if c.host != nil {
		return loss, true, c.ownUpdate(ownD, ownH, batch, workers)
	}
	c.pendT = res.Deltas[0]
	for k := range res.OwnD {
		ownD, ownH = append(ownD, view(res.OwnD[k])), append(ownH, view(res.OwnH[k]))
	}
	if err := c.ownUpdate(ownD, ownH, batch, workers); err != nil {
		return 0, false, err
	}
	loss = scalar(res.Loss)
	finalize(res.Deltas[1:], res.Inputs, []*tensors.Tensor{res.Loss}, res.OwnD, res.OwnH)
	if c.own == nil {
		finalize(m.state.Aux)
		m.state.Aux = res.Aux
	} else {
		for j, i := range c.own.graphAux {
			_ = m.state.Aux[i].FinalizeAll()
			m.state.Aux[i] = res.Aux[j]
		}
	}
	return loss, true, nil
}

// ownUpdate takes the rule's own training step, if it has one, from the factors of its gradients (per
// trained layer, d [batch, out] and h [batch, in]).
func (c *cpuStep) ownUpdate(ownD, ownH [][]float32, batch, workers int) error {
	o := c.own
	if o == nil {
		return nil
	}
	if o.w == nil {
		if err := c.shareOwn(); err != nil {
			return err
		}
	}
	coef := float32(1)
	if max := o.opt.ClipNorm(); max > 0 {
		var dd, hh [][]float32
		for k := range o.layers {
			d, h := ownD[k], ownH[k]
			g1, g2 := make([]float32, batch*batch), make([]float32, batch*batch)
			c.ws.Gram(g1, d, batch, len(d)/batch, workers)
			c.ws.Gram(g2, h, batch, len(h)/batch, workers)
			dd, hh = append(dd, g1), append(hh, g2)
		}
		coef = optim.HostClipCoefficient(optim.HostFactoredNorm(dd, hh), max)
	}
	step := 1
	if o.steps != nil {
		o.steps[0]++
		step = int(o.steps[0])
	}
	hs := optim.HostStepOf(o.opt, step, coef)
	for k := range o.layers {
		out, in := len(ownD[k])/batch, len(ownH[k])/batch
		c.ws.Update(o.w[k], o.b[k], ownD[k], ownH[k], batch, out, in, hs, workers)
	}
	return nil
}

// runDTP runs DTP's host tail (dtpTail) on the feedback mappings (the rule's own trained tensors) and the
// random-number state among the rule's tensors, which it replaces by the state after the noise.
func (c *cpuStep) runDTP(batch int, x, pre0 []float32, y []int32, w, b [][]float32, workers int) (dtpStep, error) {
	m, o := c.m, c.own
	if o.w == nil {
		if err := c.shareOwn(); err != nil {
			return dtpStep{}, err
		}
	}
	var q, qb [][]float32
	for k := range o.layers {
		q, qb = append(q, o.w[k].P), append(qb, o.b[k].P)
	}
	ri := o.graphAux[0] // DTP's only tensor besides the trained ones: the random-number state
	state := tensors.MustCopyFlatData[uint64](m.state.Aux[ri])
	st := c.host.dtp.run(m.spec, batch, x, pre0, y, w, b, q, qb, [2]uint64{state[0], state[1]}, workers)
	state[0], state[1] = st.rng[0], st.rng[1]
	_ = m.state.Aux[ri].FinalizeAll()
	m.state.Aux[ri] = tensors.FromFlatDataAndDimensions(state, len(state))
	return st, nil
}

// ownLayout records where the rule's own trained tensors are among its tensors (c.own), which the tail
// graph learns when it is built: a host tail that never runs the graph builds it once, without running it.
func (c *cpuStep) ownLayout() error {
	m := c.m
	g := NewGraph(m.backend, m.rule.Name()+"-layout")
	defer g.Finalize()
	batch := 1
	a := tailArgs[shapes.Shape]{Pre0: shapesOf(batch, m.spec.Sizes[1]), Y: shapes.Make(dtypes.Int32, batch),
		X: shapesOf(batch, m.spec.Sizes[0])}
	for _, ly := range m.state.Layers[1:] {
		a.Layers = append(a.Layers, layer[shapes.Shape]{W: ly.W.Shape(), B: ly.B.Shape()})
	}
	for _, t := range m.state.Aux {
		a.Aux = append(a.Aux, t.Shape())
	}
	var in []*Node
	for i, s := range pack.Flatten[shapes.Shape](a) {
		in = append(in, Parameter(g, fmt.Sprintf("p%d", i), s))
	}
	c.tailGraph(in)
	if c.own == nil || len(c.own.graphAux) != 1 || m.state.Aux[c.own.graphAux[0]].DType() != dtypes.Uint64 {
		return fmt.Errorf("%s: the host tail expects the rule's own step and one random-number state", m.rule.Name())
	}
	return nil
}

// flush applies the first layer's pending update, if any: every reader of the parameters calls it.
func (c *cpuStep) flush() {
	if !c.pending {
		return
	}
	sizes := c.m.spec.Sizes
	c.ws.Update(c.w[0], c.b[0], c.pendD, c.pendX, c.pendM, sizes[1], sizes[0], c.pendSpan, dense.Workers())
	c.release()
}

// release forgets the pending update (applied, or replaced by SetState).
func (c *cpuStep) release() {
	if c.pendT != nil {
		_ = c.pendT.FinalizeAll()
	}
	c.pending, c.pendD, c.pendT, c.pendSpan = false, nil, nil, optim.HostStep{}
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
		for l := 0; l < c.m.spec.Layers(); l++ {
			b.dd = append(b.dd, make([]float32, batch*batch))
			b.hh = append(b.hh, make([]float32, batch*batch))
		}
	}
	c.buffers[batch] = b
	return b, nil
}

func shapesOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
