package perf

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/study"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Scoring times the brain-scoring pipeline: an untrained bp learner of the study's CIFAR-10 shape with
// the given hidden widths, scored on synthetic stand-ins of the five public benchmarks at the given sizes
// (benchmark.PublicSizes for the real ones' sizes; benchmark.RunSynthetic), through the same code as real
// data from the assembly on; each result goes to log. It returns one row per step (seconds), the total,
// and the memory the Go runtime obtained from the system (GiB: an upper bound of the heap's peak; the
// process's peak RSS is what /usr/bin/time -v reports).
func Scoring(ctx context.Context, b compute.Backend, sizes benchmark.Sizes, hidden []int, log io.Writer) ([]*Row, error) {
	spec := nn.NewSpec(3*32*32, hidden, 10)
	l, err := train.DefaultRegistry().New("bp", b, train.Options{Spec: spec, Seed: 1})
	if err != nil {
		return nil, err
	}
	m := study.NewModel(l, 3, 32, 32, false)
	start := time.Now()
	results, times, err := benchmark.RunSynthetic(ctx, m, sizes, 1, log)
	if err != nil {
		return nil, err
	}
	total := time.Since(start)
	shape := "cifar10 " + spec.String()
	var rows []*Row
	for _, t := range times {
		rows = append(rows, &Row{Name: "brain scoring: " + t.Step, Shape: shape, Bpdl: t.Duration.Seconds(), Unit: "s"})
	}
	rows = append(rows, &Row{Name: "brain scoring: five public benchmarks", Shape: shape, Bpdl: total.Seconds(), Unit: "s",
		Note: fmt.Sprintf("%d results, synthetic data at the public sets' sizes", len(results))})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rows = append(rows, &Row{Name: "brain scoring: memory from the OS", Shape: shape, Bpdl: float64(ms.Sys) / (1 << 30), Unit: "GiB"})
	return rows, nil
}
