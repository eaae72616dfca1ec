package metric

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

func TestPredictivityMatchesSyntheticFixture(t *testing.T) {
	ref := loadReference(t)
	features := readMatrix(t, shared.Path(t, "brainscore-synthetic", "features_pixels8x8.npy"))
	dir := shared.SyntheticNPY(t)
	const tol = 1e-4
	check := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > tol || math.IsNaN(got) {
			t.Errorf("%s = %.9f, reference %.9f", what, got, want)
		}
	}
	for _, region := range []string{"V4", "IT"} {
		t.Run(region, func(t *testing.T) {
			want, ok := ref.Regions[region]
			if !ok {
				t.Fatalf("no region %s in the reference", region)
			}
			responses := readMatrix(t, filepath.Join(dir, "responses_"+region+".npy"))
			s, err := Predictivity(features, responses, ref.Splits, BrainScorePLS())
			if err != nil {
				t.Fatal(err)
			}
			a, err := npy.Read(filepath.Join(dir, "repetitions_"+region+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			reps, err := NewRepetitions(a.Shape[0], a.Shape[1], a.Shape[2], a.Data)
			if err != nil {
				t.Fatal(err)
			}
			c, err := SplitHalfCeiling(reps, ref.CeilingHalves)
			if err != nil {
				t.Fatal(err)
			}
			s.SetCeiling(c)
			worst := 0.0
			for k, v := range want.RawPerSplit {
				check(t, fmt.Sprintf("raw of split %d", k), s.RawPerSplit[k], v)
				worst = math.Max(worst, math.Abs(s.RawPerSplit[k]-v))
			}
			for k, v := range want.CeilingPerSplit {
				check(t, fmt.Sprintf("ceiling of half %d", k), s.CeilingPerHalf[k], v)
			}
			check(t, "raw", s.Raw, want.Raw)
			check(t, "ceiling", s.Ceiling, want.Ceiling)
			check(t, "(r/c)^2", s.CeiledRC2, want.CeiledRC2)
			check(t, "r^2/c", s.CeiledR2C, want.CeiledR2C)
			t.Logf("raw %.6f (largest per-split difference %.1g), ceiling %.6f, (r/c)^2 %.6f, r^2/c %.6f, error %.4f",
				s.Raw, worst, s.Ceiling, s.CeiledRC2, s.CeiledR2C, s.Error)
		})
	}
}
