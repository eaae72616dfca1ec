package train

import (
	"fmt"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/data"
)

// Complete reports whether a checkpoint holds a finished run with settings s.
func Complete(c *Checkpoint, s Settings) bool {
	return c.Progress.EpochsDone >= s.Epochs && c.Progress.PretrainDone >= s.PretrainEpochs
}

// Calibrate measures a learner's training speed in examples per second by running steps on the first
// examples of set for about budget (after one untimed call that compiles the graph), then restores the
// learner's state, so calibrating changes nothing. A Chunker runs its default number of steps per call
// (Chunker.DefaultStepsPerCall), as a training run does by default.
func Calibrate(l Learner, set *data.Set, budget time.Duration) (float64, error) {
	return CalibrateChunks(l, set, budget, 0)
}

// CalibrateChunks is Calibrate with perCallSteps steps per backend call (Run.StepsPerCall; 0: the
// learner's default), every step on the same first mini-batch of set.
func CalibrateChunks(l Learner, set *data.Set, budget time.Duration, perCallSteps int) (float64, error) {
	if perCallSteps < 0 {
		return 0, fmt.Errorf("calibrate %s: %d steps per call: want >= 0 (0: the learner's default)", l.Name(), perCallSteps)
	}
	saved, err := cloneState(l)
	if err != nil {
		return 0, err
	}
	batch := l.Settings().Batch
	idx := make([]int, min(batch, set.N))
	for i := range idx {
		idx[i] = i
	}
	var call func() error
	perCall := len(idx)
	if k := stepsPerCall(l, perCallSteps); k > 1 && len(idx) == batch {
		ch := l.(Chunker)
		defer ch.ReleaseData()
		// Only the first mini-batch goes to the device.
		first := *set
		first.N, first.X, first.Y = batch, set.X[:batch*set.Dim], set.Y[:batch]
		set = &first
		order := make([]int, 0, k*batch)
		for range k {
			order = append(order, idx...)
		}
		perCall = k * batch
		call = func() error {
			_, err := ch.StepChunk(set, order, batch, false)
			return err
		}
	} else {
		x, y := batchTensors(set, idx)
		call = func() error {
			_, err := l.Step(x, y)
			return err
		}
	}
	if err := call(); err != nil {
		return 0, fmt.Errorf("calibrate %s: %w", l.Name(), err)
	}
	start := time.Now()
	n := 0
	for time.Since(start) < budget || n == 0 {
		if err := call(); err != nil {
			return 0, fmt.Errorf("calibrate %s: %w", l.Name(), err)
		}
		n += perCall
	}
	rate := float64(n) / time.Since(start).Seconds()
	return rate, l.SetState(saved)
}

// cloneState copies a learner's state tensors to new host tensors.
func cloneState(l Learner) ([]*tensors.Tensor, error) {
	st, err := l.State()
	if err != nil {
		return nil, err
	}
	out := make([]*tensors.Tensor, len(st))
	for i, t := range st {
		c := tensors.FromShape(t.Shape())
		var cerr error
		err := t.ConstBytes(func(src []byte) {
			cerr = c.MutableBytes(func(dst []byte) { copy(dst, src) })
		})
		if err != nil || cerr != nil {
			return nil, fmt.Errorf("copy state tensor %d: %v %v", i, err, cerr)
		}
		out[i] = c
	}
	return out, nil
}
