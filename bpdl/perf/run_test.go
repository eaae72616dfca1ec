package perf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// fakeLearner is a learner whose steps sleep, so that Run can be tested without compiling a net.
type fakeLearner struct {
	train.Learner // the methods Calibrate does not call
	batch         int
}

func (f *fakeLearner) Name() string                      { return "bp" }
func (f *fakeLearner) Settings() train.Settings          { return train.Settings{Batch: f.batch} }
func (f *fakeLearner) State() ([]*tensors.Tensor, error) { return nil, nil }
func (f *fakeLearner) SetState([]*tensors.Tensor) error  { return nil }
func (f *fakeLearner) Step(x, y *tensors.Tensor) (float64, error) {
	time.Sleep(time.Millisecond)
	return 0, nil
}

// fakeReference writes a shell script that stands for the reference: it prints the lines of each
// round's file in turn (round1.jsonl, round2.jsonl, ...) and fails when there is none.
func fakeReference(t *testing.T, rounds ...string) *Reference {
	t.Helper()
	dir := t.TempDir()
	for i, r := range rounds {
		if err := os.WriteFile(filepath.Join(dir, "round"+string(rune('1'+i))+".jsonl"), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.count"
echo "progress: $*"
cat "$(dirname "$0")/round$n.jsonl" || exit 1
`
	path := filepath.Join(dir, "ref.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Reference{Python: "/bin/sh", Script: path, Configs: "1:1"}
}

// TestRun runs two rounds on a fake learner against a fake reference: every step of the plan gets a
// row, the reference's best rate over the rounds and over each configuration counts, and a step the
// reference could not measure says why; a reference that fails leaves the rows without one and says
// so to Warn.
func TestRun(t *testing.T) {
	reg := train.Registry{"bp": func(_ compute.Backend, o train.Options) (train.Learner, error) {
		return &fakeLearner{batch: o.Override.Batch}, nil
	}}
	ref := fakeReference(t,
		`{"rule": "bp", "shape": "cifar10", "batch": 4, "examples_per_s": 100, "torch_threads": 1, "blas_threads": 1, "blas": "openblas", "formulation": "f", "configs": {"1:1": 100, "1:2": 90}}
{"rule": "bp", "shape": "cifar10", "batch": 128, "not_measured": "too slow"}
`, `{"rule": "bp", "shape": "cifar10", "batch": 4, "examples_per_s": 150, "torch_threads": 1, "blas_threads": 2, "blas": "openblas", "formulation": "f", "configs": {"1:1": 80, "1:2": 150}}
`)
	var log, warn strings.Builder
	rep, err := Run(context.Background(), nil, Config{Registry: reg, Backend: "fake", Seconds: 0.01, Rounds: 3, Reference: ref, Log: &log, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rounds != 3 {
		t.Fatalf("%d rows, %d rounds: %+v", len(rep.Rows), rep.Rounds, rep.Rows)
	}
	b4, b128 := rep.Rows[0], rep.Rows[1]
	if b4.Name != "bp step" || b4.Shape != "cifar10 3072-1536-256-10" || b4.Batch != 4 || b4.Bpdl <= 0 || b4.Bpdl > 4000 {
		t.Errorf("batch 4 row %+v", b4)
	}
	if b4.Reference != 150 || b4.RefConfig != "torch 1, OpenBLAS 2" || b4.RefAll["1:1"] != 100 || b4.RefAll["1:2"] != 150 || b4.RefNote != "f" {
		t.Errorf("batch 4 reference: %+v", b4)
	}
	if b128.Batch != 128 || b128.Reference != 0 || b128.RefNote != "too slow" {
		t.Errorf("batch 128 row %+v", b128)
	}
	if strings.Count(log.String(), "PyTorch (") != 2 || !strings.Contains(log.String(), "bench: backend fake on ") {
		t.Errorf("log:\n%s", log.String())
	}
	if !strings.Contains(warn.String(), "bench: PyTorch reference not measured: /bin/sh "+ref.Script+" bench: exit status 1") {
		t.Errorf("warnings: %q: want the third round's failure", warn.String())
	}
	if _, err := Run(context.Background(), nil, Config{Registry: reg, Rules: []string{"fa"}, Seconds: 1}); err == nil || !strings.Contains(err.Error(), `unknown rule "fa"`) {
		t.Errorf("unknown rule: %v", err)
	}
}

// TestEngines: the spiking nets are measured on each engine asked for (both by default), each row named
// by its engine and compared with the one reference of its rule; the MLP rules have one, unlabelled row.
func TestEngines(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		impls []snn.Impl
		want  []string
	}{
		{"bp", nil, []string{""}},
		{"dtp-tuned", []snn.Impl{snn.ImplGraph}, []string{""}},
		{"snn", nil, []string{"kernels", "graph"}},
		{"snn-tuned", []snn.Impl{snn.ImplGraph}, []string{"graph"}},
	} {
		engines := Engines(tc.rule, tc.impls)
		var labels []string
		for _, e := range engines {
			labels = append(labels, e.Label)
			var o train.Options
			if e.Apply != nil {
				e.Apply(&o)
			}
			if string(o.SNNImpl) != e.Label {
				t.Errorf("%s: engine %q sets SNNImpl %q", tc.rule, e.Label, o.SNNImpl)
			}
		}
		if strings.Join(labels, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Engines(%s, %v) = %q, want %q", tc.rule, tc.impls, labels, tc.want)
		}
	}

	var impls []snn.Impl
	reg := train.Registry{"snn": func(_ compute.Backend, o train.Options) (train.Learner, error) {
		impls = append(impls, o.SNNImpl)
		return &fakeLearner{batch: o.Override.Batch}, nil
	}}
	line := func(shape string, batch int) string {
		return fmt.Sprintf(`{"rule": "snn", "shape": %q, "batch": %d, "examples_per_s": 10, "torch_threads": 1, "blas_threads": 1, "blas": "openblas", "formulation": "f", "configs": {"1:1": 10}}`+"\n", shape, batch)
	}
	ref := fakeReference(t, line("mnist", 4)+line("mnist", 32)+line("cifar10", 4)+line("cifar10", 32))
	rep, err := Run(context.Background(), nil, Config{Registry: reg, Seconds: 0.01, Rounds: 1, Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 8 {
		t.Fatalf("%d rows, want 2 engines x 2 shapes x 2 batches", len(rep.Rows))
	}
	for i, r := range rep.Rows {
		want := "snn step (kernels)"
		if i >= 4 {
			want = "snn step (graph)"
		}
		if r.Name != want || r.Reference != 10 {
			t.Errorf("row %d: %s against %g, want %s against 10", i, r.Name, r.Reference, want)
		}
		if impls[i] != snn.Impl(r.Step.Engine) {
			t.Errorf("row %d (%s) was measured on %q", i, r.Name, impls[i])
		}
	}
	bad := Config{Seconds: 1, Rounds: 1, SNNEngines: []snn.Impl{"gpu"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `-snn-engines: unknown engine "gpu"`) {
		t.Errorf("Validate with engine gpu: %v", err)
	}
}
