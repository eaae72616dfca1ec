package brainio

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// expectedAssembly is one entry of testdata/expected.json, written by testdata/gen_expected.py from what
// the netCDF4 Python library reads.
type expectedAssembly struct {
	File     string                    `json:"file"`
	Group    string                    `json:"group"`
	Variable string                    `json:"variable"`
	Dims     []string                  `json:"dims"`
	Shape    []int                     `json:"shape"`
	Attrs    map[string]string         `json:"attrs"`
	Coords   map[string]expectedValues `json:"coords"`
	Data     expectedValues            `json:"data"`
}

type expectedValues struct {
	Dim    string            `json:"dim"`
	Kind   string            `json:"kind"`
	Len    int               `json:"len"`
	Head   []json.RawMessage `json:"head"`
	Tail   []json.RawMessage `json:"tail"`
	SHA256 string            `json:"sha256"`
}

func loadExpected(t *testing.T) []expectedAssembly {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []expectedAssembly
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("testdata/expected.json: %v", err)
	}
	return out
}

// digest encodes values the way gen_expected.py does and hashes them.
func digest(c Coord) string {
	h := sha256.New()
	switch {
	case c.Strings != nil:
		h.Write([]byte(strings.Join(c.Strings, "\x00")))
	case c.Floats != nil:
		writeFloats(h, c.Floats)
	default:
		for _, x := range c.Ints {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(x)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeFloats(h interface{ Write([]byte) (int, error) }, xs []float64) {
	for _, x := range xs {
		bits := math.Float64bits(x)
		if math.IsNaN(x) {
			bits = 0x7ff8000000000000
		}
		h.Write(binary.LittleEndian.AppendUint64(nil, bits))
	}
}

func (c Coord) kind() string {
	switch {
	case c.Strings != nil:
		return "strings"
	case c.Floats != nil:
		return "floats"
	}
	return "ints"
}

// checkValues compares values to a summary from expected.json.
func checkValues(t *testing.T, what string, c Coord, want expectedValues) {
	t.Helper()
	if got := c.kind(); got != want.Kind {
		t.Errorf("%s: %s, want %s", what, got, want.Kind)
		return
	}
	if c.Len() != want.Len {
		t.Errorf("%s: %d values, want %d", what, c.Len(), want.Len)
		return
	}
	if got := digest(c); got != want.SHA256 {
		t.Errorf("%s: values differ from netCDF4's (sha256 %s, want %s); first: %v", what, got, want.SHA256, c.Key(0))
	}
	n := len(want.Head)
	for i := 0; i < n && i < c.Len(); i++ {
		var s string
		var f *float64
		switch c.kind() {
		case "strings":
			if err := json.Unmarshal(want.Head[i], &s); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.Strings[i], s) {
				t.Errorf("%s[%d] = %.48q, want %q", what, i, c.Strings[i], s)
			}
		default:
			if err := json.Unmarshal(want.Head[i], &f); err != nil {
				t.Fatal(err)
			}
			got := c.Float(i)
			if (f == nil) != math.IsNaN(got) || (f != nil && got != *f) {
				t.Errorf("%s[%d] = %v, want %s", what, i, got, want.Head[i])
			}
		}
	}
}

func TestReadAssemblyMatchesNetCDF4(t *testing.T) {
	for _, want := range loadExpected(t) {
		t.Run(want.File+"/"+want.Group, func(t *testing.T) {
			dir, part, _ := strings.Cut(want.File, "/")
			path := shared.Path(t, dir, part)
			a, err := ReadAssemblyGroup(path, want.Group)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Dims, want.Dims) || !slices.Equal(a.Shape, want.Shape) {
				t.Errorf("dims %v shape %v, want %v %v", a.Dims, a.Shape, want.Dims, want.Shape)
			}
			checkValues(t, "data", Coord{Floats: a.Data}, want.Data)
			for name, wc := range want.Coords {
				c, ok := a.Coords[name]
				if !ok {
					t.Errorf("coordinate %q missing", name)
					continue
				}
				if c.Dim != wc.Dim {
					t.Errorf("coordinate %q along %q, want %q", name, c.Dim, wc.Dim)
				}
				checkValues(t, "coordinate "+name, c, wc)
			}
			for name := range a.Coords {
				if _, ok := want.Coords[name]; !ok && name != "stimulus_id" {
					t.Errorf("unexpected coordinate %q", name)
				}
			}
			if len(a.Attrs) != len(want.Attrs) {
				t.Errorf("attrs %v, want %v", a.Attrs, want.Attrs)
			}
			for k, v := range want.Attrs {
				if a.Attrs[k] != v {
					t.Errorf("attr %s = %q, want %q", k, a.Attrs[k], v)
				}
			}
			if a.Identifier != want.Attrs["identifier"] || a.StimulusSetIdentifier != want.Attrs["stimulus_set_identifier"] {
				t.Errorf("identifiers %q %q", a.Identifier, a.StimulusSetIdentifier)
			}
		})
	}
}

func TestReadAssemblySmallValues(t *testing.T) {
	a, err := ReadAssembly(shared.Path(t, "brainio-format", "assy_test_TestMe.nc"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Data, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}) {
		t.Errorf("data %v", a.Data)
	}
	if got := a.At(4, 1); got != 14 {
		t.Errorf("At(4,1) = %v, want 14", got)
	}
	want := map[string]Coord{
		"stimulus_id": {Dim: "presentation", Strings: []string{"n0", "n1", "n1", "n0", "n4", "n9"}},
		"repetition":  {Dim: "presentation", Ints: []int64{1, 1, 2, 1, 1, 1}},
		"neuroid_id":  {Dim: "neuroid", Strings: []string{"alpha", "beta", "gamma"}},
		"foo":         {Dim: "neuroid", Ints: []int64{1, 2, 5}},
	}
	if len(a.Coords) != len(want) {
		t.Errorf("coords %v", a.Coords)
	}
	for name, w := range want {
		c := a.Coords[name]
		if c.Dim != w.Dim || !slices.Equal(c.Strings, w.Strings) || !slices.Equal(c.Ints, w.Ints) || c.Floats != nil {
			t.Errorf("%s = %+v, want %+v", name, c, w)
		}
	}

	// brainio's loader copies image_id to stimulus_id when the latter is missing.
	p, err := ReadAssembly(shared.Path(t, "brainio-format", "assy_test_package_assembly.nc"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Coords["stimulus_id"].Strings, p.Coords["image_id"].Strings) || p.Coords["stimulus_id"].Dim != "presentation" {
		t.Errorf("stimulus_id %+v, image_id %+v", p.Coords["stimulus_id"], p.Coords["image_id"])
	}

	s, err := ReadAssembly(shared.Path(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Identifier != "synthetic.MajajHong2015like.public" || s.StimulusSetIdentifier != "synthetic.hvm-like" {
		t.Errorf("identifiers %q, %q", s.Identifier, s.StimulusSetIdentifier)
	}
	if !slices.Equal(s.Coords["time_bin_start"].Ints, []int64{70}) || !slices.Equal(s.Coords["time_bin_end"].Ints, []int64{170}) {
		t.Errorf("time bins %v %v", s.Coords["time_bin_start"], s.Coords["time_bin_end"])
	}
}

func TestReadAssemblyGroupErrors(t *testing.T) {
	path := shared.Path(t, "brainio-format", "assy_test_package_assembly_extras.nc")
	if _, err := ReadAssemblyGroup(path, "nope"); err == nil || !strings.Contains(err.Error(), `no object "nope"`) {
		t.Errorf("missing group: %v", err)
	}
	if _, err := ReadAssemblyGroup(path, "data"); err == nil || !strings.Contains(err.Error(), "not a group") {
		t.Errorf("dataset as group: %v", err)
	}
	if _, err := ReadAssembly(filepath.Join(t.TempDir(), "absent.nc")); err == nil || !strings.Contains(err.Error(), "absent.nc") {
		t.Errorf("absent file: %v", err)
	}
}
