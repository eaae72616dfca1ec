package benchmark

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// TestScoreAllOffline runs the study's benchmarks with only the shared data: the public benchmarks
// report that their data are not present (naming the files), the offline ones score the pixels model.
func TestScoreAllOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("scores the Cowley et al. images: skipped with -short")
	}
	local, ok := shared.DataDir()
	if !ok {
		t.Skip("shared test data not found: skipping")
	}
	shared.Path(t, "cowley-v4", "responses_raw_210325.npy")
	var log strings.Builder
	res, err := ScoreAll(context.Background(), NewPixels(3, 16, 16), Options{
		Dirs: Dirs{Local: local, Cache: t.TempDir(), Offline: true},
		Log:  &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	want := StudyBenchmarks()
	if len(res) != len(want) {
		t.Fatalf("%d results for %d benchmarks", len(res), len(want))
	}
	for i, r := range res {
		if r.Benchmark != want[i] {
			t.Errorf("result %d is %s, want %s", i, r.Benchmark, want[i])
		}
		spec, _ := LookupSpec(r.Benchmark)
		switch {
		case spec.Public:
			if r.Status != StatusNotPresent || len(r.Notes) == 0 || !strings.Contains(r.Notes[0], spec.Files[0].File.Name) {
				t.Errorf("%s: status %q, notes %q: want %q naming %s", r.Benchmark, r.Status, r.Notes, StatusNotPresent, spec.Files[0].File.Name)
			}
		default:
			if s := r.Score(); r.Status != StatusOK || r.Layer != PixelsLayer || math.IsNaN(s.Raw) || s.Raw <= 0 {
				t.Errorf("%s: status %q layer %q raw %v", r.Benchmark, r.Status, r.Layer, s.Raw)
			}
		}
	}
}

func TestSpecs(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		if seen[s.Identifier] {
			t.Errorf("duplicate benchmark %s", s.Identifier)
		}
		seen[s.Identifier] = true
		if len(s.Files) == 0 || s.Region == "" || s.Metric == "" {
			t.Errorf("%s: incomplete spec %+v", s.Identifier, s)
		}
		for _, f := range s.Files {
			if f.File.URL == "" || f.File.Sum.Hex == "" || f.Dir == "" {
				t.Errorf("%s: file %+v lacks a URL, checksum or folder", s.Identifier, f)
			}
		}
	}
	for _, id := range StudyBenchmarks() {
		if !seen[id] {
			t.Errorf("study benchmark %s has no spec", id)
		}
	}
}
