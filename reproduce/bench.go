package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	Name      string  // e.g. "bp step", "snn step"
	Shape     string  // e.g. "cifar10 3072-1536-256-10"
	Batch     int     // 0 when not a training step
	Bpdl      float64 // examples per second (or the measure named in Unit)
	Reference float64 // the PyTorch reference, 0 when not measured
	Unit      string
	Note      string
}

// shapes of the benchmarks: the study's CIFAR-10 net, and MNIST's for the spiking net.
var benchShapes = map[string][]int{
	"cifar10": {3072, 1536, 256, 10},
	"mnist":   {784, 1536, 256, 10},
}

// runBench measures every learner's training step at the study's batch sizes against the PyTorch
// reference scripts in bench/, and the brain-scoring pipeline, and writes bench.csv and bench.md.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench", "output directory for bench.csv and bench.md")
	seconds := fs.Float64("seconds", 3, "seconds of timed steps per measurement")
	python := fs.String("python", "/usr/bin/python3", "Python with PyTorch for the reference scripts (Debian's python3-torch)")
	noRef := fs.Bool("no-reference", false, "skip the PyTorch reference scripts")
	rulesFlag := fs.String("rules", "", "comma-separated learners (default: all)")
	be := fs.String("backend", "", "GoMLX backend (default $GOMLX_BACKEND or go)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError("%v", err)
	}
	if *seconds <= 0 {
		return usageError("-seconds %g: want > 0", *seconds)
	}
	if err := checkWritable(*out); err != nil {
		return err
	}
	backendName := backend.Resolve(*be)
	b, err := backend.Open(backendName)
	if err != nil {
		return err
	}
	defer b.Finalize()
	reg := train.DefaultRegistry()
	names := reg.Names()
	if *rulesFlag != "" {
		names = strings.Split(*rulesFlag, ",")
		for _, n := range names {
			if _, ok := reg[n]; !ok {
				return usageError("-rules: unknown rule %q (known: %s)", n, strings.Join(reg.Names(), ", "))
			}
		}
	}
	machine := machineDescription()
	fmt.Fprintf(stdout, "bench: backend %s on %s\n", backendName, machine)

	var rows []benchRow
	budget := time.Duration(*seconds * float64(time.Second))
	for _, name := range names {
		spiking := strings.HasPrefix(name, "snn")
		shapeNames, batches := []string{"cifar10"}, []int{4, 128}
		if spiking {
			shapeNames, batches = []string{"mnist", "cifar10"}, []int{4, 32}
		}
		for _, sn := range shapeNames {
			sizes := benchShapes[sn]
			spec := nn.Spec{Sizes: sizes}
			for _, batch := range batches {
				l, err := reg.New(name, b, train.Options{Spec: spec, Seed: 1, Override: train.Overrides{Batch: batch}})
				if err != nil {
					return err
				}
				rate, err := train.Calibrate(l, randomSet(sizes[0], sizes[len(sizes)-1], batch), budget)
				if err != nil {
					return err
				}
				row := benchRow{Name: name + " step", Shape: sn + " " + spec.String(), Batch: batch, Bpdl: rate, Unit: "examples/s"}
				fmt.Fprintf(stdout, "  %-18s %-28s batch %-4d %10.1f examples/s\n", row.Name, row.Shape, batch, rate)
				rows = append(rows, row)
			}
		}
	}
	scoring, err := brainScoringRows(ctx, b, benchmark.PublicSizes(), nn.PaperHidden, stdout)
	if err != nil {
		return err
	}
	rows = append(rows, scoring...)

	if !*noRef {
		for _, script := range []string{"bench/torch_rules.py", "bench/torch_snn.py"} {
			ref, err := runReference(ctx, *python, script, *seconds, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "bench: reference %s not measured: %v\n", script, err)
				continue
			}
			for i := range rows {
				if v, ok := ref[refKey(rows[i])]; ok {
					rows[i].Reference = v
				}
			}
		}
	}
	csvOut, md := benchTables(rows, backendName, machine)
	write := func(name string, b []byte) error {
		return fetch.WriteAtomic(filepath.Join(*out, name), func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	if err := write("bench.csv", csvOut); err != nil {
		return err
	}
	if err := write("bench.md", md); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\nwrote %s\n", md, filepath.Join(*out, "bench.md"))
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

// refKey is how a row is matched with a reference measurement: "rule/shape/batch".
func refKey(r benchRow) string {
	name := strings.TrimSuffix(r.Name, " step")
	shape, _, _ := strings.Cut(r.Shape, " ")
	return fmt.Sprintf("%s/%s/%d", name, shape, r.Batch)
}

// runReference runs a PyTorch reference script, which prints JSON lines {"rule", "batch", "examples_per_s"}
// (and "shape": "mnist" or "cifar10", CIFAR-10 when absent; "rule" defaults to "snn" for the spiking
// script), and returns the rates by refKey.
func runReference(ctx context.Context, python, script string, seconds float64, stderr io.Writer) (map[string]float64, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, script, strconv.FormatFloat(seconds, 'f', -1, 64))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", python, script, err)
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var v struct {
			Rule    string  `json:"rule"`
			Shape   string  `json:"shape"`
			Batch   int     `json:"batch"`
			Rate    float64 `json:"examples_per_s"`
			Variant string  `json:"variant"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Rate == 0 {
			continue
		}
		if v.Rule == "" {
			v.Rule = "snn"
		}
		if v.Shape == "" {
			v.Shape = "cifar10"
		}
		res[fmt.Sprintf("%s/%s/%d", v.Rule, v.Shape, v.Batch)] = v.Rate
	}
	return res, sc.Err()
}

func benchTables(rows []benchRow, backendName, machine string) (csvOut, md []byte) {
	var c, m strings.Builder
	c.WriteString("benchmark,shape,batch,bpdl,reference_pytorch,ratio,unit,backend,machine\n")
	fmt.Fprintf(&m, "Measured by `reproduce bench` on %s, backend %s.\n\n", machine, backendName)
	m.WriteString("| benchmark | shape | batch | bpdl | PyTorch | ratio | unit |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		ref, ratio := "", ""
		if r.Reference > 0 {
			ref = strconv.FormatFloat(r.Reference, 'f', 1, 64)
			ratio = strconv.FormatFloat(r.Bpdl/r.Reference, 'f', 2, 64)
		}
		batch := ""
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		val := strconv.FormatFloat(r.Bpdl, 'f', 1, 64)
		fmt.Fprintf(&c, "%q,%q,%s,%s,%s,%s,%q,%q,%q\n", r.Name, r.Shape, batch, val, ref, ratio, r.Unit, backendName, machine)
		unit := r.Unit
		if r.Note != "" {
			unit += " (" + r.Note + ")"
		}
		fmt.Fprintf(&m, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Shape, batch, val, ref, ratio, unit)
	}
	return []byte(c.String()), []byte(m.String())
}

// machineDescription names the CPU model and core count.
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
	return fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
}
