package train

import (
	"cmp"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/nn"
)

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMLPStep measures one training step of every MLP rule (forward, the rule's updates, clipping
// and the optimiser step of its published settings) on the study's CIFAR-10 shapes, random data, at batch
// 4 and 128, in examples per second (also per CPU-second, which a shared machine disturbs less). "cpu" is
// the step as MLP takes it on the go backend (the fast path, see cpuStep), "graph" the step graph
// (Options.GraphStep). $BPDL_BENCH_BACKEND chooses the backend (default "go", bpdl's default options).
//
//	GOEXPERIMENT=simd go test ./bpdl/train -run '^$' -bench MLPStep -benchtime 3s
func BenchmarkMLPStep(b *testing.B) {
	be, err := backend.Open(cmp.Or(os.Getenv("BPDL_BENCH_BACKEND"), "go"))
	if err != nil {
		b.Fatal(err)
	}
	spec := nn.NewSpec(3072, nn.StudyHidden, 10)
	for _, rule := range []string{"bp", "fa", "dfa", "dtp", "dtp-tuned"} {
		for _, batch := range []int{4, 128} {
			for _, path := range []string{"cpu", "graph"} {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", rule, batch, path), func(b *testing.B) {
					l, err := DefaultRegistry().New(rule, be, Options{Spec: spec, Seed: 1, GraphStep: path == "graph"})
					if err != nil {
						b.Fatal(err)
					}
					// Eight batches of random data, taken in turn.
					set := toySet(1, 8*batch, 3072, 10)
					xs, ys := make([]*tensors.Tensor, 8), make([]*tensors.Tensor, 8)
					for i := range xs {
						idx := make([]int, batch)
						for j := range idx {
							idx[j] = i*batch + j
						}
						xs[i], ys[i] = batchTensors(set, idx)
					}
					for i := 0; i < 2; i++ { // compile and warm up
						if _, err := l.Step(xs[i], ys[i]); err != nil {
							b.Fatal(err)
						}
					}
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := l.Step(xs[i%8], ys[i%8]); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
					b.ReportMetric(float64(b.N*batch)/(cpuTime()-cpu0).Seconds(), "examples/cpu-s")
				})
			}
		}
	}
}
