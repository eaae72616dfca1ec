package brainio

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// testAssembly is 4 presentations (2 stimuli x 2 repetitions) x 3 neuroids x 3 time bins, with
// value = 100*presentation + 10*neuroid + time bin.
func testAssembly() *Assembly {
	a := &Assembly{
		Identifier: "test",
		Dims:       []string{"presentation", "neuroid", "time_bin"},
		Shape:      []int{4, 3, 3},
		Coords: map[string]Coord{
			"stimulus_id":    {Dim: "presentation", Strings: []string{"a", "b", "a", "b"}},
			"repetition":     {Dim: "presentation", Ints: []int64{0, 0, 1, 1}},
			"object_name":    {Dim: "presentation", Strings: []string{"x", "y", "x", "y"}},
			"neuroid_id":     {Dim: "neuroid", Strings: []string{"n0", "n1", "n2"}},
			"region":         {Dim: "neuroid", Strings: []string{"V4", "IT", "V4"}},
			"time_bin_start": {Dim: "time_bin", Ints: []int64{70, 120, 170}},
			"time_bin_end":   {Dim: "time_bin", Ints: []int64{120, 170, 220}},
		},
		Attrs: map[string]string{"identifier": "test"},
	}
	for p := range 4 {
		for n := range 3 {
			for b := range 3 {
				a.Data = append(a.Data, float64(100*p+10*n+b))
			}
		}
	}
	return a
}

func TestWhere(t *testing.T) {
	v4, err := testAssembly().Where("region", "V4")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v4.Shape, []int{4, 2, 3}) || !slices.Equal(v4.Coords["neuroid_id"].Strings, []string{"n0", "n2"}) {
		t.Fatalf("shape %v, neuroids %v", v4.Shape, v4.Coords["neuroid_id"].Strings)
	}
	if got := v4.At(3, 1, 2); got != 322 {
		t.Errorf("At(3,1,2) = %v, want 322", got)
	}
	if _, ok := v4.Coords["stimulus_id"]; !ok {
		t.Error("coordinates along other dimensions were dropped")
	}
	rep1, err := testAssembly().Where("repetition", "1")
	if err != nil || !slices.Equal(rep1.Coords["stimulus_id"].Strings, []string{"a", "b"}) || rep1.At(0, 0, 0) != 200 {
		t.Errorf("Where(repetition, 1): %v", err)
	}
}

func TestGroupMean(t *testing.T) {
	a := testAssembly()
	a.Data[0] = math.NaN() // presentation 0, neuroid 0, bin 0: skipped by the mean
	m, err := a.GroupMean("stimulus_id")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Shape, []int{2, 3, 3}) || !slices.Equal(m.Coords["stimulus_id"].Strings, []string{"a", "b"}) {
		t.Fatalf("shape %v, stimuli %v", m.Shape, m.Coords["stimulus_id"])
	}
	if !slices.Equal(m.Coords["object_name"].Strings, []string{"x", "y"}) {
		t.Errorf("object_name (constant per stimulus) = %v", m.Coords["object_name"])
	}
	if _, ok := m.Coords["repetition"]; ok {
		t.Error("repetition varies within each stimulus but was kept")
	}
	tests := []struct {
		idx  [3]int
		want float64
	}{
		{[3]int{0, 0, 0}, 200},            // only presentation 2: the NaN is skipped
		{[3]int{0, 1, 2}, (12 + 212) / 2}, // presentations 0 and 2
		{[3]int{1, 2, 1}, (121 + 321) / 2},
	}
	for _, tc := range tests {
		if got := m.At(tc.idx[:]...); got != tc.want {
			t.Errorf("At%v = %v, want %v", tc.idx, got, tc.want)
		}
	}
	all := testAssembly()
	for i := range all.Data {
		if i%9 == 0 {
			all.Data[i] = math.NaN()
		}
	}
	if m, _ := all.GroupMean("stimulus_id"); !math.IsNaN(m.At(0, 0, 0)) {
		t.Errorf("a group of NaNs averages to %v, want NaN", m.At(0, 0, 0))
	}
}

func TestMeanTimeBins(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   float64 // at presentation 1, neuroid 2
	}{
		{70, 170, 100 + 20 + 0.5},
		{70, 220, 100 + 20 + 1},
		{120, 170, 100 + 20 + 1},
	}
	for _, tc := range tests {
		m, err := testAssembly().MeanTimeBins(tc.lo, tc.hi)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Dims, []string{"presentation", "neuroid"}) || !slices.Equal(m.Shape, []int{4, 3}) {
			t.Fatalf("dims %v shape %v", m.Dims, m.Shape)
		}
		if _, ok := m.Coords["time_bin_start"]; ok {
			t.Error("time_bin coordinates kept after averaging the dimension away")
		}
		if got := m.At(1, 2); got != tc.want {
			t.Errorf("[%v,%v]: At(1,2) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestSelectionErrors(t *testing.T) {
	a := testAssembly()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown coordinate", func() error { _, err := a.Where("hemisphere", "L"); return err }, `no coordinate "hemisphere"`},
		{"no match", func() error { _, err := a.Where("region", "V1"); return err }, `no neuroid has region in ["V1"]`},
		{"unknown dimension", func() error { _, err := a.MeanOver("trial"); return err }, `no dimension "trial"`},
		{"empty window", func() error { _, err := a.MeanTimeBins(0, 60); return err }, "no time bin lies within [0, 60] ms"},
		{"bad index", func() error { _, err := a.SelectIndices("neuroid", []int{3}); return err }, "index 3 out of range [0,3)"},
		{"group by missing", func() error { _, err := a.GroupMean("image_id"); return err }, `no coordinate "image_id"`},
	}
	for _, tc := range tests {
		if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestBenchmarkPreprocessing runs the MajajHong2015 recipe on the synthetic assembly: average the
// 70-170 ms window, average repetitions per stimulus, keep V4; the values are numpy's (nanmean).
func TestBenchmarkPreprocessing(t *testing.T) {
	a, err := ReadAssembly(shared.Path(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"))
	if err != nil {
		t.Fatal(err)
	}
	a, err = a.MeanTimeBins(70, 170)
	if err != nil {
		t.Fatal(err)
	}
	a, err = a.GroupMean("stimulus_id")
	if err != nil {
		t.Fatal(err)
	}
	it, err := a.Where("region", "IT")
	if err != nil {
		t.Fatal(err)
	}
	v4, err := a.Where("region", "V4")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v4.Shape, []int{160, 12}) || v4.Coords["stimulus_id"].Strings[159] != "obj7_19" {
		t.Fatalf("V4 shape %v", v4.Shape)
	}
	for _, k := range []string{"object_name", "category_name", "variation", "image_id"} {
		if c, ok := v4.Coords[k]; !ok || c.Len() != 160 {
			t.Errorf("per-stimulus coordinate %s lost", k)
		}
	}
	var sum float64
	for _, x := range v4.Data {
		sum += x
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"V4[obj0_00, first]", v4.At(0, 0), 2.0124333699544272},
		{"V4[obj7_19, last]", v4.At(159, 11), 2.3589242498079934},
		{"IT[6th stimulus, 3rd]", it.At(5, 2), 2.991401116053263},
		{"mean V4", sum / float64(len(v4.Data)), 2.7906642994056257},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
}
