package metric

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// splitsCases is testdata/splits_cases.json, written by testdata/gen_splits.py with NumPy and
// scikit-learn.
type splitsCases struct {
	RngSeed1Uint32   []uint32 `json:"rng_seed1_uint32"`
	RngSeed1Perm10   []int    `json:"rng_seed1_perm10"`
	RngSeed7Perm1000 []int    `json:"rng_seed7_perm1000_head"`
	RngSeed3Randint  struct {
		High   int   `json:"high"`
		Values []int `json:"values"`
	} `json:"rng_seed3_randint"`
	RngSeed5Choice []int `json:"rng_seed5_choice"`
	Cases          []struct {
		Name       string  `json:"name"`
		Stratified bool    `json:"stratified"`
		Labels     []int   `json:"labels"`
		N          int     `json:"n"`
		TrainSize  float64 `json:"train_size"`
		TestSize   float64 `json:"test_size"`
		Seed       uint32  `json:"seed"`
		Splits     []Split `json:"splits"`
	} `json:"cases"`
}

func loadSplitsCases(t *testing.T) *splitsCases {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "splits_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c splitsCases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestRandomStateMatchesNumPy(t *testing.T) {
	c := loadSplitsCases(t)
	r := NewRandomState(1)
	for i, want := range c.RngSeed1Uint32 {
		if got := r.Uint32(); got != want {
			t.Errorf("draw %d: %d, want %d", i, got, want)
		}
	}
	if got := NewRandomState(1).Perm(10); !slices.Equal(got, c.RngSeed1Perm10) {
		t.Errorf("RandomState(1).permutation(10) = %v, want %v", got, c.RngSeed1Perm10)
	}
	if got := NewRandomState(7).Perm(1000)[:20]; !slices.Equal(got, c.RngSeed7Perm1000) {
		t.Errorf("RandomState(7).permutation(1000)[:20] = %v, want %v", got, c.RngSeed7Perm1000)
	}
	r = NewRandomState(3)
	for i, want := range c.RngSeed3Randint.Values {
		if got := r.Intn(c.RngSeed3Randint.High); got != want {
			t.Errorf("randint draw %d: %d, want %d", i, got, want)
		}
	}
	if got := NewRandomState(5).ChooseWithoutReplacement([]int{2, 5, 9, 11}, 2); !slices.Equal(got, c.RngSeed5Choice) {
		t.Errorf("choice = %v, want %v", got, c.RngSeed5Choice)
	}
}

func TestSplitsMatchScikitLearn(t *testing.T) {
	c := loadSplitsCases(t)
	for _, tc := range c.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			spec := SplitSpec{Splits: len(tc.Splits), TrainSize: tc.TrainSize, TestSize: tc.TestSize, Seed: tc.Seed}
			var got []Split
			var err error
			if tc.Stratified {
				got, err = StratifiedShuffleSplit(tc.Labels, spec)
			} else {
				got, err = ShuffleSplit(tc.N, spec)
			}
			if err != nil {
				t.Fatal(err)
			}
			for k := range tc.Splits {
				if !slices.Equal(got[k].Train, tc.Splits[k].Train) || !slices.Equal(got[k].Test, tc.Splits[k].Test) {
					t.Fatalf("split %d:\n got train %v test %v\nwant train %v test %v", k,
						got[k].Train, got[k].Test, tc.Splits[k].Train, tc.Splits[k].Test)
				}
			}
			if err := CheckSplits(got, tc.N); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name   string
		labels []int
		n      int
		spec   SplitSpec
		want   string
	}{
		{"no splits", nil, 10, SplitSpec{TrainSize: 0.9}, "at least one split"},
		{"size 1", nil, 10, SplitSpec{Splits: 1, TrainSize: 1}, "not a fraction"},
		{"sum over 1", nil, 10, SplitSpec{Splits: 1, TrainSize: 0.6, TestSize: 0.5}, "exceeds 1"},
		{"empty train", nil, 3, SplitSpec{Splits: 1, TrainSize: 0.2}, "empty"},
		{"singleton class", []int{0, 0, 1, 2, 2, 0, 2, 0, 2, 0}, 10, SplitSpec{Splits: 1, TrainSize: 0.5}, "only 1 member"},
		{"test below classes", []int{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, 10, SplitSpec{Splits: 1, TrainSize: 0.9}, "fewer than the 5 classes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.labels != nil {
				_, err = StratifiedShuffleSplit(tc.labels, tc.spec)
			} else {
				_, err = ShuffleSplit(tc.n, tc.spec)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLabelCodes(t *testing.T) {
	got := LabelCodes([]string{"obj2", "obj10", "obj2", "a"})
	if want := []int{2, 1, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("LabelCodes = %v, want %v", got, want)
	}
}

func TestCheckSplits(t *testing.T) {
	if err := CheckSplits([]Split{{Train: []int{0, 1}, Test: []int{1}}}, 3); err == nil {
		t.Error("overlap not reported")
	}
	if err := CheckSplits([]Split{{Train: []int{0, 3}, Test: []int{1}}}, 3); err == nil {
		t.Error("out-of-range index not reported")
	}
	if err := CheckSplits([]Split{{Train: []int{0, 2}, Test: []int{1}}, {Train: []int{1, 2}, Test: []int{0}}}, 3); err != nil {
		t.Error(err)
	}
}

// syntheticObjectLabels reads the object of each image of the brainscore-synthetic stimulus set, in
// file order, as integer codes.
func syntheticObjectLabels(t *testing.T) []int {
	t.Helper()
	f, err := os.Open(shared.Path(t, "brainscore-synthetic", "stimulus_set.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "object_name")
	if col < 0 {
		t.Fatalf("no object_name column in %v", rows[0])
	}
	var names []string
	for _, r := range rows[1:] {
		names = append(names, r[col])
	}
	return LabelCodes(names)
}

func TestBrainScoreSplitsMatchSyntheticFixture(t *testing.T) {
	ref := loadReference(t)
	labels := syntheticObjectLabels(t)
	got, err := BrainScoreSplits(len(labels), labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ref.Splits) {
		t.Fatalf("%d splits, fixture has %d", len(got), len(ref.Splits))
	}
	for k := range got {
		if !slices.Equal(got[k].Train, ref.Splits[k].Train) || !slices.Equal(got[k].Test, ref.Splits[k].Test) {
			t.Errorf("split %d differs from reference_scores.json", k)
		}
	}
}
