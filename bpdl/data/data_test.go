package data

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// testSet returns a set of n examples of dim values: value j of example i is i*100+j, and label i%classes.
func testSet(n, dim, classes int) *Set {
	s := &Set{X: make([]float32, n*dim), Y: make([]int32, n), N: n, Dim: dim, C: 1, H: 1, W: dim, Classes: classes}
	for i := range n {
		for j := range dim {
			s.X[i*dim+j] = float32(i*100 + j)
		}
		s.Y[i] = int32(i % classes)
	}
	return s
}

func TestSubset(t *testing.T) {
	s := testSet(5, 3, 2)
	for _, tc := range []struct {
		name string
		idx  []int
	}{
		{"none", nil},
		{"one", []int{3}},
		{"reordered", []int{4, 0, 2}},
		{"repeated", []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := s.Subset(tc.idx)
			if sub.N != len(tc.idx) || len(sub.X) != len(tc.idx)*s.Dim || len(sub.Y) != len(tc.idx) {
				t.Fatalf("Subset: N %d, %d values, %d labels; want %d examples", sub.N, len(sub.X), len(sub.Y), len(tc.idx))
			}
			if sub.Dim != s.Dim || sub.C != s.C || sub.H != s.H || sub.W != s.W || sub.Classes != s.Classes {
				t.Errorf("Subset changed the layout: %+v", sub)
			}
			for j, i := range tc.idx {
				if !reflect.DeepEqual(sub.X[j*s.Dim:(j+1)*s.Dim], s.X[i*s.Dim:(i+1)*s.Dim]) || sub.Y[j] != s.Y[i] {
					t.Errorf("example %d is not example %d of the set", j, i)
				}
			}
		})
	}
	sub := s.Subset([]int{0})
	sub.X[0], sub.Y[0] = -7, 1
	if s.X[0] != 0 || s.Y[0] != 0 {
		t.Errorf("Subset shares memory with the set")
	}
	for _, bad := range []int{-1, 5} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Subset([%d]) did not panic", bad)
				}
			}()
			s.Subset([]int{bad})
		}()
	}
}

func TestHead(t *testing.T) {
	s := testSet(4, 2, 3)
	for _, tc := range []struct{ n, want int }{{-1, 0}, {0, 0}, {2, 2}, {4, 4}, {9, 4}} {
		h := s.Head(tc.n)
		if h.N != tc.want || !reflect.DeepEqual(h.X, s.X[:tc.want*s.Dim]) || !reflect.DeepEqual(h.Y, s.Y[:tc.want]) {
			t.Errorf("Head(%d): %d examples, want the first %d", tc.n, h.N, tc.want)
		}
	}
}

func TestNormTable(t *testing.T) {
	tbl := normTable()
	for _, tc := range []struct {
		b    int
		want float32
	}{{0, -1}, {255, 1}, {51, -0.6}, {204, 0.6}} {
		if got := tbl[tc.b]; math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("byte %d -> %v, want %v", tc.b, got, tc.want)
		}
	}
	for b := range 256 {
		// ToTensor then Normalize(0.5, 0.5) in float32 equals x/255*2-1 in float32 exactly.
		if want := float32(b)/255*2 - 1; tbl[b] != want {
			t.Errorf("byte %d -> %v, want %v", b, tbl[b], want)
		}
		if b > 0 && tbl[b] <= tbl[b-1] {
			t.Errorf("table is not increasing at %d", b)
		}
	}
}

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"cifar10", "mnist", "fashion"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load(context.Background(), "imagenet", Options{CacheDir: t.TempDir(), Offline: true})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range append([]string{`"imagenet"`}, Names()...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
}

func TestFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		alg    fetch.Algorithm
		subdir string
	}{
		{CIFAR10, 1, fetch.MD5, ""},
		{MNIST, 4, fetch.SHA256, "mnist"},
		{FashionMNIST, 4, fetch.MD5, "fashion-mnist"},
		{"unknown", 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := Files(tc.name)
			if len(files) != tc.n {
				t.Fatalf("Files(%q) has %d files, want %d", tc.name, len(files), tc.n)
			}
			for _, f := range files {
				if f.Name == "" || !strings.HasSuffix(f.URL, "/"+f.Name) || f.Size <= 0 || f.Sum.Algorithm != tc.alg || f.Sum.Hex == "" {
					t.Errorf("incomplete file %+v", f)
				}
			}
			if got := CacheSubdir(tc.name); got != tc.subdir {
				t.Errorf("CacheSubdir(%q) = %q, want %q", tc.name, got, tc.subdir)
			}
		})
	}
	if f := Files(CIFAR10)[0]; f.Size != 170052171 || f.Sum.Hex != "c32a1d4ab5d03f1284b67883e8d87530" {
		t.Errorf("CIFAR-10 archive %+v, want the official size and md5", f)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv(CacheEnvVar, "/some/where")
	if got := DefaultCacheDir(); got != "/some/where" {
		t.Errorf("with $%s set: %q", CacheEnvVar, got)
	}
	t.Setenv(CacheEnvVar, "")
	if got := DefaultCacheDir(); filepath.Base(got) != "bpdl" && filepath.Base(got) != "bpdl-data" {
		t.Errorf("without $%s: %q, want a bpdl folder", CacheEnvVar, got)
	}
	// Options.CacheDir wins over the environment.
	t.Setenv(CacheEnvVar, "/env")
	if got := (Options{CacheDir: "/opt"}).cacheDir(); got != "/opt" {
		t.Errorf("cacheDir() = %q, want /opt", got)
	}
	if got := (Options{}).cacheDir(); got != "/env" {
		t.Errorf("cacheDir() = %q, want /env", got)
	}
}

func TestMissingErrorUnwrap(t *testing.T) {
	oe := &fetch.OfflineError{Dir: "/c", Cause: errors.New("offline")}
	err := error(&MissingError{Dataset: "x", Help: "put it there", Err: oe})
	var got *fetch.OfflineError
	if !errors.As(err, &got) || got != oe {
		t.Errorf("errors.As did not find the *fetch.OfflineError")
	}
	if msg := err.Error(); msg != "x: data not found and not downloaded (offline); put it there" {
		t.Errorf("message %q", msg)
	}
}

// listTree returns the paths of everything under dir, relative to it.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// TestDescribeMatchesLoad checks that Describe gives the layout and split sizes that Load reads, for every
// dataset available on this machine.
func TestDescribeMatchesLoad(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			info, err := Describe(name)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := Load(context.Background(), name, Options{Offline: true, CacheDir: t.TempDir()})
			if err != nil {
				t.Skipf("%s not on this machine: %v", name, err)
			}
			got := Info{C: ds.Train.C, H: ds.Train.H, W: ds.Train.W, Classes: ds.Train.Classes, Train: ds.Train.N, Test: ds.Test.N}
			if got != info {
				t.Errorf("Describe(%q) = %+v, Load gives %+v", name, info, got)
			}
			if info.Dim() != ds.Train.Dim {
				t.Errorf("Dim() = %d, want %d", info.Dim(), ds.Train.Dim)
			}
		})
	}
	if _, err := Describe("imagenet"); err == nil {
		t.Error("Describe(imagenet): no error")
	}
}

// TestMissingDataDir checks that a data directory that does not exist is reported as such, not as a
// folder that lacks the dataset's files.
func TestMissingDataDir(t *testing.T) {
	for _, name := range Names() {
		_, err := Load(context.Background(), name, Options{Dir: filepath.Join(t.TempDir(), "nope"), Offline: true})
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s: Load from a missing directory: %v", name, err)
		}
	}
}
