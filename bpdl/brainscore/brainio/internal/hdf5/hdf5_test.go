package hdf5

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLookup3(t *testing.T) {
	// Reference values from Bob Jenkins' lookup3.c test driver.
	tests := []struct {
		in   string
		want uint32
	}{
		{"", 0xdeadbeef},
		{"Four score and seven years ago", 0x17770551},
	}
	for _, tc := range tests {
		if got := lookup3([]byte(tc.in)); got != tc.want {
			t.Errorf("lookup3(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func openFixture(t *testing.T, name string) *File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func arange(n int, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i) * scale
	}
	return out
}

func iarange(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// The datasets gen_fixtures.py writes to both files, and their values.
var commonFixtures = []struct {
	path    string
	dims    []uint64
	want    Values
	storage string // prefix of Dataset.String
}{
	{"contiguous", []uint64{2, 3}, Values{Floats: arange(6, 0.25)}, "contiguous"},
	{"compact", []uint64{3}, Values{Ints: []int64{-3, 0, 3}}, "compact"},
	{"edge_chunks", []uint64{5, 7}, Values{Ints: iarange(35)}, "chunked [2 3]"},
	{"edge_chunks_plain", []uint64{5, 7}, Values{Ints: iarange(35)}, "chunked [2 3]"},
	{"fletcher", []uint64{10}, Values{Floats: arange(10, 1.5)}, "chunked [4]"},
	{"big_endian", []uint64{4}, Values{Ints: []int64{1, 256, 65535, 7}}, "contiguous"},
	{"big_endian_f32", []uint64{3}, Values{Floats: []float64{0.5, -2, float64(float32(1e10))}}, "contiguous"},
	{"int8", []uint64{4}, Values{Ints: []int64{-128, -1, 0, 127}}, "contiguous"},
	{"fixed_strings", []uint64{3}, Values{Strings: []string{"ab", "hello", ""}}, "contiguous"},
	{"vlen_strings", []uint64{3}, Values{Strings: []string{"x", "", "longer string"}}, "contiguous"},
	{"scalar", nil, Values{Floats: []float64{2.5}}, "contiguous"},
	{"unwritten", []uint64{6}, Values{Ints: []int64{7, 7, 7, 7, 7, 7}}, "chunked [4]"},
	{"many_chunks", []uint64{300}, Values{Ints: iarange(300)}, "chunked [2]"},
	{"group/sub/leaf", []uint64{1}, Values{Ints: []int64{42}}, "contiguous"},
	{"big_group/member17", []uint64{1}, Values{Ints: []int64{17}}, "contiguous"},
}

func TestReadDatasets(t *testing.T) {
	latestOnly := []struct {
		path    string
		want    Values
		storage string
	}{
		{"single_chunk", Values{Ints: iarange(35)}, "chunked [5 7], single chunk index, filter 1"},
		{"single_chunk_plain", Values{Ints: iarange(35)}, "chunked [5 7], single chunk index"},
		{"implicit", Values{Ints: iarange(35)}, "chunked [2 3], implicit index"},
		{"edge_chunks", Values{Ints: iarange(35)}, "chunked [2 3], fixed array index, filter 2, filter 1"},
		{"edge_chunks_plain", Values{Ints: iarange(35)}, "chunked [2 3], fixed array index"},
	}
	for _, file := range []string{"oldest.h5", "latest.h5"} {
		f := openFixture(t, file)
		root, err := f.Root()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range commonFixtures {
			t.Run(file+"/"+tc.path, func(t *testing.T) {
				d := openDataset(t, root, tc.path)
				if !slices.Equal(d.Space.Dims, tc.dims) {
					t.Errorf("dims %v, want %v", d.Space.Dims, tc.dims)
				}
				if !strings.HasPrefix(d.String(), tc.storage) {
					t.Errorf("storage %q, want %q...", d.String(), tc.storage)
				}
				got, err := d.Read()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		if file != "latest.h5" {
			continue
		}
		for _, tc := range latestOnly {
			t.Run(file+"/"+tc.path, func(t *testing.T) {
				d := openDataset(t, root, tc.path)
				if d.String() != tc.storage {
					t.Errorf("storage %q, want %q", d.String(), tc.storage)
				}
				got, err := d.Read()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func openDataset(t *testing.T, root *Object, path string) *Dataset {
	t.Helper()
	o, err := root.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !o.IsDataset() {
		t.Fatalf("%s is not a dataset", path)
	}
	d, err := o.Dataset()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUnsupportedChunkIndex(t *testing.T) {
	root, err := openFixture(t, "latest.h5").Root()
	if err != nil {
		t.Fatal(err)
	}
	d := openDataset(t, root, "extensible")
	_, err = d.Read()
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `"extensible array" is not supported`) {
		t.Errorf("err = %v, want a FormatError naming the extensible array index", err)
	}
}

func TestAttributes(t *testing.T) {
	for _, file := range []string{"oldest.h5", "latest.h5"} {
		t.Run(file, func(t *testing.T) {
			root, err := openFixture(t, file).Root()
			if err != nil {
				t.Fatal(err)
			}
			o, err := root.Open("contiguous")
			if err != nil {
				t.Fatal(err)
			}
			attrs, err := o.Attributes()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Values{}
			for _, a := range attrs {
				v, err := a.Values()
				if err != nil {
					t.Fatalf("%s: %v", a.Name, err)
				}
				got[a.Name] = v
			}
			if len(got) != 14 {
				t.Errorf("%d attributes, want 14", len(got))
			}
			for i := range 12 {
				name := "attr" + string(rune('0'+i/10)) + string(rune('0'+i%10))
				if v := got[name]; !slices.Equal(v.Ints, []int64{int64(i)}) {
					t.Errorf("%s = %v, want %d", name, v, i)
				}
			}
			if v := got["text"]; !slices.Equal(v.Strings, []string{"some text"}) {
				t.Errorf("text = %v", v)
			}
			if v := got["floats"]; !slices.Equal(v.Floats, []float64{1.5, -2}) {
				t.Errorf("floats = %v", v)
			}
			a, err := o.Attribute("text")
			if err != nil || a == nil {
				t.Fatalf("Attribute(text) = %v, %v", a, err)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	for _, file := range []string{"oldest.h5", "latest.h5"} {
		root, err := openFixture(t, file).Root()
		if err != nil {
			t.Fatal(err)
		}
		g, err := root.Open("big_group")
		if err != nil {
			t.Fatal(err)
		}
		links, err := g.Links()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range links {
			names = append(names, l.Name)
		}
		slices.Sort(names)
		if len(names) != 20 || names[0] != "member00" || names[19] != "member19" {
			t.Errorf("%s: links %v", file, names)
		}
		if _, err := root.Open("group/missing"); err == nil || !strings.Contains(err.Error(), `no object "missing"`) {
			t.Errorf("%s: Open(group/missing) err = %v", file, err)
		}
	}
}

func TestUnshuffle(t *testing.T) {
	tests := []struct {
		in   []byte
		size int
		want []byte
	}{
		{[]byte{1, 3, 2, 4}, 2, []byte{1, 2, 3, 4}},
		{[]byte{1, 3, 5, 2, 4, 6, 9}, 2, []byte{1, 2, 3, 4, 5, 6, 9}}, // trailing partial element kept
		{[]byte{1, 2, 3}, 1, []byte{1, 2, 3}},
	}
	for _, tc := range tests {
		if got := unshuffle(tc.in, tc.size); !bytes.Equal(got, tc.want) {
			t.Errorf("unshuffle(%v, %d) = %v, want %v", tc.in, tc.size, got, tc.want)
		}
	}
}

func TestNotHDF5(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("CDF\x01 netCDF-3 classic"), bytes.Repeat([]byte{0}, 2000)} {
		_, err := Open(bytes.NewReader(in), int64(len(in)))
		if err == nil || !strings.Contains(err.Error(), "no HDF5 signature") {
			t.Errorf("Open(%q...) err = %v", in[:min(len(in), 8)], err)
		}
	}
}

func TestBudget(t *testing.T) {
	f := &File{size: 10, budget: 100}
	if err := f.charge(60, "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.charge(60, "y"); err == nil || !strings.Contains(err.Error(), "y needs 60 bytes") {
		t.Errorf("second charge err = %v", err)
	}
}

func TestDenseLinksDeepTree(t *testing.T) {
	f := openFixture(t, "latest.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	g, err := root.Open("wide_group")
	if err != nil {
		t.Fatal(err)
	}
	links, err := g.Links()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"h0000", "h0700", "h1499"}) {
		t.Errorf("hard links %v", names)
	}
	// All 1503 links (1500 soft) come out of the name index, whose tree is more than one level deep.
	m, ok := g.find(msgLinkInfo)
	if !ok {
		t.Fatal("no link info message")
	}
	c := f.cursorFor(m.data, m.addr, "link info")
	c.skip(2)
	c.addr()
	index := c.addr()
	recs, err := f.btree2Records(index, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1503 {
		t.Errorf("%d records in the name index, want 1503", len(recs))
	}
	hdr, err := f.read(index, 16, "header")
	if err != nil {
		t.Fatal(err)
	}
	if depth := int(hdr[12]) | int(hdr[13])<<8; depth < 2 {
		t.Errorf("name index of depth %d; the fixture should exercise internal nodes of depth 2", depth)
	}
}
