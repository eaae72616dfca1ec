package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// TestGramFeaturesEquivalent scores byte pixels of images directly and through GramFeatures: PLS must
// give the same scores (rotation invariance), for gray images (the synthetic fixture's), colour ones,
// and a set with duplicate images (a singular Gram matrix), against the fixture's IT responses.
func TestGramFeaturesEquivalent(t *testing.T) {
	a, st, _, _ := loadSynthetic(t)
	benches, err := NewMajajHong2015(a, st, "IT")
	if err != nil {
		t.Fatal(err)
	}
	b := benches[0]
	prep := stimuli.BrainScorePixels()
	prep.Height, prep.Width = 24, 24 // 1728 features for 160 images
	cases := []struct {
		name string
		st   Stimuli
		id   func(i int) string
	}{
		{"gray", st, func(i int) string { return b.StimulusIDs[i] }},
		{"colour", newSyntheticImages(64, true), func(i int) string { return syntheticID(i%8, i/8) }},
		{"duplicates", newSyntheticImages(64, true), func(i int) string { return syntheticID(i%8, i%64) }}, // singular Gram matrix
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := make([]string, len(b.StimulusIDs))
			for i := range ids {
				ids[i] = c.id(i)
			}
			inputs, err := prepareImages(context.Background(), c.st, ids, 8, prep)
			if err != nil {
				t.Fatal(err)
			}
			direct := mat.NewDense(len(inputs), prep.Len(), nil)
			for i, x := range inputs {
				for j, v := range x {
					direct.Set(i, j, float64(v))
				}
			}
			gram, err := GramFeatures(context.Background(), c.st, ids, 8, prep)
			if err != nil {
				t.Fatal(err)
			}
			if r, cols := gram.Dims(); r != len(ids) || cols > len(ids) {
				t.Fatalf("Gram features %dx%d for %d images", r, cols, len(ids))
			}
			got, err := b.ScoreFeatures("gram", []string{"x"}, map[string]*mat.Dense{"x": gram})
			if err != nil {
				t.Fatal(err)
			}
			want, err := b.ScoreFeatures("direct", []string{"x"}, map[string]*mat.Dense{"x": direct})
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.Score(), want.Score()
			for k := range w.PerSplit {
				if math.Abs(g.PerSplit[k]-w.PerSplit[k]) > 1e-8 {
					t.Errorf("split %d: %.12f through the Gram factor, %.12f directly", k, g.PerSplit[k], w.PerSplit[k])
				}
			}
			t.Logf("raw %.9f (Gram) %.9f (direct)", g.Raw, w.Raw)
		})
	}
}

// TestPixelsOnSynthetic runs Brain-Score's pixels model (256 × 256 bicubic bytes, 196 608 features)
// through the CheckPixels path on the synthetic fixture.
func TestPixelsOnSynthetic(t *testing.T) {
	c, err := pixelsOnFiles(context.Background(),
		shared.Path(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"),
		shared.Path(t, "brainscore-synthetic", "stimulus_set.csv"),
		shared.Path(t, "brainscore-synthetic", "stimulus_set.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(c.Raw) || c.Raw < 0.5 || math.IsNaN(c.Ceiling) {
		t.Errorf("pixels on the synthetic IT: raw %.4f, ceiling %.4f", c.Raw, c.Ceiling)
	}
	t.Logf("\n%s", c)
}

// TestCheckPixelsCache: a valid cached result is returned; a tampered one ({}, which reads as zeros, or
// numbers that do not fit together) is reported and ignored, so that without the data the check says
// the data are missing instead of printing zeros (issue 17).
func TestCheckPixelsCache(t *testing.T) {
	cache := t.TempDir()
	dirs := Dirs{Cache: cache, Offline: true}
	path := filepath.Join(cache, "pixels-check-"+brainioFiles("dicarlo.MajajHong2015.public")[0].File.Sum.Hex+".json")
	valid := PixelsComparison{Raw: 0.2, Error: 0.01, Ceiling: 0.8, CeiledRC2: 0.0625, CeiledR2C: 0.05, Seconds: 90}
	b, err := json.Marshal(valid)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, content string
		ok            bool
	}{
		{"valid", string(b), true},
		{"emptied", "{}", false},
		{"edited", strings.Replace(string(b), `"Raw":0.2`, `"Raw":0.3`, 1), false},
		{"garbage", "not json", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			got, err := CheckPixels(context.Background(), dirs, &log)
			if c.ok {
				if err != nil || *got != valid {
					t.Errorf("got %+v, %v; want the cached %+v", got, err, valid)
				}
				return
			}
			var oe *fetch.OfflineError
			if !errors.As(err, &oe) || !strings.Contains(log.String(), "ignoring "+path) {
				t.Errorf("got %+v, error %v, log %q: want the cache ignored and the missing data reported", got, err, log.String())
			}
		})
	}
}
