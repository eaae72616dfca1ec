package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/neuralfit"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/study"
)

// parseSub parses a subcommand's flags, which take no arguments: -h is flag.ErrHelp, anything wrong a
// usage error.
func parseSub(fs *flag.FlagSet, args []string) error {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		return usageError("%v", err)
	case fs.NArg() > 0:
		return usageError("%s: unexpected argument %q", strings.TrimPrefix(fs.Name(), "reproduce "), fs.Arg(0))
	}
	return nil
}

// runBenchmarks is `reproduce benchmarks`: it lists every brain benchmark with the files it needs, their
// checksums and whether they are here (-fetch downloads the missing ones), or exports their stimuli for a
// model run elsewhere, or scores that model's activations.
func runBenchmarks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce benchmarks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir); brain data go to its brainscore/ folder")
	brainData := fs.String("brain-data", os.Getenv(study.BrainDataEnvVar), "a local copy of the brain data in the layout brainio/, rsa92/, cowley-v4/ (such as the project's ../shared/data); default $"+study.BrainDataEnvVar)
	offline := fs.Bool("offline", false, "never download data")
	fetchMissing := fs.Bool("fetch", false, "download the missing files of the listed benchmarks")
	only := fs.String("only", "", "comma-separated benchmark identifiers to list (default: all)")
	asJSON := fs.Bool("json", false, "write the list as JSON")
	pixels := fs.Bool("check-pixels", false, "score Brain-Score's pixels model on "+benchmark.MajajHong2015IT+" and compare with Brain-Score's published values (needs the MajajHong2015 public data; minutes)")
	exportDir := fs.String("export-stimuli", "", "write each benchmark's images, prepared for -input as bpdl's nets see them, to `DIR` as .npy (layout: DIR/BENCHMARK/SET/stimuli.npy and ids.txt)")
	featuresDir := fs.String("features", "", "score the activations in `DIR` (DIR/BENCHMARK/SET/LAYER.npy beside the exported stimuli, one row per image) on every benchmark whose data are here")
	input := fs.String("input", "", "the model input CxHxW the stimuli are prepared for (the study's CIFAR-10 nets: 3x32x32, the default; MNIST: 1x28x28); -features defaults to the shape in DIR's manifest.json")
	layers := fs.String("layers", "", "with -features: the layers, comma-separated, input side first (default: the LAYER.npy files found, sorted)")
	modelName := fs.String("model", "", "with -features: the model's name in the results (default: the folder's name)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce benchmarks [flags]\n\nLists the brain benchmarks, the files each needs and whether they are here; with -export-stimuli\nwrites their images for a model run elsewhere, and with -features scores that model's activations.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseSub(fs, args); err != nil {
		return err
	}
	opts := benchmark.Options{Benchmarks: split(*only), Log: stderr}
	specs, err := benchmark.DefaultRegistry().Select(opts.Benchmarks)
	if err != nil {
		return usageError("benchmarks -only: %v", err)
	}
	if *exportDir != "" && *featuresDir != "" {
		return usageError("benchmarks: -export-stimuli and -features are separate steps: export, run your model, then score")
	}
	c, h, w, err := benchmark.InputOf(*input, *featuresDir)
	if err != nil {
		return usageError("benchmarks -input %q: %v", *input, err)
	}
	opts.Dirs = study.BrainDirs(*brainData, data.Options{CacheDir: *dataDir, Offline: *offline})
	var fetchErr error
	if *fetchMissing {
		if fetchErr = opts.Dirs.Download(ctx, specs, stderr); ctx.Err() != nil {
			return ctx.Err()
		} else if fetchErr != nil {
			fetchErr = fmt.Errorf("benchmarks -fetch: %w", fetchErr)
		}
	}
	switch {
	case *exportDir != "":
		opts.Log = nil
		res, err := benchmark.ExportStimuli(ctx, *exportDir, c, h, w, opts)
		if err = errors.Join(benchmark.WriteStatuses(stdout, res), err); err == nil {
			fmt.Fprintf(stderr, "stimuli for %dx%dx%d inputs in %s: save each layer's activations as BENCHMARK/SET/LAYER.npy beside stimuli.npy, then run reproduce benchmarks -features %s -input %dx%dx%d\n", c, h, w, *exportDir, *exportDir, c, h, w)
			err = wrapErr("benchmarks -export-stimuli", benchmark.FailureError(res))
		}
		return errors.Join(err, fetchErr)
	case *featuresDir != "":
		res, err := benchmark.ScorePrecomputed(ctx, *featuresDir, *modelName, c, h, w, split(*layers), opts)
		if err == nil {
			err = errors.Join(benchmark.WriteScores(stdout, res), wrapErr("benchmarks -features", benchmark.FailureError(res)))
		}
		return errors.Join(err, fetchErr)
	}
	list := opts.Dirs.List(specs)
	if *asJSON {
		err = writeJSON(stdout, list)
	} else if err = opts.Dirs.WriteList(stdout, list); err == nil {
		fmt.Fprintf(stdout, "\nURLs: reproduce benchmarks -json; download: reproduce benchmarks -fetch; a local copy: -brain-data DIR or $%s\n", study.BrainDataEnvVar)
	}
	if err == nil && *pixels {
		err = benchmark.WritePixelsCheck(ctx, opts.Dirs, stdout)
	}
	return errors.Join(err, fetchErr)
}

// wrapErr prefixes err, when not nil, with what failed.
func wrapErr(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// split splits a comma-separated flag into its trimmed items; nil for "".
func split(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.Split(s, ",")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// runNeuralFit is `reproduce neural-fit`: it scores features in a .npy file against neural responses, as
// Brain-Score's neural predictivity does (neuralfit.Run).
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
	if err := parseSub(fs, args); err != nil {
		return err
	}
	if cfg.Features == "" || (cfg.Responses == "" && cfg.Repetitions == "") {
		return usageError("neural-fit: -features and -responses (or -repetitions) are required")
	}
	res, err := neuralfit.Run(cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintln(stdout, res)
	return ctx.Err()
}
