package data

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// gzipSeed returns b gzipped, for seed corpora (no *testing.T there).
func gzipSeed(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// FuzzParseCIFAR10 checks that any input gives a well-formed set or an error, never a panic.
func FuzzParseCIFAR10(f *testing.F) {
	two := cifarBatch(0, 2)
	badLabel := cifarBatch(0, 1)
	badLabel[0] = 200
	f.Add(two, int64(len(two)))
	f.Add(two, int64(cifarRecordSize))
	f.Add(two[:100], int64(len(two)))
	f.Add(badLabel, int64(len(badLabel)))
	f.Add([]byte{}, int64(0))
	f.Add([]byte{1, 2, 3}, int64(-1))
	f.Add(two, int64(30730000))
	f.Add(two, int64(1)<<62)
	f.Fuzz(func(t *testing.T, data []byte, size int64) {
		s, err := ParseCIFAR10(bytes.NewReader(data), size)
		if err != nil {
			return
		}
		if size != int64(s.N)*cifarRecordSize || int64(len(data)) < size {
			t.Fatalf("accepted %d records from %d bytes declared as %d", s.N, len(data), size)
		}
		if len(s.X) != s.N*s.Dim || len(s.Y) != s.N || s.Dim != 3072 || s.C*s.H*s.W != s.Dim {
			t.Fatalf("malformed set: N %d Dim %d, %d values, %d labels", s.N, s.Dim, len(s.X), len(s.Y))
		}
		for i, y := range s.Y {
			if y < 0 || y >= 10 || int32(data[i*cifarRecordSize]) != y {
				t.Fatalf("label %d of example %d", y, i)
			}
		}
		for _, v := range s.X {
			if v < -1 || v > 1 {
				t.Fatalf("value %v out of [-1, 1]", v)
			}
		}
	})
}

// idxSeeds returns IDX files, valid and not, plain and gzipped.
func idxSeeds() [][]byte {
	seeds := [][]byte{
		idxFileBytes(3, []int{2, 3, 4}, seq(24)),
		idxFileBytes(3, []int{0, 28, 28}, nil),
		idxFileBytes(3, []int{2, 3, 4}, seq(23)),
		idxFileBytes(3, []int{1 << 20, 1 << 20, 1 << 20}, nil),
		idxFileBytes(3, []int{1 << 15, 1 << 8, 1 << 7}, seq(100)),
		idxFileBytes(1, []int{5}, []byte{5, 0, 4, 1, 9}),
		idxFileBytes(1, []int{1<<31 - 1}, seq(10)),
		idxFileBytes(1, []int{2}, []byte{1, 2, 3}),
		{0, 0, 8},
		{},
		{0x1f, 0x8b},
	}
	for _, s := range seeds[:8] {
		seeds = append(seeds, gzipSeed(s))
	}
	return seeds
}

// FuzzParseIDXImages checks that any input gives consistent images or an error, never a panic.
func FuzzParseIDXImages(f *testing.F) {
	for _, s := range idxSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pix, n, rows, cols, err := ParseIDXImages(bytes.NewReader(data))
		if err != nil {
			return
		}
		if n < 0 || rows <= 0 || cols <= 0 || len(pix) != n*rows*cols {
			t.Fatalf("%d images of %dx%d in %d bytes", n, rows, cols, len(pix))
		}
	})
}

// FuzzParseIDXLabels checks that any input gives labels or an error, never a panic.
func FuzzParseIDXLabels(f *testing.F) {
	for _, s := range idxSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := ParseIDXLabels(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, l := range labels {
			if l < 0 || l > 255 {
				t.Fatalf("label %d", l)
			}
		}
	})
}
