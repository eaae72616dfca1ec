package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/brainscore/neuralfit"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
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
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce benchmarks [flags]\n\nLists the brain benchmarks, the files each needs and whether they are here.\n\nflags:\n")
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
	dirs := bf.dirs()
	if *fetchMissing {
		for _, s := range specs {
			if _, err := dirs.Locate(ctx, s.Files); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", s.Identifier, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
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
		return checkPixels(ctx, dirs, stdout)
	}
	return nil
}

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
	fs.IntVar(&cfg.Components, "components", 0, "PLS components (0: Brain-Score's 25)")
	asJSON := fs.Bool("json", false, "write the result as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce neural-fit -features F.npy -responses R.npy [-repetitions P.npy] [-labels L.npy] [-splits S.json] [-json]\n\nScores features against neural responses with Brain-Score's PLS predictivity.\n\nflags:\n")
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
	fmt.Fprintf(stdout, "%d images, %d features, %d neuroids; splits: %s\n", res.Images, res.Features, res.Neuroids, res.SplitsFrom)
	fmt.Fprintf(stdout, "raw %.6f ± %.6f (median r over neuroids, mean over %d splits)\n", float64(res.Raw), float64(res.Error), len(res.RawPerSplit))
	if res.Ceiling != nil {
		fmt.Fprintf(stdout, "ceiling %.6f; ceiled (r/c)^2 %.6f, r^2/c %.6f\n", float64(*res.Ceiling), float64(*res.CeiledRC2), float64(*res.CeiledR2C))
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
