package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// TestRSA92Pixels scores the pixels model on the 92-image data and compares ρ and its bootstrap interval
// with NumPy and SciPy's (testdata/gen_rsa92.py).
func TestRSA92Pixels(t *testing.T) {
	d, err := LoadRSA92(shared.Path(t, "rsa92", "Kriegeskorte_Neuron2008_supplementalData.mat"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Categories[0] != "human bodypart" || d.Categories[91] != "artificial inanimate" {
		t.Errorf("categories %q ... %q", d.Categories[0], d.Categories[91])
	}
	b, err := os.ReadFile(filepath.Join("testdata", "rsa92_pixels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Rho, Low, High  float64
		Bootstrap, Seed int
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	for _, id := range []string{RSA92MacaqueIT, RSA92HumanIT} {
		for _, shape := range [][3]int{{3, 32, 32}, {1, 28, 28}} {
			key := fmt.Sprintf("%s/%dx%dx%d", id[len("rsa92."):], shape[0], shape[1], shape[2])
			t.Run(key, func(t *testing.T) {
				w := want[key]
				d.Bootstrap, d.Seed = w.Bootstrap, uint32(w.Seed)
				b, err := d.Benchmark(id)
				if err != nil {
					t.Fatal(err)
				}
				res, err := b.Score(context.Background(), NewPixels(shape[0], shape[1], shape[2]))
				if err != nil {
					t.Fatal(err)
				}
				s := res.Score()
				if res.Layer != PixelsLayer || math.Abs(s.Raw-w.Rho) > tol || math.Abs(s.Low-w.Low) > tol || math.Abs(s.High-w.High) > tol {
					t.Errorf("layer %q rho %.12f [%.12f, %.12f], SciPy %.12f [%.12f, %.12f]", res.Layer, s.Raw, s.Low, s.High, w.Rho, w.Low, w.High)
				}
				t.Logf("%s", res)
			})
		}
	}
}
