package brainio

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// zipOf builds an in-memory ZIP archive holding the given entries (name -> content), in name order.
func zipOf(t testing.TB, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(entries[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tinyPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.Gray{Y: 200})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadStimulusSetTenImages(t *testing.T) {
	dir := shared.Path(t, "brainio-format", "images")
	entries := map[string][]byte{}
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, p := range pngs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		entries[filepath.Base(p)] = b
	}
	tmp := t.TempDir()
	zipPath := writeFile(t, tmp, "images.zip", zipOf(t, entries))
	s, err := ReadStimulusSet(filepath.Join(dir, "image_test_ten_images.csv"), zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 10 || !slices.Equal(s.Columns, []string{"stimulus_id", "filename", "thing"}) {
		t.Fatalf("%d stimuli, columns %q", s.Len(), s.Columns)
	}
	st, ok := s.Stimulus("n3")
	if !ok || st.Filename != "n3.png" || st.Fields["thing"] != "foo3" || st.Fields["stimulus_id"] != "n3" {
		t.Errorf("Stimulus(n3) = %+v, %v", st, ok)
	}
	for _, st := range s.Stimuli {
		img, err := s.Image(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(bytes.NewReader(entries[st.Filename]))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != want.Bounds() || img.At(1, 1) != want.At(1, 1) {
			t.Errorf("%s: image differs from the PNG on disk", st.ID)
		}
	}
}

func TestReadStimulusSetSynthetic(t *testing.T) {
	csvPath := shared.Path(t, "brainscore-synthetic", "stimulus_set.csv")
	zipPath := shared.Path(t, "brainscore-synthetic", "stimulus_set.zip")
	s, err := ReadStimulusSet(csvPath, zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 160 {
		t.Errorf("%d stimuli, want 160", s.Len())
	}
	want := []string{"stimulus_id", "filename", "object_name", "category_name", "variation"}
	if !slices.Equal(s.Columns, want) {
		t.Errorf("columns %q, want %q", s.Columns, want)
	}
	first := s.Stimuli[0]
	if first.ID != "obj0_00" || first.Fields["object_name"] != "obj0" || first.Fields["category_name"] != "animal" {
		t.Errorf("first row %+v", first)
	}
	img, err := s.Image(first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Empty() {
		t.Error("empty image")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestStimulusSetImageIDFallback(t *testing.T) {
	zr := readerOf(t, zipOf(t, map[string][]byte{"a.png": tinyPNG(t, 2, 2)}))
	s, err := newStimulusSet(strings.NewReader("image_id,filename,label\nA,a.png,x\n"), zr, "test.zip")
	if err != nil {
		t.Fatal(err)
	}
	st, ok := s.Stimulus("A")
	if !ok || st.Fields["stimulus_id"] != "A" || !slices.Contains(s.Columns, "stimulus_id") {
		t.Errorf("image_id was not copied to stimulus_id: %+v, columns %q", st, s.Columns)
	}
}

func readerOf(t testing.TB, b []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestStimulusSetErrors(t *testing.T) {
	good := tinyPNG(t, 2, 2)
	tests := []struct {
		name    string
		csv     string
		entries map[string][]byte
		want    string
	}{
		{"parent entry", "stimulus_id,filename\nA,a.png\n", map[string][]byte{"a.png": good, "../evil.png": good}, `archive entry "../evil.png": unsafe path: contains ".."`},
		{"nested parent entry", "stimulus_id,filename\nA,a.png\n", map[string][]byte{"a.png": good, "x/../../evil.png": good}, `unsafe path: contains ".."`},
		{"absolute entry", "stimulus_id,filename\nA,a.png\n", map[string][]byte{"a.png": good, "/etc/evil": good}, `archive entry "/etc/evil": unsafe path: absolute`},
		{"backslash entry", "stimulus_id,filename\nA,a.png\n", map[string][]byte{"a.png": good, `..\evil.png`: good}, "backslash"},
		{"drive entry", "stimulus_id,filename\nA,a.png\n", map[string][]byte{"a.png": good, "C:/evil.png": good}, "drive letter"},
		{"missing file", "stimulus_id,filename\nA,a.png\nB,b.png\n", map[string][]byte{"a.png": good}, `CSV line 3: stimulus "B": file "b.png" is not in the archive test.zip`},
		{"unsafe filename", "stimulus_id,filename\nA,../a.png\n", map[string][]byte{"a.png": good}, `CSV line 2: filename "../a.png": unsafe path`},
		{"no filename column", "stimulus_id,file\nA,a.png\n", map[string][]byte{"a.png": good}, "expected stimulus_id (or image_id) and filename"},
		{"no id column", "id,filename\nA,a.png\n", map[string][]byte{"a.png": good}, "expected stimulus_id (or image_id) and filename"},
		{"duplicate id", "stimulus_id,filename\nA,a.png\nA,a.png\n", map[string][]byte{"a.png": good}, `CSV line 3: stimulus id "A" appears twice`},
		{"empty id", "stimulus_id,filename\n,a.png\n", map[string][]byte{"a.png": good}, "CSV line 2: empty stimulus id"},
		{"ragged row", "stimulus_id,filename\nA,a.png,extra\n", map[string][]byte{"a.png": good}, "wrong number of fields"},
		{"empty table", "", map[string][]byte{"a.png": good}, "CSV table is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newStimulusSet(strings.NewReader(tc.csv), readerOf(t, zipOf(t, tc.entries)), "test.zip")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestStimulusSetOpenErrors(t *testing.T) {
	tmp := t.TempDir()
	csvPath := writeFile(t, tmp, "s.csv", []byte("stimulus_id,filename\nA,a.png\nT,t.txt\n"))
	zipPath := writeFile(t, tmp, "s.zip", zipOf(t, map[string][]byte{"a.png": tinyPNG(t, 3, 2), "t.txt": []byte("not an image")}))
	s, err := ReadStimulusSet(csvPath, zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if img, err := s.Image("A"); err != nil || img.Bounds().Dx() != 3 {
		t.Errorf("Image(A) = %v, %v", img, err)
	}
	if _, err := s.Open("nope"); err == nil || !strings.Contains(err.Error(), `no stimulus "nope"`) {
		t.Errorf("Open(nope) err = %v", err)
	}
	if _, err := s.Image("T"); err == nil || !strings.Contains(err.Error(), "t.txt in "+zipPath+" is not a PNG, JPEG or GIF image") {
		t.Errorf("Image(T) err = %v", err)
	}
	if _, err := ReadStimulusSet(csvPath, filepath.Join(tmp, "missing.zip")); err == nil || !strings.Contains(err.Error(), "missing.zip") {
		t.Errorf("missing zip err = %v", err)
	}
	if _, err := ReadStimulusSet(filepath.Join(tmp, "missing.csv"), zipPath); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing csv err = %v", err)
	}
	if _, err := ReadStimulusSet(csvPath, csvPath); err == nil || !strings.Contains(err.Error(), "archive") {
		t.Errorf("csv as zip err = %v", err)
	}
}
