// Package train is the training loop of the study: mini-batch SGD over a dataset for a chosen learning rule,
// with the paper's settings as defaults, a progress bar, a checkpoint after every epoch (resumed after a
// kill), diagnostics on a fixed probe batch (gradient alignment, spike rates, reconstruction losses) and
// one result row per trained model.
package train

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
	"github.com/bpdl/bpdl/bpdl/snn"
)

// Layer is the activations of one named layer for a batch of inputs: Data holds Rows x Cols values.
type Layer struct {
	Name       string
	Rows, Cols int
	Data       []float32
}

// Learner is a net together with the rule that trains it, as the training loop sees it. The MLP trained
// by a rule of package rules is one; the spiking net of package snn is another.
type Learner interface {
	// Name is the learner's identifier, as used by reproduce's -rules flag.
	Name() string
	// Settings are the training settings the learner was configured with.
	Settings() Settings
	// PretrainStep trains only the learner's auxiliary weights on a batch (DTP's feedback-only epoch);
	// it returns the auxiliary loss. Learners with Settings().PretrainEpochs == 0 are never asked.
	PretrainStep(x, y *tensors.Tensor) (float64, error)
	// Step trains on one mini-batch (inputs [batch, dim] float32, labels [batch] int32) and returns the
	// mean loss of the batch before the update.
	Step(x, y *tensors.Tensor) (float64, error)
	// Logits returns the net's outputs for a batch of inputs, [batch, classes].
	Logits(x *tensors.Tensor) (*tensors.Tensor, error)
	// Probe returns the learner's diagnostics on a fixed probe batch, always with the same names in the
	// same order.
	Probe(x, y *tensors.Tensor) ([]diag.Metric, error)
	// Layers returns the activations of the layers scored against brains ("fc1", "fc2", ...), for a batch.
	Layers(x *tensors.Tensor, postReLU bool) ([]Layer, error)
	// State returns every tensor that defines the learner (weights, rule and optimiser state), for
	// checkpoints. SetState restores it.
	State() ([]*tensors.Tensor, error)
	SetState([]*tensors.Tensor) error
}

// Engine names how a learner computes its steps when there is more than one way on a backend: the
// results of two engines differ in their last bits (float sums in another order), so a run's identity
// includes its engine. An MLP on the go backend takes the CPU fast path ("cpu") or the step graph
// ("graph"); a spiking net runs its kernels ("kernels") or its graph engine ("graph").
type Engine interface {
	// Engine is the learner's engine on its own backend.
	Engine() string
	// EngineOn is the engine the same learner takes on the backend configured as backend (a -backend
	// value, "go", "xla:cuda", ...): a process that only plans or reports, on another backend than the
	// runs trained on, names them as the processes that trained them did.
	EngineOn(backend string) string
}

// Settings are the hyper-parameters of a training run: the optimiser (clipping included), batch size
// and epochs. They are rules.Settings, the type a rule's published settings come in, under the name the
// learners of this package use.
type Settings = rules.Settings

// Options configure a learner; zero values mean the learner's published defaults.
type Options struct {
	Spec     nn.Spec   // the net's sizes (input and output from the dataset)
	Seed     uint64    // seeds the initial weights and every random draw of the learner
	Override Overrides // changes to the default settings
	// GraphStep makes an MLP take every training step as one GoMLX graph even on the go backend, where
	// it otherwise runs the CPU fast path (see MLP); for comparisons.
	GraphStep bool

	// cpuStep makes an MLP take the CPU fast path on the go backend even where package dense has no
	// vector kernels (its portable loops are slower than the step graph): for tests.
	cpuStep bool

	// SNNImpl chooses the spiking nets' engine; "" and snn.ImplAuto mean the kernels on the go backend
	// and the graph engine on any other.
	SNNImpl snn.Impl
}

// Overrides are changes to a learner's default settings; zero values keep the default.
type Overrides struct {
	Epochs, Batch int
	LR            float64
	// Clip overrides the clipping norm when ClipSet is true (0 disables clipping).
	Clip    float64
	ClipSet bool
}

// Apply returns s changed by o.
func (o Overrides) Apply(s Settings) Settings {
	if o.Epochs > 0 {
		s.Epochs = o.Epochs
	}
	if o.Batch > 0 {
		s.Batch = o.Batch
	}
	if o.LR > 0 {
		s.Optimizer = s.Optimizer.WithLearningRate(o.LR)
	}
	if o.ClipSet {
		s.Optimizer = s.Optimizer.WithClipNorm(o.Clip)
	}
	return s
}

// Constructor makes a learner on a backend.
type Constructor func(backend compute.Backend, opts Options) (Learner, error)

// Registry maps learner names to constructors. DefaultRegistry lists every learner bpdl ships.
type Registry map[string]Constructor

// DefaultRegistry returns the learners bpdl ships: one per rule of package rules (an MLP trained by the
// rule), and the spiking net of package snn with the study's settings ("snn") and with the changes that
// make it learn ("snn-tuned"). A new learner is one more line here.
func DefaultRegistry() Registry {
	r := Registry{}
	for _, name := range rules.Names() {
		r[name] = func(b compute.Backend, o Options) (Learner, error) {
			rule, err := rules.New(name)
			if err != nil {
				return nil, err
			}
			return NewMLP(b, rule, o)
		}
	}
	r["snn"] = func(b compute.Backend, o Options) (Learner, error) { return NewSNN("snn", snn.Study(), b, o) }
	r["snn-tuned"] = func(b compute.Backend, o Options) (Learner, error) { return NewSNN("snn-tuned", snn.Tuned(), b, o) }
	return r
}

// Names lists the registry's learners in the study's order (bp, fa, dfa, dtp, snn first), then the rest
// sorted.
func (r Registry) Names() []string {
	order := []string{"bp", "fa", "dfa", "dtp", "snn", "dtp-tuned", "snn-tuned"}
	var names []string
	seen := map[string]bool{}
	for _, n := range order {
		if _, ok := r[n]; ok {
			names = append(names, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range r {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// New makes the named learner.
func (r Registry) New(name string, b compute.Backend, o Options) (Learner, error) {
	mk, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("unknown rule %q (known: %s)", name, strings.Join(r.Names(), ", "))
	}
	return mk(b, o)
}
