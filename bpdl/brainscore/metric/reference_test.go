package metric

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// referenceScores is ../shared/data/brainscore-synthetic/reference_scores.json: the scores
// scikit-learn gives with Brain-Score's recipe on the synthetic assembly.
type referenceScores struct {
	NImages       int     `json:"n_images"`
	NRepetitions  int     `json:"n_repetitions"`
	Splits        []Split `json:"splits"`
	CeilingHalves [][]int `json:"ceiling_halves"`
	Regions       map[string]struct {
		RawPerSplit     []float64 `json:"raw_per_split"`
		Raw             float64   `json:"raw"`
		CeilingPerSplit []float64 `json:"ceiling_per_split"`
		Ceiling         float64   `json:"ceiling"`
		CeiledRC2       float64   `json:"ceiled_r_over_c_squared"`
		CeiledR2C       float64   `json:"ceiled_r2_over_c"`
	} `json:"regions"`
}

func loadReference(t *testing.T) *referenceScores {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, "brainscore-synthetic", "reference_scores.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r referenceScores
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}
