package benchmark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// toyBenchmark is the whole of a new benchmark: it shows the model four 1×2×2 images and scores each
// layer by the Pearson r between the sum of the layer's activations per image and a recorded value per image
// (its file holds the four values, one per line). A real one lives in a file of its own.
type toyBenchmark struct {
	id, region string
	target     []float64
	// seen records the layers of each model it scored.
	seen *[][]string
}

func (b *toyBenchmark) Identifier() string { return b.id }
func (b *toyBenchmark) Region() string     { return b.region }

func (b *toyBenchmark) Score(ctx context.Context, m Model) (*Result, error) {
	inputs := [][]float32{{0, 1, 2, 3}, {1, 1, 1, 2}, {3, 0, 0, 1}, {2, 2, 0, 0}}
	acts, err := activations(ctx, m, inputs, m.Layers())
	if err != nil {
		return nil, err
	}
	*b.seen = append(*b.seen, m.Layers())
	res := &Result{Benchmark: b.id, Region: b.region, Model: m.Identifier(), Status: StatusOK}
	for _, l := range m.Layers() {
		a := acts[l]
		r, _ := a.Dims()
		sum := make([]float64, r)
		for i := range sum {
			for _, v := range a.RawRowView(i) {
				sum[i] += v
			}
		}
		s := nanScore(l)
		s.Raw = metric.Pearson(sum, b.target)
		res.Layers = append(res.Layers, s)
	}
	res.Commit("")
	return res, nil
}

// toyDefinition registers a toy benchmark whose data file lies in dir/toy/.
func toyDefinition(t *testing.T, dir, id, region string, selects bool, target string, seen *[][]string) Definition {
	t.Helper()
	name := id + ".txt"
	if err := os.MkdirAll(filepath.Join(dir, "toy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "toy", name), []byte(target), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(target))
	return Definition{
		Spec: Spec{Identifier: id, Region: region, Metric: "toy", Selects: selects, Description: "a toy benchmark",
			Files: []DataFile{{Dir: "toy", File: fetch.File{Name: name, URL: "https://example.invalid/" + name, Size: int64(len(target)),
				Sum: fetch.Checksum{Algorithm: fetch.SHA256, Hex: hex.EncodeToString(sum[:])}}}}},
		Load: func(ctx context.Context, src *Source) (Benchmark, error) {
			b, err := os.ReadFile(src.Paths[0])
			if err != nil {
				return nil, err
			}
			var v []float64
			for _, f := range strings.Fields(string(b)) {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", src.Paths[0], err)
				}
				v = append(v, x)
			}
			return &toyBenchmark{id: id, region: region, target: v, seen: seen}, nil
		},
	}
}

// twoLayers is a model with two layers: "pos", the input itself, and "neg", its negation.
type twoLayers struct{}

func (twoLayers) Identifier() string     { return "two-layers" }
func (twoLayers) Input() (int, int, int) { return 1, 2, 2 }
func (twoLayers) Layers() []string       { return []string{"pos", "neg"} }
func (twoLayers) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	pos, neg := mat.NewDense(len(inputs), 4, nil), mat.NewDense(len(inputs), 4, nil)
	for i, x := range inputs {
		for j, v := range x {
			pos.Set(i, j, float64(v))
			neg.Set(i, j, -float64(v))
		}
	}
	return map[string]*mat.Dense{"pos": pos, "neg": neg}, ctx.Err()
}

// TestRegisterToyBenchmarks adds benchmarks to a registry (a definition each, as a new file of this
// package would with one line in DefaultRegistry) and scores them with ScoreAll: the selection benchmark
// of region X commits X to its best layer, and the other benchmark of X, though listed first, runs after
// it and sees only that layer; the default registry is not changed.
func TestRegisterToyBenchmarks(t *testing.T) {
	dir := t.TempDir()
	var seen [][]string
	reg := DefaultRegistry()
	// The recorded values fall with the images' mean, so "neg" is the better layer.
	if err := reg.Register(toyDefinition(t, dir, "toy.X-other", "X", false, "1 3 2 4", &seen)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(toyDefinition(t, dir, "toy.X-select", "X", true, "-6 -5 -4 -4", &seen)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(toyDefinition(t, t.TempDir(), "toy.X-select", "X", true, "0", &seen)); err == nil {
		t.Error("a second definition of toy.X-select was accepted")
	}
	if _, ok := DefaultRegistry().Lookup("toy.X-select"); ok {
		t.Error("registering changed DefaultRegistry")
	}
	res, err := ScoreAll(context.Background(), twoLayers{}, Options{
		Registry: reg, Benchmarks: []string{"toy.X-other", "toy.X-select"},
		Dirs: Dirs{Local: dir, Cache: t.TempDir(), Offline: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Benchmark != "toy.X-other" || res[1].Benchmark != "toy.X-select" {
		t.Fatalf("results %v, want toy.X-other then toy.X-select", res)
	}
	if want := [][]string{{"pos", "neg"}, {"neg"}}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("the benchmarks saw layers %v, want %v (selection first, then the committed layer)", seen, want)
	}
	sel, other := res[1], res[0]
	if sel.Status != StatusOK || sel.Layer != "neg" || !(sel.Score().Raw > 0.9) {
		t.Errorf("selection: %s", sel)
	}
	if other.Status != StatusOK || other.Layer != "neg" || len(other.Layers) != 1 || !strings.Contains(strings.Join(other.Notes, "\n"), "committed to X by toy.X-select") {
		t.Errorf("other: %s", other)
	}
	want := metric.Pearson([]float64{-6, -5, -4, -4}, []float64{1, 3, 2, 4})
	if got := other.Score().Raw; math.Abs(got-want) > 1e-12 {
		t.Errorf("other: raw %v, want %v", got, want)
	}
}

// TestScoreAllUnknown names the known benchmarks when asked for an unknown one.
func TestScoreAllUnknown(t *testing.T) {
	_, err := ScoreAll(context.Background(), twoLayers{}, Options{Benchmarks: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), RSA92MacaqueIT) {
		t.Errorf("error %v, want one naming nope and the known benchmarks", err)
	}
}

// TestMemo checks that a memoised model runs once for the same inputs and again for others.
func TestMemo(t *testing.T) {
	c := &countingModel{Model: twoLayers{}}
	m := Memo(c)
	in := [][]float32{{1, 2, 3, 4}}
	ctx := context.Background()
	for _, layers := range [][]string{{"pos", "neg"}, {"neg"}, {"pos"}} {
		if _, err := m.Activations(ctx, in, layers); err != nil {
			t.Fatal(err)
		}
	}
	if c.calls != 1 {
		t.Errorf("%d runs for the same inputs, want 1", c.calls)
	}
	if _, err := m.Activations(ctx, [][]float32{{1, 2, 3, 5}}, []string{"pos"}); err != nil {
		t.Fatal(err)
	}
	if c.calls != 2 {
		t.Errorf("%d runs after new inputs, want 2", c.calls)
	}
}

type countingModel struct {
	Model
	calls int
}

func (c *countingModel) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	c.calls++
	return c.Model.Activations(ctx, inputs, layers)
}
