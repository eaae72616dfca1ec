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
// examples of set for about budget (after one untimed step that compiles the graph), then restores the
// learner's state, so calibrating changes nothing.
func Calibrate(l Learner, set *data.Set, budget time.Duration) (float64, error) {
	saved, err := cloneState(l)
	if err != nil {
		return 0, err
	}
	batch := l.Settings().Batch
	idx := make([]int, min(batch, set.N))
	for i := range idx {
		idx[i] = i
	}
	x, y := batchTensors(set, idx)
	if _, err := l.Step(x, y); err != nil {
		return 0, fmt.Errorf("calibrate %s: %w", l.Name(), err)
	}
	start := time.Now()
	n := 0
	for time.Since(start) < budget || n == 0 {
		if _, err := l.Step(x, y); err != nil {
			return 0, fmt.Errorf("calibrate %s: %w", l.Name(), err)
		}
		n += len(idx)
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
