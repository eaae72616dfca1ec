package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/diag"
)

// Run describes one training run of a learner on a dataset.
type Run struct {
	Dataset     string
	Learner     Learner
	Seed        uint64 // seeds the order of examples in every epoch
	Train, Test *data.Set
	// ProbeSize is the number of training examples (the first ones) in the fixed probe batch on which
	// diagnostics are measured; 0 means 128.
	ProbeSize int
	// ProbeSteps are the training steps (counted from 1 over the whole run) after which the probe is
	// measured, besides at initialisation and after every epoch; nil means {100}.
	ProbeSteps []int
	// Checkpoint is the file the run's state is saved to after every epoch and resumed from; "" disables.
	Checkpoint string
	// Fingerprint identifies the run's configuration; a checkpoint written under another fingerprint is
	// not resumed from.
	Fingerprint string
	// Progress receives each epoch's progress: a bar when it is a terminal, else a line every 10% of
	// the epoch; nil means none.
	Progress io.Writer
	// Log receives one line per epoch; nil means none.
	Log io.Writer
	// StepsPerCall is the number of training steps a learner that can (a Chunker) takes per backend call,
	// with the training set on the device: a chunk ends early at a probe step, at the end of the epoch's
	// whole mini-batches (the last, short one is a step of its own) and where the epoch ends. Chunks of
	// any length give the same results as single steps (see Chunker). 0 means the learner's default for
	// its backend (Chunker.DefaultStepsPerCall: 1 on the go backend, 100 on others); learners that are
	// not Chunkers take one step per call whatever it says.
	StepsPerCall int
}

// Point is the state of a run at one moment: after Examples training examples (Epoch counts epochs as a
// fraction), with the mean training loss since the previous point, the test accuracy when it was measured
// (NaN otherwise) and the probe diagnostics.
type Point struct {
	Phase        string // "pretrain" or "train"
	Epoch        float64
	Step         int
	Examples     int
	TrainLoss    float64
	TestAccuracy float64
	Metrics      []diag.Metric
}

// Result is the outcome of a run.
type Result struct {
	Dataset      string
	Rule         string
	Seed         uint64
	Settings     Settings
	TestAccuracy float64
	History      []Point
	// Timing; the only fields that differ between identical runs. WallSeconds is the wall time of the
	// training, summed over the sessions that trained it (a run loaded whole from its checkpoint reports
	// the time it took then), and ExamplesPerSec the training examples over that time.
	WallSeconds    float64
	ExamplesPerSec float64
	Resumed        bool
}

// InterruptedError is the error of a run stopped by its context (SIGINT, say) during an epoch: the
// checkpoint holds the epochs done, and the same run resumes from the next one.
type InterruptedError struct {
	PretrainDone, EpochsDone int // whole epochs saved in the checkpoint
	Err                      error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted after %d pretraining and %d training epochs: %v", e.PretrainDone, e.EpochsDone, e.Err)
}

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// Resume says where the run resumes: the epoch after the last one its checkpoint holds ("epoch 3", or
// "epoch 1 (after 1 pretraining epoch(s))").
func (e *InterruptedError) Resume() string {
	if e.EpochsDone == 0 && e.PretrainDone > 0 {
		return fmt.Sprintf("epoch 1 (after %d pretraining epoch(s))", e.PretrainDone)
	}
	return fmt.Sprintf("epoch %d", e.EpochsDone+1)
}

// interrupted wraps err in an InterruptedError when it is the context's.
func interrupted(err error, st progressState) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &InterruptedError{PretrainDone: st.PretrainDone, EpochsDone: st.EpochsDone, Err: err}
	}
	return err
}

// ErrNonFinite is wrapped by the error a run returns when the loss becomes NaN or infinite.
var ErrNonFinite = errors.New("non-finite loss")

// Train runs r to completion, resuming from r.Checkpoint when it holds a valid checkpoint of the same
// configuration, and returns the result.
func Train(ctx context.Context, r Run) (*Result, error) {
	if r.Train == nil || r.Test == nil || r.Learner == nil {
		return nil, errors.New("train: run needs a learner, a training set and a test set")
	}
	if r.Train.N == 0 || r.Test.N == 0 {
		return nil, fmt.Errorf("train: %s has %d training and %d test examples, want > 0", r.Dataset, r.Train.N, r.Test.N)
	}
	set := r.Learner.Settings()
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", r.Learner.Name(), err)
	}
	if r.StepsPerCall < 0 {
		return nil, fmt.Errorf("train: %d steps per call: want >= 0 (0: the learner's default)", r.StepsPerCall)
	}
	chunk := stepsPerCall(r.Learner, r.StepsPerCall)
	if ch, ok := r.Learner.(Chunker); ok && chunk > 1 {
		defer ch.ReleaseData()
	}
	probeN := r.ProbeSize
	if probeN <= 0 {
		probeN = 128
	}
	probeN = min(probeN, r.Train.N)
	probeSteps := r.ProbeSteps
	if probeSteps == nil {
		probeSteps = []int{100}
	}
	idx := make([]int, probeN)
	for i := range idx {
		idx[i] = i
	}
	px, py := batchTensors(r.Train, idx)

	res := &Result{Dataset: r.Dataset, Rule: r.Learner.Name(), Seed: r.Seed, Settings: set, TestAccuracy: math.NaN()}
	st := progressState{}
	if r.Checkpoint != "" {
		ck, err := LoadCheckpoint(r.Checkpoint)
		switch {
		case err == nil && ck.Fingerprint == r.Fingerprint:
			if err := r.Learner.SetState(ck.State); err != nil {
				logf(r.Log, "checkpoint %s does not fit the learner (%v): starting afresh", r.Checkpoint, err)
			} else {
				st = ck.Progress
				res.History = ck.History
				res.Resumed = true
				logf(r.Log, "resuming %s/%s from %s (pretraining epochs %d, epochs %d done)", r.Dataset, r.Learner.Name(), r.Checkpoint, st.PretrainDone, st.EpochsDone)
			}
		case err == nil:
			logf(r.Log, "checkpoint %s is of another configuration: starting afresh", r.Checkpoint)
		case errors.Is(err, errNoCheckpoint):
		default:
			logf(r.Log, "checkpoint %s is unreadable (%v): retraining", r.Checkpoint, err)
		}
	}

	probe := func(phase string, epoch float64, step, examples int, loss, acc float64) error {
		metrics, err := r.Learner.Probe(px, py)
		if err != nil {
			return err
		}
		res.History = append(res.History, Point{Phase: phase, Epoch: epoch, Step: step, Examples: examples, TrainLoss: loss, TestAccuracy: acc, Metrics: metrics})
		return nil
	}
	start := time.Now()
	trained := 0
	before := st // the time and examples of the sessions before this one
	mark := func() {
		st.Seconds = before.Seconds + time.Since(start).Seconds()
		st.Examples = before.Examples + trained
	}
	if len(res.History) == 0 {
		acc, err := Evaluate(r.Learner, r.Test)
		if err != nil {
			return nil, err
		}
		if err := probe("init", 0, 0, 0, math.NaN(), acc); err != nil {
			return nil, err
		}
	}
	nb := (r.Train.N + set.Batch - 1) / set.Batch
	for st.PretrainDone < set.PretrainEpochs {
		e := st.PretrainDone
		loss, err := r.epoch(ctx, fmt.Sprintf("%s pretrain %d/%d", r.Learner.Name(), e+1, set.PretrainEpochs), e, true, chunk, nil, nil)
		if err != nil {
			return nil, interrupted(err, st)
		}
		trained += r.Train.N
		st.PretrainDone++
		if err := probe("pretrain", float64(st.PretrainDone), 0, 0, loss, math.NaN()); err != nil {
			return nil, err
		}
		logf(r.Log, "%s/%s pretraining epoch %d: feedback loss %.4f", r.Dataset, r.Learner.Name(), st.PretrainDone, loss)
		mark()
		if err := r.save(st, res.History); err != nil {
			return nil, err
		}
	}
	for st.EpochsDone < set.Epochs {
		e := st.EpochsDone
		// The probe steps of this epoch, counted from its start.
		var stops []int
		for _, s := range probeSteps {
			if s > e*nb && s <= (e+1)*nb {
				stops = append(stops, s-e*nb)
			}
		}
		stepHook := func(step int, meanLoss float64) error {
			global := e*nb + step
			return probe("train", float64(global)/float64(nb), global, global*set.Batch, meanLoss, math.NaN())
		}
		loss, err := r.epoch(ctx, fmt.Sprintf("%s epoch %d/%d", r.Learner.Name(), e+1, set.Epochs), e, false, chunk, stops, stepHook)
		if err != nil {
			return nil, interrupted(err, st)
		}
		trained += r.Train.N
		st.EpochsDone++
		acc, err := Evaluate(r.Learner, r.Test)
		if err != nil {
			return nil, err
		}
		if err := probe("train", float64(st.EpochsDone), st.EpochsDone*nb, st.EpochsDone*r.Train.N, loss, acc); err != nil {
			return nil, err
		}
		logf(r.Log, "%s/%s epoch %d: train loss %.4f, test accuracy %.2f%%", r.Dataset, r.Learner.Name(), st.EpochsDone, loss, 100*acc)
		mark()
		if err := r.save(st, res.History); err != nil {
			return nil, err
		}
	}
	last := res.History[len(res.History)-1]
	res.TestAccuracy = last.TestAccuracy
	if trained > 0 {
		mark()
	}
	res.WallSeconds = st.Seconds
	if st.Seconds > 0 {
		res.ExamplesPerSec = float64(st.Examples) / st.Seconds
	}
	return res, nil
}

type progressState struct {
	PretrainDone int `json:"pretrain_done"`
	EpochsDone   int `json:"epochs_done"`
	// Seconds and Examples are the wall time and the training examples (pretraining included) of the
	// epochs done, summed over every session that trained them, so that a resumed or cached run reports the
	// time its training took. Checkpoints written before they existed read as 0.
	Seconds  float64 `json:"seconds,omitempty"`
	Examples int     `json:"examples,omitempty"`
}

func (r *Run) save(st progressState, history []Point) error {
	if r.Checkpoint == "" {
		return nil
	}
	state, err := r.Learner.State()
	if err != nil {
		return err
	}
	return SaveCheckpoint(r.Checkpoint, &Checkpoint{Fingerprint: r.Fingerprint, Progress: st, History: history, State: state})
}

// Order returns the order in which epoch e visits n examples: a permutation drawn from (seed, e), so an
// epoch's order does not depend on what ran before it (a resumed run sees the same batches).
func Order(seed uint64, e, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(e)+1)).Perm(n)
}

// stepsPerCall returns the chunk length a run of l takes: n, or l's default when n is 0 and l is a
// Chunker; 1 for other learners.
func stepsPerCall(l Learner, n int) int {
	ch, ok := l.(Chunker)
	switch {
	case !ok:
		return 1
	case n == 0:
		return max(ch.DefaultStepsPerCall(), 1)
	}
	return n
}

// finiteLoss reports whether a loss is neither NaN nor infinite.
func finiteLoss(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// epoch runs one epoch (training, or pretraining when pretrain is set) and returns its mean loss. It takes
// the epoch's whole mini-batches chunk steps per backend call when the learner is a Chunker (chunk > 1),
// the last, short mini-batch (if any) as a step of its own. stops are steps of the epoch (counted from 1)
// at which a chunk ends and after which hook is called with the epoch's mean loss so far.
func (r *Run) epoch(ctx context.Context, desc string, e int, pretrain bool, chunk int, stops []int, hook func(step int, meanLoss float64) error) (float64, error) {
	set := r.Learner.Settings()
	order := Order(r.Seed, e, r.Train.N)
	if pretrain {
		order = Order(r.Seed^0x9e3779b97f4a7c15, e, r.Train.N)
	}
	ch, _ := r.Learner.(Chunker)
	bar := newProgress(r.Progress, desc, r.Train.N)
	defer bar.close()
	batch := set.Batch
	whole := r.Train.N / batch            // whole mini-batches
	nb := (r.Train.N + batch - 1) / batch // and the short one
	var sum float64
	steps := 0
	for steps < nb {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		start := steps * batch
		n := 1
		var losses []float64
		var err error
		if ch != nil && chunk > 1 && steps < whole {
			n = min(chunk, whole-steps)
			for _, s := range stops {
				if s > steps && s < steps+n {
					n = s - steps
				}
			}
			losses, err = ch.StepChunk(r.Train, order[start:start+n*batch], batch, pretrain)
		} else {
			end := min(start+batch, r.Train.N)
			x, y := batchTensors(r.Train, order[start:end])
			var loss float64
			if pretrain {
				loss, err = r.Learner.PretrainStep(x, y)
			} else {
				loss, err = r.Learner.Step(x, y)
			}
			losses = []float64{loss}
		}
		if err != nil {
			return 0, err
		}
		for _, loss := range losses {
			steps++
			if !finiteLoss(loss) {
				return 0, fmt.Errorf("train: %s on %s: loss is %v at epoch %d, step %d: %w", r.Learner.Name(), r.Dataset, loss, e+1, steps, ErrNonFinite)
			}
			sum += loss
		}
		if len(losses) != n {
			return 0, fmt.Errorf("train: %s on %s: a chunk of %d steps returned %d losses", r.Learner.Name(), r.Dataset, n, len(losses))
		}
		if hook != nil && slices.Contains(stops, steps) {
			if err := hook(steps, sum/float64(steps)); err != nil {
				return 0, err
			}
		}
		bar.add(min(steps*batch, r.Train.N)-start, sum/float64(steps))
	}
	return sum / float64(steps), nil
}

// batchTensors copies the examples idx of s into an inputs tensor [len(idx), Dim] and a labels tensor.
func batchTensors(s *data.Set, idx []int) (*tensors.Tensor, *tensors.Tensor) {
	x := make([]float32, len(idx)*s.Dim)
	y := make([]int32, len(idx))
	for i, j := range idx {
		copy(x[i*s.Dim:(i+1)*s.Dim], s.X[j*s.Dim:(j+1)*s.Dim])
		y[i] = s.Y[j]
	}
	return tensors.FromFlatDataAndDimensions(x, len(idx), s.Dim), tensors.FromFlatDataAndDimensions(y, len(idx))
}

// EvalBatch is the number of examples evaluated at once.
const EvalBatch = 1000

// Evaluate returns the learner's accuracy on s (the fraction of examples whose largest logit is at the
// label; ties go to the first class, as torch.argmax).
func Evaluate(l Learner, s *data.Set) (float64, error) {
	correct := 0
	for start := 0; start < s.N; start += EvalBatch {
		end := min(start+EvalBatch, s.N)
		idx := make([]int, end-start)
		for i := range idx {
			idx[i] = start + i
		}
		x, _ := batchTensors(s, idx)
		logits, err := l.Logits(x)
		if err != nil {
			return 0, fmt.Errorf("evaluate %s: %w", l.Name(), err)
		}
		vals := tensors.MustCopyFlatData[float32](logits)
		_ = logits.FinalizeAll()
		classes := len(vals) / len(idx)
		for i := range idx {
			row := vals[i*classes : (i+1)*classes]
			best := 0
			for c := 1; c < classes; c++ {
				if row[c] > row[best] {
					best = c
				}
			}
			if int32(best) == s.Y[start+i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(s.N), nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
