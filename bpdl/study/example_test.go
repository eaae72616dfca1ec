package study_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/study"
)

// This trains a small net with backprop on 2,000 MNIST images and scores it on the macaque IT RSA
// benchmark, whose data it reads from a local copy (brainData: the folder holding rsa92/).
func Example() {
	cfg := study.Quick()
	cfg.Rules, cfg.Hidden, cfg.TrainLimit, cfg.TestLimit = []string{"bp"}, []int{64, 32}, 2000, 1000
	cfg.Benchmarks, cfg.BrainData = []string{benchmark.RSA92MacaqueIT}, brainData
	cfg.Backend = backend.GoSequential // small graphs: one op at a time
	cfg.Out, _ = os.MkdirTemp("", "bpdl-example-")
	defer os.RemoveAll(cfg.Out)

	s, err := study.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Plan()
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Execute(context.Background(), runs[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: test accuracy above 50%%: %v\n", res.Rule, res.TestAccuracy > 0.5)
	for _, sc := range res.Scores {
		fmt.Printf("%s (%s): %s, RSA in [-1, 1]: %v\n", sc.Benchmark, sc.Region, sc.Status, sc.Raw >= -1 && sc.Raw <= 1)
	}
	// Output:
	// bp: test accuracy above 50%: true
	// rsa92.macaque-IT (IT): ok, RSA in [-1, 1]: true
}
