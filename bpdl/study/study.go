package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Study is a configured study with its backend open. It plans the runs, trains and scores each one, and
// returns what the report needs. A Study is used by one goroutine at a time.
type Study struct {
	cfg         Config
	backendName string
	backend     compute.Backend
	info        data.Info
	spec        nn.Spec

	ds                *data.Dataset // nil until LoadData
	trainSet, testSet *data.Set
	locks             map[string]*Lock // the run locks this Study holds, by run ID (Lock)

	// Log receives a line per event (an epoch, a score); nil discards them.
	Log io.Writer
	// Progress receives a progress bar per epoch; nil draws none.
	Progress io.Writer
}

// New checks cfg and opens its backend. It reads no data: Plan and Estimate work without it, and
// LoadData reads it before the first run.
func New(cfg Config) (*Study, error) { return open(cfg, "") }

// open is New, opening the backend planOn instead of the configured one when planOn is not "" (see
// NewForReport).
func open(cfg Config, planOn string) (*Study, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	info, err := data.Describe(cfg.Dataset)
	if err != nil {
		return nil, err
	}
	name := backend.Resolve(cfg.Backend)
	if planOn == "" {
		planOn = name
	}
	be, err := backend.Open(planOn)
	if err != nil {
		return nil, err
	}
	return &Study{cfg: cfg, backendName: name, backend: be, info: info, spec: nn.NewSpec(info.Dim(), cfg.Hidden, info.Classes)}, nil
}

// Close releases the run locks and the backend.
func (s *Study) Close() {
	s.Unlock()
	s.backend.Finalize()
}

// Config returns the study's configuration.
func (s *Study) Config() Config { return s.cfg }

// BackendName is the backend's configuration as resolved ("go", "xla:cuda", ...), as runs record it.
func (s *Study) BackendName() string { return s.backendName }

// Backend is the open backend.
func (s *Study) Backend() compute.Backend { return s.backend }

// Spec is the net every run trains: the dataset's input size, the configured hidden widths, its classes.
func (s *Study) Spec() nn.Spec { return s.spec }

func (s *Study) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// NewLearner builds the learner of a run with its initial weights (as the run's training starts from).
func (s *Study) NewLearner(r Run) (train.Learner, error) {
	return s.learner(r.Rule, r.Seed)
}

func (s *Study) learner(rule string, seed uint64) (train.Learner, error) {
	return train.DefaultRegistry().New(rule, s.backend, train.Options{Spec: s.spec, Seed: seed, Override: s.cfg.Override, SNNImpl: s.cfg.SNNImpl})
}

// Plan returns the study's runs: for each rule in order, each seed.
func (s *Study) Plan() ([]Run, error) {
	var runs []Run
	for _, rule := range s.cfg.rules() {
		for k := range s.cfg.Seeds {
			seed := s.cfg.Seed + uint64(k)
			l, err := s.learner(rule, seed)
			if err != nil {
				return nil, err
			}
			runs = append(runs, s.cfg.newRun(rule, seed, s.spec, l.Settings(), s.backendName, engineOf(l, s.backendName)))
		}
	}
	return runs, nil
}

// LoadData reads the dataset (downloading what is missing unless Config.Data.Offline) and keeps the
// configured number of training and test examples.
func (s *Study) LoadData(ctx context.Context) error { return s.load(ctx, s.cfg.Data) }

// LoadLocalData is LoadData without downloads: it reads the dataset only if it is on this machine
// already, for estimates that should not start a download.
func (s *Study) LoadLocalData(ctx context.Context) error {
	opts := s.cfg.Data
	opts.Offline = true
	return s.load(ctx, opts)
}

func (s *Study) load(ctx context.Context, opts data.Options) error {
	if s.ds != nil {
		return nil
	}
	ds, err := data.Load(ctx, s.cfg.Dataset, opts)
	if err != nil {
		return err
	}
	s.ds, s.trainSet, s.testSet = ds, ds.Train, ds.Test
	if n := s.cfg.TrainLimit; n > 0 && n < s.trainSet.N {
		s.trainSet = s.trainSet.Head(n)
	}
	if n := s.cfg.TestLimit; n > 0 && n < s.testSet.N {
		s.testSet = s.testSet.Head(n)
	}
	return nil
}

// Data returns the loaded dataset and the training and test examples the runs use (nil before LoadData).
func (s *Study) Data() (ds *data.Dataset, trainSet, testSet *data.Set) {
	return s.ds, s.trainSet, s.testSet
}

// trainExamples is the number of training examples a run sees per epoch.
func (s *Study) trainExamples() int {
	n := s.info.Train
	if s.cfg.TrainLimit > 0 {
		n = min(n, s.cfg.TrainLimit)
	}
	return n
}

// Complete reports whether the output folder holds a finished checkpoint of r.
func (s *Study) Complete(r Run) bool {
	ck, err := train.LoadCheckpoint(CheckpointPath(s.cfg.Out, r))
	return err == nil && ck.Fingerprint == r.Fingerprint && train.Complete(ck, r.Settings)
}

// Estimate returns how long r's training takes on this machine, from timing its training step for about
// budget: on the loaded training examples when LoadData has run, else on random inputs of the dataset's
// shape (fine for the dense rules, whose speed does not depend on the data; the spiking nets' speed
// depends on how many inputs fire, so load the data first for them). Estimating changes nothing.
func (s *Study) Estimate(r Run, budget time.Duration) (time.Duration, error) {
	l, err := s.NewLearner(r)
	if err != nil {
		return 0, err
	}
	set := s.trainSet
	if set == nil {
		set = randomSet(s.info, r.Settings.Batch)
	}
	rate, err := train.CalibrateChunks(l, set, budget, s.cfg.StepsPerCall)
	if err != nil {
		return 0, err
	}
	examples := float64((r.Settings.Epochs + r.Settings.PretrainEpochs) * s.trainExamples())
	return time.Duration(examples / rate * float64(time.Second)), nil
}

// randomSet is n examples of the dataset's shape with inputs uniform in [-1, 1), for timing.
func randomSet(info data.Info, n int) *data.Set {
	n = max(n, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	s := &data.Set{X: make([]float32, n*info.Dim()), Y: make([]int32, n), N: n, Dim: info.Dim(), C: info.C, H: info.H, W: info.W, Classes: info.Classes}
	for i := range s.X {
		s.X[i] = float32(2*rng.Float64() - 1)
	}
	for i := range s.Y {
		s.Y[i] = int32(rng.IntN(info.Classes))
	}
	return s
}

// Trained is a run's trained learner and its training result.
type Trained struct {
	Run     Run
	Learner train.Learner
	Result  *train.Result
}

// Train trains r to completion, resuming from its checkpoint in the output folder (or starting afresh
// with Config.Force), saving one after every epoch. It loads the data first if LoadData has not.
func (s *Study) Train(ctx context.Context, r Run) (*Trained, error) {
	if err := s.LoadData(ctx); err != nil {
		return nil, err
	}
	ckpt := CheckpointPath(s.cfg.Out, r)
	if s.cfg.Force {
		if err := os.Remove(ckpt); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", r.ID, err)
		}
	}
	l, err := s.NewLearner(r)
	if err != nil {
		return nil, err
	}
	res, err := train.Train(ctx, train.Run{
		Dataset: r.Dataset, Learner: l, Seed: r.Seed, Train: s.trainSet, Test: s.testSet,
		Checkpoint: ckpt, Fingerprint: r.Fingerprint, Progress: s.Progress, Log: s.Log, StepsPerCall: s.cfg.StepsPerCall,
	})
	if err != nil {
		return nil, err
	}
	return &Trained{Run: r, Learner: l, Result: res}, nil
}

// Execute does run r whole: it trains it (or loads it from its checkpoint), scores it on the brain
// benchmarks, records a spiking net's raster, saves the result beside the checkpoint (ResultPath) and
// returns it. When a benchmark failed, the result is still complete, saved and returned, with a
// *ScoreError; any other error returns no result. A run stopped by ctx gives an error wrapping a
// *train.InterruptedError: its checkpoint holds the epochs done. Execute holds r's lock meanwhile (taking
// it unless Lock has), so it fails fast with a *LockedError when another process does r.
func (s *Study) Execute(ctx context.Context, r Run) (report.Run, error) {
	if s.locks[r.ID] == nil {
		if err := s.Lock(ctx, []Run{r}); err != nil {
			return report.Run{}, err
		}
		defer s.unlock(r.ID)
	}
	t, err := s.Train(ctx, r)
	if err != nil {
		return report.Run{}, fmt.Errorf("%s: %w", r.ID, err)
	}
	s.logf("%s/%s seed %d: test accuracy %.2f%%", r.Dataset, r.Rule, r.Seed, 100*t.Result.TestAccuracy)
	out := ReportRun(t)
	var scoreErr *ScoreError
	out.Scores, err = s.Score(ctx, t.Learner)
	if err != nil && !errors.As(err, &scoreErr) {
		return report.Run{}, fmt.Errorf("%s: %w", r.ID, err)
	}
	if net, ok := t.Learner.(*train.SNN); ok {
		if out.Raster, err = Raster(net.Net(), s.testSet); err != nil {
			return report.Run{}, fmt.Errorf("%s: spike raster: %w", r.ID, err)
		}
	}
	if err := SaveResult(ResultPath(s.cfg.Out, r), r, out); err != nil {
		return report.Run{}, err
	}
	if scoreErr != nil {
		return out, scoreErr
	}
	return out, nil
}

// ReportRun is the report's record of a trained run (without scores or raster).
func ReportRun(t *Trained) report.Run {
	res := t.Result
	rr := report.Run{Dataset: res.Dataset, Rule: res.Rule, Seed: res.Seed, Epochs: res.Settings.Epochs, Batch: res.Settings.Batch,
		Optimizer: res.Settings.Optimizer.String(), Backend: t.Run.Backend, TestAccuracy: res.TestAccuracy,
		WallSeconds: res.WallSeconds, ExamplesPerSec: res.ExamplesPerSec}
	for _, p := range res.History {
		rp := report.Point{Phase: p.Phase, Epoch: p.Epoch, Step: p.Step, Examples: p.Examples, TrainLoss: p.TrainLoss, TestAccuracy: p.TestAccuracy}
		rp.Metrics = append(rp.Metrics, p.Metrics...)
		rr.History = append(rr.History, rp)
	}
	return rr
}

// Raster is a trained spiking net's spikes on the first test example, layer by layer (named by
// diag.SpikingLayer, as the spike-rate diagnostics are), for the raster figure.
func Raster(net *snn.Net, test *data.Set) (*report.Raster, error) {
	if test.N == 0 {
		return nil, errors.New("no test example")
	}
	r, err := net.Raster(test.X[:test.Dim])
	if err != nil {
		return nil, err
	}
	out := &report.Raster{Steps: r.Steps, DT: 1000 * net.Config().DT, Label: int(test.Y[0])}
	for l, sp := range r.Spikes {
		out.Layers = append(out.Layers, report.RasterLayer{Name: diag.SpikingLayer(l), Units: r.Units[l], Spikes: sp})
	}
	return out, nil
}
