package matfile

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// TestFixtures reads the files testdata/gen_fixtures.py writes with scipy.io.savemat.
func TestFixtures(t *testing.T) {
	for _, name := range []string{"plain.mat", "compressed.mat"} {
		t.Run(name, func(t *testing.T) {
			vars, err := ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			numbers := func(name string, dims []int, want []float64) {
				t.Helper()
				v := vars[name]
				if v == nil {
					t.Fatalf("no variable %q", name)
				}
				if !slices.Equal(v.Dims, dims) || !slices.Equal(v.Numbers, want) {
					t.Errorf("%s: dims %v values %v, want %v %v", name, v.Dims, v.Numbers, dims, want)
				}
			}
			numbers("vector", []int{1, 4}, []float64{0.5, 1, -3, 1e300})
			numbers("matrix", []int{2, 3}, []float64{1, 4, 2, 5, 3, 6}) // column-major
			numbers("ints", []int{1, 2}, []float64{-5, 300})
			numbers("single", []int{1, 1}, []float64{0.25})
			if got := vars["label"].String(); got != "hello" {
				t.Errorf("label = %q", got)
			}
			rec := vars["records"]
			if rec.Class != Struct || len(rec.Elems) != 2 || !slices.Equal(rec.Fields, []string{"name", "image", "flag"}) {
				t.Fatalf("records: class %v, %d elements, fields %v", rec.Class, len(rec.Elems), rec.Fields)
			}
			for i, want := range []string{"first", "zweite é"} {
				f, err := rec.Field(i, "name")
				if err != nil {
					t.Fatal(err)
				}
				if f.String() != want {
					t.Errorf("records(%d).name = %q, want %q", i+1, f.String(), want)
				}
			}
			img, err := rec.Field(1, "image")
			if err != nil {
				t.Fatal(err)
			}
			if img.Class != Uint8 || !slices.Equal(img.Dims, []int{2, 3, 3}) || len(img.Bytes) != 18 {
				t.Fatalf("records(2).image: class %v dims %v, %d bytes", img.Class, img.Dims, len(img.Bytes))
			}
			// element (r, c, k) of the reversed image is 9r + 3c + 2 - k, at r + 2c + 6k.
			for r := range 2 {
				for c := range 3 {
					for k := range 3 {
						if got, want := img.Bytes[r+2*c+6*k], byte(9*r+3*c+2-k); got != want {
							t.Errorf("image(%d,%d,%d) = %d, want %d", r, c, k, got, want)
						}
					}
				}
			}
			flag, _ := rec.Field(0, "flag")
			if !flag.Logical || flag.Class != Uint8 || !slices.Equal(flag.Bytes, []byte{1, 0}) {
				t.Errorf("records(1).flag: logical %v class %v values %v", flag.Logical, flag.Class, flag.Bytes)
			}
			cells := vars["cells"]
			if cells.Class != Cell || len(cells.Cells) != 3 {
				t.Fatalf("cells: class %v, %d cells", cells.Class, len(cells.Cells))
			}
			if !slices.Equal(cells.Cells[0].Numbers, []float64{1.5, -2.25}) || cells.Cells[1].String() != "text" ||
				cells.Cells[2].Class != Int16 || !slices.Equal(cells.Cells[2].Numbers, []float64{7}) {
				t.Errorf("cells: %v %q %v %v", cells.Cells[0].Numbers, cells.Cells[1].String(), cells.Cells[2].Class, cells.Cells[2].Numbers)
			}
			if _, err := rec.Field(5, "name"); err == nil {
				t.Error("Field of a missing element: no error")
			}
			if _, err := rec.Field(0, "nope"); err == nil {
				t.Error("Field of a missing field: no error")
			}
		})
	}
}

// TestKriegeskorte reads the 92-image data of Kriegeskorte et al. (2008) from the shared data and checks
// it against the PNG and .npy files extracted from it with scipy.
func TestKriegeskorte(t *testing.T) {
	path := shared.Path(t, "rsa92", "Kriegeskorte_Neuron2008_supplementalData.mat")
	vars, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rdms := vars["RDMs_mIT_hIT_fig1"]
	if rdms == nil || len(rdms.Elems) != 2 {
		t.Fatalf("RDMs_mIT_hIT_fig1: %+v", rdms)
	}
	for i, file := range []string{"rdm_monkeyIT_674neurons_92x92.npy", "rdm_humanIT_316vx_92x92.npy"} {
		rdm, err := rdms.Field(i, "RDM")
		if err != nil {
			t.Fatal(err)
		}
		want, err := npy.Read(shared.Path(t, "rsa92", file))
		if err != nil {
			t.Fatal(err)
		}
		// The condensed vector lists the pairs (i, j), i < j, row by row (MATLAB's squareform order).
		k := 0
		for a := range 92 {
			for b := a + 1; b < 92; b++ {
				if rdm.Numbers[k] != want.Data[a*92+b] {
					t.Fatalf("%s: pair (%d, %d) = %v, npy %v", file, a, b, rdm.Numbers[k], want.Data[a*92+b])
				}
				k++
			}
		}
	}
	stim := vars["stimuli_92objs"]
	if stim == nil || len(stim.Elems) != 92 {
		t.Fatalf("stimuli_92objs: %d elements", len(stim.Elems))
	}
	img, err := stim.Field(0, "image")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.Dims, []int{175, 175, 3}) {
		t.Fatalf("image dims %v", img.Dims)
	}
	cat, _ := stim.Field(0, "category")
	if cat.String() != "human bodypart" {
		t.Errorf("category of image 1 = %q", cat.String())
	}
}

func TestErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "plain.mat"))
	if err != nil {
		t.Fatal(err)
	}
	header := func(indicator string) []byte {
		b := make([]byte, 128)
		binary.LittleEndian.PutUint16(b[124:], 0x0100)
		copy(b[126:], indicator)
		return b
	}
	truncated := slices.Clone(good[:200])
	huge := append(header("IM"), 14, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f)
	cases := []struct {
		name string
		b    []byte
	}{
		{"short", good[:100]},
		{"v7.3", append([]byte("MATLAB 7.3 MAT-file"), make([]byte, 200)...)},
		{"indicator", header("XX")},
		{"truncated", truncated},
		{"huge element", huge},
	}
	for _, c := range cases {
		if _, err := Parse(c.b); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := Parse(bytes.Clone(good)); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"plain.mat", "compressed.mat"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b) // must not panic
	})
}
