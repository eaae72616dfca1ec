package study

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		flag string // the flag the error must name; "" for a valid configuration
	}{
		{"default", func(*Config) {}, ""},
		{"quick", func(c *Config) { *c = Quick() }, ""},
		{"unknown dataset", func(c *Config) { c.Dataset = "imagenet" }, "dataset"},
		{"unknown rule", func(c *Config) { c.Rules = []string{"bp", "hebb"} }, "rules"},
		{"unknown benchmark", func(c *Config) { c.Benchmarks = []string{"nope"} }, "benchmarks"},
		{"no seeds", func(c *Config) { c.Seeds = 0 }, "seeds"},
		{"negative epochs", func(c *Config) { c.Override.Epochs = -1 }, "epochs"},
		{"negative batch", func(c *Config) { c.Override.Batch = -4 }, "batch"},
		{"NaN learning rate", func(c *Config) { c.Override.LR = math.NaN() }, "lr"},
		{"infinite learning rate", func(c *Config) { c.Override.LR = math.Inf(1) }, "lr"},
		{"negative learning rate", func(c *Config) { c.Override.LR = -1e-3 }, "lr"},
		{"NaN clip", func(c *Config) { c.Override.Clip, c.Override.ClipSet = math.NaN(), true }, "clip"},
		{"negative clip", func(c *Config) { c.Override.Clip, c.Override.ClipSet = -2, true }, "clip"},
		{"clip disabled", func(c *Config) { c.Override.Clip, c.Override.ClipSet = 0, true }, ""},
		{"negative train limit", func(c *Config) { c.TrainLimit = -1 }, "train-limit"},
		{"negative test limit", func(c *Config) { c.TestLimit = -1 }, "test-limit"},
		{"negative steps per call", func(c *Config) { c.StepsPerCall = -1 }, "steps-per-call"},
		{"100 steps per call", func(c *Config) { c.StepsPerCall = 100 }, ""},
		{"no hidden layer", func(c *Config) { c.Hidden = nil }, "hidden"},
		{"zero width", func(c *Config) { c.Hidden = []int{64, 0} }, "hidden"},
		{"no output folder", func(c *Config) { c.Out = "" }, "out"},
		{"missing brain data folder", func(c *Config) { c.BrainData = "/no/such/folder" }, "brain-data"},
		{"existing brain data folder", func(c *Config) { c.BrainData = os.TempDir() }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if tc.flag == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Flag != tc.flag {
				t.Fatalf("Validate = %v, want a FieldError naming -%s", err, tc.flag)
			}
			if !strings.HasPrefix(err.Error(), "-"+tc.flag+" ") {
				t.Errorf("message %q does not start with the flag", err)
			}
		})
	}
}

func newTestStudy(t *testing.T, edit func(*Config)) *Study {
	t.Helper()
	c := Quick()
	c.Backend = backend.GoSequential
	c.Hidden = []int{16}
	c.Out = t.TempDir()
	edit(&c)
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestPlanIDs checks that run IDs are stable, name their run, and differ between configurations.
func TestPlanIDs(t *testing.T) {
	plan := func(edit func(*Config)) []Run {
		runs, err := newTestStudy(t, edit).Plan()
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	a := plan(func(c *Config) { c.Rules, c.Seeds = []string{"bp", "snn"}, 2 })
	b := plan(func(c *Config) { c.Rules, c.Seeds = []string{"bp", "snn"}, 2 })
	if len(a) != 4 {
		t.Fatalf("%d runs, want 4 (2 rules x 2 seeds)", len(a))
	}
	seen := map[string]bool{}
	for i, r := range a {
		if r.ID != b[i].ID || r.Fingerprint != b[i].Fingerprint {
			t.Errorf("run %d: ID %s then %s: not stable", i, r.ID, b[i].ID)
		}
		if seen[r.ID] {
			t.Errorf("ID %s twice", r.ID)
		}
		seen[r.ID] = true
	}
	if want := "mnist-bp-seed42-"; !strings.HasPrefix(a[0].ID, want) || a[1].Seed != 43 || a[2].Rule != "snn" {
		t.Errorf("plan order or IDs: %s, %s seed %d, %s", a[0].ID, a[1].ID, a[1].Seed, a[2].Rule)
	}
	other := plan(func(c *Config) { c.Rules, c.Override.Epochs = []string{"bp"}, 3 })
	if other[0].ID == a[0].ID || other[0].Settings.Epochs != 3 {
		t.Errorf("another number of epochs gives the same ID %s", other[0].ID)
	}
	if CheckpointPath("out", a[0]) == CheckpointPath("out", other[0]) {
		t.Error("runs of different configurations share a checkpoint")
	}
}

// TestPlanEngine: the engine a learner computes with is part of its run's identity. A spiking net on the
// graph engine is a run of its own (auto is the kernels on the go backend), and the spiking engine does
// not change bp's run.
func TestPlanEngine(t *testing.T) {
	plan := func(impl snn.Impl) []Run {
		runs, err := newTestStudy(t, func(c *Config) { c.Rules, c.SNNImpl = []string{"bp", "snn"}, impl }).Plan()
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	auto, kernels, graph := plan(""), plan(snn.ImplKernels), plan(snn.ImplGraph)
	if auto[1].ID != kernels[1].ID || auto[1].Engine != "kernels" {
		t.Errorf("snn on the kernels: IDs %s and %s, engine %q", auto[1].ID, kernels[1].ID, auto[1].Engine)
	}
	if graph[1].ID == auto[1].ID || graph[1].Engine != "graph" {
		t.Errorf("snn on the graph engine: ID %s (kernels %s), engine %q", graph[1].ID, auto[1].ID, graph[1].Engine)
	}
	if graph[0].ID != auto[0].ID || (auto[0].Engine != "cpu" && auto[0].Engine != "graph") {
		t.Errorf("bp: IDs %s and %s, engine %q", graph[0].ID, auto[0].ID, auto[0].Engine)
	}
	bad := Quick()
	bad.SNNImpl = "gpu"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "-snn-impl") {
		t.Errorf("an unknown engine: %v", err)
	}
}

// TestResults checks the round trip of a result file, NaN included, and that Results lists the missing
// runs and refuses a result of another configuration.
func TestResults(t *testing.T) {
	s := newTestStudy(t, func(c *Config) { c.Rules = []string{"bp", "fa"} })
	runs, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	out := s.Config().Out
	want := report.Run{Dataset: "mnist", Rule: "bp", Seed: 42, TestAccuracy: 0.5, WallSeconds: 1.25,
		History: []report.Point{{Phase: "init", TrainLoss: math.NaN(), TestAccuracy: 0.1,
			Metrics: []diag.Metric{{Kind: diag.Angle, Layer: 1, Value: math.Inf(1)}}}},
		Scores: []report.Score{{Benchmark: "rsa92.macaque-IT", Raw: 0.07, Error: math.NaN(), Ceiling: math.NaN(), Status: "ok"}},
		Raster: &report.Raster{Steps: 3, DT: 1, Layers: []report.RasterLayer{{Name: "input", Units: 2, Spikes: [][2]int{{0, 1}}}}}}
	if err := SaveResult(ResultPath(out, runs[0]), runs[0], want); err != nil {
		t.Fatal(err)
	}
	done, missing, err := Results(out, runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || len(missing) != 1 || missing[0].ID != runs[1].ID {
		t.Fatalf("Results: %d done, missing %v", len(done), missing)
	}
	got := done[0]
	if got.TestAccuracy != 0.5 || !math.IsNaN(got.History[0].TrainLoss) || !math.IsInf(got.History[0].Metrics[0].Value, 1) ||
		!math.IsNaN(got.Scores[0].Error) || got.Scores[0].Raw != 0.07 || got.Raster.Layers[0].Spikes[0] != [2]int{0, 1} {
		t.Errorf("round trip changed the result: %+v", got)
	}
	// The result of another configuration under this run's name is refused.
	if err := os.Rename(ResultPath(out, runs[0]), ResultPath(out, runs[1])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Results(out, runs); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("Results over a mismatched file: %v", err)
	}
	// A result of another format (an older bpdl) is refused, not read as this one.
	b, err := os.ReadFile(ResultPath(out, runs[1]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ResultPath(out, runs[0]), []byte(strings.Replace(string(b), resultFormat, "bpdl-run-result/1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadResult(ResultPath(out, runs[0]), runs[0]); err == nil || !strings.Contains(err.Error(), "another version of bpdl") {
		t.Errorf("LoadResult of an older format: %v", err)
	}
	if err := os.Remove(ResultPath(out, runs[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, RunsDir, runs[1].ID+".json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Results(out, runs); err == nil || !strings.Contains(err.Error(), "not a result file") {
		t.Errorf("Results over a corrupt file: %v", err)
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}}}, "devel abc123"},
		{debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}, "devel abc123+modified"},
	} {
		if got := versionOf(&tc.bi); got != tc.want {
			t.Errorf("versionOf(%+v) = %q, want %q", tc.bi, got, tc.want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-quick", "-out", "x", "-offline"}, "reproduce -quick -offline"},
		{[]string{"--out=x", "-quick"}, "reproduce -quick"},
		{[]string{"-out=x", "-report", "-rules", "bp"}, "reproduce -rules bp"},
		{[]string{"-report=true", "--report", "-seed", "7"}, "reproduce -seed 7"},
		{nil, "reproduce"},
	} {
		if got := CommandLine("reproduce", tc.args); got != tc.want {
			t.Errorf("CommandLine(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestFlags checks the flag binding: -quick's profile fills the fields whose flags were not given, lists
// are split and trimmed, -clip -1 keeps each rule's setting, and a bad value names its flag.
func TestFlags(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		f := AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.Config()
	}
	c, err := parse("-quick", "-epochs", "5", "-rules", "bp, fa", "-benchmarks", "rsa92.macaque-IT")
	if err != nil {
		t.Fatal(err)
	}
	if c.Dataset != "mnist" || c.Override.Epochs != 5 || c.TrainLimit != QuickTrainLimit || c.TestLimit != QuickTestLimit ||
		len(c.Rules) != 2 || c.Rules[1] != "fa" || len(c.Benchmarks) != 1 || c.Override.ClipSet {
		t.Errorf("-quick -epochs 5: %+v", c)
	}
	if c, _ = parse(); c.Dataset != "cifar10" || c.TrainLimit != 0 || len(c.Hidden) != 2 || c.Rules != nil {
		t.Errorf("defaults: %+v", c)
	}
	if c, _ = parse("-clip", "0", "-hidden", "64, 32"); !c.Override.ClipSet || c.Override.Clip != 0 || len(c.Hidden) != 2 || c.Hidden[1] != 32 {
		t.Errorf("-clip 0 -hidden 64,32: %+v", c)
	}
	if c, _ = parse("-steps-per-call", "64"); c.StepsPerCall != 64 {
		t.Errorf("-steps-per-call 64: %+v", c)
	}
	for args, flagName := range map[string]string{"-hidden 12,x": "hidden", "-lr NaN": "lr", "-snn-impl gpu": "snn-impl", "-steps-per-call -2": "steps-per-call"} {
		var fe *FieldError
		if _, err := parse(strings.Fields(args)...); !errors.As(err, &fe) || fe.Flag != flagName {
			t.Errorf("%s: %v, want an error naming -%s", args, err, flagName)
		}
	}
}

// TestEngineOn: a learner names the engine it takes on any configured backend, without opening it, and on
// its own backend that is the engine it runs. So a report-only Study (planning on the go backend) names
// runs that trained on a GPU as their processes did: MLPs on the step graph, spiking nets on the graph
// engine when auto.
func TestEngineOn(t *testing.T) {
	s := newTestStudy(t, func(c *Config) {})
	for _, tc := range []struct {
		rule     string
		impl     snn.Impl
		onXLA    string
		onGoCuts []string // acceptable engines on the go backend (the fast path needs AVX-512)
	}{
		{"bp", "", "graph", []string{"cpu", "graph"}},
		{"dtp", "", "graph", []string{"cpu", "graph"}},
		{"snn", "", "graph", []string{"kernels"}},
		{"snn", snn.ImplKernels, "kernels", []string{"kernels"}},
		{"snn-tuned", snn.ImplGraph, "graph", []string{"graph"}},
	} {
		l, err := train.DefaultRegistry().New(tc.rule, s.Backend(), train.Options{Spec: s.Spec(), Seed: 1, SNNImpl: tc.impl})
		if err != nil {
			t.Fatal(err)
		}
		e := l.(train.Engine)
		if got := e.EngineOn("xla:cuda"); got != tc.onXLA {
			t.Errorf("%s (%q) on xla:cuda: %s, want %s", tc.rule, tc.impl, got, tc.onXLA)
		}
		if on, own := e.EngineOn("go"), e.Engine(); on != own || !slices.Contains(tc.onGoCuts, on) {
			t.Errorf("%s (%q) on go: EngineOn %s, Engine %s, want one of %v", tc.rule, tc.impl, on, own, tc.onGoCuts)
		}
	}
}
