package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/study"
	"github.com/bpdl/bpdl/bpdl/train"
)

// studyFlags are the main command's flags: the study's configuration and what to do with it.
type studyFlags struct {
	cfg     study.Config
	quick   bool
	figures bool
	// figuresSet: -figures was given, so a missing echarts is an error rather than a warning.
	figuresSet bool
	plan       bool
	json       bool
	// run and runIndex select one run of the plan (-run, -run-index); report builds the outputs from the
	// runs complete in -out (-report).
	run      string
	runIndex int
	report   bool
	args     []string
}

// parseStudyFlags parses the main command's flags; extra, when not nil, adds a subcommand's own flags
// (and usage) to them before parsing (reproduce export).
func parseStudyFlags(args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*studyFlags, error) {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &studyFlags{cfg: study.Default(), args: args}
	c := &f.cfg
	var rules, hidden, benchmarks string
	clip := -1.0
	fs.StringVar(&c.Dataset, "dataset", c.Dataset, "dataset: "+strings.Join(data.Names(), ", "))
	fs.StringVar(&rules, "rules", "", "comma-separated rules to train (default: all of "+strings.Join(train.DefaultRegistry().Names(), ",")+")")
	fs.IntVar(&c.Override.Epochs, "epochs", 0, "training epochs (0: each rule's published setting)")
	fs.IntVar(&c.Override.Batch, "batch", 0, "mini-batch size (0: each rule's published setting)")
	fs.Float64Var(&c.Override.LR, "lr", 0, "learning rate (0: each rule's published setting)")
	fs.Float64Var(&clip, "clip", -1, "global gradient-norm clipping (-1: each rule's published setting; 0 disables)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the first run (the study's: 42)")
	fs.IntVar(&c.Seeds, "seeds", c.Seeds, "number of seeds per rule (seed, seed+1, ...); tables show mean and standard deviation")
	fs.StringVar(&c.Out, "out", c.Out, "output directory for tables, figures and runs (checkpoints and results)")
	fs.BoolVar(&f.quick, "quick", false, fmt.Sprintf("a small real-data run: MNIST, the first %d training and %d test images, %d epochs, every rule", study.QuickTrainLimit, study.QuickTestLimit, study.QuickEpochs))
	fs.BoolVar(&c.Force, "force", false, "retrain even when a checkpoint of the run exists")
	fs.StringVar(&c.Backend, "backend", "", "GoMLX backend: go (default) or xla[:plugin]; default $GOMLX_BACKEND or go")
	fs.StringVar(&c.Data.CacheDir, "data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir)")
	fs.StringVar(&c.Data.Dir, "data-src", "", "an already-extracted dataset directory to read instead of the cache (offline use)")
	fs.BoolVar(&c.Data.Offline, "offline", false, "never download data")
	fs.StringVar(&c.BrainData, "brain-data", os.Getenv(study.BrainDataEnvVar), "a local copy of the brain data (brainio/, rsa92/, cowley-v4/), read before the cache and never written (default $"+study.BrainDataEnvVar+")")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "train on the first N training examples only (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "measure test accuracy on the first N test examples only (0: all)")
	fs.StringVar(&hidden, "hidden", joinInts(c.Hidden), "hidden layer widths")
	fs.StringVar(&benchmarks, "benchmarks", "", "comma-separated brain benchmarks to score (default: the study's; reproduce benchmarks lists them)")
	fs.BoolVar(&c.PostReLU, "post-relu", false, "score layers after their ReLU (default: the Linear outputs, as the study's hooks)")
	fs.StringVar((*string)(&c.SNNImpl), "snn-impl", string(snn.ImplAuto), "spiking nets' engine: kernels (event-driven CPU kernels), graph (GoMLX graphs on -backend) or auto (kernels on the go backend, graph elsewhere)")
	fs.BoolVar(&f.figures, "figures", true, "write figures (HTML, and PNG when chromium is installed); by default skipped with a warning when echarts is missing, -figures=true makes that an error")
	fs.BoolVar(&f.plan, "plan", false, "print the plan and its time estimate (from a short calibration on this machine) and exit without training")
	fs.BoolVar(&f.json, "json", false, "with -plan: write the plan as JSON")
	fs.StringVar(&f.run, "run", "", "train and score only the run with this ID (from -plan, with the same flags) into -out; a run with a result in -out is not redone (-force redoes it)")
	fs.IntVar(&f.runIndex, "run-index", -1, "like -run, for the run at this index of the plan, from 0 (a Slurm job array's $SLURM_ARRAY_TASK_ID)")
	fs.BoolVar(&f.report, "report", false, "train nothing: write the tables and figures from the runs complete in -out; exits 1 naming the planned runs that are missing (after writing the others')")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce [flags]\n       reproduce bench|benchmarks|neural-fit|fetch|export [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageError("unexpected argument %q (subcommands: bench, benchmarks, neural-fit, fetch, export)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f.figuresSet = set["figures"]
	if f.quick {
		q := study.Quick()
		if !set["dataset"] {
			c.Dataset = q.Dataset
		}
		if !set["epochs"] {
			c.Override.Epochs = q.Override.Epochs
		}
		if !set["train-limit"] {
			c.TrainLimit = q.TrainLimit
		}
		if !set["test-limit"] {
			c.TestLimit = q.TestLimit
		}
	}
	if rules != "" {
		for _, r := range strings.Split(rules, ",") {
			c.Rules = append(c.Rules, strings.TrimSpace(r))
		}
	}
	if benchmarks != "" {
		for _, b := range strings.Split(benchmarks, ",") {
			c.Benchmarks = append(c.Benchmarks, strings.TrimSpace(b))
		}
	}
	if clip != -1 {
		c.Override.Clip, c.Override.ClipSet = clip, true
	}
	c.Hidden = nil
	for _, h := range strings.Split(hidden, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || n <= 0 {
			return nil, usageError("-hidden %q: want comma-separated positive widths, e.g. 1536,256", hidden)
		}
		c.Hidden = append(c.Hidden, n)
	}
	if f.json && !f.plan {
		return nil, usageError("-json goes with -plan")
	}
	modes := 0
	for _, on := range []bool{f.plan, f.run != "" || set["run-index"], f.report} {
		if on {
			modes++
		}
	}
	if modes > 1 || (f.run != "" && set["run-index"]) {
		return nil, usageError("-plan, -run, -run-index and -report go alone: one of them at a time")
	}
	if err := c.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	return f, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// runStudy is the main job: train every rule, score every net, write every table and figure; or, with
// -run or -run-index, one run of the plan; or, with -report, the tables and figures alone.
func runStudy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseStudyFlags(args, stderr, nil)
	if err != nil {
		return err
	}
	if f.plan {
		return printPlan(ctx, f, stdout, stderr)
	}
	if err := checkWritable(f.cfg.Out); err != nil {
		return err
	}
	one := f.run != "" || f.runIndex >= 0
	if f.figures && !one {
		// Before hours of training: the HTML figures need the echarts script. Without it the tables are
		// still worth the run, unless the figures were asked for.
		if err := report.CheckEcharts(); err != nil {
			if f.figuresSet {
				return fmt.Errorf("-figures=true: %w", err)
			}
			fmt.Fprintf(stderr, "reproduce: warning: writing no HTML figures (-figures=false to silence this): %v\n", err)
			f.figures = false
		}
	}
	open := study.New
	if f.report {
		open = study.NewForReport // trains nothing: needs no GPU
	}
	s, err := open(f.cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	s.Log, s.Progress = stdout, stderr
	fmt.Fprintf(stdout, "bpdl reproduce: backend %s\n", s.BackendName())
	runs, err := s.Plan()
	if err != nil {
		return err
	}
	command := "reproduce " + strings.Join(commandArgs(f.args), " ")
	switch {
	case one:
		r, i, err := study.Select(runs, f.run, f.runIndex)
		if err != nil {
			return usageError("%v", err)
		}
		fmt.Fprintf(stdout, "run %d of the plan's %d (from 0): %s\n", i, len(runs), r.ID)
		if _, ok := s.Saved(r); ok && !f.cfg.Force {
			fmt.Fprintf(stdout, "%s has its result already: %s (-force redoes it)\n", r.ID, study.ResultPath(f.cfg.Out, r))
			return nil
		}
		if _, err := s.Execute(ctx, r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", study.ResultPath(f.cfg.Out, r))
		return nil
	case f.report:
		if err := s.CleanStale(); err != nil {
			return err
		}
		err := s.Report(ctx, runs, command, f.figures, stderr)
		var missing *study.MissingError
		if err == nil || errors.As(err, &missing) {
			fmt.Fprintf(stdout, "wrote %s\n", f.cfg.Out)
		}
		return err
	}
	// The whole plan: every run's lock first (a second process doing this plan in -out fails now).
	if err := s.CleanStale(); err != nil {
		return err
	}
	if err := s.Lock(ctx, runs); err != nil {
		return err
	}
	if err := s.LoadData(ctx); err != nil {
		return err
	}
	ds, trainSet, testSet := s.Data()
	fmt.Fprintf(stdout, "dataset %s: %d training (of %d) and %d test (of %d) examples of %d values; net %s\n",
		ds.Name, trainSet.N, ds.Train.N, testSet.N, ds.Test.N, trainSet.Dim, s.Spec())
	if _, err := estimate(s, runs, f.quick, stdout); err != nil {
		return err
	}
	var results []report.Run
	var failed []error
	for _, r := range runs {
		res, err := s.Execute(ctx, r)
		var scoreErr *study.ScoreError
		switch {
		case errors.As(err, &scoreErr):
			failed = append(failed, err)
		case err != nil:
			return err
		}
		results = append(results, res)
	}
	if err := s.WriteReport(ctx, results, nil, command, f.figures, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", f.cfg.Out)
	if len(failed) > 0 {
		// Everything that succeeded is written; the failures make the exit status non-zero.
		return errors.Join(failed...)
	}
	return nil
}

// planned is a run of the plan with its state, as -plan prints it.
type planned struct {
	study.Run
	Complete        bool    `json:"complete"`
	EstimateSeconds float64 `json:"estimate_seconds"`
}

// estimate prints the plan: every run with its settings, and whether it is complete in the output
// folder or how long its training will take, from a short calibration on this machine.
func estimate(s *study.Study, runs []study.Run, quick bool, w io.Writer) ([]planned, error) {
	budget := 3 * time.Second
	if quick {
		budget = time.Second
	}
	var out []planned
	var total time.Duration
	fmt.Fprintf(w, "plan: %d runs (-run ID, or -run-index 0 to %d, does one)\n", len(runs), len(runs)-1)
	for i, r := range runs {
		p := planned{Run: r, Complete: s.Complete(r)}
		status := "complete"
		if !p.Complete {
			d, err := s.Estimate(r, budget)
			if err != nil {
				return nil, err
			}
			total += d
			p.EstimateSeconds = d.Seconds()
			status = "train, about " + d.Round(time.Second).String()
		}
		fmt.Fprintf(w, "  %-3d %-10s seed %-4d %-40s batch %-4d epochs %-3d %s\n      %s\n", i, r.Rule, r.Seed, r.Settings.Optimizer, r.Settings.Batch, r.Settings.Epochs, status, r.ID)
		out = append(out, p)
	}
	fmt.Fprintf(w, "estimated training time: %s (from a short calibration on this machine)\n", total.Round(time.Second))
	return out, nil
}

// printPlan is -plan: the plan and its time estimate, without training. It reads the dataset only when
// it is already on this machine (the spiking nets' speed depends on the data); otherwise the estimate
// comes from random inputs of the dataset's shape.
func printPlan(ctx context.Context, f *studyFlags, stdout, stderr io.Writer) error {
	s, err := study.New(f.cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.LoadLocalData(ctx); err != nil {
		fmt.Fprintf(stderr, "reproduce -plan: %s is not on this machine (%v); estimating on random inputs of its shape\n", f.cfg.Dataset, err)
	}
	runs, err := s.Plan()
	if err != nil {
		return err
	}
	w := stdout
	if f.json {
		w = io.Discard
	}
	ps, err := estimate(s, runs, f.quick, w)
	if err != nil {
		return err
	}
	if !f.json {
		return nil
	}
	var total float64
	for _, p := range ps {
		total += p.EstimateSeconds
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Backend         string    `json:"backend"`
		Machine         string    `json:"machine"`
		Runs            []planned `json:"runs"`
		EstimateSeconds float64   `json:"estimate_seconds"`
	}{s.BackendName(), machineDescription(), ps, total})
}

// checkWritable makes the output directory and checks that files can be created in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out %s: cannot create the output directory: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("-out %s: output directory is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// commandArgs returns args without the -out flag and its value and without -report, so that the same
// study into two directories, or reported by -report after a job array, writes the same manifest.
func commandArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "-out" || a == "out":
			i++
		case strings.HasPrefix(a, "out=") || strings.HasPrefix(a, "-out="):
		case a == "report" || a == "-report" || strings.HasPrefix(a, "report=") || strings.HasPrefix(a, "-report="):
		default:
			out = append(out, args[i])
		}
	}
	return out
}
