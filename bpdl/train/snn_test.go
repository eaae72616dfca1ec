package train

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/snn"
)

// newSNNRun is newToyRun for a spiking net on the given engine.
func newSNNRun(t *testing.T, rule string, impl snn.Impl, seed uint64, o Overrides) Run {
	t.Helper()
	spec := nn.NewSpec(12, []int{16, 8}, 3)
	l, err := DefaultRegistry().New(rule, testBackend(t), Options{Spec: spec, Seed: seed, Override: o, SNNImpl: impl})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.(*SNN).Net().Impl(); got != impl.Resolve(testBackend(t)) {
		t.Fatalf("%s asked for engine %q runs on %q", rule, impl, got)
	}
	return Run{Dataset: "toy", Learner: l, Seed: seed, Train: toySet(1, 200, 12, 3), Test: toySet(2, 100, 12, 3), ProbeSize: 16}
}

func TestSNNLearners(t *testing.T) {
	results := map[string]*Result{}
	for _, name := range []string{"snn", "snn-tuned"} {
		for _, impl := range []snn.Impl{snn.ImplAuto, snn.ImplGraph} {
			t.Run(name+"/"+string(impl), func(t *testing.T) {
				results[name+"/"+string(impl)] = testSNNLearner(t, name, impl)
			})
		}
		// The engines train alike: the same test accuracy up to a prediction flipped by rounding.
		k, g := results[name+"/auto"], results[name+"/graph"]
		if k != nil && g != nil && math.Abs(k.TestAccuracy-g.TestAccuracy) > 0.02 {
			t.Errorf("%s: test accuracy %.3f on the kernels, %.3f on the graph engine", name, k.TestAccuracy, g.TestAccuracy)
		}
	}
}

// testSNNLearner trains the toy spiking net rule on engine impl and checks its settings, determinism,
// probe metrics, resumption from a checkpoint and layers; it returns the uninterrupted run.
func testSNNLearner(t *testing.T, name string, impl snn.Impl) *Result {
	o := Overrides{Epochs: 2, Batch: 8}
	run := func(epochs int, ck, fp string) (*Result, Learner) {
		o := o
		o.Epochs = epochs
		r := newSNNRun(t, name, impl, 5, o)
		r.Checkpoint, r.Fingerprint = ck, fp
		res, err := Train(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return res, r.Learner
	}
	full, l := run(2, "", "")
	if s := l.Settings(); s.Batch != 8 || s.Epochs != 2 {
		t.Errorf("settings %+v: the overrides were not applied", s)
	}
	again, l2 := run(2, "", "")
	if !sameValues(stateValues(t, l), stateValues(t, l2)) || full.TestAccuracy != again.TestAccuracy {
		t.Error("the same seed gave different runs")
	}
	// Probe: the same metrics every time, spike counts among them.
	var names []string
	for _, m := range full.History[0].Metrics {
		names = append(names, m.Name())
	}
	for _, p := range full.History {
		if len(p.Metrics) != len(names) {
			t.Fatalf("probe metrics change between points: %v", p.Metrics)
		}
	}
	if got := strings.Join(names, ","); got != "probe_loss,probe_accuracy,spikes_input,spike_rate_input,spikes_hidden1,spike_rate_hidden1,spikes_hidden2,spike_rate_hidden2" {
		t.Errorf("probe metrics %s", got)
	}
	// Resume: one epoch with a checkpoint, then the second from it.
	ck := filepath.Join(t.TempDir(), "snn.ckpt")
	run(1, ck, "fp")
	c, err := LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	c.Fingerprint = "fp2"
	if err := SaveCheckpoint(ck, c); err != nil {
		t.Fatal(err)
	}
	resumed, l3 := run(2, ck, "fp2")
	if !resumed.Resumed {
		t.Fatal("the run did not resume")
	}
	if !sameValues(stateValues(t, l), stateValues(t, l3)) || resumed.TestAccuracy != full.TestAccuracy {
		t.Error("the resumed run differs from the uninterrupted one")
	}
	x, _ := batchTensors(toySet(2, 4, 12, 3), []int{0, 1, 2, 3})
	layers, err := l.Layers(x, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Name != "fc1" || layers[0].Rows != 4 || layers[0].Cols != 16 || layers[1].Cols != 8 {
		t.Errorf("layers: %+v", layers)
	}
	return full
}

func sameValues(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
