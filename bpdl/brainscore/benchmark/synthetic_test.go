package benchmark

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// randomMLP is the study's net shape with random weights: input → fc1 → ReLU → fc2, whose layers
// report the Linear outputs (before ReLU), as the study's hooks did.
type randomMLP struct {
	c, h, w int
	weights []*mat.Dense // [in, out]
	names   []string
}

func newRandomMLP(c, h, w int, hidden []int, seed uint64) *randomMLP {
	rng := rand.New(rand.NewPCG(seed, 2))
	m := &randomMLP{c: c, h: h, w: w}
	in := c * h * w
	for i, out := range hidden {
		d := make([]float64, in*out)
		s := 1 / math.Sqrt(float64(in))
		for j := range d {
			d[j] = s * rng.NormFloat64()
		}
		m.weights = append(m.weights, mat.NewDense(in, out, d))
		m.names = append(m.names, fmt.Sprintf("fc%d", i+1))
		in = out
	}
	return m
}

func (m *randomMLP) Identifier() string     { return "random-mlp" }
func (m *randomMLP) Input() (int, int, int) { return m.c, m.h, m.w }
func (m *randomMLP) Layers() []string       { return m.names }
func (m *randomMLP) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	x := mat.NewDense(len(inputs), m.c*m.h*m.w, nil)
	for i, in := range inputs {
		row := x.RawRowView(i)
		for j, v := range in {
			row[j] = float64(v)
		}
	}
	out := map[string]*mat.Dense{}
	for i, w := range m.weights {
		var z mat.Dense
		z.Mul(x, w)
		out[m.names[i]] = &z
		var a mat.Dense
		a.Apply(func(_, _ int, v float64) float64 { return math.Max(0, v) }, &z)
		x = &a
	}
	return out, ctx.Err()
}

// smallSizes are a fraction of the public sizes, for tests.
func smallSizes() Sizes {
	return Sizes{
		HvMObjects: 8, HvMPerObject: 10, HvMRepetitions: 6, HvMV4: 10, HvMIT: 12, HvMSize: 64,
		FZFamilies: 5, FZPerFamily: 8, FZRepetitions: 6, FZV1: 8, FZV2: 9, FZBins: 300, FZSize: 80,
		Objects: 6, ObjectomePerObject: 12, TrialsPerImage: 40, ObjectomeSize: 64,
	}
}

// TestRunSynthetic runs the public benchmarks' code on small synthetic data: every benchmark must
// score, the planted object tuning must give clearly positive neural scores, and the synthetic
// behaviour some i2n consistency.
func TestRunSynthetic(t *testing.T) {
	var log strings.Builder
	res, _, err := RunSynthetic(context.Background(), newRandomMLP(3, 32, 32, []int{64, 32}, 1), smallSizes(), 7, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	want := []string{FreemanZiemba2013V1, FreemanZiemba2013V2, MajajHong2015V4, MajajHong2015IT, Rajalingham2018I2n}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d", len(res), len(want))
	}
	for i, r := range res {
		s := r.Score()
		if r.Benchmark != want[i] || r.Status != StatusOK || math.IsNaN(s.Raw) || math.IsNaN(s.Ceiling) {
			t.Errorf("%s: status %q, raw %v, ceiling %v", r.Benchmark, r.Status, s.Raw, s.Ceiling)
		}
		if r.Benchmark != Rajalingham2018I2n && (s.Raw < 0.2 || s.Ceiling < 0.5) {
			t.Errorf("%s: raw %.3f, ceiling %.3f: the planted tuning should give more", r.Benchmark, s.Raw, s.Ceiling)
		}
	}
}

// BenchmarkPublicSynthetic scores a random net of the study's shape (3072-1536-256) on synthetic data
// at the public data sets' sizes (PublicSizes) and reports the peak heap. Run it with
//
//	GOEXPERIMENT=simd go test ./bpdl/brainscore/benchmark -run XXX -bench PublicSynthetic -benchtime 1x
//
// and compare the process's peak RSS with /usr/bin/time -v (numbers in README.md).
func BenchmarkPublicSynthetic(b *testing.B) {
	if os.Getenv("BPDL_BENCH_FULL") == "" && testing.Short() {
		b.Skip("skipped with -short")
	}
	m := newRandomMLP(3, 32, 32, []int{1536, 256}, 1)
	for b.Loop() {
		start := time.Now()
		res, times, err := RunSynthetic(context.Background(), m, PublicSizes(), 7, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range times {
			b.Logf("%-40s %s", t.Step, t.Duration.Round(time.Millisecond))
		}
		for _, r := range res {
			s := r.Score()
			b.Logf("%-32s layer %-4s raw %.4f ceiling %.4f", r.Benchmark, r.Layer, s.Raw, s.Ceiling)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Sys)/(1<<30), "GiB-sys")
		b.ReportMetric(time.Since(start).Seconds(), "s")
	}
}
