package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/perf"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/study"
)

// runBench is `reproduce bench`: every learner's training step at the study's batch sizes against the
// study's own formulation in PyTorch, optionally the MNIST study end to end, and the brain-scoring
// pipeline (perf.Run), into bench.csv and bench.md.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := perf.Config{Log: stdout, Warn: stderr}
	ref := perf.Reference{Stderr: stderr}
	fs := flag.NewFlagSet("reproduce bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench", "output directory for bench.csv and bench.md")
	fs.Float64Var(&cfg.Seconds, "seconds", 3, "seconds of timed steps per measurement")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "rounds of measurements, bpdl and PyTorch in turn; the best of each counts")
	fs.StringVar(&ref.Python, "python", "/usr/bin/python3", "Python with PyTorch for the reference (Debian's python3-torch)")
	fs.StringVar(&ref.Script, "reference", perf.DefaultScript, "the PyTorch reference script (the study's formulation of every rule)")
	fs.StringVar(&ref.Configs, "configs", "auto", `thread configurations of the reference: "auto" (torch x OpenBLAS threads, powers of two up to the core count) or TORCH:BLAS,...`)
	fs.StringVar(&ref.Norse, "norse", os.Getenv("BPDL_NORSE"), "a source checkout of norse v0.0.6 for the spiking net's reference (default $BPDL_NORSE; git clone -b v0.0.6 https://github.com/norse/norse)")
	noRef := fs.Bool("no-reference", false, "skip the PyTorch reference")
	e2e := fs.Bool("e2e", false, "also time `reproduce -dataset mnist -rules bp -epochs 1` end to end against the study's protocol in PyTorch (minutes)")
	fs.BoolVar(&cfg.Scoring, "scoring", true, "also time the brain-scoring pipeline on synthetic data")
	rules := fs.String("rules", "", "comma-separated learners (default: all)")
	engines := fs.String("snn-engines", "kernels,graph", "comma-separated engines the spiking nets are measured on, each in its own rows (kernels, graph, auto)")
	be := fs.String("backend", "", "GoMLX backend (default $GOMLX_BACKEND or go)")
	if err := parseSub(fs, args); err != nil {
		return err
	}
	cfg.Rules, cfg.Reference = split(*rules), &ref
	for _, e := range split(*engines) {
		cfg.SNNEngines = append(cfg.SNNEngines, snn.Impl(e))
	}
	if err := cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	if *noRef {
		cfg.Reference = nil
	} else if _, err := os.Stat(ref.Script); err != nil {
		return usageError("-reference %s: %v (run from the repository root, or pass -reference or -no-reference)", ref.Script, err)
	}
	if err := study.PrepareOut(*out); err != nil {
		return err
	}
	var err error
	if *e2e {
		if cfg.Reproduce, err = os.Executable(); err != nil {
			return fmt.Errorf("-e2e: %w", err)
		}
	}
	cfg.Backend = backend.Resolve(*be)
	b, err := backend.Open(cfg.Backend)
	if err != nil {
		return err
	}
	defer b.Finalize()
	rep, err := perf.Run(ctx, b, cfg)
	if err != nil {
		return err
	}
	md, err := rep.Write(*out)
	if err == nil {
		fmt.Fprintf(stdout, "\n%s\nwrote %s\n", md, filepath.Join(*out, "bench.md"))
	}
	return err
}
