package snn

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// The ablation behind Tuned: variants of the study's net trained on MNIST's first 50,000 training images
// and scored on the other 10,000 (a validation split carved from the training set; the test set is never
// used). It takes hours on two cores, so it runs only when asked:
//
//	GOEXPERIMENT=simd go test ./bpdl/snn -run TestAblation -timeout 0 -v -snn.ablation=all
//	GOEXPERIMENT=simd go test ./bpdl/snn -run TestAblation -timeout 0 -v -snn.ablation=tuned,tuned-max
var (
	ablation         = flag.String("snn.ablation", "", "comma-separated ablation variants to train, or all")
	ablationExamples = flag.Int("snn.ablation.examples", 12000, "training examples per variant")
	ablationEvery    = flag.Int("snn.ablation.every", 6000, "validate every this many training examples")
	ablationVal      = flag.Int("snn.ablation.val", 5000, "validation examples scored (of the 10,000 held out)")
)

// ablationVariants are the variants, each a change (or a set of changes) to the study's net, in the
// order of the table in docs/snn.md.
func ablationVariants() []struct {
	name string
	cfg  Config
} {
	adam := func(c Config) Config {
		c.Optimizer, c.Batch = optim.DefaultAdam(1e-3), 32
		return c
	}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	study := Study()
	fast := with(study, func(c *Config) { c.FMax = 1000 })
	tuned := func(f func(*Config)) Config { return with(Tuned(), f) }
	return []struct {
		name string
		cfg  Config
	}{
		// Cumulative changes from the study's net.
		{"study", study},
		{"fmax1000", fast},
		{"fmax1000-adam", adam(fast)},
		{"fmax1000-adam-alpha20", adam(with(fast, func(c *Config) { c.Neuron = withAlpha(c.Neuron, 20) }))},
		{"fmax1000-adam-mean", adam(with(fast, func(c *Config) { c.Decode = DecodeMean }))},
		{"fmax1000-adam-mean-alpha20", adam(with(fast, func(c *Config) { c.Decode, c.Neuron = DecodeMean, withAlpha(c.Neuron, 20) }))},
		{"tuned", Tuned()},
		// Tuned, less one change (or with another value).
		{"tuned-fmax20", tuned(func(c *Config) { c.FMax = 20 })},
		{"tuned-fmax1000", tuned(func(c *Config) { c.FMax = 1000 })},
		{"tuned-sgd", tuned(func(c *Config) { c.Optimizer, c.Batch = optim.Study(), 4 })},
		{"tuned-max", tuned(func(c *Config) { c.Decode = DecodeMax })},
		{"tuned-alpha20", tuned(func(c *Config) { c.Neuron = withAlpha(c.Neuron, 20) })},
		{"tuned-lr3e-4", tuned(func(c *Config) { c.Optimizer = c.Optimizer.WithLearningRate(3e-4) })},
		{"tuned-lr3e-3", tuned(func(c *Config) { c.Optimizer = c.Optimizer.WithLearningRate(3e-3) })},
		// Learning rates around Adam's 1e-3, and a lower input rate, with the max decoder.
		{"fmax1000-adam-lr3e-4", with(adam(fast), func(c *Config) { c.Optimizer = c.Optimizer.WithLearningRate(3e-4) })},
		{"fmax1000-adam-lr3e-3", with(adam(fast), func(c *Config) { c.Optimizer = c.Optimizer.WithLearningRate(3e-3) })},
		{"fmax300-adam", adam(with(study, func(c *Config) { c.FMax = 300 }))},
	}
}

// withAlpha returns the LIF neuron n with its surrogate's sharpness set to alpha.
func withAlpha(n Neuron, alpha float64) Neuron {
	lif := n.(LIF)
	lif.Alpha = alpha
	return lif
}

func TestAblation(t *testing.T) {
	if *ablation == "" {
		t.Skip("the ablation runs only with -snn.ablation (see ablation_test.go)")
	}
	ds, err := loadOffline(data.MNIST)
	if err != nil {
		t.Skipf("MNIST is not on this machine: %v", err)
	}
	trainSet := ds.Train.Head(50000)
	idx := make([]int, 10000)
	for i := range idx {
		idx[i] = 50000 + i
	}
	val := ds.Train.Subset(idx).Head(*ablationVal)
	want := map[string]bool{}
	for _, v := range strings.Split(*ablation, ",") {
		want[v] = true
	}
	fmt.Printf("| variant | examples | validation accuracy | loss | hidden rates | ex/s |\n|---|---|---|---|---|---|\n")
	for _, v := range ablationVariants() {
		if !want["all"] && !want[v.name] {
			continue
		}
		n, err := New(v.cfg, trainSet.Dim, trainSet.Classes, 42)
		if err != nil {
			t.Fatal(err)
		}
		batch := v.cfg.Batch
		seen := 0
		start := time.Now()
		trained := time.Duration(0)
		for epoch := 0; seen < *ablationExamples; epoch++ {
			order := rand.New(rand.NewPCG(42, uint64(epoch)+1)).Perm(trainSet.N)
			for s := 0; s+batch <= trainSet.N && seen < *ablationExamples; s += batch {
				b := trainSet.Subset(order[s : s+batch])
				if _, err := n.Step(b.X, b.Y); err != nil {
					t.Fatal(err)
				}
				seen += batch
				if seen%*ablationEvery < batch || seen >= *ablationExamples {
					trained += time.Since(start)
					p, err := n.Probe(val.X, val.Y)
					if err != nil {
						t.Fatal(err)
					}
					fmt.Printf("| %s | %d | %.2f%% | %.3f | %.4f, %.4f | %.0f |\n", v.name, seen, 100*p.Accuracy, p.Loss, p.Rates[1], p.Rates[2], float64(seen)/trained.Seconds())
					start = time.Now()
				}
			}
		}
	}
}
