package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/nn"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toySet is a small learnable problem: the label is the index of the largest of the first `classes` inputs.
func toySet(seed uint64, n, dim, classes int) *data.Set {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &data.Set{X: make([]float32, n*dim), Y: make([]int32, n), N: n, Dim: dim, C: 1, H: 1, W: dim, Classes: classes}
	for i := 0; i < n; i++ {
		best := 0
		for j := 0; j < dim; j++ {
			s.X[i*dim+j] = float32(2*rng.Float64() - 1)
			if j < classes && s.X[i*dim+j] > s.X[i*dim+best] {
				best = j
			}
		}
		s.Y[i] = int32(best)
	}
	return s
}

func newToyRun(t *testing.T, rule string, seed uint64, o Overrides) Run {
	t.Helper()
	spec := nn.NewSpec(12, []int{16, 8}, 3)
	l, err := DefaultRegistry().New(rule, testBackend(t), Options{Spec: spec, Seed: seed, Override: o})
	if err != nil {
		t.Fatal(err)
	}
	return Run{Dataset: "toy", Learner: l, Seed: seed, Train: toySet(1, 200, 12, 3), Test: toySet(2, 100, 12, 3), ProbeSize: 16}
}

func stateValues(t *testing.T, l Learner) [][]float32 {
	t.Helper()
	st, err := l.State()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, s := range st {
		if s.DType().String() != "Float32" {
			continue
		}
		out = append(out, tensors.MustCopyFlatData[float32](s))
	}
	return out
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	o := Overrides{Epochs: 3, LR: 0.05}
	r1 := newToyRun(t, "bp", 42, o)
	res1, err := Train(context.Background(), r1)
	if err != nil {
		t.Fatal(err)
	}
	if res1.TestAccuracy < 0.6 {
		t.Errorf("toy problem accuracy %.3f after 3 epochs, want >= 0.6", res1.TestAccuracy)
	}
	r2 := newToyRun(t, "bp", 42, o)
	res2, err := Train(context.Background(), r2)
	if err != nil {
		t.Fatal(err)
	}
	if res1.TestAccuracy != res2.TestAccuracy {
		t.Errorf("same seed gave accuracies %v and %v", res1.TestAccuracy, res2.TestAccuracy)
	}
	a, b := stateValues(t, r1.Learner), stateValues(t, r2.Learner)
	for i := range a {
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				t.Fatalf("state tensor %d differs at %d: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
	// Points: init, step 100, then one per epoch.
	if n := len(res1.History); n != 5 {
		t.Errorf("history has %d points, want 5 (init, step 100, 3 epochs)", n)
	}
}

func TestResumeGivesSameResult(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	full := newToyRun(t, "bp", 7, Overrides{Epochs: 3, LR: 0.05})
	want, err := Train(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	// Train 2 epochs with a checkpoint, then resume the same configuration to 3 epochs.
	part := newToyRun(t, "bp", 7, Overrides{Epochs: 2, LR: 0.05})
	part.Checkpoint, part.Fingerprint = ck, "fp"
	if _, err := Train(context.Background(), part); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	c.Fingerprint = "fp3"
	if err := SaveCheckpoint(ck, c); err != nil {
		t.Fatal(err)
	}
	rest := newToyRun(t, "bp", 7, Overrides{Epochs: 3, LR: 0.05})
	rest.Checkpoint, rest.Fingerprint = ck, "fp3"
	got, err := Train(context.Background(), rest)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Resumed {
		t.Fatal("run did not resume from its checkpoint")
	}
	if got.TestAccuracy != want.TestAccuracy || len(got.History) != len(want.History) {
		t.Fatalf("resumed run: accuracy %v, %d points; uninterrupted: %v, %d points", got.TestAccuracy, len(got.History), want.TestAccuracy, len(want.History))
	}
	// The timings add up over sessions, and a run loaded whole from its checkpoint reports them.
	ck3, err := LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if ck3.Progress.Seconds <= c.Progress.Seconds || ck3.Progress.Examples != 3*rest.Train.N || c.Progress.Examples != 2*rest.Train.N {
		t.Errorf("checkpoint timings: %v s and %d examples after 2 epochs, %v s and %d after 3; want growing time and %d, %d examples",
			c.Progress.Seconds, c.Progress.Examples, ck3.Progress.Seconds, ck3.Progress.Examples, 2*rest.Train.N, 3*rest.Train.N)
	}
	if got.WallSeconds < ck3.Progress.Seconds || got.ExamplesPerSec <= 0 {
		t.Errorf("resumed run: %v s, %v examples/s; want at least the checkpoint's %v s", got.WallSeconds, got.ExamplesPerSec, ck3.Progress.Seconds)
	}
	cached := newToyRun(t, "bp", 7, Overrides{Epochs: 3, LR: 0.05})
	cached.Checkpoint, cached.Fingerprint = ck, "fp3"
	again, err := Train(context.Background(), cached)
	if err != nil {
		t.Fatal(err)
	}
	if again.WallSeconds != ck3.Progress.Seconds || again.ExamplesPerSec != float64(3*rest.Train.N)/ck3.Progress.Seconds {
		t.Errorf("cached run: %v s, %v examples/s; want the checkpoint's %v s and %d examples", again.WallSeconds, again.ExamplesPerSec, ck3.Progress.Seconds, 3*rest.Train.N)
	}
	a, b := stateValues(t, full.Learner), stateValues(t, rest.Learner)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("resumed state tensor %d differs at %d", i, j)
			}
		}
	}
}

func TestCorruptCheckpointIsRetrained(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	r := newToyRun(t, "bp", 3, Overrides{Epochs: 1, LR: 0.05})
	r.Checkpoint, r.Fingerprint = ck, "fp"
	want, err := Train(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated", raw[:len(raw)/2]},
		{"flipped-byte", func() []byte { b := append([]byte{}, raw...); b[len(b)/2] ^= 1; return b }()},
		{"empty", nil},
		{"garbage", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(ck, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadCheckpoint(ck); err == nil || errors.Is(err, errNoCheckpoint) {
				t.Fatalf("LoadCheckpoint of a %s file: err = %v, want a corruption error", tc.name, err)
			}
			r := newToyRun(t, "bp", 3, Overrides{Epochs: 1, LR: 0.05})
			r.Checkpoint, r.Fingerprint = ck, "fp"
			got, err := Train(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if got.Resumed || got.TestAccuracy != want.TestAccuracy {
				t.Errorf("after a %s checkpoint: resumed=%v accuracy %v, want a retrain giving %v", tc.name, got.Resumed, got.TestAccuracy, want.TestAccuracy)
			}
		})
	}
}

func TestNonFiniteLossStops(t *testing.T) {
	r := newToyRun(t, "bp", 1, Overrides{Epochs: 1, LR: 1e30, Clip: 0, ClipSet: true})
	_, err := Train(context.Background(), r)
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("huge learning rate: err = %v, want ErrNonFinite", err)
	}
}

func TestOrderIsAPermutationPerEpoch(t *testing.T) {
	a, b := Order(42, 0, 50), Order(42, 1, 50)
	seen := make([]bool, 50)
	same := true
	for i := range a {
		seen[a[i]] = true
		same = same && a[i] == b[i]
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("index %d missing from the epoch order", i)
		}
	}
	if same {
		t.Error("two epochs visit the examples in the same order")
	}
}

// TestEveryRuleTrainsAndResumes trains every registered MLP rule on the toy problem with its published
// settings (DTP with its feedback-only epoch first; too few steps for DTP to learn it) and checks that a run resumed from a checkpoint ends bit-identical to an
// uninterrupted one: the rules' own tensors, random-number state included, travel with the checkpoint.
func TestEveryRuleTrainsAndResumes(t *testing.T) {
	for _, name := range []string{"bp", "fa", "dfa", "dtp", "dtp-tuned"} {
		t.Run(name, func(t *testing.T) {
			o := Overrides{Epochs: 2, Batch: 8}
			full := newToyRun(t, name, 5, o)
			want, err := Train(context.Background(), full)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(want.TestAccuracy) || want.TestAccuracy <= 0 {
				t.Errorf("test accuracy %v after 2 epochs", want.TestAccuracy)
			}
			ck := filepath.Join(t.TempDir(), "run.ckpt")
			part := newToyRun(t, name, 5, Overrides{Epochs: 1, Batch: 8})
			part.Checkpoint, part.Fingerprint = ck, "fp"
			if _, err := Train(context.Background(), part); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCheckpoint(ck)
			if err != nil {
				t.Fatal(err)
			}
			c.Fingerprint = "fp2"
			if err := SaveCheckpoint(ck, c); err != nil {
				t.Fatal(err)
			}
			rest := newToyRun(t, name, 5, o)
			rest.Checkpoint, rest.Fingerprint = ck, "fp2"
			got, err := Train(context.Background(), rest)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Resumed || got.TestAccuracy != want.TestAccuracy {
				t.Fatalf("resumed %v with accuracy %v, uninterrupted %v", got.Resumed, got.TestAccuracy, want.TestAccuracy)
			}
			a, b := stateValues(t, full.Learner), stateValues(t, rest.Learner)
			for i := range a {
				for j := range a[i] {
					if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
						t.Fatalf("state tensor %d differs at %d after resuming: %v vs %v", i, j, a[i][j], b[i][j])
					}
				}
			}
		})
	}
}
