package perf

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Config configures Run.
type Config struct {
	// Registry holds the learners; nil means train.DefaultRegistry().
	Registry train.Registry
	// Rules names the learners to measure, in order; nil means all of Registry's.
	Rules []string
	// Backend names the GoMLX backend Run is given, for the report and the end-to-end run.
	Backend string
	// Seconds is the time of each measurement (finite, > 0); Rounds is how many rounds of measurements,
	// bpdl's and the reference's in turn, are made (the best of each counts; 0 means 1).
	Seconds float64
	Rounds  int
	// Reference is the PyTorch reference to compare with; nil measures bpdl alone.
	Reference *Reference
	// Reproduce is the path of the reproduce command; when set, Run also times the MNIST study end to
	// end (EndToEnd; minutes).
	Reproduce string
	// SNNEngines are the spiking nets' engines to measure, each in its own rows; nil means
	// DefaultSNNEngines (reproduce bench's -snn-engines).
	SNNEngines []snn.Impl
	// Scoring also times the brain-scoring pipeline (Scoring at benchmark.PublicSizes, the study's
	// hidden widths).
	Scoring bool
	// Log receives the progress: a header, every measurement of every round. Warn receives why a
	// reference was not measured. Nil discards.
	Log, Warn io.Writer
}

// Validate checks the configuration, naming reproduce bench's flag of a bad field.
func (cfg Config) Validate() error {
	reg := cfg.Registry
	if reg == nil {
		reg = train.DefaultRegistry()
	}
	switch {
	case !(cfg.Seconds > 0) || math.IsInf(cfg.Seconds, 0):
		return fmt.Errorf("-seconds %g: want a finite number > 0", cfg.Seconds)
	case cfg.Rounds < 1:
		return fmt.Errorf("-rounds %d: want >= 1", cfg.Rounds)
	case cfg.Reference != nil && cfg.Reference.Configs != "auto" && !configsPattern.MatchString(cfg.Reference.Configs):
		return fmt.Errorf(`-configs %q: want "auto" or TORCH:BLAS thread counts, e.g. 1:1,2:1`, cfg.Reference.Configs)
	}
	for _, impl := range cfg.SNNEngines {
		if _, err := snn.ParseImpl(string(impl)); err != nil || impl == "" {
			return fmt.Errorf("-snn-engines: unknown engine %q (want kernels, graph or auto)", impl)
		}
	}
	for _, n := range cfg.Rules {
		if _, ok := reg[n]; !ok {
			return fmt.Errorf("-rules: unknown rule %q (known: %s)", n, strings.Join(reg.Names(), ", "))
		}
	}
	return nil
}

// configsPattern is the form of Reference.Configs other than "auto".
var configsPattern = regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*(,[1-9][0-9]*:[1-9][0-9]*)*$`)

// Run measures every learner's training step (Plan, Engines, StepRate) in rounds, each round followed
// by the reference's bench over every thread configuration; then, as configured, the study end to end
// and the brain-scoring pipeline. A reference that cannot be run leaves its rows without a reference and
// says why to Warn; a learner that fails, or a cancelled context, is an error.
func Run(ctx context.Context, b compute.Backend, cfg Config) (*Report, error) {
	reg := cfg.Registry
	if reg == nil {
		reg = train.DefaultRegistry()
	}
	names := cfg.Rules
	if len(names) == 0 {
		names = reg.Names()
	}
	for _, n := range names {
		if _, ok := reg[n]; !ok {
			return nil, fmt.Errorf("perf: unknown rule %q (known: %s)", n, strings.Join(reg.Names(), ", "))
		}
	}
	if !(cfg.Seconds > 0) || math.IsInf(cfg.Seconds, 0) {
		return nil, fmt.Errorf("perf: %g seconds per measurement: want a finite number > 0", cfg.Seconds)
	}
	log, warn := orDiscard(cfg.Log), orDiscard(cfg.Warn)
	rep := &Report{Backend: cfg.Backend, Machine: Machine(), Rounds: max(cfg.Rounds, 1), Seconds: cfg.Seconds}
	fmt.Fprintf(log, "bench: backend %s on %s, %d round(s) of %g s per measurement\n", rep.Backend, rep.Machine, rep.Rounds, rep.Seconds)
	rows := map[Step]*Row{}
	budget := time.Duration(cfg.Seconds * float64(time.Second))
	for round := 1; round <= rep.Rounds; round++ {
		for _, name := range names {
			datasets, batches := Plan(name)
			for _, eng := range Engines(name, cfg.SNNEngines) {
				for _, ds := range datasets {
					for _, batch := range batches {
						if err := ctx.Err(); err != nil {
							return nil, err
						}
						rate, err := StepRate(b, reg, name, eng, Shape(ds), batch, budget)
						if err != nil {
							return nil, err
						}
						s := Step{Rule: name, Engine: eng.Label, Dataset: ds, Batch: batch}
						row, ok := rows[s]
						if !ok {
							row = stepRow(s)
							rows[s] = row
							rep.Rows = append(rep.Rows, row)
						}
						row.Bpdl = max(row.Bpdl, rate)
						fmt.Fprintf(log, "  round %d  %-22s %-28s batch %-4d %10.1f examples/s\n", round, row.Name, row.Shape, batch, rate)
					}
				}
			}
		}
		if cfg.Reference == nil {
			continue
		}
		ref, err := cfg.Reference.Steps(ctx, cfg.Seconds, names)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(warn, "bench: PyTorch reference not measured: %v\n", err)
			continue
		}
		for _, r := range rep.Rows {
			addReference(r, ref, round, log)
		}
	}
	if cfg.Reproduce != "" {
		e2e, err := EndToEnd(ctx, cfg.Reproduce, cfg.Backend, cfg.Reference, log, warn)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, e2e...)
	}
	if cfg.Scoring {
		scoring, err := Scoring(ctx, b, benchmark.PublicSizes(), nn.StudyHidden, log)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, scoring...)
	}
	return rep, ctx.Err()
}

// addReference records the reference's measurement of a step row's rule, shape and batch (every
// engine's row is compared with the one reference): the best rate over the rounds, per configuration
// too, or why it was not measured.
func addReference(r *Row, ref map[Step]Measured, round int, log io.Writer) {
	if r.Step == nil {
		return
	}
	v, ok := ref[Step{Rule: r.Step.Rule, Dataset: r.Step.Dataset, Batch: r.Step.Batch}]
	if !ok {
		return
	}
	if v.NotMeasured != "" {
		r.RefNote = v.NotMeasured
		return
	}
	fmt.Fprintf(log, "  round %d  %-22s %-28s batch %-4d %10.1f examples/s  PyTorch (%s)\n", round, r.Name, r.Shape, r.Batch, v.Rate, v.Config())
	if r.RefAll == nil {
		r.RefAll = map[string]float64{}
	}
	for k, rate := range v.Configs {
		r.RefAll[k] = max(r.RefAll[k], rate)
	}
	if v.Rate > r.Reference {
		r.Reference, r.RefConfig, r.RefNote = v.Rate, v.Config(), v.Formulation
	}
}
