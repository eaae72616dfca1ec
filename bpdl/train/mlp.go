package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// MLP is a fully connected net (package nn) trained by a learning rule (package rules) and an optimiser.
// Its state is the net's parameters, the rule's own tensors and the optimiser's state; one compiled graph
// computes a whole training step (forward pass, the rule's updates, clipping and the optimiser step).
type MLP struct {
	rule     rules.Rule
	spec     nn.Spec
	settings Settings
	backend  compute.Backend

	params []*tensors.Tensor // W0, B0, W1, B1, ...
	aux    []*tensors.Tensor // the rule's own tensors
	opt    []*tensors.Tensor // optimiser state

	step, pretrain, logits, probe, layers *Exec
	diags                                 []rules.Diagnostic // the rule's diagnostics, set when the probe graph is built
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
	d := rules.DefaultsOf(rule)
	settings := opts.Override.Apply(Settings{Optimizer: d.Optimizer, Batch: d.Batch, Epochs: d.Epochs, PretrainEpochs: d.PretrainEpochs})
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
	m := &MLP{rule: rule, spec: opts.Spec, settings: settings, backend: backend, params: p.Tensors(), aux: aux}
	var pshapes []shapes.Shape
	for _, t := range m.params {
		pshapes = append(pshapes, t.Shape())
	}
	m.opt = settings.Optimizer.State(pshapes)
	if err := m.compile(); err != nil {
		return nil, err
	}
	return m, nil
}

// Name implements Learner.
func (m *MLP) Name() string { return m.rule.Name() }

// Settings implements Learner.
func (m *MLP) Settings() Settings { return m.settings }

// Rule returns the learning rule.
func (m *MLP) Rule() rules.Rule { return m.rule }

// Params returns the net's current parameters (shared, not copied).
func (m *MLP) Params() *nn.Params { return nn.ParamsFromTensors(m.params) }

// split cuts a graph's inputs [x, y, params..., aux..., opt...] into their parts.
func (m *MLP) split(in []*Node) (x, y *Node, w, b, aux, opt []*Node) {
	x, y = in[0], in[1]
	np := len(m.params)
	for i := 0; i < np; i += 2 {
		w = append(w, in[2+i])
		b = append(b, in[3+i])
	}
	if len(in) >= 2+np+len(m.aux) { // the logits and layers graphs take no rule or optimiser state
		aux = in[2+np : 2+np+len(m.aux)]
		opt = in[2+np+len(m.aux):]
	}
	return
}

func (m *MLP) compile() error {
	var err error
	// Training step: [x, y, params, aux, opt] -> [params', aux', opt', loss].
	m.step, err = NewExec(m.backend, func(in []*Node) []*Node {
		x, y, w, b, aux, opt := m.split(in)
		s := rules.NewStep(m.spec, x, y, w, b, aux)
		u := m.rule.Updates(s)
		var params []*Node
		for l := range w {
			params = append(params, w[l], b[l])
		}
		cfg := m.settings.Optimizer
		cfg.Clip = 0 // clippedGrads has clipped
		newParams, newOpt := cfg.Step(params, clippedGrads(u, m.settings.Optimizer.Clip), opt)
		out := append(append(append(newParams, u.Aux...), newOpt...), u.Loss)
		return out
	})
	if err != nil {
		return err
	}
	m.step = m.step.WithName(m.rule.Name() + "-step")
	if pt, ok := m.rule.(rules.Pretrainer); ok {
		// Pretraining step: [x, y, params, aux, opt] -> [aux', loss].
		m.pretrain, err = NewExec(m.backend, func(in []*Node) []*Node {
			x, y, w, b, aux, _ := m.split(in)
			u := pt.Pretrain(rules.NewStep(m.spec, x, y, w, b, aux))
			return append(append([]*Node{}, u.Aux...), u.Loss)
		})
		if err != nil {
			return err
		}
	}
	m.logits, err = NewExec(m.backend, func(in []*Node) *Node {
		_, _, w, b, _, _ := m.split(append([]*Node{in[0], nil}, in[1:]...))
		return rules.OutputOf(m.rule, nn.Forward(in[0], w, b).Logits)
	})
	if err != nil {
		return err
	}
	m.probe, err = NewExec(m.backend, func(in []*Node) []*Node {
		x, y, w, b, aux, _ := m.split(in)
		s := rules.NewStep(m.spec, x, y, w, b, aux)
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
		_, _, w, b, _, _ := m.split(append([]*Node{in[0], nil}, in[1:]...))
		fwd := nn.Forward(in[0], w, b)
		hidden := len(w) - 1
		out := make([]*Node, 0, 2*hidden)
		out = append(out, fwd.Pre[:hidden]...)
		out = append(out, fwd.Post[:hidden]...)
		return out
	})
	return err
}

// clippedGrads returns the rule's updates, W then b per layer, scaled as torch.nn.utils.clip_grad_norm_
// does when clip > 0. For factored updates (Update.Deltas) the norm comes from small Gram matrices and the
// scale is applied to the deltas before the weight updates are formed, so no extra pass over the weights
// is made.
func clippedGrads(u *rules.Update, clip float64) []*Node {
	var grads []*Node
	switch {
	case clip <= 0:
		for l := range u.GW {
			grads = append(grads, u.GW[l], u.GB[l])
		}
	case u.Deltas != nil:
		coef := optim.ClipCoefficient(optim.FactoredNorm(u.Deltas, u.Inputs), clip)
		for l, d := range u.Deltas {
			gw, gb := rules.LayerGrads(Mul(d, ConvertDType(coef, d.DType())), u.Inputs[l])
			grads = append(grads, gw, gb)
		}
	default:
		for l := range u.GW {
			grads = append(grads, u.GW[l], u.GB[l])
		}
		grads, _ = optim.ClipGlobalNorm(grads, clip)
	}
	return grads
}

func (m *MLP) args(x, y *tensors.Tensor, withOpt bool) []any {
	args := make([]any, 0, 2+len(m.params)+len(m.aux)+len(m.opt))
	args = append(args, x)
	if y != nil {
		args = append(args, y)
	}
	for _, t := range m.params {
		args = append(args, t)
	}
	for _, t := range m.aux {
		args = append(args, t)
	}
	if withOpt {
		for _, t := range m.opt {
			args = append(args, t)
		}
	}
	return args
}

// donated returns args with the learner's state tensors (every argument after x and y) replaced by their
// donated device buffers, so the backend can update them in place. The tensors are invalid afterwards.
func (m *MLP) donated(args []any) ([]any, error) {
	for i := 2; i < len(args); i++ {
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
	args, err := m.donated(m.args(x, y, true))
	if err != nil {
		return 0, fmt.Errorf("%s training step: %w", m.rule.Name(), err)
	}
	outs, err := m.step.Exec(args...)
	if err != nil {
		return 0, fmt.Errorf("%s training step: %w", m.rule.Name(), err)
	}
	np, na := len(m.params), len(m.aux)
	finalize(m.params, m.aux, m.opt)
	m.params = outs[:np]
	m.aux = outs[np : np+na]
	m.opt = outs[np+na : len(outs)-1]
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
	outs, err := m.pretrain.Exec(m.args(x, y, false)...)
	if err != nil {
		return 0, fmt.Errorf("%s pretraining step: %w", m.rule.Name(), err)
	}
	finalize(m.aux)
	m.aux = outs[:len(outs)-1]
	return scalar(outs[len(outs)-1]), nil
}

// Logits implements Learner.
func (m *MLP) Logits(x *tensors.Tensor) (*tensors.Tensor, error) {
	args := []any{x}
	for _, t := range m.params {
		args = append(args, t)
	}
	outs, err := m.logits.Exec(args...)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Probe implements Learner: the probe batch's loss, the angle between the rule's update and the true
// gradient for every weight matrix, and the rule's own diagnostics.
func (m *MLP) Probe(x, y *tensors.Tensor) ([]diag.Metric, error) {
	outs, err := m.probe.Exec(m.args(x, y, false)...)
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
	args := []any{x}
	for _, t := range m.params {
		args = append(args, t)
	}
	outs, err := m.layers.Exec(args...)
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

// State implements Learner: params, then the rule's tensors, then the optimiser state.
func (m *MLP) State() ([]*tensors.Tensor, error) {
	var out []*tensors.Tensor
	out = append(out, m.params...)
	out = append(out, m.aux...)
	out = append(out, m.opt...)
	return out, nil
}

// SetState implements Learner.
func (m *MLP) SetState(ts []*tensors.Tensor) error {
	cur, _ := m.State()
	if len(ts) != len(cur) {
		return fmt.Errorf("%s: state has %d tensors, want %d", m.rule.Name(), len(ts), len(cur))
	}
	for i := range ts {
		if !ts[i].Shape().Equal(cur[i].Shape()) {
			return fmt.Errorf("%s: state tensor %d has shape %s, want %s", m.rule.Name(), i, ts[i].Shape(), cur[i].Shape())
		}
	}
	np, na := len(m.params), len(m.aux)
	m.params = ts[:np]
	m.aux = ts[np : np+na]
	m.opt = ts[np+na:]
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
