package rules

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
	"github.com/bpdl/bpdl/bpdl/pack"
)

// DTP is difference target propagation (Lee et al. 2015) in the form of Meulemans et al. 2020 ("A
// theoretical framework for target propagation", DTPNetwork and DTPLayer), as the study ran it. The forward
// net is h_i = f_i(a_i), a_i = W_i h_{i-1} + b_i, i = 1..L, h_0 = x. Every layer i >= 2 has a trained
// feedback mapping g_i(h) = s(Q_i h + d_i) from layer i back to layer i-1 (s = FeedbackActivation; Q_i is
// [n_{i-1}, n_i]). For each mini-batch of B examples, with L the mean cross-entropy of the output h_L:
//
//	t_L     = h_L - λ dL/dh_L                                          (λ = TargetStep)
//	t_{i-1} = g_i(t_i) + h_{i-1} - g_i(h_i)                            (the difference correction)
//	e_i     = 2 f_i'(a_i) ⊙ (h_i - t_i)                                (gradient of the local loss ||h_i - t_i||^2)
//	update W_i: (1/B) e_i^T h_{i-1},  update b_i: (1/B) sum over the batch of e_i
//
// and, in the same step, each feedback mapping learns to invert its layer on noisy activations, with the
// forward weights of before the update:
//
//	h~ = h_{i-1} + σ ε,  ε ~ N(0, 1)                                    (σ = Sigma)
//	L_rec,i = (1/σ^2) mean over the B n_{i-1} entries of (g_i(f_i(W_i h~ + b_i)) - h~)^2   (F.mse_loss)
//
// (σ taken at least SigmaFloor in the scale) whose gradients, with respect to Q_i and d_i, the feedback
// optimiser (Feedback) descends. f_i'(a) is 1 for a >= 0 and 0 otherwise for ReLU layers, as the
// reference's vectorised Jacobian; the feedback gradients use autodiff's ReLU'(0) = 0. Before training,
// PretrainEpochs epochs train only the feedback mappings (Pretrain).
//
// The study's copy of DTPNetwork gives every layer, the output layer included, the hidden activation: its
// net outputs ReLU(a_L), and the cross-entropy is taken on that (OutputReLU; see Outputer). Its forward and
// feedback weights are Xavier-uniform and its biases zero (InitParams).
//
// The noise is drawn in the graph from a random-number state kept in Step.Aux, so a run is reproducible and
// resumes from a checkpoint exactly. Step.Aux is dtpAux flattened by package pack: [rng, Q_2, d_2, ...,
// Q_L, d_L, feedback optimiser state...].
type DTP struct {
	// Label is the rule's name ("dtp").
	Label string
	// TargetStep is λ, the step of the output target along -dL/dh_L. The study: 0.01.
	TargetStep float64
	// Sigma is σ, the standard deviation of the noise of the reconstruction loss. The study: 0.08.
	Sigma float64
	// SigmaFloor bounds σ from below in the loss's scale 1/σ^2, as the reference does. 0.02.
	SigmaFloor float64
	// FeedbackActivation is s, the nonlinearity of the feedback mappings. The study: ReLU.
	FeedbackActivation Activation
	// OutputReLU puts a ReLU on the output layer (the study's net); false leaves it linear.
	OutputReLU bool
	// Init draws the forward and feedback weights (biases are zero). The study: Xavier-uniform.
	Init WeightInit
	// Feedback is the optimiser of the feedback weights. The study: SGD, lr 1.01149118237e-4.
	Feedback optim.Optimizer
	// Settings are the forward optimiser and training settings. The study: SGD lr 0.01 without momentum or
	// clipping, batch 4, 25 epochs, one feedback-only epoch first.
	Settings Settings
}

// Mapping is the trained feedback mapping g_i(h) = s(Q h + d) of one layer i >= 2, from layer i back to
// layer i-1: Q [n_{i-1}, n_i] and d [n_{i-1}] (tensors, or graph nodes).
type Mapping[T any] struct{ Q, D T }

// dtpAux are DTP's own tensors by name (Step.Aux is them flattened by package pack): the random-number
// state of the noise, the feedback mappings of layers 2..L, the feedback optimiser's state (for the
// mappings' parameters Q_2, d_2, Q_3, ... in that order).
type dtpAux[T any] struct {
	RNG      T
	Mappings []Mapping[T]
	Opt      []T
}

// Activation names the element-wise nonlinearity of a DTP feedback mapping.
type Activation string

// The feedback nonlinearities.
const (
	ActReLU   Activation = "relu"
	ActTanh   Activation = "tanh"
	ActLinear Activation = "linear"
)

// WeightInit names a weight initialisation.
type WeightInit string

// The initialisations: torch.nn.init.xavier_uniform_ (U(-b, b), b = sqrt(6/(fan_in+fan_out))) and
// xavier_normal_ (N(0, 2/(fan_in+fan_out))).
const (
	XavierUniform WeightInit = "xavier"
	XavierNormal  WeightInit = "xavier_normal"
)

// NewDTP returns DTP with the study's settings (its copy of the framework's DTP, configured in tp_fc.py).
func NewDTP() DTP {
	return DTP{
		Label:              "dtp",
		TargetStep:         0.01,
		Sigma:              0.08,
		SigmaFloor:         0.02,
		FeedbackActivation: ActReLU,
		OutputReLU:         true,
		Init:               XavierUniform,
		Feedback:           optim.SGD{LR: 1.01149118237e-4},
		Settings: Settings{
			Optimizer:      optim.SGD{LR: 0.01},
			Batch:          4,
			Epochs:         25,
			PretrainEpochs: 1,
		},
	}
}

// NewDTPTuned returns DTP with the hyper-parameters the target-propagation framework published for DTP on
// MNIST (final_configs/mnist_DTP.py), adapted to the study's net: Adam for the forward weights (lr 6.185e-5
// divided by the target step, as the framework's normalize_lr does) and for the feedback weights (lr
// 1.958e-3), target step 0.2195, σ = 0.0837, Xavier-normal weights, a linear output layer, batch 128, no
// feedback-only epoch. The framework's net has five tanh hidden layers of 256 and tanh feedback, chosen
// to invert them; the study's net has ReLU hidden layers (1536, 256), whose unbounded activations a tanh
// cannot reconstruct (on MNIST its reconstruction loss diverged and the net reached 88.4% after 5 epochs;
// ReLU feedback 90.0%), so the feedback mappings here are linear, the inverse of a ReLU layer on its
// active units (93.1%). The framework computed in float64 and trained 100 epochs; here float32 and the
// study's 25.
func NewDTPTuned() DTP {
	const step = 0.21951187497378802
	return DTP{
		Label:              "dtp-tuned",
		TargetStep:         step,
		Sigma:              0.08372453893037193,
		SigmaFloor:         0.02,
		FeedbackActivation: ActLinear,
		OutputReLU:         false,
		Init:               XavierNormal,
		Feedback: optim.Adam{LR: 0.0019584756448113774,
			Beta1: 0.9, Beta2: 0.999, Eps: 7.541132645747324e-06},
		Settings: Settings{
			Optimizer: optim.Adam{LR: 6.185037324617764e-05 / step,
				Beta1: 0.9, Beta2: 0.999, Eps: 1.0170111936290766e-08},
			Batch:  128,
			Epochs: 25,
		},
	}
}

// Name implements Rule.
func (d DTP) Name() string { return d.Label }

// Defaults implements Defaulter.
func (d DTP) Defaults() Settings { return d.Settings }

// Output implements Outputer: ReLU(logits) when OutputReLU, else logits.
func (d DTP) Output(logits *Node) *Node {
	if d.OutputReLU {
		return MaxScalar(logits, 0)
	}
	return logits
}

// OutputDerivative implements Outputer: ReLU'(logits) (1 where logits > 0) when OutputReLU, else 1.
func (d DTP) OutputDerivative(logits *Node) *Node {
	if d.OutputReLU {
		return nn.ReluDerivative(logits)
	}
	return OnesLike(logits)
}

// validate checks the hyper-parameters.
func (d DTP) validate() error {
	if !(d.TargetStep > 0) || !(d.Sigma > 0) || d.SigmaFloor < 0 {
		return fmt.Errorf("%s: target step %g and sigma %g must be > 0, sigma floor %g >= 0",
			d.Label, d.TargetStep, d.Sigma, d.SigmaFloor)
	}
	switch d.FeedbackActivation {
	case ActReLU, ActTanh, ActLinear:
	default:
		return fmt.Errorf("%s: unknown feedback activation %q", d.Label, d.FeedbackActivation)
	}
	switch d.Init {
	case XavierUniform, XavierNormal:
	default:
		return fmt.Errorf("%s: unknown initialisation %q", d.Label, d.Init)
	}
	if d.Feedback == nil {
		return fmt.Errorf("%s: no feedback optimiser", d.Label)
	}
	if err := d.Feedback.Validate(); err != nil {
		return fmt.Errorf("%s feedback optimiser: %w", d.Label, err)
	}
	return nil
}

// xavier draws a [rows, cols] matrix (fan_in = cols, fan_out = rows; the bound is symmetric in the two).
func (d DTP) xavier(rng *rand.Rand, rows, cols int) *tensors.Tensor {
	if d.Init == XavierNormal {
		std := math.Sqrt(2 / float64(rows+cols))
		data := make([]float32, rows*cols)
		for i := range data {
			data[i] = float32(rng.NormFloat64() * std)
		}
		return tensors.FromFlatDataAndDimensions(data, rows, cols)
	}
	return nn.Uniform(rng, nn.XavierUniformBound(cols, rows), rows, cols)
}

// InitParams draws the forward parameters (package train calls it in place of nn.InitPyTorch): Xavier
// weights ([out, in]) and zero biases, as DTPLayer.
func (d DTP) InitParams(spec nn.Spec, rng *rand.Rand) *nn.Params {
	p := &nn.Params{}
	for l := 0; l < spec.Layers(); l++ {
		in, out := spec.Sizes[l], spec.Sizes[l+1]
		p.W = append(p.W, d.xavier(rng, out, in))
		p.B = append(p.B, tensors.FromShape(shapes.Make(dtypes.Float32, out)))
	}
	return p
}

// Setup implements Rule: the random-number state, the feedback weights Q_i ([n_{i-1}, n_i], Xavier) and
// biases d_i (zero) of layers 2..L, and the feedback optimiser's state.
func (d DTP) Setup(spec nn.Spec, rng *rand.Rand) ([]*tensors.Tensor, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	state := tensors.FromShape(RNGStateShape)
	state.MutableFlatData(func(flat any) {
		for i := range flat.([]uint64) {
			flat.([]uint64)[i] = rng.Uint64()
		}
	})
	aux := dtpAux[*tensors.Tensor]{RNG: state}
	for l := 1; l < spec.Layers(); l++ {
		in, out := spec.Sizes[l], spec.Sizes[l+1]
		aux.Mappings = append(aux.Mappings, Mapping[*tensors.Tensor]{Q: d.xavier(rng, in, out), D: tensors.FromShape(shapes.Make(dtypes.Float32, in))})
	}
	var fb []shapes.Shape
	for _, t := range pack.Flatten[*tensors.Tensor](struct{ M []Mapping[*tensors.Tensor] }{aux.Mappings}) {
		fb = append(fb, t.Shape())
	}
	aux.Opt = d.Feedback.State(fb)
	return pack.Flatten[*tensors.Tensor](aux), nil
}

// feedback returns Step.Aux by name.
func (d DTP) feedback(s *Step) dtpAux[*Node] {
	layers := s.Spec.Layers()
	a := dtpAux[*Node]{Mappings: make([]Mapping[*Node], layers-1), Opt: make([]*Node, len(s.Aux)-1-2*(layers-1))}
	pack.MustUnflatten(&a, s.Aux)
	return a
}

// mappingParams lists the feedback mappings' parameters in the feedback optimiser's order: Q_2, d_2, ...
func mappingParams[T any](m []Mapping[T]) []T {
	return pack.Flatten[T](struct{ M []Mapping[T] }{m})
}

// act applies the feedback nonlinearity.
func (d DTP) act(z *Node) *Node {
	switch d.FeedbackActivation {
	case ActReLU:
		return MaxScalar(z, 0)
	case ActTanh:
		return Tanh(z)
	}
	return z
}

// actDeriv is the derivative of the feedback nonlinearity at z given its value r = act(z) (autodiff's
// convention: ReLU'(0) = 0).
func (d DTP) actDeriv(z, r *Node) *Node {
	switch d.FeedbackActivation {
	case ActReLU:
		return nn.ReluDerivative(z)
	case ActTanh:
		return OneMinus(Square(r))
	}
	return nil // linear: 1
}

// g is the feedback mapping of layer l (0-based, l >= 1): s(h Q^T + d), [B, n_l] -> [B, n_{l-1}].
func (d DTP) g(h, q, bias *Node) *Node {
	return d.act(Add(DotGeneral(h, []int{1}, nil, q, []int{1}, nil), ExpandAxes(bias, 0)))
}

// outputs returns every layer's output h_l, the last one through Output.
func (d DTP) outputs(s *Step) []*Node {
	h := append([]*Node{}, s.Fwd.Post...)
	h[len(h)-1] = d.Output(s.Fwd.Logits)
	return h
}

// jacobian is f_l'(a_l) as the reference's compute_vectorized_jacobian: 1 where a >= 0 for a ReLU layer;
// nil for a linear one.
func (d DTP) jacobian(s *Step, l int) *Node {
	if l == s.Spec.Layers()-1 && !d.OutputReLU {
		return nil
	}
	a := s.Fwd.Pre[l]
	return ConvertDType(GreaterOrEqual(a, ZerosLike(a)), a.DType())
}

// Targets returns the targets t_l of every layer for a batch (the output target from the loss gradient,
// the others by difference target propagation through the feedback mappings fb of layers 2..L) and the
// mean loss.
func (d DTP) Targets(s *Step, fb []Mapping[*Node]) (targets []*Node, loss *Node) {
	layers := s.Spec.Layers()
	h := d.outputs(s)
	loss, dOut := nn.CrossEntropy(h[layers-1], s.Labels)
	targets = make([]*Node, layers)
	t := Sub(h[layers-1], MulScalar(dOut, d.TargetStep))
	targets[layers-1] = t
	for l := layers - 1; l > 0; l-- {
		q, bias := fb[l-1].Q, fb[l-1].D
		// g(t) and g(h) as two identical products, so that t = h gives exactly g(t) - g(h) = 0.
		t = Add(Sub(d.g(t, q, bias), d.g(h[l], q, bias)), h[l-1])
		targets[l-1] = t
	}
	return targets, loss
}

// Updates implements Rule.
func (d DTP) Updates(s *Step) *Update {
	aux := d.feedback(s)
	layers := s.Spec.Layers()
	targets, loss := d.Targets(s, aux.Mappings)
	h := d.outputs(s)
	batch := float64(s.X.Shape().Dimensions[0])
	deltas := make([]*Node, layers) // e_l / B, so that the updates are deltas^T h and batch sums
	for l := 0; l < layers; l++ {
		e := MulScalar(Sub(h[l], targets[l]), 2/batch)
		if j := d.jacobian(s, l); j != nil {
			e = Mul(j, e)
		}
		deltas[l] = e
	}
	newAux, _ := d.trainFeedback(s, aux)
	return Factored(s.Fwd, deltas, loss, newAux)
}

// UpdatesOwn implements OwnTrainer: Updates with the feedback mappings' optimiser step left to the
// caller, from the factors of their gradients (dz and the noisy layer's output, see reconstruct).
func (d DTP) UpdatesOwn(s *Step) (*Update, *OwnStep) {
	aux := d.feedback(s)
	layers := s.Spec.Layers()
	targets, loss := d.Targets(s, aux.Mappings)
	h := d.outputs(s)
	batch := float64(s.X.Shape().Dimensions[0])
	deltas := make([]*Node, layers)
	for l := 0; l < layers; l++ {
		e := MulScalar(Sub(h[l], targets[l]), 2/batch)
		if j := d.jacobian(s, l); j != nil {
			e = Mul(j, e)
		}
		deltas[l] = e
	}
	// The positions of Aux's parts: dtpAux filled with 0, 1, 2, ... in pack's order.
	pos := dtpAux[int]{Mappings: make([]Mapping[int], len(aux.Mappings)), Opt: make([]int, len(aux.Opt))}
	order := make([]int, len(s.Aux))
	for i := range order {
		order[i] = i
	}
	pack.MustUnflatten(&pos, order)
	own := &OwnStep{Optimizer: d.Feedback, State: pos.Opt}
	rng := aux.RNG
	for l := 1; l < layers; l++ {
		var dz, hf *Node
		rng, _, dz, hf = d.reconstructFactors(s, l, rng, aux.Mappings[l-1])
		own.Layers = append(own.Layers, OwnLayer{W: pos.Mappings[l-1].Q, B: pos.Mappings[l-1].D, D: dz, H: hf})
	}
	next := dtpAux[*Node]{RNG: rng, Mappings: aux.Mappings, Opt: aux.Opt}
	return Factored(s.Fwd, deltas, loss, pack.Flatten[*Node](next)), own
}

// Pretrain implements Pretrainer: one step of the feedback weights alone. Its Loss is the mean of the
// layers' reconstruction losses; GW and GB are nil.
func (d DTP) Pretrain(s *Step) *Update {
	aux, rec := d.trainFeedback(s, d.feedback(s))
	if len(rec) == 0 {
		return &Update{Loss: ScalarZero(s.X.Graph(), s.X.DType()), Aux: aux}
	}
	total := rec[0]
	for _, r := range rec[1:] {
		total = Add(total, r)
	}
	return &Update{Loss: DivScalar(total, float64(len(rec))), Aux: aux}
}

// Diagnostics implements Diagnoser: each feedback mapping's reconstruction loss on the batch
// (diag.Reconstruction, numbered by the forward layer it inverts, 2 ... L), with noise drawn from the
// current random-number state (which is not advanced).
func (d DTP) Diagnostics(s *Step) (out []Diagnostic) {
	aux := d.feedback(s)
	rng := aux.RNG
	for l := 1; l < s.Spec.Layers(); l++ {
		var rec *Node
		rng, rec, _, _ = d.reconstruct(s, l, rng, aux.Mappings[l-1])
		out = append(out, Diagnostic{Kind: diag.Reconstruction, Layer: l + 1, Value: rec})
	}
	return out
}

// reconstruct computes layer l's reconstruction loss on a noisy copy of its input h_{l-1}, with noise
// drawn from rng, and its gradients with respect to the feedback mapping's weights and bias.
func (d DTP) reconstruct(s *Step, l int, rng *Node, g Mapping[*Node]) (newRNG, loss, dq, dbias *Node) {
	newRNG, loss, dz, hf := d.reconstructFactors(s, l, rng, g)
	dq = DotGeneral(dz, []int{0}, nil, hf, []int{0}, nil) // [n_{l-1}, n_l]
	dbias = ReduceSum(dz, 0)
	return newRNG, loss, dq, dbias
}

// reconstructFactors is reconstruct with the gradients in factored form: dz [B, n_{l-1}], the gradient of
// the loss with respect to the mapping's pre-activation, and hf [B, n_l], its input; the weights' gradient
// is dz^T hf and the bias's the batch sum of dz.
func (d DTP) reconstructFactors(s *Step, l int, rng *Node, g Mapping[*Node]) (newRNG, loss, dz, hf *Node) {
	q, bias := g.Q, g.D
	in := s.Fwd.Input(l)
	newRNG, noise := RandomNormal(rng, in.Shape())
	hc := Add(in, MulScalar(noise, d.Sigma))
	a := nn.Linear(hc, s.W[l], s.B[l])
	if l == s.Spec.Layers()-1 {
		hf = d.Output(a)
	} else {
		hf = MaxScalar(a, 0)
	}
	z := Add(DotGeneral(hf, []int{1}, nil, q, []int{1}, nil), ExpandAxes(bias, 0))
	r := d.act(z)
	scale := 1 / math.Pow(math.Max(d.Sigma, d.SigmaFloor), 2)
	diff := Sub(r, hc)
	n := float64(diff.Shape().Size())
	loss = MulScalar(ReduceAllSum(Square(diff)), scale/n)
	dz = MulScalar(diff, 2*scale/n)
	if j := d.actDeriv(z, r); j != nil {
		dz = Mul(dz, j)
	}
	return newRNG, loss, dz, hf
}

// trainFeedback takes one feedback optimiser step on every layer's reconstruction loss and returns the
// new Step.Aux and the losses (before the step).
func (d DTP) trainFeedback(s *Step, aux dtpAux[*Node]) (newAux []*Node, losses []*Node) {
	grads := make([]Mapping[*Node], len(aux.Mappings))
	rng := aux.RNG
	for l := 1; l < s.Spec.Layers(); l++ {
		var rec *Node
		rng, rec, grads[l-1].Q, grads[l-1].D = d.reconstruct(s, l, rng, aux.Mappings[l-1])
		losses = append(losses, rec)
	}
	newFB, newOpt := optim.Step(d.Feedback, mappingParams(aux.Mappings), optim.DenseGrads(mappingParams(grads)), aux.Opt)
	next := dtpAux[*Node]{RNG: rng, Mappings: make([]Mapping[*Node], len(aux.Mappings)), Opt: newOpt}
	pack.MustUnflatten(&struct{ M []Mapping[*Node] }{next.Mappings}, newFB)
	return pack.Flatten[*Node](next), losses
}
