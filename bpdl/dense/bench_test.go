package dense

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// cpuTime is the process's user and system time, so that the benchmarks also report throughput per
// CPU-second, which other processes on a shared machine disturb less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKernels times Linear and Update (SGD with momentum) on the first layer of the study's
// CIFAR-10 net (3072 inputs, 1536 units) at batch 4 and 128, with Workers() goroutines.
//
//	GOEXPERIMENT=simd go test ./bpdl/dense -run '^$' -bench Kernels
func BenchmarkKernels(b *testing.B) {
	n, k := 1536, 3072
	rng := rand.New(rand.NewPCG(1, 2))
	w, v, bias := random(rng, n*k), make([]float32, n*k), random(rng, n)
	span := optim.HostStepOf(optim.Study(), 1, 1)
	for _, m := range []int{4, 128} {
		x, d := random(rng, m*k), random(rng, m*n)
		out := make([]float32, m*n)
		var ws Workspace
		flop := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("Linear/batch=%d", m), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				ws.Linear(out, x, w, bias, m, n, k, Workers())
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flop*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e9, "GFLOP/cpu-s")
		})
		b.Run(fmt.Sprintf("Update/batch=%d", m), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				ws.Update(Param{P: w, S0: v}, Param{}, d, x, m, n, k, span, Workers())
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flop*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e9, "GFLOP/cpu-s")
			b.ReportMetric(float64(4*4*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
