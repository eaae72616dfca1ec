package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// studyConfig is the whole configuration of a study run: one value, passed down.
type studyConfig struct {
	Dataset    string
	Rules      []string
	Epochs     int
	Batch      int
	LR         float64
	Clip       float64
	Seed       uint64
	Seeds      int
	Out        string
	Quick      bool
	Force      bool
	Backend    string
	DataDir    string
	DataSrc    string
	BrainData  string
	Offline    bool
	TrainLimit int
	TestLimit  int
	Hidden     []int
	PostReLU   bool
	SNNImpl    snn.Impl
	Figures    bool
	Args       []string
}

// quickTrainLimit and quickEpochs define -quick: MNIST, the first quickTrainLimit training images, a few
// epochs for every rule.
const (
	quickTrainLimit = 4000
	quickTestLimit  = 2000
	quickEpochs     = 2
)

func parseStudyFlags(args []string, stderr io.Writer) (*studyConfig, error) {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &studyConfig{Args: args}
	var rules, hidden, snnImpl string
	var seed uint64
	fs.StringVar(&c.Dataset, "dataset", data.CIFAR10, "dataset: "+strings.Join(data.Names(), ", "))
	fs.StringVar(&rules, "rules", "", "comma-separated rules to train (default: all of "+strings.Join(train.DefaultRegistry().Names(), ",")+")")
	fs.IntVar(&c.Epochs, "epochs", 0, "training epochs (0: each rule's paper setting)")
	fs.IntVar(&c.Batch, "batch", 0, "mini-batch size (0: each rule's paper setting)")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: each rule's paper setting)")
	fs.Float64Var(&c.Clip, "clip", -1, "global gradient-norm clipping (-1: each rule's paper setting; 0 disables)")
	fs.Uint64Var(&seed, "seed", 42, "seed of the first run (the paper's: 42)")
	fs.IntVar(&c.Seeds, "seeds", 1, "number of seeds per rule (seed, seed+1, ...); tables show mean and standard deviation")
	fs.StringVar(&c.Out, "out", "figures", "output directory for tables, figures, checkpoints")
	fs.BoolVar(&c.Quick, "quick", false, fmt.Sprintf("a small real-data run: MNIST, the first %d training and %d test images, %d epochs, every rule", quickTrainLimit, quickTestLimit, quickEpochs))
	fs.BoolVar(&c.Force, "force", false, "retrain even when a checkpoint of the run exists")
	fs.StringVar(&c.Backend, "backend", "", "GoMLX backend: go (default) or xla[:plugin]; default $GOMLX_BACKEND or go")
	fs.StringVar(&c.DataDir, "data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir)")
	fs.StringVar(&c.DataSrc, "data-src", "", "an already-extracted dataset directory to read instead of the cache (offline use)")
	fs.BoolVar(&c.Offline, "offline", false, "never download data")
	fs.StringVar(&c.BrainData, "brain-data", os.Getenv(BrainDataEnvVar), "a local copy of the brain data (brainio/, rsa92/, cowley-v4/), read before the cache and never written (default $"+BrainDataEnvVar+")")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "train on the first N training examples only (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "measure test accuracy on the first N test examples only (0: all)")
	fs.StringVar(&hidden, "hidden", "1536,256", "hidden layer widths")
	fs.BoolVar(&c.PostReLU, "post-relu", false, "score layers after their ReLU (default: the Linear outputs, as the study's hooks)")
	fs.StringVar(&snnImpl, "snn-impl", "auto", "spiking nets' engine: kernels (event-driven CPU kernels), graph (GoMLX graphs on -backend) or auto (kernels on the go backend, graph elsewhere)")
	fs.BoolVar(&c.Figures, "figures", true, "write figures (HTML, and PNG when chromium is installed)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce [flags]\n       reproduce bench|benchmarks|neural-fit|fetch [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageError("unexpected argument %q (subcommands: bench, benchmarks, neural-fit, fetch)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.Seed = seed
	impl, err := snn.ParseImpl(snnImpl)
	if err != nil {
		return nil, usageError("-snn-impl: %v", err)
	}
	c.SNNImpl = impl
	if c.Quick {
		if !set["dataset"] {
			c.Dataset = data.MNIST
		}
		if !set["epochs"] {
			c.Epochs = quickEpochs
		}
		if !set["train-limit"] {
			c.TrainLimit = quickTrainLimit
		}
		if !set["test-limit"] {
			c.TestLimit = quickTestLimit
		}
	}
	reg := train.DefaultRegistry()
	if rules == "" {
		c.Rules = reg.Names()
	} else {
		for _, r := range strings.Split(rules, ",") {
			r = strings.TrimSpace(r)
			if _, ok := reg[r]; !ok {
				return nil, usageError("-rules: unknown rule %q (known: %s)", r, strings.Join(reg.Names(), ", "))
			}
			c.Rules = append(c.Rules, r)
		}
	}
	known := false
	for _, n := range data.Names() {
		known = known || n == c.Dataset
	}
	if !known {
		return nil, usageError("-dataset: unknown dataset %q (known: %s)", c.Dataset, strings.Join(data.Names(), ", "))
	}
	switch {
	case c.Epochs < 0:
		return nil, usageError("-epochs %d: want >= 0", c.Epochs)
	case c.Batch < 0:
		return nil, usageError("-batch %d: want >= 0", c.Batch)
	case c.Seeds < 1:
		return nil, usageError("-seeds %d: want >= 1", c.Seeds)
	case c.LR < 0:
		return nil, usageError("-lr %g: want > 0 (or 0 for the paper setting)", c.LR)
	case c.Clip < -1:
		return nil, usageError("-clip %g: want >= 0, or -1 for the paper setting", c.Clip)
	case c.TrainLimit < 0:
		return nil, usageError("-train-limit %d: want >= 0", c.TrainLimit)
	case c.TestLimit < 0:
		return nil, usageError("-test-limit %d: want >= 0", c.TestLimit)
	case c.Out == "":
		return nil, usageError("-out: empty directory name")
	}
	for _, h := range strings.Split(hidden, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || n <= 0 {
			return nil, usageError("-hidden %q: want comma-separated positive widths, e.g. 1536,256", hidden)
		}
		c.Hidden = append(c.Hidden, n)
	}
	return c, nil
}

func (c *studyConfig) overrides() train.Overrides {
	o := train.Overrides{Epochs: c.Epochs, Batch: c.Batch, LR: c.LR}
	if c.Clip >= 0 {
		o.Clip, o.ClipSet = c.Clip, true
	}
	return o
}

// job is one model to train.
type job struct {
	Rule       string
	Seed       uint64
	Checkpoint string
	Learner    train.Learner
	Cached     bool
	Estimate   time.Duration
}

func (c *studyConfig) fingerprint(rule string, seed uint64, spec nn.Spec, s train.Settings, backendName string, l train.Learner) string {
	// A spiking net on the graph engine is a run of its own; the kernels' fingerprint is unchanged.
	engine := ""
	if n, ok := l.(*train.SNN); ok && n.Net().Impl() == snn.ImplGraph {
		engine = string(snn.ImplGraph)
	}
	b, _ := json.Marshal(struct {
		Dataset, Rule, Backend string
		Seed                   uint64
		Spec                   []int
		Settings               train.Settings
		TrainLimit, TestLimit  int
		Engine                 string `json:",omitempty"`
	}{c.Dataset, rule, backendName, seed, spec.Sizes, s, c.TrainLimit, c.TestLimit, engine})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runStudy is the main job: train every rule, score every net, write every table and figure.
func runStudy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseStudyFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := checkWritable(c.Out); err != nil {
		return err
	}
	if c.Figures {
		// Before hours of training: the figures need the echarts script.
		if err := report.CheckEcharts(); err != nil {
			return err
		}
	}
	backendName := backend.Resolve(c.Backend)
	be, err := backend.Open(backendName)
	if err != nil {
		return err
	}
	defer be.Finalize()
	fmt.Fprintf(stdout, "bpdl reproduce: backend %s\n", backend.Describe(be))

	ds, err := data.Load(ctx, c.Dataset, data.Options{CacheDir: c.DataDir, Dir: c.DataSrc, Offline: c.Offline})
	if err != nil {
		return err
	}
	trainSet := ds.Train
	if c.TrainLimit > 0 && c.TrainLimit < trainSet.N {
		trainSet = trainSet.Head(c.TrainLimit)
	}
	testSet := ds.Test
	if c.TestLimit > 0 && c.TestLimit < testSet.N {
		testSet = testSet.Head(c.TestLimit)
	}
	spec := nn.NewSpec(trainSet.Dim, c.Hidden, trainSet.Classes)
	fmt.Fprintf(stdout, "dataset %s: %d training (of %d) and %d test (of %d) examples of %d values; net %s\n",
		c.Dataset, trainSet.N, ds.Train.N, testSet.N, ds.Test.N, trainSet.Dim, spec)

	jobs, err := c.plan(ctx, be, backendName, spec, trainSet, stdout)
	if err != nil {
		return err
	}
	var runs []report.Run
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := train.Train(ctx, train.Run{
			Dataset: c.Dataset, Learner: j.Learner, Seed: j.Seed, Train: trainSet, Test: testSet,
			Checkpoint: j.Checkpoint, Fingerprint: c.fingerprint(j.Rule, j.Seed, spec, j.Learner.Settings(), backendName, j.Learner),
			Progress: stderr, Log: stdout,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s/%s seed %d: test accuracy %.2f%%\n", c.Dataset, j.Rule, j.Seed, 100*r.TestAccuracy)
		rr := toReportRun(r, backendName)
		rr.Scores, err = c.score(ctx, j.Learner, ds, stdout)
		if err != nil {
			return err
		}
		if s, ok := j.Learner.(*train.SNN); ok {
			if rr.Raster, err = spikeRaster(s.Net(), testSet); err != nil {
				return fmt.Errorf("%s/%s seed %d: spike raster: %w", c.Dataset, j.Rule, j.Seed, err)
			}
		}
		runs = append(runs, rr)
	}
	if err := c.writeOutputs(runs, backendName, ds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", c.Out)
	return nil
}

// plan builds every learner, finds which runs are cached, estimates the time of the others from a short
// calibration, and prints the plan.
func (c *studyConfig) plan(ctx context.Context, be compute.Backend, backendName string, spec nn.Spec, trainSet *data.Set, w io.Writer) ([]*job, error) {
	reg := train.DefaultRegistry()
	var jobs []*job
	var total time.Duration
	fmt.Fprintf(w, "plan:\n")
	for _, rule := range c.Rules {
		for k := 0; k < c.Seeds; k++ {
			seed := c.Seed + uint64(k)
			l, err := reg.New(rule, be, train.Options{Spec: spec, Seed: seed, Override: c.overrides(), SNNImpl: c.SNNImpl})
			if err != nil {
				return nil, err
			}
			j := &job{Rule: rule, Seed: seed, Learner: l,
				Checkpoint: filepath.Join(c.Out, "checkpoints", fmt.Sprintf("%s-%s-seed%d.ckpt", c.Dataset, rule, seed))}
			if c.Force {
				if err := os.Remove(j.Checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
			s := l.Settings()
			fp := c.fingerprint(rule, seed, spec, s, backendName, l)
			if ck, err := train.LoadCheckpoint(j.Checkpoint); err == nil && ck.Fingerprint == fp && train.Complete(ck, s) {
				j.Cached = true
			} else {
				budget := 3 * time.Second
				if c.Quick {
					budget = time.Second
				}
				rate, err := train.Calibrate(l, trainSet, budget)
				if err != nil {
					return nil, err
				}
				examples := float64((s.Epochs + s.PretrainEpochs) * trainSet.N)
				j.Estimate = time.Duration(examples / rate * float64(time.Second))
				total += j.Estimate
			}
			status := "train, about " + j.Estimate.Round(time.Second).String()
			if j.Cached {
				status = "cached"
			}
			fmt.Fprintf(w, "  %-10s seed %-4d %-40s batch %-4d epochs %-3d %s\n", rule, seed, s.Optimizer, s.Batch, s.Epochs, status)
			jobs = append(jobs, j)
		}
	}
	fmt.Fprintf(w, "estimated training time: %s (from a short calibration on this machine)\n", total.Round(time.Second))
	return jobs, nil
}

func toReportRun(r *train.Result, backendName string) report.Run {
	rr := report.Run{Dataset: r.Dataset, Rule: r.Rule, Seed: r.Seed, Epochs: r.Settings.Epochs, Batch: r.Settings.Batch,
		Optimizer: r.Settings.Optimizer.String(), Backend: backendName, TestAccuracy: r.TestAccuracy,
		WallSeconds: r.WallSeconds, ExamplesPerSec: r.ExamplesPerSec}
	for _, p := range r.History {
		rp := report.Point{Phase: p.Phase, Epoch: p.Epoch, Step: p.Step, Examples: p.Examples, TrainLoss: p.TrainLoss, TestAccuracy: p.TestAccuracy}
		for _, m := range p.Metrics {
			rp.Metrics = append(rp.Metrics, report.Metric{Name: m.Name, Value: m.Value})
		}
		rr.History = append(rr.History, rp)
	}
	return rr
}

// spikeRaster is the trained spiking net's spikes on the first test example, layer by layer (named by
// snn.LayerName, as the spike_rate_* metrics are), for the raster figure.
func spikeRaster(net *snn.Net, test *data.Set) (*report.Raster, error) {
	if test.N == 0 {
		return nil, errors.New("no test example")
	}
	r, err := net.Raster(test.X[:test.Dim])
	if err != nil {
		return nil, err
	}
	out := &report.Raster{Steps: r.Steps, DT: 1000 * net.Config().DT, Label: int(test.Y[0])}
	for l, s := range r.Spikes {
		out.Layers = append(out.Layers, report.RasterLayer{Name: snn.LayerName(l), Units: r.Units[l], Spikes: s})
	}
	return out, nil
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

// writeOutputs writes the tables, figures and manifest.
func (c *studyConfig) writeOutputs(runs []report.Run, backendName string, ds *data.Dataset) error {
	files := report.Tables(runs)
	if c.Figures {
		figs, err := report.Figures(runs)
		if err != nil {
			return err
		}
		for name, content := range figs {
			files[name] = content
		}
	}
	files["MANIFEST"] = c.manifest(backendName, files)
	write := func(path string, b []byte) error {
		return fetch.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	if err := files.Write(c.Out, write); err != nil {
		return err
	}
	if c.Figures {
		report.RenderPNGs(c.Out, files, os.Stderr)
	}
	return nil
}

// manifest lists the command, the configuration, the backend, the data files' checksums, bpdl's version
// and the SHA-256 of every output but timings.csv.
func (c *studyConfig) manifest(backendName string, files report.Files) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "command: reproduce %s\n", strings.Join(withoutOut(c.Args), " "))
	fmt.Fprintf(&b, "dataset: %s\nrules: %s\nseeds: %d from %d\nbackend: %s\n", c.Dataset, strings.Join(c.Rules, ","), c.Seeds, c.Seed, backendName)
	if c.TrainLimit > 0 {
		fmt.Fprintf(&b, "train-limit: %d\n", c.TrainLimit)
	}
	if c.TestLimit > 0 {
		fmt.Fprintf(&b, "test-limit: %d\n", c.TestLimit)
	}
	fmt.Fprintf(&b, "bpdl: %s\n", version())
	for _, f := range data.Files(c.Dataset) {
		fmt.Fprintf(&b, "data: %s %s\n", f.Name, f.Sum)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if n != "timings.csv" && n != "MANIFEST" && !strings.HasSuffix(n, ".png") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&b, "output: %s sha256:%s\n", n, hex.EncodeToString(sum[:]))
	}
	return []byte(b.String())
}

// withoutOut returns args without the -out flag and its value, so that the same run into two directories
// writes the same manifest.
func withoutOut(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-out" || a == "--out":
			i++
		case strings.HasPrefix(a, "-out=") || strings.HasPrefix(a, "--out="):
		default:
			out = append(out, a)
		}
	}
	return out
}

// version is bpdl's module version, or "devel" in a source tree.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
