package hdf5

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// walk reads everything reachable from o, ignoring errors: links (to a bounded depth), attributes and
// datasets.
func walk(f *File, o *Object, depth int) {
	if attrs, err := o.Attributes(); err == nil {
		for _, a := range attrs {
			a.Values()
			a.ObjectRefs()
		}
	}
	if o.IsDataset() {
		if d, err := o.Dataset(); err == nil {
			d.Read()
			_ = d.String()
		}
	}
	if depth == 0 {
		return
	}
	links, err := o.Links()
	if err != nil {
		return
	}
	for _, l := range links {
		if c, err := f.Object(l.Addr); err == nil {
			walk(f, c, depth-1)
		}
	}
}

func FuzzHDF5(f *testing.F) {
	for _, name := range []string{"oldest.h5", "latest.h5"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x89HDF\r\n\x1a\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		file, err := Open(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			if root, err := file.Root(); err == nil {
				walk(file, root, 3)
			}
		}
		runtime.ReadMemStats(&after)
		if used := after.TotalAlloc - before.TotalAlloc; used > 64<<20+4096*uint64(len(b)) {
			t.Errorf("reading %d bytes allocated %d bytes", len(b), used)
		}
	})
}
