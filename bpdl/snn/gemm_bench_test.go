package snn

import "testing"

// BenchmarkMulRows times the backward pass's dense product at CIFAR-10/MNIST batch-32 shapes: dL/dc of
// the second hidden layer [3200, 256] times its weights [256, 1536], on one goroutine.
func BenchmarkMulRows(b *testing.B) {
	m, k, n := 3200, 256, 1536
	x, _ := randomBatch(1, m, k, 2)
	w, _ := randomBatch(2, k, n, 2)
	dst := make([]float32, m*n)
	cpu0 := processCPU()
	for b.Loop() {
		for lo := 0; lo < n; lo += blockUnits {
			mulRows(dst, n, x, m, k, w, n, lo, min(lo+blockUnits, n))
		}
	}
	flop := 2 * float64(m*n*k) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(flop/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}
