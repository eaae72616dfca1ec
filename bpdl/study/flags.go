package study

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Flags binds a Config to command-line flags, one flag per field (each field's comment names its flag),
// plus -quick for the quick profile. reproduce parses its study flags this way; a program of one's own (a
// sweep driver, say) gets the same flags, defaults and checks by calling AddFlags on its flag set.
type Flags struct {
	fs                        *flag.FlagSet
	cfg                       Config
	quick                     bool
	rules, hidden, benchmarks string
	clip                      float64
}

// AddFlags defines the study's flags on fs, with Default's values as defaults.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, cfg: Default(), clip: -1}
	c := &f.cfg
	fs.StringVar(&c.Dataset, "dataset", c.Dataset, "dataset: "+strings.Join(data.Names(), ", "))
	fs.StringVar(&f.rules, "rules", "", "comma-separated rules to train (default: all of "+strings.Join(train.DefaultRegistry().Names(), ",")+")")
	fs.IntVar(&c.Override.Epochs, "epochs", 0, "training epochs (0: each rule's published setting)")
	fs.IntVar(&c.Override.Batch, "batch", 0, "mini-batch size (0: each rule's published setting)")
	fs.Float64Var(&c.Override.LR, "lr", 0, "learning rate (0: each rule's published setting)")
	fs.Float64Var(&f.clip, "clip", -1, "global gradient-norm clipping (-1: each rule's published setting; 0 disables)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the first run (the study's: 42)")
	fs.IntVar(&c.Seeds, "seeds", c.Seeds, "number of seeds per rule (seed, seed+1, ...); tables show mean and standard deviation")
	fs.StringVar(&c.Out, "out", c.Out, "output directory for tables, figures and runs (checkpoints and results)")
	fs.BoolVar(&f.quick, "quick", false, fmt.Sprintf("a small real-data run: MNIST, the first %d training and %d test images, %d epochs, every rule", QuickTrainLimit, QuickTestLimit, QuickEpochs))
	fs.BoolVar(&c.Force, "force", false, "retrain even when a checkpoint of the run exists")
	fs.StringVar(&c.Backend, "backend", "", "GoMLX backend: go (default) or xla[:plugin]; default $GOMLX_BACKEND or go")
	fs.StringVar(&c.Data.CacheDir, "data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir)")
	fs.StringVar(&c.Data.Dir, "data-src", "", "an already-extracted dataset directory to read instead of the cache (offline use)")
	fs.BoolVar(&c.Data.Offline, "offline", false, "never download data")
	fs.StringVar(&c.BrainData, "brain-data", os.Getenv(BrainDataEnvVar), "a local copy of the brain data (brainio/, rsa92/, cowley-v4/), read before the cache and never written (default $"+BrainDataEnvVar+")")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "train on the first N training examples only (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "measure test accuracy on the first N test examples only (0: all)")
	fs.IntVar(&c.StepsPerCall, "steps-per-call", 0, "training steps per backend call, the training set kept on the device (0: the backend's default, 1 on go, 100 on xla); same results, other speed")
	fs.StringVar(&f.hidden, "hidden", joinInts(c.Hidden), "hidden layer widths")
	fs.StringVar(&f.benchmarks, "benchmarks", "", "comma-separated brain benchmarks to score (default: the study's; reproduce benchmarks lists them)")
	fs.BoolVar(&c.PostReLU, "post-relu", false, "score layers after their ReLU (default: the Linear outputs, as the study's hooks)")
	fs.StringVar((*string)(&c.SNNImpl), "snn-impl", string(snn.ImplAuto), "the spiking nets' engine: kernels (event-driven CPU kernels), graph (GoMLX graphs, any backend) or auto (kernels on go, graph elsewhere)")
	return f
}

// Quick reports whether -quick was given.
func (f *Flags) Quick() bool { return f.quick }

// Config returns the configuration the parsed flags give: Default changed by every flag given, the quick
// profile (Quick) for those of its fields whose flags were not given when -quick was. It is checked
// (Config.Validate); an error names the flag.
func (f *Flags) Config() (Config, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	c := f.cfg
	if f.quick {
		q := Quick()
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
	c.Rules, c.Benchmarks = splitList(f.rules), splitList(f.benchmarks)
	if f.clip != -1 {
		c.Override.Clip, c.Override.ClipSet = f.clip, true
	}
	c.Hidden = nil
	for _, h := range strings.Split(f.hidden, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || n <= 0 {
			return Config{}, &FieldError{Flag: "hidden", Value: strconv.Quote(f.hidden), Want: "comma-separated positive widths, e.g. 1536,256"}
		}
		c.Hidden = append(c.Hidden, n)
	}
	return c, c.Validate()
}

// splitList splits a comma-separated flag value, trimming spaces; "" gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
