package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// benchRow is one line of the performance report.
type benchRow struct {
	Name  string // e.g. "bp step", "snn step"
	Shape string // e.g. "cifar10 3072-1536-256-10"
	Batch int    // 0 when not a training step
	Bpdl  float64
	// Reference is the PyTorch reference's value, 0 when not measured; RefConfig names the thread
	// configuration that gave it ("torch 2, OpenBLAS 1"), RefNote why it is missing or what it is.
	Reference float64
	RefConfig string
	RefNote   string
	// RefAll is the reference's best rate per thread configuration over the rounds ("torch:blas" keys).
	RefAll map[string]float64
	Unit   string // "examples/s", "s", "%", "GiB"
	Note   string
	// Better says which way is better: "higher" (rates: the speed-up is bpdl / reference), "lower"
	// (times: reference / bpdl), "" (no speed-up column, e.g. accuracy).
	Better string
}

// speedup is how many times faster bpdl is than the reference on the row, 0 when it has none.
func (r benchRow) speedup() float64 {
	if r.Reference <= 0 || r.Bpdl <= 0 {
		return 0
	}
	switch r.Better {
	case "higher":
		return r.Bpdl / r.Reference
	case "lower":
		return r.Reference / r.Bpdl
	}
	return 0
}

// shapes of the benchmarks: the study's CIFAR-10 net, and MNIST's for the spiking net.
var benchShapes = map[string][]int{
	"cifar10": {3072, 1536, 256, 10},
	"mnist":   {784, 1536, 256, 10},
}

// engine is one way of running a learner that bench reports separately: Label is appended to the row
// name ("snn step (kernels)"), Apply sets it in the learner's options. The zero engine is the default.
type engine struct {
	Label string
	Apply func(*train.Options)
}

// benchEngines lists the engines bench reports for a learner. Hook for the spiking net's engine option
// (issue 14): once train.Options has SNNImpl (snn.ImplKernels, snn.ImplGraph), snn and snn-tuned return one
// engine per implementation here, {Label: "kernels", Apply: func(o *train.Options) { o.SNNImpl =
// snn.ImplKernels }} and the same for "graph"; the rows, their names and the comparison with the one
// PyTorch reference follow.
func benchEngines(name string) []engine {
	return []engine{{}}
}

// benchFlags are the flags of `reproduce bench`.
type benchFlags struct {
	out, python, script, rules, be, norse, configs string
	seconds                                        float64
	rounds                                         int
	noRef, e2e, scoring                            bool
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchFlags, error) {
	f := &benchFlags{}
	fs := flag.NewFlagSet("reproduce bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "bench", "output directory for bench.csv and bench.md")
	fs.Float64Var(&f.seconds, "seconds", 3, "seconds of timed steps per measurement")
	fs.IntVar(&f.rounds, "rounds", 1, "rounds of measurements, bpdl and PyTorch in turn; the best of each counts")
	fs.StringVar(&f.python, "python", "/usr/bin/python3", "Python with PyTorch for the reference (Debian's python3-torch)")
	fs.StringVar(&f.script, "reference", "bench/torch_study.py", "the PyTorch reference script (the study's formulation of every rule)")
	fs.StringVar(&f.configs, "configs", "auto", `thread configurations of the reference: "auto" (torch x OpenBLAS threads, powers of two up to the core count) or TORCH:BLAS,...`)
	fs.StringVar(&f.norse, "norse", os.Getenv("BPDL_NORSE"), "a source checkout of norse v0.0.6 for the spiking net's reference (default $BPDL_NORSE; git clone -b v0.0.6 https://github.com/norse/norse)")
	fs.BoolVar(&f.noRef, "no-reference", false, "skip the PyTorch reference")
	fs.BoolVar(&f.e2e, "e2e", false, "also time `reproduce -dataset mnist -rules bp -epochs 1` end to end against the study's protocol in PyTorch (minutes)")
	fs.BoolVar(&f.scoring, "scoring", true, "also time the brain-scoring pipeline on synthetic data")
	fs.StringVar(&f.rules, "rules", "", "comma-separated learners (default: all)")
	fs.StringVar(&f.be, "backend", "", "GoMLX backend (default $GOMLX_BACKEND or go)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageError("bench: unexpected argument %q", fs.Arg(0))
	}
	if !(f.seconds > 0) || math.IsInf(f.seconds, 0) {
		return nil, usageError("-seconds %g: want a finite number > 0", f.seconds)
	}
	if f.rounds < 1 {
		return nil, usageError("-rounds %d: want >= 1", f.rounds)
	}
	if f.configs != "auto" && !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*(,[1-9][0-9]*:[1-9][0-9]*)*$`).MatchString(f.configs) {
		return nil, usageError(`-configs %q: want "auto" or TORCH:BLAS thread counts, e.g. 1:1,2:1`, f.configs)
	}
	return f, nil
}

// runBench measures every learner's training step at the study's batch sizes against the study's own
// formulation in PyTorch (bench/torch_study.py, at its fastest thread configuration), optionally the
// MNIST study end to end, and the brain-scoring pipeline, and writes bench.csv and bench.md.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	reg := train.DefaultRegistry()
	names := reg.Names()
	if f.rules != "" {
		names = strings.Split(f.rules, ",")
		for _, n := range names {
			if _, ok := reg[n]; !ok {
				return usageError("-rules: unknown rule %q (known: %s)", n, strings.Join(reg.Names(), ", "))
			}
		}
	}
	if !f.noRef {
		if _, err := os.Stat(f.script); err != nil {
			return usageError("-reference %s: %v (run from the repository root, or pass -reference or -no-reference)", f.script, err)
		}
	}
	if err := checkWritable(f.out); err != nil {
		return err
	}
	backendName := backend.Resolve(f.be)
	b, err := backend.Open(backendName)
	if err != nil {
		return err
	}
	defer b.Finalize()
	machine := machineDescription()
	fmt.Fprintf(stdout, "bench: backend %s on %s, %d round(s) of %g s per measurement\n", backendName, machine, f.rounds, f.seconds)

	var rows []*benchRow
	byKey := map[string]*benchRow{}
	budget := time.Duration(f.seconds * float64(time.Second))
	for round := 1; round <= f.rounds; round++ {
		for _, name := range names {
			spiking := strings.HasPrefix(name, "snn")
			shapeNames, batches := []string{"cifar10"}, []int{4, 128}
			if spiking {
				shapeNames, batches = []string{"mnist", "cifar10"}, []int{4, 32}
			}
			for _, eng := range benchEngines(name) {
				for _, sn := range shapeNames {
					sizes := benchShapes[sn]
					spec := nn.Spec{Sizes: sizes}
					for _, batch := range batches {
						if err := ctx.Err(); err != nil {
							return err
						}
						opts := train.Options{Spec: spec, Seed: 1, Override: train.Overrides{Batch: batch}}
						if eng.Apply != nil {
							eng.Apply(&opts)
						}
						l, err := reg.New(name, b, opts)
						if err != nil {
							return err
						}
						rate, err := train.Calibrate(l, randomSet(sizes[0], sizes[len(sizes)-1], batch), budget)
						if err != nil {
							return err
						}
						row := &benchRow{Name: name + " step", Shape: sn + " " + spec.String(), Batch: batch, Unit: "examples/s", Better: "higher"}
						if eng.Label != "" {
							row.Name += " (" + eng.Label + ")"
						}
						key := stepKey(name, eng.Label, sn, batch)
						if prev, ok := byKey[key]; ok {
							row = prev
						} else {
							byKey[key] = row
							rows = append(rows, row)
						}
						row.Bpdl = max(row.Bpdl, rate)
						fmt.Fprintf(stdout, "  round %d  %-22s %-28s batch %-4d %10.1f examples/s\n", round, row.Name, row.Shape, batch, rate)
					}
				}
			}
		}
		if f.noRef {
			continue
		}
		ref, err := runReference(ctx, f, names, stderr)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench: PyTorch reference not measured: %v\n", err)
			continue
		}
		for _, r := range rows {
			rule, _, shape, batch := splitStepKey(r) // every engine's row is compared with the one reference
			v, ok := ref[refKey(rule, shape, batch)]
			if !ok {
				continue
			}
			if v.NotMeasured != "" {
				r.RefNote = v.NotMeasured
				continue
			}
			fmt.Fprintf(stdout, "  round %d  %-22s %-28s batch %-4d %10.1f examples/s  PyTorch (%s)\n", round, r.Name, r.Shape, r.Batch, v.Rate, v.config())
			if r.RefAll == nil {
				r.RefAll = map[string]float64{}
			}
			for k, rate := range v.Configs {
				r.RefAll[k] = max(r.RefAll[k], rate)
			}
			if v.Rate > r.Reference {
				r.Reference, r.RefConfig, r.RefNote = v.Rate, v.config(), v.Formulation
			}
		}
	}
	if f.e2e {
		e2e, err := e2eRows(ctx, f, backendName, stdout, stderr)
		if err != nil {
			return err
		}
		rows = append(rows, e2e...)
	}
	if f.scoring {
		scoring, err := brainScoringRows(ctx, b, benchmark.PublicSizes(), nn.PaperHidden, stdout)
		if err != nil {
			return err
		}
		for i := range scoring {
			rows = append(rows, &scoring[i])
		}
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	csvOut, md := benchTables(rows, backendName, machine, f)
	write := func(name string, b []byte) error {
		return fetch.WriteAtomic(filepath.Join(f.out, name), func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	if err := write("bench.csv", csvOut); err != nil {
		return err
	}
	if err := write("bench.md", md); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\nwrote %s\n", md, filepath.Join(f.out, "bench.md"))
	return nil
}

// randomSet is a set of n random examples (inputs uniform in [-1, 1)) for timing.
func randomSet(dim, classes, n int) *data.Set {
	n = max(n, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	s := &data.Set{X: make([]float32, n*dim), Y: make([]int32, n), N: n, Dim: dim, C: 1, H: 1, W: dim, Classes: classes}
	for i := range s.X {
		s.X[i] = float32(2*rng.Float64() - 1)
	}
	for i := range s.Y {
		s.Y[i] = int32(rng.IntN(classes))
	}
	return s
}

// stepKey identifies a training-step row: "rule|engine|shape|batch".
func stepKey(rule, engine, shape string, batch int) string {
	return fmt.Sprintf("%s|%s|%s|%d", rule, engine, shape, batch)
}

// splitStepKey recovers a step row's rule, engine, shape name and batch from its name and shape.
func splitStepKey(r *benchRow) (rule, engine, shape string, batch int) {
	name := r.Name
	if i := strings.Index(name, " ("); i >= 0 {
		engine = strings.TrimSuffix(name[i+2:], ")")
		name = name[:i]
	}
	shape, _, _ = strings.Cut(r.Shape, " ")
	return strings.TrimSuffix(name, " step"), engine, shape, r.Batch
}

// refKey is how a reference measurement is matched with a row: "rule/shape/batch".
func refKey(rule, shape string, batch int) string {
	return fmt.Sprintf("%s/%s/%d", rule, shape, batch)
}

// refResult is one line of the reference script's bench output: the best rate of a (rule, shape, batch)
// over its thread configurations.
type refResult struct {
	Rule         string             `json:"rule"`
	Shape        string             `json:"shape"`
	Batch        int                `json:"batch"`
	Rate         float64            `json:"examples_per_s"`
	TorchThreads int                `json:"torch_threads"`
	BlasThreads  int                `json:"blas_threads"`
	Blas         string             `json:"blas"`
	Formulation  string             `json:"formulation"`
	Configs      map[string]float64 `json:"configs"`
	NotMeasured  string             `json:"not_measured"`
}

// config names the winning thread configuration, e.g. "torch 2, OpenBLAS 1".
func (r refResult) config() string {
	blas := "BLAS"
	if strings.HasPrefix(r.Blas, "openblas") {
		blas = "OpenBLAS"
	}
	return fmt.Sprintf("torch %d, %s %d", r.TorchThreads, blas, r.BlasThreads)
}

// referenceRules are the learners the reference script implements.
var referenceRules = map[string]bool{"bp": true, "fa": true, "dfa": true, "dtp": true, "dtp-tuned": true, "snn": true, "snn-tuned": true}

// runReference runs the reference script's bench command for the named learners it knows (one round
// over every thread configuration) and returns its results by refKey.
func runReference(ctx context.Context, f *benchFlags, names []string, stderr io.Writer) (map[string]refResult, error) {
	var rules []string
	for _, n := range names {
		if referenceRules[n] {
			rules = append(rules, n)
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	cmd := exec.CommandContext(ctx, f.python, f.script, "bench", "--seconds", strconv.FormatFloat(f.seconds, 'f', -1, 64),
		"--rules", strings.Join(rules, ","), "--configs", f.configs, "--norse", f.norse)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s bench: %w", f.python, f.script, err)
	}
	return parseReference(&out)
}

// parseReference reads the reference's JSON lines; lines that are not JSON objects are skipped.
func parseReference(r io.Reader) (map[string]refResult, error) {
	res := map[string]refResult{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var v refResult
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Rule == "" {
			continue
		}
		if v.Rate <= 0 && v.NotMeasured == "" {
			continue
		}
		res[refKey(v.Rule, v.Shape, v.Batch)] = v
	}
	return res, sc.Err()
}

// accuracyLine is how `reproduce` reports a trained net's test accuracy on stdout.
var accuracyLine = regexp.MustCompile(`test accuracy ([0-9.]+)%`)

// e2eRows times `reproduce -dataset mnist -rules bp -epochs 1 -offline -figures=false` (this executable,
// in a fresh process, into a temporary directory) and the study's protocol in PyTorch (the reference's e2e
// command), and returns the wall times and test accuracies.
func e2eRows(ctx context.Context, f *benchFlags, backendName string, stdout, stderr io.Writer) ([]*benchRow, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("-e2e: %w", err)
	}
	dir, err := os.MkdirTemp("", "bpdl-bench-e2e-")
	if err != nil {
		return nil, fmt.Errorf("-e2e: %w", err)
	}
	defer os.RemoveAll(dir)
	args := []string{"-dataset", "mnist", "-rules", "bp", "-epochs", "1", "-offline", "-figures=false", "-backend", backendName, "-out", dir}
	fmt.Fprintf(stdout, "bench -e2e: reproduce %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout = &out
	cmd.Stderr = io.Discard // the progress bar
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("-e2e: reproduce %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	wall := time.Since(start).Seconds()
	m := accuracyLine.FindSubmatch(out.Bytes())
	if m == nil {
		return nil, fmt.Errorf("-e2e: reproduce printed no test accuracy")
	}
	acc, _ := strconv.ParseFloat(string(m[1]), 64)
	fmt.Fprintf(stdout, "bench -e2e: bpdl %.1f s, test accuracy %.2f%%\n", wall, acc)
	shape := "mnist 784-1536-256-10"
	rows := []*benchRow{
		{Name: "end to end: reproduce -dataset mnist -rules bp -epochs 1", Shape: shape, Batch: 4, Bpdl: wall, Unit: "s", Better: "lower",
			Note: "wall time of the process: data, training, test"},
		{Name: "end to end: test accuracy", Shape: shape, Batch: 4, Bpdl: acc, Unit: "%"},
	}
	if f.noRef {
		return rows, nil
	}
	fmt.Fprintf(stdout, "bench -e2e: %s %s e2e\n", f.python, f.script)
	rcmd := exec.CommandContext(ctx, f.python, f.script, "e2e", "--configs", f.configs)
	var rout bytes.Buffer
	rcmd.Stdout = &rout
	rcmd.Stderr = stderr
	if err := rcmd.Run(); err != nil {
		fmt.Fprintf(stderr, "bench -e2e: PyTorch protocol not measured: %v\n", err)
		return rows, nil
	}
	var ref struct {
		Wall     float64 `json:"wall_s"`
		Accuracy float64 `json:"test_accuracy"`
		Torch    int     `json:"torch_threads"`
		Blas     int     `json:"blas_threads"`
	}
	lines := strings.Split(strings.TrimSpace(rout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ref); err != nil || ref.Wall <= 0 {
		fmt.Fprintf(stderr, "bench -e2e: PyTorch protocol printed no result: %q\n", rout.String())
		return rows, nil
	}
	fmt.Fprintf(stdout, "bench -e2e: PyTorch %.1f s, test accuracy %.2f%%\n", ref.Wall, ref.Accuracy)
	config := fmt.Sprintf("torch %d, OpenBLAS %d", ref.Torch, ref.Blas)
	note := "the study's BP loop (fun_cifar10.train_CIFAR10) on MNIST, 1 epoch"
	rows[0].Reference, rows[0].RefConfig, rows[0].RefNote = ref.Wall, config, note
	rows[1].Reference, rows[1].RefConfig, rows[1].RefNote = ref.Accuracy, config, note
	return rows, nil
}

func benchTables(rows []*benchRow, backendName, machine string, f *benchFlags) (csvOut, md []byte) {
	var c, m strings.Builder
	c.WriteString("benchmark,shape,batch,bpdl,reference_pytorch,speedup,unit,reference_config,reference_formulation,reference_all_configs,backend,machine\n")
	fmt.Fprintf(&m, "Measured by `reproduce bench` on %s, backend %s; best of %d round(s) of %g s per measurement.\n",
		machine, backendName, f.rounds, f.seconds)
	m.WriteString("PyTorch: the study's own formulation of each rule (bench/torch_study.py), at the fastest of its thread configurations\n" +
		"(torch threads x OpenBLAS threads), which the table names. Speed-up: how many times faster bpdl is.\n\n")
	m.WriteString("| benchmark | shape | batch | bpdl | PyTorch | PyTorch threads | speed-up | unit |\n|---|---|---|---|---|---|---|---|\n")
	notes := map[string]int{}
	var noteList []string
	for _, r := range rows {
		ref, ratio, cfg := "", "", r.RefConfig
		if r.Reference > 0 {
			ref = strconv.FormatFloat(r.Reference, 'f', 1, 64)
			if s := r.speedup(); s > 0 {
				ratio = strconv.FormatFloat(s, 'f', 2, 64)
			}
		}
		if r.RefNote != "" {
			k, ok := notes[r.RefNote]
			if !ok {
				noteList = append(noteList, r.RefNote)
				k = len(noteList)
				notes[r.RefNote] = k
			}
			if r.Reference > 0 {
				cfg += fmt.Sprintf(" [%d]", k)
			} else {
				ref = fmt.Sprintf("not measured [%d]", k)
			}
		}
		batch := ""
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		val := strconv.FormatFloat(r.Bpdl, 'f', 1, 64)
		csvRef := ""
		if r.Reference > 0 {
			csvRef = strconv.FormatFloat(r.Reference, 'f', 1, 64)
		}
		fmt.Fprintf(&c, "%q,%q,%s,%s,%s,%s,%q,%q,%q,%q,%q,%q\n", r.Name, r.Shape, batch, val, csvRef, ratio, r.Unit, r.RefConfig, r.RefNote,
			allConfigs(r.RefAll), backendName, machine)
		unit := r.Unit
		if r.Note != "" {
			unit += " (" + r.Note + ")"
		}
		fmt.Fprintf(&m, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Shape, batch, val, ref, cfg, ratio, unit)
	}
	if len(noteList) > 0 {
		m.WriteString("\n")
		for i, n := range noteList {
			fmt.Fprintf(&m, "[%d] %s\n", i+1, n)
		}
	}
	return []byte(c.String()), []byte(m.String())
}

// allConfigs lists a row's reference rates per thread configuration, "torch 1, OpenBLAS 2: 4712.0; ...",
// in the order of the configurations.
func allConfigs(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		var ti, bi, tj, bj int
		fmt.Sscanf(keys[i], "%d:%d", &ti, &bi)
		fmt.Sscanf(keys[j], "%d:%d", &tj, &bj)
		return ti < tj || ti == tj && bi < bj
	})
	var parts []string
	for _, k := range keys {
		t, b, _ := strings.Cut(k, ":")
		parts = append(parts, fmt.Sprintf("torch %s, BLAS %s: %.1f", t, b, m[k]))
	}
	return strings.Join(parts, "; ")
}

// machineDescription names the CPU model, the core count and the load when measured.
func machineDescription() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	desc := fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fields := strings.Fields(string(b)); len(fields) >= 3 {
			desc += fmt.Sprintf(", load average %s %s %s at the start", fields[0], fields[1], fields[2])
		}
	}
	return desc
}
