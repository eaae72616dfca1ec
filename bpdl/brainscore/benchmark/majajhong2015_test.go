package benchmark

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// syntheticReference is ../shared/data/brainscore-synthetic/reference_scores.json.
type syntheticReference struct {
	Splits        []metric.Split `json:"splits"`
	CeilingHalves [][]int        `json:"ceiling_halves"`
	Regions       map[string]struct {
		RawPerSplit     []float64 `json:"raw_per_split"`
		Raw             float64   `json:"raw"`
		CeilingPerSplit []float64 `json:"ceiling_per_split"`
		Ceiling         float64   `json:"ceiling"`
		CeiledRC2       float64   `json:"ceiled_r_over_c_squared"`
		CeiledR2C       float64   `json:"ceiled_r2_over_c"`
	} `json:"regions"`
}

// loadSynthetic reads the synthetic MajajHong2015-like assembly, its stimulus set, the 8x8-pixel
// features (rows in stimulus-set order) and the reference scores.
func loadSynthetic(t *testing.T) (*brainio.Assembly, *brainio.StimulusSet, *npy.Array, *syntheticReference) {
	t.Helper()
	a, err := brainio.ReadAssembly(shared.Path(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := brainio.ReadStimulusSet(shared.Path(t, "brainscore-synthetic", "stimulus_set.csv"), shared.Path(t, "brainscore-synthetic", "stimulus_set.zip"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := npy.Read(shared.Path(t, "brainscore-synthetic", "features_pixels8x8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(shared.Path(t, "brainscore-synthetic", "reference_scores.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref syntheticReference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return a, st, f, &ref
}

// TestMajajHong2015Synthetic runs the synthetic assembly through the MajajHong2015 benchmark's own code
// path (assembly and stimulus set, region selection, time bin, repetition averaging, splits stratified
// by object_name) with the fixture's features in place of a model: the raw scores must be
// scikit-learn's within 1e-4. The benchmark's ceiling uses Brain-Score's own half assignments, which
// the fixture's listed halves do not replicate; with the fixture's halves it must match too.
func TestMajajHong2015Synthetic(t *testing.T) {
	a, st, f, ref := loadSynthetic(t)
	benches, err := NewMajajHong2015(a, st, "V4", "IT")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for i, s := range st.Stimuli {
		rows[s.ID] = i
	}
	const tol = 1e-4
	for _, b := range benches {
		t.Run(b.Region(), func(t *testing.T) {
			want := ref.Regions[b.Region()]
			if !slices.EqualFunc(b.Splits, ref.Splits, func(x, y metric.Split) bool {
				return slices.Equal(x.Train, y.Train) && slices.Equal(x.Test, y.Test)
			}) {
				t.Fatal("splits differ from the reference's")
			}
			_, p := f.Shape[0], f.Shape[1]
			features := mat.NewDense(len(b.StimulusIDs), p, nil)
			for i, id := range b.StimulusIDs {
				features.SetRow(i, f.Data[rows[id]*p:(rows[id]+1)*p])
			}
			res, err := b.ScoreFeatures("pixels8x8", []string{"pixels8x8"}, map[string]*mat.Dense{"pixels8x8": features})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Score()
			for k, v := range want.RawPerSplit {
				if math.Abs(s.PerSplit[k]-v) > tol {
					t.Errorf("raw of split %d = %.6f, reference %.6f", k, s.PerSplit[k], v)
				}
			}
			if math.Abs(s.Raw-want.Raw) > tol {
				t.Errorf("raw = %.6f, reference %.6f", s.Raw, want.Raw)
			}
			c, err := metric.SplitHalfCeiling(b.Repetitions, ref.CeilingHalves)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.Value-want.Ceiling) > tol {
				t.Errorf("ceiling with the fixture's halves = %.6f, reference %.6f", c.Value, want.Ceiling)
			}
			t.Logf("raw %.6f (reference %.6f); ceiling with Brain-Score's halves %.6f (fixture's halves %.6f, reference %.6f); (r/c)^2 %.6f, r^2/c %.6f",
				s.Raw, want.Raw, s.Ceiling, c.Value, want.Ceiling, s.CeiledRC2, s.CeiledR2C)
		})
	}
}
