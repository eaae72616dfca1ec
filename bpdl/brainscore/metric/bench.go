package metric

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"
)

// BenchResult is what BenchScoring measured.
type BenchResult struct {
	// Images, Features, Neuroids and Splits describe the problem scored.
	Images, Features, Neuroids, Splits int
	// Elapsed is the wall time of the cross-validated scoring (data generation excluded).
	Elapsed time.Duration
	// CPU is the CPU time (user plus system, all threads) the scoring used; on a machine shared with
	// other work it is a steadier measure than Elapsed. 0 where the platform does not report it.
	CPU time.Duration
	// PeakRSS is the process's peak resident set size in bytes after the run (0 where the platform does
	// not report it). It covers the whole process, so it includes whatever ran before.
	PeakRSS int64
	// Score is the predictivity found (the data have planted linear structure, so it is high).
	Score *Score
}

// String formats the result on one line.
func (b BenchResult) String() string {
	return fmt.Sprintf("PLS-25 cross-validation, %d images x %d features -> %d neuroids, %d splits: %.2f s wall, %.2f s CPU, peak RSS %.0f MiB, raw %.4f",
		b.Images, b.Features, b.Neuroids, b.Splits, b.Elapsed.Seconds(), b.CPU.Seconds(), float64(b.PeakRSS)/(1<<20), b.Score.Raw)
}

// BenchScoring times Brain-Score's neural predictivity (PLS with 25 components, ten stratified 90/10
// splits) on synthetic data of the given size: ReLU features of a 64-dimensional latent signal plus
// noise, and responses that are noisy, rectified linear read-outs of the same latent signal, with images
// in 64 balanced object classes. The study's largest case is 3200 images, 1536 features and 256 neuroids.
func BenchScoring(images, features, neuroids int) (BenchResult, error) {
	x, y, labels := BenchData(images, features, neuroids, 1)
	splits, err := BrainScoreSplits(images, labels)
	if err != nil {
		return BenchResult{}, fmt.Errorf("metric: bench: %w", err)
	}
	start, cpu0 := time.Now(), cpuTime()
	s, err := Predictivity(x, y, splits, BrainScorePLS())
	if err != nil {
		return BenchResult{}, fmt.Errorf("metric: bench: %w", err)
	}
	return BenchResult{
		Images: images, Features: features, Neuroids: neuroids, Splits: len(splits),
		Elapsed: time.Since(start), CPU: cpuTime() - cpu0, PeakRSS: peakRSS(), Score: s,
	}, nil
}

// BenchData returns deterministic synthetic features (images × features), responses (images × neuroids)
// and object labels for benchmarks: features ReLU(Z A + 0.5 E), responses ReLU(Z B) + F, with Z
// (images × 64), A, B, E and F standard normal from a PCG generator seeded with seed, and labels i mod 64.
func BenchData(images, features, neuroids int, seed uint64) (x, y *mat.Dense, labels []int) {
	const latent = 64
	rng := rand.New(rand.NewPCG(seed, 0x62706c64))
	normal := func(r, c int) *mat.Dense {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		return mat.NewDense(r, c, d)
	}
	z := normal(images, latent)
	x = mat.NewDense(images, features, nil)
	x.Mul(z, normal(latent, features))
	noise := normal(images, features)
	x.Apply(func(i, j int, v float64) float64 { return math.Max(0, v+0.5*noise.At(i, j)) }, x)
	y = mat.NewDense(images, neuroids, nil)
	y.Mul(z, normal(latent, neuroids))
	noise = normal(images, neuroids)
	y.Apply(func(i, j int, v float64) float64 { return math.Max(0, v) + noise.At(i, j) }, y)
	labels = make([]int, images)
	for i := range labels {
		labels[i] = i % latent
	}
	return x, y, labels
}
