// Package rules holds the learning rules the study compared. A rule decides how the output error reaches
// each layer of a fully connected net and what update each weight gets; the training loop (package train)
// then applies an optimiser to those updates. Every rule writes its backward pass explicitly with
// DotGeneral (weights are stored [out, in]); GoMLX's autodiff is used only by tests, as an oracle.
//
// One file per rule: bp.go, fa.go, dfa.go, dtp.go. A new rule is one new file plus one line in Names/New.
package rules

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// Rule is a learning rule for a fully connected net (package nn).
type Rule interface {
	// Name is the rule's identifier ("bp", "fa", ...), as used by reproduce's -rules flag.
	Name() string
	// Setup draws the rule's own tensors for a net of this spec (fixed random feedback matrices, trainable
	// feedback weights, random-number state). They travel with the net's parameters through training
	// steps and checkpoints, and come back to Updates as Step.Aux.
	Setup(spec nn.Spec, rng *rand.Rand) ([]*tensors.Tensor, error)
	// Updates builds, inside a graph, the update direction of every forward parameter for one mini-batch
	// (what the optimiser descends: for BP the true gradient of the mean loss), the batch loss, and the new
	// values of the rule's own tensors.
	Updates(s *Step) *Update
}

// Step is what a rule sees of one mini-batch, inside a graph.
//
// A rule uses the first layer's weights W[0] and B[0] only through Fwd: package train's CPU fast path
// computes the first layer's forward pass outside the graph (NewStepFrom) and leaves them nil.
type Step struct {
	Spec      nn.Spec
	X, Labels *Node   // inputs [batch, in] and integer labels [batch]
	W, B      []*Node // forward weights [out, in] and biases [out], per layer
	Aux       []*Node // the rule's own tensors, as made by Setup
	Fwd       *nn.Activations
}

// NewStep runs the forward pass and returns the Step for it.
func NewStep(spec nn.Spec, x, labels *Node, w, b, aux []*Node) *Step {
	return &Step{Spec: spec, X: x, Labels: labels, W: w, B: b, Aux: aux, Fwd: nn.Forward(x, w, b)}
}

// NewStepFrom is NewStep with the first layer's pre-activation pre0 = x W[0]^T + b[0] given
// (nn.ForwardFrom); w[0] and b[0] may be nil.
func NewStepFrom(spec nn.Spec, x, pre0, labels *Node, w, b, aux []*Node) *Step {
	return &Step{Spec: spec, X: x, Labels: labels, W: w, B: b, Aux: aux, Fwd: nn.ForwardFrom(x, pre0, w, b)}
}

// Update is a rule's result for one mini-batch.
type Update struct {
	GW, GB []*Node // update directions for each layer's weights and biases (same shapes as W and B)
	Loss   *Node   // mean cross-entropy of the batch (scalar)
	Aux    []*Node // new values of the rule's own tensors (same length and shapes as Step.Aux)

	// Deltas and Inputs, when a rule sets them, factor its updates: GW[l] = Deltas[l]^T Inputs[l] and
	// GB[l] = the batch sum of Deltas[l], with Deltas[l] [batch, out] and Inputs[l] [batch, in]. The
	// optimiser then takes the global update norm from [batch, batch] Gram matrices instead of passes
	// over every weight (||D^T H||_F^2 = sum((D D^T) ⊙ (H H^T))), and scales the small deltas rather
	// than the big matrices when clipping (see Grads and optim.Step).
	Deltas, Inputs []*Node
}

// Grads returns the update directions as the optimiser takes them (optim.Step), weight then bias for
// every layer: factored (optim.LayerGrads) when the rule set Deltas and Inputs, so that clipping costs
// only Gram matrices and scales the small deltas, else GW and GB as they are.
func (u *Update) Grads() []optim.Grad {
	var out []optim.Grad
	for l := range u.GW {
		if u.Deltas != nil {
			w, b := optim.LayerGrads(u.Deltas[l], u.Inputs[l])
			out = append(out, w, b)
		} else {
			out = append(out, optim.Grad{Dense: u.GW[l]}, optim.Grad{Dense: u.GB[l]})
		}
	}
	return out
}

// Settings are the hyper-parameters of a training run: the optimiser (clipping included), the batch
// size and the number of epochs. A rule's published settings (DefaultsOf) are the defaults of the runs
// that train it; package train uses this type for every learner.
type Settings struct {
	Optimizer      optim.Optimizer
	Batch          int
	Epochs         int
	PretrainEpochs int // epochs that train only the rule's own tensors before training starts (DTP)
}

// settingsJSON is the JSON form of Settings: the optimiser as optim.DefaultRegistry's Marshal encodes it.
type settingsJSON struct {
	Optimizer      json.RawMessage
	Batch          int
	Epochs         int
	PretrainEpochs int
}

// MarshalJSON encodes the settings, the optimiser with its kind as optim.DefaultRegistry names it (run
// fingerprints hash this form, so an optimiser in a run's settings must be one of bpdl's).
func (s Settings) MarshalJSON() ([]byte, error) {
	o, err := optim.DefaultRegistry().Marshal(s.Optimizer)
	if err != nil {
		return nil, err
	}
	return json.Marshal(settingsJSON{Optimizer: o, Batch: s.Batch, Epochs: s.Epochs, PretrainEpochs: s.PretrainEpochs})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *Settings) UnmarshalJSON(data []byte) error {
	var j settingsJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	o, err := optim.DefaultRegistry().Unmarshal(j.Optimizer)
	if err != nil {
		return err
	}
	*s = Settings{Optimizer: o, Batch: j.Batch, Epochs: j.Epochs, PretrainEpochs: j.PretrainEpochs}
	return nil
}

// Study are the study's training settings for BP, FA and DFA: SGD lr 1e-3, momentum 0.9, clipping at a
// global norm of 2.0, batch 4, 25 epochs.
func Study() Settings { return Settings{Optimizer: optim.Study(), Batch: 4, Epochs: 25} }

// Validate checks the settings.
func (s Settings) Validate() error {
	if s.Batch <= 0 {
		return fmt.Errorf("batch size %d must be > 0", s.Batch)
	}
	if s.Epochs < 0 || s.PretrainEpochs < 0 {
		return fmt.Errorf("epochs %d and pretraining epochs %d must be >= 0", s.Epochs, s.PretrainEpochs)
	}
	if s.Optimizer == nil {
		return fmt.Errorf("no optimiser")
	}
	return s.Optimizer.Validate()
}

// Defaulter is implemented by rules whose settings differ from Study.
type Defaulter interface {
	Defaults() Settings
}

// DefaultsOf returns r's settings: r.Defaults() for a Defaulter, else Study().
func DefaultsOf(r Rule) Settings {
	if d, ok := r.(Defaulter); ok {
		return d.Defaults()
	}
	return Study()
}

// OwnTrainer is implemented by rules that train some of their own tensors (Step.Aux) with an optimiser
// of their own, from gradients they can give in factored form as dense layers (DTP's feedback mappings).
// Updates takes that optimiser step inside the graph; UpdatesOwn leaves it to the caller, which takes it
// elsewhere (package train's CPU fast path takes it on the host, as it takes the forward weights'): its
// Update's Aux holds the trained tensors and their optimiser's state unchanged, and the OwnStep says
// which they are and what their gradients are.
type OwnTrainer interface {
	UpdatesOwn(s *Step) (*Update, *OwnStep)
}

// OwnStep is an optimiser step on some of a rule's own tensors that the rule leaves to its caller.
type OwnStep struct {
	Optimizer optim.Optimizer
	// Layers are the trained tensors, as dense layers, in the optimiser's parameter order (the weight then
	// the bias of each).
	Layers []OwnLayer
	// State are the positions in Step.Aux of the optimiser's state, laid out as Optimizer.State makes it
	// for those parameters.
	State []int
}

// OwnLayer is one dense layer of an OwnStep: the positions in Step.Aux of its weight [out, in] and bias
// [out], and the factors of their gradients, D [batch, out] and H [batch, in]: the weight's gradient is
// D^T H, the bias's the batch sum of D (optim.LayerGrads).
type OwnLayer struct {
	W, B int
	D, H *Node
}

// Pretrainer is implemented by rules that train their own tensors alone before training starts (DTP's
// feedback-only epoch). Pretrain returns an Update whose GW and GB are ignored.
type Pretrainer interface {
	Pretrain(s *Step) *Update
}

// Diagnoser is implemented by rules that report their own diagnostics on a probe batch (for example DTP's
// per-layer reconstruction loss). The list is fixed for a spec.
type Diagnoser interface {
	Diagnostics(s *Step) []Diagnostic
}

// Diagnostic is one of a rule's diagnostics: what it measures, for which layer, and its scalar value.
type Diagnostic struct {
	Kind  diag.Kind
	Layer int
	Value *Node
}

// Outputer is implemented by rules whose published net applies a nonlinearity to the output layer (the
// study's DTP net has a ReLU there). Output maps the output layer's pre-activation, Step.Fwd.Logits, to
// the net's output, on which the loss and the predicted class are computed; OutputDerivative is its
// element-wise derivative (for the true gradient of the alignment diagnostics). Without an Outputer the
// output is the pre-activation itself.
type Outputer interface {
	Output(logits *Node) *Node
	OutputDerivative(logits *Node) *Node
}

// OutputOf returns the net's output for rule r: r.Output(logits) for an Outputer, else logits.
func OutputOf(r Rule, logits *Node) *Node {
	if o, ok := r.(Outputer); ok {
		return o.Output(logits)
	}
	return logits
}

// LossOf returns the mean cross-entropy of the net trained by r on the step's batch, taken on its output
// (OutputOf), and its gradient with respect to the output layer's pre-activation, Step.Fwd.Logits.
func LossOf(r Rule, s *Step) (loss, dLogits *Node) {
	o, ok := r.(Outputer)
	if !ok {
		return nn.CrossEntropy(s.Fwd.Logits, s.Labels)
	}
	loss, dOut := nn.CrossEntropy(o.Output(s.Fwd.Logits), s.Labels)
	return loss, Mul(dOut, o.OutputDerivative(s.Fwd.Logits))
}

// constructors lists the rules. A new rule is one more line here.
var constructors = map[string]func() Rule{
	"bp":        func() Rule { return BP{} },
	"fa":        func() Rule { return NewFA() },
	"dfa":       func() Rule { return NewDFA() },
	"dtp":       func() Rule { return NewDTP() },
	"dtp-tuned": func() Rule { return NewDTPTuned() },
}

// Names lists the rules New knows, sorted.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns the rule with the given name, with its paper defaults.
func New(name string) (Rule, error) {
	mk, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("rules: unknown rule %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return mk(), nil
}
