package benchmark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// localFile describes a file of the shared data as a DataFile, its checksum computed here.
func localFile(t *testing.T, dir, name string) DataFile {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, dir, name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return DataFile{Dir: dir, File: fetch.File{Name: name, URL: "https://example.invalid/" + name, Size: int64(len(b)),
		Sum: fetch.Checksum{Algorithm: fetch.SHA256, Hex: hex.EncodeToString(sum[:])}}}
}

// exportRegistry holds the offline benchmarks and, as MajajHong2015's, the synthetic MajajHong2015-like
// fixture of the shared data.
func exportRegistry(t *testing.T) *Registry {
	t.Helper()
	reg := &Registry{}
	files := []DataFile{
		localFile(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"),
		localFile(t, "brainscore-synthetic", "stimulus_set.csv"),
		localFile(t, "brainscore-synthetic", "stimulus_set.zip"),
	}
	for _, region := range []string{"V4", "IT"} {
		s := majajHong2015(region)
		if err := reg.Register(Definition{Spec: Spec{Identifier: s.identifier, Region: region, Metric: "pls", Public: true, Selects: true, Files: files},
			Load: neuralLoader(s)}); err != nil {
			t.Fatal(err)
		}
	}
	def := DefaultRegistry()
	for _, id := range []string{RSA92MacaqueIT, RSA92HumanIT, CowleyV4} {
		d, _ := def.Lookup(id)
		if err := reg.Register(d); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// TestPrecomputedEqualsDirect exports the stimuli of the synthetic MajajHong2015 benchmarks, rsa92 and
// Cowley et al., computes a two-layer net's activations to them "outside" (from the exported files),
// and scores those through a Precomputed model: every result must equal scoring the net directly, bit
// for bit, layer commitment included. A benchmark whose folder is removed has no activations.
func TestPrecomputedEqualsDirect(t *testing.T) {
	if testing.Short() {
		t.Skip("scores the Cowley et al. images four times: skipped with -short")
	}
	local, ok := shared.DataDir()
	if !ok {
		t.Skip("shared test data not found: skipping")
	}
	shared.Path(t, "cowley-v4", "responses_raw_210325.npy")
	reg := exportRegistry(t)
	ctx := context.Background()
	const c, h, w = 1, 12, 12
	net := newRandomMLP(c, h, w, []int{32, 26}, 3)
	opts := Options{Registry: reg, Dirs: Dirs{Local: local, Cache: t.TempDir(), Offline: true},
		Benchmarks: []string{RSA92MacaqueIT, MajajHong2015V4, CowleyV4, MajajHong2015IT, RSA92HumanIT}}
	direct, err := ScoreAll(ctx, net, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exported, err := ExportStimuli(ctx, dir, c, h, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exported {
		if r.Status != StatusOK {
			t.Fatalf("export: %s", r)
		}
	}
	// The model, run outside: on the exported images, one .npy per layer beside them.
	sets, err := filepath.Glob(filepath.Join(dir, "*", "*", StimuliFile))
	if err != nil || len(sets) != 1+1+3+1+1 {
		t.Fatalf("exported sets %v (%v)", sets, err)
	}
	for _, path := range sets {
		a, err := npy.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := os.ReadFile(filepath.Join(filepath.Dir(path), IDsFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Shape) != 4 || a.Shape[1] != c || a.Shape[2] != h || a.Shape[3] != w || strings.Count(string(ids), "\n") != a.Shape[0] {
			t.Fatalf("%s: shape %v, %d ids", path, a.Shape, strings.Count(string(ids), "\n"))
		}
		inputs := make([][]float32, a.Shape[0])
		for i := range inputs {
			for _, v := range a.Data[i*c*h*w : (i+1)*c*h*w] {
				inputs[i] = append(inputs[i], float32(v))
			}
		}
		acts, err := net.Activations(ctx, inputs, net.Layers())
		if err != nil {
			t.Fatal(err)
		}
		for l, m := range acts {
			r, k := m.Dims()
			if err := npy.Write(filepath.Join(filepath.Dir(path), l+".npy"), []int{r, k}, m.RawMatrix().Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, RSA92HumanIT)); err != nil {
		t.Fatal(err)
	}
	pre, err := NewPrecomputed(dir, net.Identifier(), c, h, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := pre.Layers(); strings.Join(got, ",") != "fc1,fc2" {
		t.Fatalf("layers %v", got)
	}
	got, err := ScoreAll(ctx, pre, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(direct) {
		t.Fatalf("%d results, direct %d", len(got), len(direct))
	}
	for i, g := range got {
		d := direct[i]
		if g.Benchmark == RSA92HumanIT {
			if g.Status != StatusNoActivations || !strings.Contains(g.Notes[0], filepath.Join(dir, RSA92HumanIT)) {
				t.Errorf("%s without its folder: %s", g.Benchmark, g)
			}
			continue
		}
		if d.Status != StatusOK || g.Status != d.Status || g.Layer != d.Layer || len(g.Layers) != len(d.Layers) || strings.Join(g.Notes, "\n") != strings.Join(d.Notes, "\n") {
			t.Errorf("precomputed:\n%s\ndirect:\n%s", g, d)
			continue
		}
		for k := range d.Layers {
			if !sameScore(g.Layers[k], d.Layers[k]) {
				t.Errorf("%s layer %s: %+v, direct %+v", d.Benchmark, d.Layers[k].Layer, g.Layers[k], d.Layers[k])
			}
		}
	}
	t.Logf("%d benchmarks scored through exported stimuli equal to the direct scores; e.g.\n%s", len(got)-1, got[len(got)-2])
}

// sameScore reports whether two layer scores are identical, NaN equal to NaN.
func sameScore(a, b LayerScore) bool {
	same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	if a.Layer != b.Layer || len(a.PerSplit) != len(b.PerSplit) {
		return false
	}
	for i := range a.PerSplit {
		if !same(a.PerSplit[i], b.PerSplit[i]) {
			return false
		}
	}
	return same(a.Raw, b.Raw) && same(a.Error, b.Error) && same(a.Low, b.Low) && same(a.High, b.High) &&
		same(a.Ceiling, b.Ceiling) && same(a.CeiledRC2, b.CeiledRC2) && same(a.CeiledR2C, b.CeiledR2C)
}
