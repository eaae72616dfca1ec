package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Run is one unit of a study: one learner trained on the dataset from one seed, then scored. Runs are
// independent of each other, so one process can do them all in turn, or many processes (a Slurm job
// array) one each.
type Run struct {
	// ID names the run stably: the same configuration gives the same ID on every machine and in every
	// process ("<dataset>-<rule>-seed<seed>-<first 8 hex digits of the fingerprint>"), and runs of
	// different configurations get different IDs, so their files never overwrite each other.
	ID       string         `json:"id"`
	Dataset  string         `json:"dataset"`
	Rule     string         `json:"rule"`
	Seed     uint64         `json:"seed"`
	Net      []int          `json:"net"` // layer sizes, input to output
	Settings train.Settings `json:"settings"`
	// TrainLimit and TestLimit are the configuration's limits on the examples (0: all).
	TrainLimit int `json:"train_limit,omitempty"`
	TestLimit  int `json:"test_limit,omitempty"`
	// Backend is the backend the run trains on: results differ between backends in their last bits.
	Backend string `json:"backend"`
	// Engine is how the learner computes its steps on this backend (train.Engine: "cpu" or "graph" for an
	// MLP, "kernels" or "graph" for a spiking net): engines differ in their results' last bits.
	Engine string `json:"engine,omitempty"`
	// StepsPerCall is Config.StepsPerCall when set (0: the backend's default): on a backend other than go,
	// a chunk of steps compiled as one program may round differently from single steps.
	StepsPerCall int `json:"steps_per_call,omitempty"`
	// Fingerprint is the SHA-256 of everything above but ID: a checkpoint or result is used only by the
	// run with the same fingerprint.
	Fingerprint string `json:"fingerprint"`
}

// fingerprint hashes what defines a run's outcome.
func fingerprint(r Run) string {
	b, _ := json.Marshal(struct {
		Dataset, Rule, Backend string
		Seed                   uint64
		Spec                   []int
		Settings               train.Settings
		TrainLimit, TestLimit  int
		Engine                 string `json:",omitempty"`
		StepsPerCall           int    `json:",omitempty"`
	}{r.Dataset, r.Rule, r.Backend, r.Seed, r.Net, r.Settings, r.TrainLimit, r.TestLimit, r.Engine, r.StepsPerCall})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newRun returns the run of rule from seed with the given settings, its fingerprint and ID filled in.
func (c Config) newRun(rule string, seed uint64, spec nn.Spec, s train.Settings, backendName, engine string) Run {
	r := Run{Dataset: c.Dataset, Rule: rule, Seed: seed, Net: spec.Sizes, Settings: s,
		TrainLimit: c.TrainLimit, TestLimit: c.TestLimit, Backend: backendName, Engine: engine, StepsPerCall: c.StepsPerCall}
	r.Fingerprint = fingerprint(r)
	r.ID = fmt.Sprintf("%s-%s-seed%d-%s", r.Dataset, r.Rule, r.Seed, r.Fingerprint[:8])
	return r
}

// engineOf is Run.Engine for learner l on the backend configured as backend: its train.Engine there, ""
// for a learner with one way only. (A report-only Study plans on the go backend for runs that trained on
// another: EngineOn names their engine.)
func engineOf(l train.Learner, backend string) string {
	if e, ok := l.(train.Engine); ok {
		return e.EngineOn(backend)
	}
	return ""
}

// RunsDir is the folder of the output folder that holds every run's checkpoint and result.
const RunsDir = "runs"

// CheckpointPath is where run r keeps its checkpoint in the output folder out.
func CheckpointPath(out string, r Run) string { return filepath.Join(out, RunsDir, r.ID+".ckpt") }

// ResultPath is where run r keeps its result (report.Run as JSON) in the output folder out.
func ResultPath(out string, r Run) string { return filepath.Join(out, RunsDir, r.ID+".json") }
