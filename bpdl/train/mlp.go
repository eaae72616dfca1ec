package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
	"github.com/bpdl/bpdl/bpdl/pack"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// MLP is a fully connected net (package nn) trained by a learning rule (package rules) and an optimiser.
// Its state is the net's parameters, the rule's own tensors and the optimiser's state; one compiled graph
// computes a whole training step (forward pass, the rule's updates, clipping and the optimiser step), or,
// on GoMLX's go backend, the CPU fast path (cpuStep) computes the same step. A training chunk (StepChunk,
// chunk.go) runs many steps of the same math in one call, with the training set on the device.
type MLP struct {
	rule     rules.Rule
	spec     nn.Spec
	settings Settings
	backend  compute.Backend

	state state[*tensors.Tensor]

	step, pretrain, logits, probe, layers *Exec
	diags                                 []rules.Diagnostic // the rule's diagnostics, set when the probe graph is built

	// chunk and pretrainChunk run many steps per call (chunk.go), made on first use; data is the
	// training set they keep on the device.
	chunk, pretrainChunk *Exec
	data                 *residentSet
	maxResident          int  // MaxResidentBytes; tests lower it
	unrolled             bool // chunks as unrolled steps instead of a While loop: for BenchmarkChunk

	// graphStep is Options.GraphStep: the step graph even where the fast path could run.
	graphStep bool
	// fast is the step on GoMLX's go backend (see cpuStep), nil where the step graph runs.
	fast *cpuStep
}

// layer is a dense layer's parameters: weights [out, in] and biases [out] (tensors, or graph nodes).
type layer[T any] struct{ W, B T }

// state is everything that defines an MLP, in the order of State and of checkpoints (package pack
// flattens it): the layers' parameters W_0, b_0, W_1, b_1, ..., the rule's own tensors (Rule.Setup) and
// the optimiser's state (Optimizer.State, for the parameters in that order).
type state[T any] struct {
	Layers []layer[T]
	Aux    []T
	Opt    []T
}

// params returns the parameters of the layers, in order: W_0, b_0, W_1, b_1, ...
func (s state[T]) params() []T { return pack.Flatten[T](struct{ Layers []layer[T] }{s.Layers}) }

// The arguments of the MLP's graphs, by name; package pack lays them out as the graphs take them.
type (
	// stepArgs are the training and pretraining graphs' arguments: a batch and the whole state.
	stepArgs[T any] struct {
		X, Y  T
		State state[T]
	}
	// netArgs are the arguments of the graphs that only run the net (logits, layers).
	netArgs[T any] struct {
		X      T
		Layers []layer[T]
	}
	// probeArgs are the probe graph's arguments: a batch, the parameters and the rule's tensors.
	probeArgs[T any] struct {
		X, Y   T
		Layers []layer[T]
		Aux    []T
	}
)

// shape returns a state of nodes shaped like m's state, for pack.Unflatten.
func (m *MLP) shape() state[*Node] {
	return state[*Node]{Layers: make([]layer[*Node], len(m.state.Layers)), Aux: make([]*Node, len(m.state.Aux)),
		Opt: make([]*Node, len(m.state.Opt))}
}

// weights returns the weights and biases of layers as separate lists, as rules.Step takes them.
func weights(layers []layer[*Node]) (w, b []*Node) {
	for _, l := range layers {
		w, b = append(w, l.W), append(b, l.B)
	}
	return w, b
}

// argsOf returns the flat arguments of a graph for an arguments struct of tensors.
func argsOf(s any) []any {
	var out []any
	for _, t := range pack.Flatten[*tensors.Tensor](s) {
		out = append(out, t)
	}
	return out
}

// ParamsInitializer is implemented by rules that initialise the forward weights differently from
// PyTorch's default (DTP uses Xavier-uniform weights).
type ParamsInitializer interface {
	InitParams(spec nn.Spec, rng *rand.Rand) *nn.Params
}

// NewMLP builds the net of opts.Spec for a rule, with the rule's published settings changed by
// opts.Override, and draws its initial weights from opts.Seed: forward weights first (PyTorch's
// nn.Linear default unless the rule initialises them), then the rule's own tensors.
func NewMLP(backend compute.Backend, rule rules.Rule, opts Options) (*MLP, error) {
	if err := opts.Spec.Validate(); err != nil {
		return nil, err
	}
	settings := opts.Override.Apply(rules.DefaultsOf(rule))
	if err := settings.Validate(); err != nil {
		return nil, fmt.Errorf("rule %s: %w", rule.Name(), err)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x62706c64)) // "bpld"
	var p *nn.Params
	if pi, ok := rule.(ParamsInitializer); ok {
		p = pi.InitParams(opts.Spec, rng)
	} else {
		p = nn.InitPyTorch(opts.Spec, rng)
	}
	aux, err := rule.Setup(opts.Spec, rng)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", rule.Name(), err)
	}
	m := &MLP{rule: rule, spec: opts.Spec, settings: settings, backend: backend, maxResident: MaxResidentBytes}
	for l := range p.W {
		m.state.Layers = append(m.state.Layers, layer[*tensors.Tensor]{W: p.W[l], B: p.B[l]})
	}
	m.state.Aux = aux
	var pshapes []shapes.Shape
	for _, t := range m.state.params() {
		pshapes = append(pshapes, t.Shape())
	}
	m.state.Opt = settings.Optimizer.State(pshapes)
	if err := m.compile(); err != nil {
		return nil, err
	}
	m.graphStep = opts.GraphStep
	if !opts.GraphStep {
		if m.fast, err = newCPUStep(m, opts.cpuStep); err != nil {
			return nil, fmt.Errorf("rule %s: %w", rule.Name(), err)
		}
	}
	return m, nil
}

// Name implements Learner.
func (m *MLP) Name() string { return m.rule.Name() }

// Engine implements Engine: "cpu" on the CPU fast path, "graph" where the step graph runs.
func (m *MLP) Engine() string {
	if m.fast != nil {
		return "cpu"
	}
	return "graph"
}

// EngineOn implements Engine: "cpu" on the go backend where the CPU fast path runs (fastPathOn), else
// "graph".
func (m *MLP) EngineOn(backend string) string {
	if name, _, _ := strings.Cut(backend, ":"); !m.graphStep && fastPathOn(name == gobackend.BackendName, false) {
		return "cpu"
	}
	return "graph"
}

// Settings implements Learner.
func (m *MLP) Settings() Settings { return m.settings }

// Rule returns the learning rule.
func (m *MLP) Rule() rules.Rule { return m.rule }

// Params returns the net's current parameters: the learner's own tensors on the step graph's path (not
// copied), copies on the CPU fast path, whose tensors the next step changes in place.
func (m *MLP) Params() *nn.Params {
	m.flush()
	p := &nn.Params{}
	for _, l := range m.state.Layers {
		p.W, p.B = append(p.W, m.out(l.W)), append(p.B, m.out(l.B))
	}
	return p
}

// out returns t as the learner hands it out: t itself, or a host copy on the CPU fast path (whose shared
// tensors the kernels write in place, and which a caller must not move or free).
func (m *MLP) out(t *tensors.Tensor) *tensors.Tensor {
	if m.fast == nil || !t.IsShared() {
		return t
	}
	// Bytes, for any dtype: DTP's random-number state (uint64) may be shared too.
	c := tensors.FromShape(t.Shape())
	var cerr error
	if err := t.ConstBytes(func(src []byte) {
		cerr = c.MutableBytes(func(dst []byte) { copy(dst, src) })
	}); err != nil || cerr != nil {
		panic(fmt.Sprintf("train: copy a %s tensor: %v %v", t.Shape(), err, cerr))
	}
	return c
}

// flush applies any update the fast path holds back (see cpuStep); every reader of the parameters calls
// it first.
func (m *MLP) flush() {
	if m.fast != nil {
		m.fast.flush()
	}
}

func (m *MLP) compile() error {
	var err error
	// Training step: stepArgs -> [the new state, loss].
	m.step, err = NewExec(m.backend, func(in []*Node) []*Node {
		a := stepArgs[*Node]{State: m.shape()}
		pack.MustUnflatten(&a, in)
		next, loss := m.stepNodes(a.X, a.Y, a.State)
		return append(pack.Flatten[*Node](next), loss)
	})
	if err != nil {
		return err
	}
	m.step = m.step.WithName(m.rule.Name() + "-step")
	if _, ok := m.rule.(rules.Pretrainer); ok {
		// Pretraining step: stepArgs -> [aux', loss].
		m.pretrain, err = NewExec(m.backend, func(in []*Node) []*Node {
			a := stepArgs[*Node]{State: m.shape()}
			pack.MustUnflatten(&a, in)
			aux, loss := m.pretrainNodes(a.X, a.Y, a.State)
			return append(aux, loss)
		})
		if err != nil {
			return err
		}
	}
	m.logits, err = NewExec(m.backend, func(in []*Node) *Node {
		a := netArgs[*Node]{Layers: m.shape().Layers}
		pack.MustUnflatten(&a, in)
		w, b := weights(a.Layers)
		return rules.OutputOf(m.rule, nn.Forward(a.X, w, b).Logits)
	})
	if err != nil {
		return err
	}
	m.probe, err = NewExec(m.backend, func(in []*Node) []*Node {
		sh := m.shape()
		a := probeArgs[*Node]{Layers: sh.Layers, Aux: sh.Aux}
		pack.MustUnflatten(&a, in)
		w, b := weights(a.Layers)
		s := rules.NewStep(m.spec, a.X, a.Y, w, b, a.Aux)
		loss, _ := rules.LossOf(m.rule, s)
		out := []*Node{loss}
		out = append(out, rules.AlignmentAngles(m.rule, s)...)
		if d, ok := m.rule.(rules.Diagnoser); ok {
			ds := d.Diagnostics(s)
			m.diags = ds // the same for every batch shape
			for _, d := range ds {
				out = append(out, d.Value)
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	m.layers, err = NewExec(m.backend, func(in []*Node) []*Node {
		a := netArgs[*Node]{Layers: m.shape().Layers}
		pack.MustUnflatten(&a, in)
		w, b := weights(a.Layers)
		fwd := nn.Forward(a.X, w, b)
		hidden := len(w) - 1
		out := make([]*Node, 0, 2*hidden)
		out = append(out, fwd.Pre[:hidden]...)
		out = append(out, fwd.Post[:hidden]...)
		return out
	})
	return err
}

// stepNodes is the math of one training step, the same in the step graph and in a training chunk's loop
// (chunk.go): the rule's updates for the batch (x, y) and the optimiser's step give the next state and
// the batch's loss before the update.
func (m *MLP) stepNodes(x, y *Node, st state[*Node]) (state[*Node], *Node) {
	w, b := weights(st.Layers)
	u := m.rule.Updates(rules.NewStep(m.spec, x, y, w, b, st.Aux))
	newParams, newOpt := optim.Step(m.settings.Optimizer, st.params(), u.Grads(), st.Opt)
	next := m.shape()
	pack.MustUnflatten(&next, append(append(newParams, u.Aux...), newOpt...))
	return next, u.Loss
}

// pretrainNodes is the math of one pretraining step (rules.Pretrainer), the same in the pretraining
// graph and in a pretraining chunk: the rule's new tensors and the auxiliary loss.
func (m *MLP) pretrainNodes(x, y *Node, st state[*Node]) ([]*Node, *Node) {
	w, b := weights(st.Layers)
	u := m.rule.(rules.Pretrainer).Pretrain(rules.NewStep(m.spec, x, y, w, b, st.Aux))
	return append([]*Node{}, u.Aux...), u.Loss
}

// donated returns the step graph's arguments with the learner's state tensors (every argument after x
// and y) replaced by their donated device buffers, so the backend can update them in place. The tensors
// are invalid afterwards.
func (m *MLP) donated(x, y *tensors.Tensor) ([]any, error) {
	return m.donate(argsOf(stepArgs[*tensors.Tensor]{X: x, Y: y, State: m.state}), 2)
}

// donate replaces the tensors args[from:] (the learner's state) by their donated device buffers, except
// shared tensors, which cannot be donated.
func (m *MLP) donate(args []any, from int) ([]any, error) {
	for i := from; i < len(args); i++ {
		t := args[i].(*tensors.Tensor)
		if t.IsShared() {
			continue
		}
		d, err := DonateTensorBuffer(t, m.backend, 0)
		if err != nil {
			return nil, err
		}
		args[i] = d
	}
	return args, nil
}

// Step implements Learner.
func (m *MLP) Step(x, y *tensors.Tensor) (float64, error) {
	if m.fast != nil {
		loss, ok, err := m.fast.run(x, y)
		if err != nil {
			return 0, fmt.Errorf("%s training step: %w", m.rule.Name(), err)
		}
		if ok {
			return loss, nil
		}
		m.fast = nil // the rule's updates are not factored: the step graph from now on
	}
	args, err := m.donated(x, y)
	if err != nil {
		return 0, fmt.Errorf("%s training step: %w", m.rule.Name(), err)
	}
	outs, err := m.step.Exec(args...)
	if err != nil {
		return 0, fmt.Errorf("%s training step: %w", m.rule.Name(), err)
	}
	finalize(pack.Flatten[*tensors.Tensor](m.state))
	m.state = m.stateShape()
	pack.MustUnflatten(&m.state, outs[:len(outs)-1])
	return scalar(outs[len(outs)-1]), nil
}

// finalize frees the device buffers of tensors that a step replaced.
func finalize(groups ...[]*tensors.Tensor) {
	for _, g := range groups {
		for _, t := range g {
			_ = t.FinalizeAll()
		}
	}
}

// PretrainStep implements Learner.
func (m *MLP) PretrainStep(x, y *tensors.Tensor) (float64, error) {
	if m.pretrain == nil {
		return 0, fmt.Errorf("rule %s has no pretraining phase", m.rule.Name())
	}
	m.flush()
	outs, err := m.pretrain.Exec(argsOf(stepArgs[*tensors.Tensor]{X: x, Y: y, State: m.state})...)
	if err != nil {
		return 0, fmt.Errorf("%s pretraining step: %w", m.rule.Name(), err)
	}
	finalize(m.state.Aux)
	m.state.Aux = outs[:len(outs)-1]
	if m.fast != nil {
		// The rule's own trained tensors are new tensors now: shared again for the fast path's kernels.
		if err := m.fast.shareOwn(); err != nil {
			return 0, fmt.Errorf("%s pretraining step: %w", m.rule.Name(), err)
		}
	}
	return scalar(outs[len(outs)-1]), nil
}

// Logits implements Learner.
func (m *MLP) Logits(x *tensors.Tensor) (*tensors.Tensor, error) {
	m.flush()
	outs, err := m.logits.Exec(argsOf(netArgs[*tensors.Tensor]{X: x, Layers: m.state.Layers})...)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Probe implements Learner: the probe batch's loss, the angle between the rule's update and the true
// gradient for every weight matrix, and the rule's own diagnostics.
func (m *MLP) Probe(x, y *tensors.Tensor) ([]diag.Metric, error) {
	m.flush()
	outs, err := m.probe.Exec(argsOf(probeArgs[*tensors.Tensor]{X: x, Y: y, Layers: m.state.Layers, Aux: m.state.Aux})...)
	if err != nil {
		return nil, fmt.Errorf("%s probe: %w", m.rule.Name(), err)
	}
	metrics := []diag.Metric{{Kind: diag.Loss, Value: scalar(outs[0])}}
	layers := m.spec.Layers()
	for l := 0; l < layers; l++ {
		metrics = append(metrics, diag.Metric{Kind: diag.Angle, Layer: l + 1, Value: scalar(outs[1+l])})
	}
	if _, ok := m.rule.(rules.Diagnoser); ok {
		for i, d := range m.diags {
			metrics = append(metrics, diag.Metric{Kind: d.Kind, Layer: d.Layer, Value: scalar(outs[1+layers+i])})
		}
	}
	for _, o := range outs {
		_ = o.FinalizeAll()
	}
	return metrics, nil
}

// Layers implements Learner: the pre-activations ("fc1", "fc2", ...: the Linear outputs before ReLU, what
// the study's hooks recorded) of the hidden layers, or their ReLU outputs when postReLU is set.
func (m *MLP) Layers(x *tensors.Tensor, postReLU bool) ([]Layer, error) {
	m.flush()
	outs, err := m.layers.Exec(argsOf(netArgs[*tensors.Tensor]{X: x, Layers: m.state.Layers})...)
	if err != nil {
		return nil, err
	}
	hidden := len(outs) / 2
	sel := outs[:hidden]
	if postReLU {
		sel = outs[hidden:]
	}
	var res []Layer
	for i, t := range sel {
		dims := t.Shape().Dimensions
		res = append(res, Layer{Name: fmt.Sprintf("fc%d", i+1), Rows: dims[0], Cols: dims[1], Data: tensors.MustCopyFlatData[float32](t)})
	}
	for _, o := range outs {
		_ = o.FinalizeAll()
	}
	return res, nil
}

// State implements Learner: the parameters, then the rule's tensors, then the optimiser state (see state);
// on the CPU fast path the shared parameters and optimiser state are copied (see Params).
func (m *MLP) State() ([]*tensors.Tensor, error) {
	m.flush()
	ts := pack.Flatten[*tensors.Tensor](m.state)
	for i, t := range ts {
		ts[i] = m.out(t)
	}
	return ts, nil
}

// stateShape returns an empty state of m's shape, for pack.Unflatten.
func (m *MLP) stateShape() state[*tensors.Tensor] {
	return state[*tensors.Tensor]{Layers: make([]layer[*tensors.Tensor], len(m.state.Layers)),
		Aux: make([]*tensors.Tensor, len(m.state.Aux)), Opt: make([]*tensors.Tensor, len(m.state.Opt))}
}

// SetState implements Learner.
func (m *MLP) SetState(ts []*tensors.Tensor) error {
	if m.fast != nil {
		m.fast.release() // the pending update belongs to the state being replaced
	}
	cur := pack.Flatten[*tensors.Tensor](m.state)
	if len(ts) != len(cur) {
		return fmt.Errorf("%s: state has %d tensors, want %d", m.rule.Name(), len(ts), len(cur))
	}
	for i := range ts {
		if !ts[i].Shape().Equal(cur[i].Shape()) {
			return fmt.Errorf("%s: state tensor %d has shape %s, want %s", m.rule.Name(), i, ts[i].Shape(), cur[i].Shape())
		}
	}
	st := m.stateShape()
	pack.MustUnflatten(&st, ts)
	if m.fast != nil {
		return m.fast.adopt(st)
	}
	m.state = st
	return nil
}

// scalar reads a scalar tensor of any float dtype as float64.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	}
	panic(fmt.Sprintf("scalar: unsupported value %T", t.Value()))
}
