package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// Set is one split of a dataset in memory.
type Set struct {
	// X holds N*Dim values, row-major: example i is X[i*Dim:(i+1)*Dim]. Pixel bytes b are normalised to
	// (b/255-0.5)/0.5, in float32, as torchvision's ToTensor followed by Normalize(0.5, 0.5) does; the
	// values lie in [-1, 1].
	X []float32
	// Y holds N labels in [0, Classes).
	Y []int32
	// N is the number of examples and Dim the number of values in each (Dim == C*H*W).
	N, Dim int
	// C, H and W give the image layout of one example: C planes of H rows of W pixels (CIFAR-10: 3, 32,
	// 32 as R, G, B planes; MNIST and Fashion-MNIST: 1, 28, 28).
	C, H, W int
	// Classes is the number of classes.
	Classes int
}

// Subset returns a copy of the examples at the given indices, in that order; an index may repeat. It
// panics if an index is out of range, as indexing a slice does.
func (s *Set) Subset(idx []int) *Set {
	out := &Set{
		X:       make([]float32, len(idx)*s.Dim),
		Y:       make([]int32, len(idx)),
		N:       len(idx),
		Dim:     s.Dim,
		C:       s.C,
		H:       s.H,
		W:       s.W,
		Classes: s.Classes,
	}
	for j, i := range idx {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: Subset index %d out of range [0, %d)", i, s.N))
		}
		copy(out.X[j*s.Dim:(j+1)*s.Dim], s.X[i*s.Dim:(i+1)*s.Dim])
		out.Y[j] = s.Y[i]
	}
	return out
}

// Head returns a copy of the first n examples, or of all of them when the set has fewer than n (none
// when n <= 0).
func (s *Set) Head(n int) *Set {
	n = max(0, min(n, s.N))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return s.Subset(idx)
}

// Dataset is a named train/test pair.
type Dataset struct {
	// Name is the name Load was given, one of Names().
	Name string
	// Train and Test are the two official splits.
	Train, Test *Set
	// ClassNames names the classes, indexed by label.
	ClassNames []string
}

// Options say where data lives.
type Options struct {
	// CacheDir is where downloads go and where downloaded data is looked for first; "" means
	// DefaultCacheDir().
	CacheDir string
	// Dir, when not "", is a directory holding the dataset already (for offline use): for CIFAR-10 the
	// extracted cifar-10-batches-bin directory (or the folder that holds it); for MNIST and Fashion-MNIST
	// the folder holding the four IDX files, gzipped or not. Nothing else is tried when Dir is set.
	Dir string
	// Offline forbids downloads; so does Fetch.Offline.
	Offline bool
	// Fetch controls downloads (HTTP client, progress reports).
	Fetch fetch.Options
}

// cacheDir returns the cache directory the options name.
func (o Options) cacheDir() string {
	if o.CacheDir != "" {
		return o.CacheDir
	}
	return DefaultCacheDir()
}

// fetchOptions returns the fetch options, with Offline set when either flag says so.
func (o Options) fetchOptions() fetch.Options {
	f := o.Fetch
	f.Offline = f.Offline || o.Offline
	return f
}

// CacheEnvVar is the environment variable that overrides the default cache directory.
const CacheEnvVar = "BPDL_DATA_DIR"

// DefaultCacheDir returns $BPDL_DATA_DIR when it is set, else the folder bpdl inside the user's cache
// directory (os.UserCacheDir), else, where the system has no user cache directory, bpdl-data inside the
// system's temporary directory.
func DefaultCacheDir() string {
	if d := os.Getenv(CacheEnvVar); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "bpdl")
	}
	return filepath.Join(os.TempDir(), "bpdl-data")
}

// The dataset names Load accepts.
const (
	CIFAR10      = "cifar10"
	MNIST        = "mnist"
	FashionMNIST = "fashion"
)

// Names returns the names of the datasets Load knows, in a fixed order.
func Names() []string { return []string{CIFAR10, MNIST, FashionMNIST} }

// Load reads the named dataset (one of Names()). It reads Options.Dir when that is set; otherwise it
// looks in the cache directory and in the places a system package or Go module puts the data (see the
// package documentation), and downloads what is missing into the cache directory unless Options.Offline
// is set. Every file is verified against a recorded checksum before its content is used. When the data
// is missing and cannot be downloaded, the error is a *MissingError that says which files to put where.
func Load(ctx context.Context, name string, opts Options) (*Dataset, error) {
	if opts.Dir != "" {
		if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: the data directory %s does not exist or is not a directory", name, opts.Dir)
		}
	}
	switch name {
	case CIFAR10:
		return loadCIFAR10(ctx, opts, cifar10Spec())
	case MNIST:
		return loadIDX(ctx, opts, mnistSpec())
	case FashionMNIST:
		return loadIDX(ctx, opts, fashionSpec())
	}
	return nil, fmt.Errorf("data: unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Files returns the files the named dataset is downloaded as, with their sizes, checksums and URLs (nil
// for an unknown name). They are kept in the folder CacheSubdir(name) of the cache directory.
func Files(name string) []fetch.File {
	switch name {
	case CIFAR10:
		return []fetch.File{cifar10Spec().archive}
	case MNIST:
		return mnistSpec().downloads()
	case FashionMNIST:
		return fashionSpec().downloads()
	}
	return nil
}

// CacheSubdir returns the folder, relative to the cache directory, that holds the files Files(name)
// lists: "" (the cache directory itself) for CIFAR-10, whose archive is extracted beside itself into
// cifar-10-batches-bin, "mnist" for MNIST and "fashion-mnist" for Fashion-MNIST, whose files have the
// same names as MNIST's.
func CacheSubdir(name string) string {
	switch name {
	case MNIST:
		return mnistSpec().subdir
	case FashionMNIST:
		return fashionSpec().subdir
	}
	return ""
}

// MissingError reports a dataset that is not on this machine and could not be downloaded. Its message
// says exactly which files to put where, with their sizes and checksums.
type MissingError struct {
	// Dataset is the dataset's name.
	Dataset string
	// Help is the text that says what to put where.
	Help string
	// Err is the underlying error, usually a *fetch.OfflineError.
	Err error
}

// Error says what is missing, why it was not downloaded, and what to put where.
func (e *MissingError) Error() string {
	msg := e.Dataset + ": data not found"
	if e.Err != nil {
		msg += " and not downloaded (" + cause(e.Err) + ")"
	}
	return msg + "; " + e.Help
}

// Unwrap returns the underlying error.
func (e *MissingError) Unwrap() error { return e.Err }

// cause returns a one-line description of why a fetch failed.
func cause(err error) string {
	if oe, ok := err.(*fetch.OfflineError); ok && oe.Cause != nil {
		return oe.Cause.Error()
	}
	return err.Error()
}

// normTable returns the normalised value of each pixel byte, computed in float32 exactly as torchvision's
// ToTensor (b/255) followed by Normalize(mean 0.5, std 0.5) computes it.
func normTable() *[256]float32 {
	var t [256]float32
	for b := range t {
		v := float32(b) / 255
		t[b] = (v - 0.5) / 0.5
	}
	return &t
}

// Info describes a dataset without reading it: the layout of one example, the number of classes and the
// sizes of the official splits.
type Info struct {
	C, H, W     int // one example is C planes of H rows of W values
	Classes     int
	Train, Test int // examples in the official training and test splits
}

// Dim is the number of values in one example, C*H*W.
func (i Info) Dim() int { return i.C * i.H * i.W }

// Describe returns the layout and sizes of the named dataset (one of Names()) without reading or
// downloading it, for plans and estimates made before the data is loaded.
func Describe(name string) (Info, error) {
	switch name {
	case CIFAR10:
		return Info{C: 3, H: 32, W: 32, Classes: 10, Train: 50000, Test: 10000}, nil
	case MNIST, FashionMNIST:
		return Info{C: 1, H: 28, W: 28, Classes: 10, Train: 60000, Test: 10000}, nil
	}
	return Info{}, fmt.Errorf("data: unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}
