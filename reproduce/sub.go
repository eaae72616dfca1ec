package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/neuralfit"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
)

// brainFlags are the data-location flags of the brain-benchmark subcommands.
type brainFlags struct {
	dataDir, brainData string
	offline            bool
}

func (f *brainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir); brain data go to its brainscore/ folder")
	fs.StringVar(&f.brainData, "brain-data", os.Getenv(study.BrainDataEnvVar), "a local copy of the brain data in the layout brainio/, rsa92/, cowley-v4/ (such as the project's ../shared/data); default $"+study.BrainDataEnvVar)
	fs.BoolVar(&f.offline, "offline", false, "never download data")
}

func (f *brainFlags) dirs() benchmark.Dirs {
	return study.BrainDirs(f.brainData, data.Options{CacheDir: f.dataDir, Offline: f.offline})
}

// runBenchmarks lists every brain benchmark with its identifier, the files it needs with their
// checksums, and whether they are present; with -fetch it downloads the missing ones.
func runBenchmarks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce benchmarks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bf brainFlags
	bf.register(fs)
	fetchMissing := fs.Bool("fetch", false, "download the missing files of the listed benchmarks")
	only := fs.String("only", "", "comma-separated benchmark identifiers to list (default: all)")
	asJSON := fs.Bool("json", false, "write the list as JSON")
	pixels := fs.Bool("check-pixels", false, "score Brain-Score's pixels model on "+benchmark.MajajHong2015IT+" and compare with Brain-Score's published values (needs the MajajHong2015 public data; minutes)")
	exportDir := fs.String("export-stimuli", "", "write each benchmark's images, prepared for -input as bpdl's nets see them, to `DIR` as .npy (layout: DIR/BENCHMARK/SET/stimuli.npy and ids.txt)")
	featuresDir := fs.String("features", "", "score the activations in `DIR` (DIR/BENCHMARK/SET/LAYER.npy beside the exported stimuli, one row per image) on every benchmark whose data are here")
	input := fs.String("input", "3x32x32", "the model input CxHxW the stimuli are prepared for (the study's CIFAR-10 nets: 3x32x32; MNIST: 1x28x28); -features defaults to the shape in DIR's manifest.json")
	layers := fs.String("layers", "", "with -features: the layers, comma-separated, input side first (default: the LAYER.npy files found, sorted)")
	modelName := fs.String("model", "", "with -features: the model's name in the results (default: the folder's name)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce benchmarks [flags]\n\nLists the brain benchmarks, the files each needs and whether they are here; with -export-stimuli\nwrites their images for a model run elsewhere, and with -features scores that model's activations.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("benchmarks: unexpected argument %q", fs.Arg(0))
	}
	specs := benchmark.Specs()
	if *only != "" {
		var sel []benchmark.Spec
		for _, id := range strings.Split(*only, ",") {
			s, ok := benchmark.LookupSpec(strings.TrimSpace(id))
			if !ok {
				var ids []string
				for _, s := range specs {
					ids = append(ids, s.Identifier)
				}
				return usageError("benchmarks -only: unknown benchmark %q (known: %s)", id, strings.Join(ids, ", "))
			}
			sel = append(sel, s)
		}
		specs = sel
	}
	if *exportDir != "" && *featuresDir != "" {
		return usageError("benchmarks: -export-stimuli and -features are separate steps: export, run your model, then score")
	}
	c, h, w, err := parseInput(*input)
	if err != nil {
		return usageError("benchmarks -input %q: %v", *input, err)
	}
	inputSet := false
	fs.Visit(func(f *flag.Flag) { inputSet = inputSet || f.Name == "input" })
	if m, err := benchmark.ReadManifest(*featuresDir); *featuresDir != "" && !inputSet && err == nil {
		c, h, w = m.Channels, m.Height, m.Width // the shape the stimuli were exported for
	}
	dirs := bf.dirs()
	var fetchErr error
	if *fetchMissing {
		if fetchErr = fetchBenchmarks(ctx, dirs, specs, stderr); ctx.Err() != nil {
			return ctx.Err()
		}
	}
	var ids []string
	if *only != "" {
		for _, s := range specs {
			ids = append(ids, s.Identifier)
		}
	}
	opts := benchmark.Options{Dirs: dirs, Benchmarks: ids, Log: stderr}
	switch {
	case *exportDir != "":
		return errors.Join(exportStimuli(ctx, *exportDir, c, h, w, opts, stdout), fetchErr)
	case *featuresDir != "":
		var names []string
		if *layers != "" {
			for _, l := range strings.Split(*layers, ",") {
				names = append(names, strings.TrimSpace(l))
			}
		}
		name := *modelName
		if name == "" {
			name = filepath.Base(filepath.Clean(*featuresDir))
		}
		return errors.Join(scoreFeatures(ctx, *featuresDir, name, c, h, w, names, opts, stdout), fetchErr)
	}
	type fileJSON struct {
		Folder   string `json:"folder"`
		Name     string `json:"name"`
		URL      string `json:"url"`
		Checksum string `json:"checksum"`
		Size     int64  `json:"size,omitempty"`
		Present  bool   `json:"present"`
		Path     string `json:"path"`
		Problem  string `json:"problem,omitempty"`
	}
	type benchJSON struct {
		Identifier  string     `json:"identifier"`
		BrainScore  string     `json:"brainscore_identifier,omitempty"`
		Region      string     `json:"region"`
		Metric      string     `json:"metric"`
		Public      bool       `json:"public"`
		Description string     `json:"description"`
		Present     bool       `json:"present"`
		Files       []fileJSON `json:"files"`
	}
	var list []benchJSON
	for _, s := range specs {
		b := benchJSON{Identifier: s.Identifier, BrainScore: s.BrainScore, Region: s.Region, Metric: s.Metric, Public: s.Public, Description: s.Description, Present: true}
		for _, st := range dirs.Check(s.Files) {
			b.Files = append(b.Files, fileJSON{Folder: st.Dir, Name: st.File.Name, URL: st.File.URL, Checksum: st.File.Sum.String(),
				Size: st.File.Size, Present: st.Present, Path: st.Path, Problem: st.Problem})
			b.Present = b.Present && st.Present
		}
		list = append(list, b)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "brain data: local copy %s, cache %s\n\n", orNone(dirs.Local), dirs.Cache)
		for _, b := range list {
			state := "present"
			if !b.Present {
				state = "data not present"
			}
			kind := "offline benchmark"
			if b.Public {
				kind = "public benchmark, Brain-Score's " + b.BrainScore
			}
			fmt.Fprintf(stdout, "%s (%s, %s): %s\n  %s\n  %s\n", b.Identifier, b.Region, b.Metric, state, kind, b.Description)
			for _, f := range b.Files {
				mark := "missing"
				switch {
				case f.Present:
					mark = "ok"
				case f.Problem != "":
					mark = "bad"
				}
				fmt.Fprintf(stdout, "    %-7s %s/%s  %s\n", mark, f.Folder, f.Name, f.Checksum)
				if f.Present {
					fmt.Fprintf(stdout, "            at %s\n", f.Path)
				} else if f.Problem != "" {
					fmt.Fprintf(stdout, "            %s\n", f.Problem)
				}
			}
		}
		fmt.Fprintf(stdout, "\nURLs: reproduce benchmarks -json; download: reproduce benchmarks -fetch; a local copy: -brain-data DIR or $%s\n", study.BrainDataEnvVar)
	}
	if *pixels {
		if err := checkPixels(ctx, dirs, stdout); err != nil {
			return errors.Join(err, fetchErr)
		}
	}
	return fetchErr
}

// fetchBenchmarks downloads the missing files of the benchmarks, reporting each benchmark whose files
// could not all be had to w. It goes through every benchmark and returns an error naming those that
// failed, so that the exit status says so after everything that could be fetched is here.
func fetchBenchmarks(ctx context.Context, dirs benchmark.Dirs, specs []benchmark.Spec, w io.Writer) error {
	var failed []string
	for _, s := range specs {
		if _, err := dirs.Locate(ctx, s.Files); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(w, "%s: %v\n", s.Identifier, err)
			failed = append(failed, s.Identifier)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("benchmarks -fetch: the data of %d of %d benchmarks could not be had (%s): see above", len(failed), len(specs), strings.Join(failed, ", "))
	}
	return nil
}

// parseInput parses an input shape CxHxW.
func parseInput(s string) (c, h, w int, err error) {
	parts := strings.Split(s, "x")
	if len(parts) != 3 {
		return 0, 0, 0, errors.New("want CxHxW, such as 3x32x32")
	}
	var v [3]int
	for i, p := range parts {
		if v[i], err = strconv.Atoi(p); err != nil || v[i] < 1 || v[i] > 4096 {
			return 0, 0, 0, fmt.Errorf("want CxHxW with each a positive integer, such as 3x32x32")
		}
	}
	if v[0] != 1 && v[0] != 3 {
		return 0, 0, 0, fmt.Errorf("%d channels: want 1 (gray) or 3 (RGB)", v[0])
	}
	return v[0], v[1], v[2], nil
}

// exportStimuli writes every listed benchmark's images to dir (benchmark.ExportStimuli) and says what it
// wrote; benchmarks whose data are missing are listed, and any failure makes the result an error once
// the rest is written.
func exportStimuli(ctx context.Context, dir string, c, h, w int, opts benchmark.Options, stdout io.Writer) error {
	log := opts.Log
	opts.Log = nil
	res, err := benchmark.ExportStimuli(ctx, dir, c, h, w, opts)
	var failed []string
	for _, r := range res {
		fmt.Fprintf(stdout, "%s: %s\n", r.Benchmark, r.Status)
		for _, n := range r.Notes {
			fmt.Fprintf(stdout, "  %s\n", n)
		}
		if isError(r.Status) {
			failed = append(failed, r.Benchmark)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "stimuli for %dx%dx%d inputs in %s: save each layer's activations as BENCHMARK/SET/LAYER.npy beside stimuli.npy, then run reproduce benchmarks -features %s -input %dx%dx%d\n", c, h, w, dir, dir, c, h, w)
	if len(failed) > 0 {
		return fmt.Errorf("benchmarks -export-stimuli: %s failed: see above", strings.Join(failed, ", "))
	}
	return nil
}

// scoreFeatures scores the activations in dir (a benchmark.Precomputed model) on every listed benchmark
// whose data are here, logging each benchmark's per-layer scores, and writes one row per benchmark in
// the columns of scores.csv. Any benchmark that failed makes the result an error once all are written.
func scoreFeatures(ctx context.Context, dir, name string, c, h, w int, layers []string, opts benchmark.Options, stdout io.Writer) error {
	m, err := benchmark.NewPrecomputed(dir, name, c, h, w, layers)
	if err != nil {
		return err
	}
	res, err := benchmark.ScoreAll(ctx, m, opts)
	if err != nil {
		return err
	}
	rows := [][]string{{"model", "benchmark", "region", "layer", "raw", "error", "ceiling", "ceiled_r_over_c_squared", "ceiled_r2_over_c", "status"}}
	var failed []string
	for _, r := range res {
		s, status := r.Score(), r.Status
		if isError(status) {
			failed, status = append(failed, r.Benchmark), study.StatusError
		}
		rows = append(rows, []string{name, r.Benchmark, r.Region, r.Layer, report.Format(s.Raw, 5), report.Format(s.Error, 5),
			report.Format(s.Ceiling, 5), report.Format(s.CeiledRC2, 5), report.Format(s.CeiledR2C, 5), status})
	}
	cw := csv.NewWriter(stdout)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("benchmarks -features: %s failed: see above", strings.Join(failed, ", "))
	}
	return nil
}

// isError reports whether a result's status is an error.
func isError(status string) bool { return strings.HasPrefix(status, "error") }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// runNeuralFit scores features in a .npy file against neural responses, as Brain-Score's neural
// predictivity does (see package neuralfit).
func runNeuralFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce neural-fit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg neuralfit.Config
	fs.StringVar(&cfg.Features, "features", "", "features .npy: images × features (further dimensions are flattened)")
	fs.StringVar(&cfg.Responses, "responses", "", "responses .npy: images × neuroids, same image order (default: the mean of -repetitions)")
	fs.StringVar(&cfg.Repetitions, "repetitions", "", "optional repetitions .npy: repetitions × images × neuroids, NaN where missing; adds the split-half ceiling and ceiled scores")
	fs.StringVar(&cfg.Labels, "labels", "", "optional labels .npy: one integer per image (its object), to stratify the default splits")
	fs.StringVar(&cfg.Splits, "splits", "", `optional JSON {"splits": [{"train": [...], "test": [...]}, ...], "ceiling_halves": [[...], ...]} (default: Brain-Score's)`)
	fs.StringVar(&cfg.Regression, "regression", "pls", "regression: "+strings.Join(metric.DefaultRegressions().Names(), ", ")+" (pls is Brain-Score's)")
	fs.IntVar(&cfg.Components, "components", 0, "PLS components (0: Brain-Score's 25)")
	fs.Float64Var(&cfg.Alpha, "alpha", 1, "ridge penalty with -regression ridge (scikit-learn's default 1; 0 is least squares)")
	asJSON := fs.Bool("json", false, "write the result as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce neural-fit -features F.npy -responses R.npy [-repetitions P.npy] [-labels L.npy] [-splits S.json] [-regression pls|ridge] [-json]\n\nScores features against neural responses with Brain-Score's predictivity (PLS by default).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("neural-fit: unexpected argument %q", fs.Arg(0))
	}
	if cfg.Features == "" || (cfg.Responses == "" && cfg.Repetitions == "") {
		return usageError("neural-fit: -features and -responses (or -repetitions) are required")
	}
	res, err := neuralfit.Run(cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "%d images, %d features, %d neuroids; splits: %s; regression: %s\n", res.Images, res.Features, res.Neuroids, res.SplitsFrom, res.Regression)
	fmt.Fprintf(stdout, "raw %.6f ± %.6f (median r over neuroids, mean over %d splits)\n", float64(res.Raw), float64(res.Error), len(res.RawPerSplit))
	if res.Ceiling != nil {
		fmt.Fprintf(stdout, "ceiling %.6f; ceiled (r/c)^2 %.6f, r^2/c %.6f\n", float64(*res.Ceiling), float64(*res.CeiledRC2), float64(*res.CeiledR2C))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return ctx.Err()
}

// checkPixels scores Brain-Score's pixels model on MajajHong2015public.IT-pls and prints the comparison
// with Brain-Score's published values.
func checkPixels(ctx context.Context, dirs benchmark.Dirs, w io.Writer) error {
	cmp, err := benchmark.CheckPixels(ctx, dirs, w)
	var oe *fetch.OfflineError
	if errors.As(err, &oe) {
		fmt.Fprintf(w, "pixels check: %s data not present (%s)\n", benchmark.MajajHong2015IT, filepath.Join(oe.Dir, oe.Missing[0].Name))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(w, cmp)
	return nil
}
