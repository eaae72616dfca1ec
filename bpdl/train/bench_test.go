package train

import (
	"cmp"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/compute"
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
// 4 and 128 (and BP on MNIST shapes, 784-1536-256-10), in examples per second (also per CPU-second, which a
// shared machine disturbs less). "cpu" is
// the step as MLP takes it on the go backend (the fast path, see cpuStep), "graph" the step graph
// (Options.GraphStep). $BPDL_BENCH_BACKEND chooses the backend (default "go", bpdl's default options).
//
//	GOEXPERIMENT=simd go test ./bpdl/train -run '^$' -bench 'MLPStep/cifar10/.*/.*/cpu' -benchtime 3s
func BenchmarkMLPStep(b *testing.B) {
	be, err := backend.Open(cmp.Or(os.Getenv("BPDL_BENCH_BACKEND"), "go"))
	if err != nil {
		b.Fatal(err)
	}
	type shape struct {
		name   string
		inputs int
		rules  []string
	}
	for _, sh := range []shape{{"cifar10", 3072, []string{"bp", "fa", "dfa", "dtp", "dtp-tuned"}}, {"mnist", 784, []string{"bp"}}} {
		spec := nn.NewSpec(sh.inputs, nn.StudyHidden, 10)
		for _, rule := range sh.rules {
			for _, batch := range []int{4, 128} {
				for _, path := range []string{"cpu", "graph"} {
					benchStep(b, be, spec, fmt.Sprintf("%s/%s/batch=%d/%s", sh.name, rule, batch, path), rule, batch, path == "graph")
				}
			}
		}
	}
}

// benchStep is one sub-benchmark of BenchmarkMLPStep.
func benchStep(b *testing.B, be compute.Backend, spec nn.Spec, name, rule string, batch int, graph bool) {
	b.Run(name, func(b *testing.B) {
		l, err := DefaultRegistry().New(rule, be, Options{Spec: spec, Seed: 1, GraphStep: graph})
		if err != nil {
			b.Fatal(err)
		}
		// Eight batches of random data, taken in turn.
		set := toySet(1, 8*batch, spec.Sizes[0], 10)
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
