package snn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
)

// benchInputs returns n inputs of a dataset's shape: the real MNIST training images when they are on
// this machine (data.Load, offline), otherwise uniform pixels in [-1, 1] (for CIFAR-10, about as many
// positive pixels as the real images), and the number of classes.
func benchInputs(b *testing.B, name string, n int) ([]float32, []int32, int) {
	b.Helper()
	if ds, err := loadOffline(name); err == nil {
		s := ds.Train.Head(n)
		return s.X, s.Y, s.Dim
	}
	dim := map[string]int{"mnist": 784, "cifar10": 3072}[name]
	x, y := randomBatch(1, n, dim, 10)
	b.Logf("%s not on this machine: uniform random pixels", name)
	return x, y, dim
}

var loadOffline = func() func(string) (*data.Dataset, error) {
	var mu sync.Mutex
	cache := map[string]*data.Dataset{}
	return func(name string) (*data.Dataset, error) {
		mu.Lock()
		defer mu.Unlock()
		if ds, ok := cache[name]; ok {
			return ds, nil
		}
		ds, err := data.Load(context.Background(), name, data.Options{Offline: true})
		if err == nil {
			cache[name] = ds
		}
		return ds, err
	}
}()

// BenchmarkSNNStep times training steps of the study's net (Study) on MNIST and CIFAR-10 shapes, in
// examples per second of wall time and per second of CPU time (all goroutines together).
func BenchmarkSNNStep(b *testing.B) {
	benchSteps(b, Study)
}

// BenchmarkSNNStepTuned times training steps of the tuned net (Tuned).
func BenchmarkSNNStepTuned(b *testing.B) {
	benchSteps(b, Tuned)
}

// BenchmarkSNNStepGraph times training steps of the study's net on the graph engine, on the backend
// $GOMLX_BACKEND names (bpdl's default, the go backend, when unset).
func BenchmarkSNNStepGraph(b *testing.B) {
	benchEngine(b, Study, ImplGraph)
}

// BenchmarkSNNStepTunedGraph times training steps of the tuned net on the graph engine.
func BenchmarkSNNStepTunedGraph(b *testing.B) {
	benchEngine(b, Tuned, ImplGraph)
}

func benchSteps(b *testing.B, config func() Config) {
	benchEngine(b, config, ImplKernels)
}

func benchEngine(b *testing.B, config func() Config, impl Impl) {
	var be compute.Backend
	if impl != ImplKernels {
		var err error
		if be, err = backend.Open(""); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range []string{"mnist", "cifar10"} {
		for _, batch := range []int{4, 32} {
			short := map[string]string{"mnist": "mnist", "cifar10": "cifar"}[name]
			b.Run(fmt.Sprintf("%s/batch=%d", short, batch), func(b *testing.B) {
				const pool = 512
				x, y, dim := benchInputs(b, name, pool)
				cfg := config()
				n, err := NewOn(be, impl, cfg, dim, 10, 1)
				if err != nil {
					b.Fatal(err)
				}
				r := rand.New(rand.NewPCG(1, 1))
				b.ResetTimer()
				cpu0 := processCPU()
				for b.Loop() {
					start := r.IntN(pool - batch)
					if _, err := n.Step(x[start*dim:(start+batch)*dim], y[start:start+batch]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
				if cpu := processCPU() - cpu0; cpu > 0 {
					// Throughput per CPU-second: what the step costs, whatever else the machine runs.
					b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "examples/cpu-s")
				}
			})
		}
	}
}
