package train

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestSNNLearners(t *testing.T) {
	for _, name := range []string{"snn", "snn-tuned"} {
		t.Run(name, func(t *testing.T) {
			o := Overrides{Epochs: 2, Batch: 8}
			run := func(epochs int, ck, fp string) (*Result, Learner) {
				o := o
				o.Epochs = epochs
				r := newToyRun(t, name, 5, o)
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
		})
	}
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
