package brainio

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// sharedAssemblies are the netCDF files in ../shared used as fuzz seeds and for damage tests.
var sharedAssemblies = [][2]string{
	{"brainio-format", "assy_test_TestMe.nc"},
	{"brainio-format", "assy_test_package_assembly.nc"},
	{"brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc"},
}

func TestTruncatedAssembly(t *testing.T) {
	for _, f := range sharedAssemblies {
		src := shared.Path(t, f[0], f[1])
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, frac := range []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99} {
			n := int(frac * float64(len(b)))
			for _, cut := range []int{n, len(b) - 1 - n/100} {
				p := filepath.Join(t.TempDir(), f[1])
				if err := os.WriteFile(p, b[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				_, err := ReadAssembly(p)
				if err == nil {
					t.Errorf("%s cut to %d of %d bytes: read without error", f[1], cut, len(b))
					continue
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "brainio: reading assembly "+p+": ") {
					t.Errorf("%s cut to %d: error does not name the file: %v", f[1], cut, err)
				}
				if cut >= 64 && !strings.Contains(msg, "truncated") {
					t.Errorf("%s cut to %d: error does not say the file is truncated: %v", f[1], cut, err)
				}
			}
		}
	}
}

func TestCorruptedAssembly(t *testing.T) {
	// The synthetic file is in the newer format, whose metadata carries checksums.
	src := shared.Path(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		off  int
		want string
	}{
		{"signature", 1, "no HDF5 signature found"},
		{"superblock", 20, "superblock checksum mismatch"},
		{"root object header", 0x40, "object header checksum mismatch"},
	}
	for _, tc := range tests {
		c := bytes.Clone(b)
		c[tc.off] ^= 0x5a
		p := filepath.Join(t.TempDir(), "corrupt.nc")
		if err := os.WriteFile(p, c, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadAssembly(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// Damage anywhere never panics; it either errors or, where the bytes are raw data, reads.
	for _, f := range sharedAssemblies {
		b, err := os.ReadFile(shared.Path(t, f[0], f[1]))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/400)
		for off := 0; off < len(b); off += step {
			c := bytes.Clone(b)
			c[off] ^= 0xff
			readAssembly(bytes.NewReader(c), int64(len(c)), "")
		}
	}
}

// fuzzSeeds returns the small assembly and HDF5 files available as seeds.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, p := range []string{
		filepath.Join("internal", "hdf5", "testdata", "oldest.h5"),
		filepath.Join("internal", "hdf5", "testdata", "latest.h5"),
	} {
		if b, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, b)
		}
	}
	if dir, ok := shared.DataDir(); ok {
		for _, s := range sharedAssemblies[:2] {
			if b, err := os.ReadFile(filepath.Join(dir, s[0], s[1])); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	return seeds
}

// allocLimit is a generous bound on what reading n bytes of input may allocate in all.
func allocLimit(n int) uint64 { return 64<<20 + 4096*uint64(n) }

func FuzzReadAssembly(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("\x89HDF\r\n\x1a\n"))
	f.Add([]byte("\x89HDF\r\n\x1a\n\x02\x08\x08\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a, err := readAssembly(bytes.NewReader(b), int64(len(b)), "")
		runtime.ReadMemStats(&after)
		if used := after.TotalAlloc - before.TotalAlloc; used > allocLimit(len(b)) {
			t.Errorf("reading %d bytes allocated %d bytes", len(b), used)
		}
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if len(a.Dims) != len(a.Shape) || len(a.Data) != n {
			t.Errorf("inconsistent assembly: dims %v shape %v, %d values", a.Dims, a.Shape, len(a.Data))
		}
	})
}

func FuzzReadStimulusSet(f *testing.F) {
	png := tinyPNG(f, 2, 2)
	f.Add([]byte("stimulus_id,filename,x\nA,a.png,1\n"), zipOf(f, map[string][]byte{"a.png": png}))
	f.Add([]byte("image_id,filename\nA,d/a.png\n"), zipOf(f, map[string][]byte{"d/a.png": png, "d/": nil}))
	f.Add([]byte("stimulus_id,filename\nA,a.png\n"), zipOf(f, map[string][]byte{"../a.png": png}))
	f.Add([]byte("\ufeffstimulus_id,\"filename\"\n\"A\"\"\",a.png\n"), []byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, csvBytes, zipBytes []byte) {
		zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
		if err != nil {
			return
		}
		s, err := newStimulusSet(bytes.NewReader(csvBytes), zr, "fuzz.zip")
		if err != nil {
			return
		}
		for _, st := range s.Stimuli {
			if checkRelPath(st.Filename) != nil || s.files[st.Filename] == nil {
				t.Fatalf("accepted unsafe or missing file %q", st.Filename)
			}
			if got, ok := s.Stimulus(st.ID); !ok || got.Filename != st.Filename {
				t.Fatalf("lookup of %q failed", st.ID)
			}
			if _, err := s.Image(st.ID); err == nil {
				continue
			}
		}
		for name := range s.files {
			if checkRelPath(name) != nil {
				t.Fatalf("accepted unsafe archive entry %q", name)
			}
		}
	})
}
