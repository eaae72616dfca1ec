package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/bpdl/bpdl/bpdl/perf"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
)

// studyFlags are the main command's flags: the study's configuration (study.AddFlags) and what to do
// with it.
type studyFlags struct {
	cfg   study.Config
	quick bool
	// figures: write the HTML figures; figuresSet: -figures was given, so a missing echarts is an error.
	figures, figuresSet bool
	plan, json, report  bool
	// run and runIndex select one run of the plan (-run, -run-index).
	run      string
	runIndex int
	args     []string
}

// parseStudyFlags parses the main command's flags; extra, when not nil, adds a subcommand's own flags
// (and usage) before parsing (reproduce export).
func parseStudyFlags(args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*studyFlags, error) {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := study.AddFlags(fs)
	f := &studyFlags{args: args}
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
	f.figuresSet, f.quick = set["figures"], sf.Quick()
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
	var err error
	if f.cfg, err = sf.Config(); err != nil {
		return nil, usageError("%v", err)
	}
	return f, nil
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
	if err := study.PrepareOut(f.cfg.Out); err != nil {
		return err
	}
	one := f.run != "" || f.runIndex >= 0
	if !one { // before hours of training: the HTML figures need the echarts script
		if f.figures, err = report.FiguresWanted(f.figures, f.figuresSet, stderr); err != nil {
			return err
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
	command := study.CommandLine("reproduce", f.args)
	switch {
	case one:
		r, i, err := study.Select(runs, f.run, f.runIndex)
		if err != nil {
			return usageError("%v", err)
		}
		fmt.Fprintf(stdout, "run %d of the plan's %d (from 0): %s\n", i, len(runs), r.ID)
		done, err := s.ExecuteOnce(ctx, r)
		switch {
		case done:
			fmt.Fprintf(stdout, "%s has its result already: %s (-force redoes it)\n", r.ID, study.ResultPath(f.cfg.Out, r))
		case err == nil:
			fmt.Fprintf(stdout, "wrote %s\n", study.ResultPath(f.cfg.Out, r))
		}
		return err
	case f.report:
		if err := s.CleanStale(); err != nil {
			return err
		}
		err := s.Report(ctx, runs, command, f.figures, stderr)
		if err == nil || errors.As(err, new(*study.MissingError)) {
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
	planned, err := s.Estimates(runs, calibration(f.quick))
	if err != nil {
		return err
	}
	s.Summary(planned, perf.Machine()).WriteText(stdout)
	err = s.ExecuteAll(ctx, runs, command, f.figures, stderr)
	if err == nil || errors.As(err, new(*study.ScoreError)) {
		fmt.Fprintf(stdout, "wrote %s\n", f.cfg.Out)
	}
	return err
}

// calibration is how long each run's training step is timed for its estimate.
func calibration(quick bool) time.Duration {
	if quick {
		return time.Second
	}
	return 3 * time.Second
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
	planned, err := s.Estimates(runs, calibration(f.quick))
	if err != nil {
		return err
	}
	sum := s.Summary(planned, perf.Machine())
	if !f.json {
		sum.WriteText(stdout)
		return nil
	}
	return writeJSON(stdout, sum)
}
