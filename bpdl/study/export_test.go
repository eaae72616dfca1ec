package study

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/npy"
	"github.com/bpdl/bpdl/bpdl/train"
)

// TestExport trains a tiny net, exports it, and checks the files against the trained learner; a second
// export replaces the first whole, and a run without its checkpoint is reported missing.
func TestExport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST")
	}
	s := newTestStudy(t, func(c *Config) {
		c.Rules, c.TrainLimit, c.TestLimit, c.Override.Epochs, c.Data.Offline = []string{"bp", "fa"}, 200, 50, 1, true
	})
	ctx := context.Background()
	if err := s.LoadData(ctx); err != nil {
		t.Skipf("MNIST is not here: %v", err)
	}
	runs, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Train(ctx, runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveResult(ResultPath(s.Config().Out, runs[0]), runs[0], ReportRun(tr)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for round := range 2 { // the second export replaces the first
		written, missing, err := s.Export(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(written) != 1 || len(missing) != 1 || missing[0].Rule != "fa" {
			t.Fatalf("round %d: written %v, missing %v; want bp written and fa missing", round, written, missing)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || entries[0].Name() != runs[0].ID {
			t.Errorf("round %d: export folder holds %v, want just %s", round, entries, runs[0].ID)
		}
	}
	params := tr.Learner.(*train.MLP).Params()
	for i, name := range []string{"W1.npy", "W2.npy"} {
		a, err := npy.Read(filepath.Join(dir, runs[0].ID, name))
		if err != nil {
			t.Fatal(err)
		}
		want := tensors.MustCopyFlatData[float32](params.W[i])
		if a.DType != "<f4" || len(a.Data) != len(want) {
			t.Fatalf("%s: %s with %d values, want float32 with %d", name, a.DType, len(a.Data), len(want))
		}
		for k, v := range want {
			if a.Data[k] != float64(v) {
				t.Fatalf("%s[%d] = %v, the trained net has %v", name, k, a.Data[k], v)
			}
		}
	}
	if err := os.Remove(CheckpointPath(s.Config().Out, runs[0])); err != nil {
		t.Fatal(err)
	}
	if written, missing, err := s.Export(t.TempDir()); err != nil || len(written) != 0 || len(missing) != 2 {
		t.Errorf("export without the checkpoint: written %v, missing %d, %v; want nothing written, both missing", written, len(missing), err)
	}
}
