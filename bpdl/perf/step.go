package perf

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Step identifies one training-step measurement: a learner on one engine, with the layer sizes of a
// dataset's net, at one batch size.
type Step struct {
	// Rule is the learner's name in a train.Registry ("bp", "snn-tuned").
	Rule string
	// Engine is the Label of the Engine it ran on, "" for the learner's default.
	Engine string
	// Dataset names the net's shape (see Shape): "cifar10" or "mnist".
	Dataset string
	// Batch is the batch size.
	Batch int
}

// Shape returns the layer sizes of the study's net for a dataset: 3072-1536-256-10 for "cifar10",
// 784-1536-256-10 for "mnist" (the spiking net's MNIST runs); nil for other names.
func Shape(dataset string) []int {
	switch dataset {
	case "cifar10":
		return []int{3072, 1536, 256, 10}
	case "mnist":
		return []int{784, 1536, 256, 10}
	}
	return nil
}

// Plan returns the shapes and batch sizes a learner is measured at: the study's CIFAR-10 net at batch 4
// (the study's) and 128 for the MLP rules; for the spiking nets (names starting "snn") both the MNIST
// and the CIFAR-10 nets, at batch 4 and 32.
func Plan(rule string) (datasets []string, batches []int) {
	if strings.HasPrefix(rule, "snn") {
		return []string{"mnist", "cifar10"}, []int{4, 32}
	}
	return []string{"cifar10"}, []int{4, 128}
}

// Engine is one way of running a learner that is measured and reported separately: Label is appended to
// the row's name ("snn step (kernels)"), Apply sets it in the learner's options. The zero Engine is the
// learner's default.
type Engine struct {
	Label string
	Apply func(*train.Options)
}

// Engines lists the engines a learner is measured on, each reported as its own row and compared with the
// one PyTorch reference of the learner: for the spiking nets (names starting "snn", as in Plan) one per
// engine of impls (nil: the event-driven kernels and the GoMLX graphs, in that order), labelled by the
// engine's name; every other learner has one, its default (the zero Engine, no label).
func Engines(rule string, impls []snn.Impl) []Engine {
	if !strings.HasPrefix(rule, "snn") {
		return []Engine{{}}
	}
	if len(impls) == 0 {
		impls = DefaultSNNEngines()
	}
	engines := make([]Engine, 0, len(impls))
	for _, impl := range impls {
		engines = append(engines, Engine{Label: string(impl), Apply: func(o *train.Options) { o.SNNImpl = impl }})
	}
	return engines
}

// DefaultSNNEngines are the spiking nets' engines Run measures when Config.SNNEngines is nil: both, so
// that a report shows what each costs on the backend at hand (on the go backend the graph engine is the
// slow, readable definition; on XLA it is the one that runs on the device).
func DefaultSNNEngines() []snn.Impl { return []snn.Impl{snn.ImplKernels, snn.ImplGraph} }

// StepRate builds the named learner from reg for a net of the given layer sizes at the given batch
// size (seed 1, eng applied to its options) and returns its training speed in examples per second:
// train.Calibrate for about budget on a batch of random inputs.
func StepRate(b compute.Backend, reg train.Registry, rule string, eng Engine, sizes []int, batch int, budget time.Duration) (float64, error) {
	opts := train.Options{Spec: nn.Spec{Sizes: sizes}, Seed: 1, Override: train.Overrides{Batch: batch}}
	if eng.Apply != nil {
		eng.Apply(&opts)
	}
	l, err := reg.New(rule, b, opts)
	if err != nil {
		return 0, err
	}
	return train.Calibrate(l, randomSet(sizes[0], sizes[len(sizes)-1], batch), budget)
}

// randomSet returns n examples (at least one) of dim inputs uniform in [-1, 1) and labels uniform over
// classes, the same for every call: data for timing, where the values do not matter.
func randomSet(dim, classes, n int) *data.Set {
	n = max(n, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	s := &data.Set{X: make([]float32, n*dim), Y: make([]int32, n), N: n, Dim: dim, C: 1, H: 1, W: dim, Classes: classes}
	for i := range s.X {
		s.X[i] = float32(2*rng.Float64() - 1)
	}
	for i := range s.Y {
		s.Y[i] = int32(rng.IntN(classes))
	}
	return s
}

// stepRow returns the empty report row of a step: "bp step" or "snn step (kernels)", on
// "cifar10 3072-1536-256-10".
func stepRow(s Step) *Row {
	name := s.Rule + " step"
	if s.Engine != "" {
		name += " (" + s.Engine + ")"
	}
	st := s
	return &Row{Name: name, Shape: fmt.Sprintf("%s %s", s.Dataset, nn.Spec{Sizes: Shape(s.Dataset)}), Batch: s.Batch,
		Unit: "examples/s", Better: Higher, Step: &st}
}
