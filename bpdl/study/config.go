package study

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Config is the whole configuration of a study: which nets to train on which data, with which changes to
// the published settings, on which backend, and where the runs are kept. It is one value, passed down;
// reproduce's flags fill it field by field (the flag of each field is named in its comment).
type Config struct {
	// Dataset is one of data.Names() (-dataset).
	Dataset string
	// Rules are the learners to train, names of train.DefaultRegistry; nil means all, in the study's order
	// (-rules).
	Rules []string
	// Seed is the seed of the first run of each rule, and Seeds the number of seeds per rule: Seed,
	// Seed+1, ... (-seed, -seeds).
	Seed  uint64
	Seeds int
	// Override changes the learners' published settings: epochs, batch size, learning rate, clipping
	// (-epochs, -batch, -lr, -clip). Zero values keep each learner's setting.
	Override train.Overrides
	// TrainLimit and TestLimit, when > 0, keep only the first N training and test examples
	// (-train-limit, -test-limit).
	TrainLimit, TestLimit int
	// Hidden are the hidden layers' widths (-hidden); the input and output sizes come from the dataset.
	Hidden []int
	// PostReLU scores each layer's ReLU output instead of its Linear output (-post-relu).
	PostReLU bool
	// Benchmarks are the brain benchmarks every net is scored on, identifiers of package benchmark; nil
	// means the study's (benchmark.StudyBenchmarks).
	Benchmarks []string
	// Backend is the GoMLX backend's configuration, "" for $GOMLX_BACKEND or the pure-Go backend
	// (-backend).
	Backend string
	// Data says where the dataset is (-data-dir, -data-src, -offline).
	Data data.Options
	// BrainData is a local copy of the brain data (brainio/, rsa92/, cowley-v4/), read before the data
	// cache and never written (-brain-data).
	BrainData string
	// Out is the output folder; every run keeps its checkpoint and result in its runs/ folder (-out).
	Out string
	// Force retrains runs that have a checkpoint (-force).
	Force bool
	// StepsPerCall is the number of training steps per backend call (train.Run.StepsPerCall), 0 for each
	// learner's default on the backend: 1 on the go backend, 100 on XLA (-steps-per-call). It changes the
	// speed, not the results, so it is no part of a run's fingerprint.
	StepsPerCall int
	// SNNImpl is the spiking nets' engine (-snn-impl): snn.ImplKernels, snn.ImplGraph, or snn.ImplAuto
	// ("" too), the kernels on the go backend and the graph engine on any other.
	SNNImpl snn.Impl
}

// The quick profile: MNIST, the first QuickTrainLimit training and QuickTestLimit test images,
// QuickEpochs epochs, every rule.
const (
	QuickTrainLimit = 4000
	QuickTestLimit  = 2000
	QuickEpochs     = 2
)

// Default returns the study as it was published: every rule on CIFAR-10 with the study's net and
// settings, seed 42, into figures/.
func Default() Config {
	return Config{Dataset: data.CIFAR10, Seed: 42, Seeds: 1, Hidden: append([]int(nil), nn.StudyHidden...), Out: "figures"}
}

// Quick returns the quick profile: Default on the first QuickTrainLimit MNIST training images for
// QuickEpochs epochs, tested on the first QuickTestLimit test images. It runs in minutes on a laptop.
func Quick() Config {
	c := Default()
	c.Dataset = data.MNIST
	c.Override.Epochs = QuickEpochs
	c.TrainLimit = QuickTrainLimit
	c.TestLimit = QuickTestLimit
	return c
}

// FieldError is a Config field with a value the study cannot use. Flag names the field as reproduce's
// flag does.
type FieldError struct {
	Flag  string
	Value string
	Want  string
}

func (e *FieldError) Error() string { return fmt.Sprintf("-%s %s: want %s", e.Flag, e.Value, e.Want) }

// Validate checks every field, so that a value the study cannot use is refused up front rather than
// silently replaced by a default (a NaN learning rate, say) or ignored (a misspelt brain-data folder).
func (c Config) Validate() error {
	reg := train.DefaultRegistry()
	bad := func(flag, value, want string) error { return &FieldError{Flag: flag, Value: value, Want: want} }
	if _, err := data.Describe(c.Dataset); err != nil {
		return bad("dataset", fmt.Sprintf("%q", c.Dataset), "a known dataset ("+strings.Join(data.Names(), ", ")+")")
	}
	for _, r := range c.Rules {
		if _, ok := reg[r]; !ok {
			return bad("rules", fmt.Sprintf("%q", r), "a known rule ("+strings.Join(reg.Names(), ", ")+")")
		}
	}
	for _, b := range c.Benchmarks {
		if _, ok := benchmark.LookupSpec(b); !ok {
			return bad("benchmarks", fmt.Sprintf("%q", b), "a known benchmark ("+strings.Join(benchmark.StudyBenchmarks(), ", ")+")")
		}
	}
	o := c.Override
	switch {
	case c.Seeds < 1:
		return bad("seeds", fmt.Sprint(c.Seeds), ">= 1")
	case o.Epochs < 0:
		return bad("epochs", fmt.Sprint(o.Epochs), ">= 0 (0: each rule's published setting)")
	case o.Batch < 0:
		return bad("batch", fmt.Sprint(o.Batch), ">= 0 (0: each rule's published setting)")
	case !finite(o.LR) || o.LR < 0:
		return bad("lr", fmt.Sprint(o.LR), "a finite value > 0 (0: each rule's published setting)")
	case o.ClipSet && (!finite(o.Clip) || o.Clip < 0):
		return bad("clip", fmt.Sprint(o.Clip), "a finite value >= 0 (0 disables clipping; -1: each rule's published setting)")
	case c.TrainLimit < 0:
		return bad("train-limit", fmt.Sprint(c.TrainLimit), ">= 0 (0: all)")
	case c.TestLimit < 0:
		return bad("test-limit", fmt.Sprint(c.TestLimit), ">= 0 (0: all)")
	case len(c.Hidden) == 0:
		return bad("hidden", `""`, "comma-separated positive widths, e.g. 1536,256")
	case c.Out == "":
		return bad("out", `""`, "an output folder")
	case c.StepsPerCall < 0:
		return bad("steps-per-call", fmt.Sprint(c.StepsPerCall), ">= 0 (0: the backend's default)")
	}
	if _, err := snn.ParseImpl(string(c.SNNImpl)); err != nil {
		return bad("snn-impl", fmt.Sprintf("%q", c.SNNImpl), "auto, graph or kernels")
	}
	if c.BrainData != "" {
		if st, err := os.Stat(c.BrainData); err != nil || !st.IsDir() {
			return bad("brain-data", c.BrainData, "an existing folder holding the brain data (brainio/, rsa92/, cowley-v4/)")
		}
	}
	for _, h := range c.Hidden {
		if h <= 0 {
			return bad("hidden", fmt.Sprint(c.Hidden), "comma-separated positive widths, e.g. 1536,256")
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// rules returns the configured rules, or every registered learner in the study's order.
func (c Config) rules() []string {
	if len(c.Rules) == 0 {
		return train.DefaultRegistry().Names()
	}
	return c.Rules
}
