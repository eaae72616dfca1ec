package data

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// CIFAR-10 binary format: each record is one label byte followed by 32*32 red, then green, then blue
// bytes.
const (
	cifarPixels     = 3 * 32 * 32
	cifarRecordSize = 1 + cifarPixels
	cifarClasses    = 10
)

// CIFAR10RecordSize is the size in bytes of one record of a CIFAR-10 binary batch file.
const CIFAR10RecordSize = cifarRecordSize

// cifarSpec describes the CIFAR-10 files. Tests shrink records to make small archives in the real
// format.
type cifarSpec struct {
	archive fetch.File // the official archive
	dirName string     // the folder the archive holds, and the folder it is extracted to
	records int        // records in each batch file
}

// cifar10Spec returns the specification of the official CIFAR-10 binary release.
func cifar10Spec() cifarSpec {
	return cifarSpec{
		archive: fetch.File{
			Name: "cifar-10-binary.tar.gz",
			URL:  "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
			Size: 170052171,
			Sum:  fetch.Checksum{Algorithm: fetch.MD5, Hex: "c32a1d4ab5d03f1284b67883e8d87530"},
		},
		dirName: "cifar-10-batches-bin",
		records: 10000,
	}
}

// cifarTrainFiles returns the names of the training batch files inside the archive's folder.
func cifarTrainFiles() []string {
	return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
}

// The other files inside the archive's folder.
const (
	cifarTestFile = "test_batch.bin"
	cifarMetaFile = "batches.meta.txt"
	cifarMetaMax  = 1 << 16 // bytes; the real file has 10 short lines
)

// cifarBatchFiles returns the six batch file names, train first.
func cifarBatchFiles() []string {
	return append(cifarTrainFiles(), cifarTestFile)
}

// batchSize returns the size in bytes of each batch file.
func (s cifarSpec) batchSize() int64 { return int64(s.records) * cifarRecordSize }

// cifar10ClassNames returns the class names in label order, as batches.meta.txt lists them.
func cifar10ClassNames() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
}

// ParseCIFAR10 reads size bytes of CIFAR-10 binary records from r (the content of one batch file such as
// data_batch_1.bin: records of one label byte and 3072 pixel bytes, the 32x32 red plane, then green,
// then blue) and returns them as a Set with C, H, W = 3, 32, 32. size must be a positive multiple of
// CIFAR10RecordSize (3073); r must hold at least size bytes, and nothing after them is read. Memory grows
// with the records actually read, so a size far beyond the input does not cause a large allocation.
func ParseCIFAR10(r io.Reader, size int64) (*Set, error) {
	if size <= 0 || size%cifarRecordSize != 0 {
		return nil, fmt.Errorf("cifar10: size %d bytes is not a positive multiple of the record size %d (1 label byte, 3072 pixel bytes)", size, cifarRecordSize)
	}
	if size/cifarRecordSize > int64(maxInt/cifarPixels) {
		return nil, fmt.Errorf("cifar10: size %d bytes is too large", size)
	}
	n := int(size / cifarRecordSize)
	s := newCIFARSet(0)
	tbl := normTable()
	const chunk = 1024 // records decoded per step
	buf := make([]byte, min(n, chunk)*cifarRecordSize)
	for done := 0; done < n; {
		k := min(n-done, chunk)
		b := buf[:k*cifarRecordSize]
		if m, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("cifar10: %w", readErr(err, int64(done)*cifarRecordSize+int64(m), size))
		}
		s.X = slices.Grow(s.X, k*cifarPixels)[:len(s.X)+k*cifarPixels]
		s.Y = slices.Grow(s.Y, k)[:len(s.Y)+k]
		if err := decodeCIFAR(b, s.X[done*cifarPixels:], s.Y[done:], tbl, done); err != nil {
			return nil, err
		}
		done += k
	}
	s.N = n
	return s, nil
}

// readErr describes a failed read after got of want bytes.
func readErr(err error, got, want int64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %d of %d bytes", got, want)
	}
	return fmt.Errorf("read failed after %d of %d bytes: %w", got, want, err)
}

// maxInt is the largest int.
const maxInt = int(^uint(0) >> 1)

// newCIFARSet returns a CIFAR-10 set of n zero examples.
func newCIFARSet(n int) *Set {
	return &Set{
		X:       make([]float32, n*cifarPixels),
		Y:       make([]int32, n),
		N:       n,
		Dim:     cifarPixels,
		C:       3,
		H:       32,
		W:       32,
		Classes: cifarClasses,
	}
}

// decodeCIFAR decodes the whole records in b into x and y; first is the index of b's first record, for
// error messages.
func decodeCIFAR(b []byte, x []float32, y []int32, tbl *[256]float32, first int) error {
	for i := 0; len(b) >= cifarRecordSize; i++ {
		label := b[0]
		if label >= cifarClasses {
			return fmt.Errorf("cifar10: record %d: label %d is not in [0, %d)", first+i, label, cifarClasses)
		}
		y[i] = int32(label)
		dst := x[i*cifarPixels : (i+1)*cifarPixels]
		for j, p := range b[1:cifarRecordSize] {
			dst[j] = tbl[p]
		}
		b = b[cifarRecordSize:]
	}
	return nil
}

// readCIFARBatch reads the batch file at p, which must hold exactly the records of dst, into dst.
func readCIFARBatch(ctx context.Context, p string, dst *Set) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cifar10: %w", err)
	}
	defer f.Close()
	want := int64(dst.N) * cifarRecordSize
	if st, err := f.Stat(); err != nil {
		return fmt.Errorf("cifar10: %w", err)
	} else if st.Size() != want {
		return fmt.Errorf("cifar10: %s is %d bytes, want %d (%d records of %d bytes)", p, st.Size(), want, dst.N, cifarRecordSize)
	}
	tbl := normTable()
	const chunk = 1024
	buf := make([]byte, chunk*cifarRecordSize)
	for done := 0; done < dst.N; {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(dst.N-done, chunk)
		b := buf[:k*cifarRecordSize]
		if m, err := io.ReadFull(f, b); err != nil {
			return fmt.Errorf("cifar10: %s: %w", p, readErr(err, int64(done)*cifarRecordSize+int64(m), want))
		}
		if err := decodeCIFAR(b, dst.X[done*cifarPixels:], dst.Y[done:], tbl, done); err != nil {
			return fmt.Errorf("%w (in %s)", err, p)
		}
		done += k
	}
	return nil
}

// loadCIFAR10 loads CIFAR-10 as spec describes it: from opts.Dir, else from the extracted folder in the
// cache directory, else from the archive in the cache directory, downloaded when missing.
func loadCIFAR10(ctx context.Context, opts Options, spec cifarSpec) (*Dataset, error) {
	var dir string
	if opts.Dir != "" {
		dir = opts.Dir
		if sub := filepath.Join(dir, spec.dirName); isDir(sub) {
			dir = sub
		}
		if err := checkCIFARDir(dir, spec); err != nil {
			return nil, fmt.Errorf("cifar10: the data directory %s is not an extracted CIFAR-10 binary folder (%s): %w", opts.Dir, spec.dirListing(), err)
		}
	} else {
		cache := opts.cacheDir()
		dir = filepath.Join(cache, spec.dirName)
		if _, err := os.Stat(dir); err == nil {
			if err := checkCIFARDir(dir, spec); err != nil {
				return nil, fmt.Errorf("cifar10: %s is incomplete (delete it to extract the archive again): %w", dir, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cifar10: %w", err)
		} else {
			archive, err := fetch.Ensure(ctx, cache, spec.archive, opts.fetchOptions())
			if err != nil {
				var oe *fetch.OfflineError
				if errors.As(err, &oe) {
					return nil, &MissingError{Dataset: CIFAR10, Help: spec.help(cache), Err: err}
				}
				return nil, fmt.Errorf("cifar10: %w", err)
			}
			if err := extractCIFAR10(ctx, archive, dir, spec); err != nil {
				return nil, err
			}
		}
	}
	return readCIFARDir(ctx, dir, spec)
}

// dirListing lists the batch files and their size.
func (s cifarSpec) dirListing() string {
	return fmt.Sprintf("want %s, %d bytes each", strings.Join(cifarBatchFiles(), ", "), s.batchSize())
}

// help says where to put the CIFAR-10 files by hand.
func (s cifarSpec) help(cache string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "put either\n")
	fmt.Fprintf(&b, "  the archive %s\n", filepath.Join(cache, s.archive.Name))
	fmt.Fprintf(&b, "    %d bytes, %s, from %s\n", s.archive.Size, s.archive.Sum, s.archive.URL)
	fmt.Fprintf(&b, "  or the extracted folder %s (or any folder given as the data directory) holding\n", filepath.Join(cache, s.dirName))
	for _, name := range cifarBatchFiles() {
		fmt.Fprintf(&b, "    %s, %d bytes\n", name, s.batchSize())
	}
	return strings.TrimRight(b.String(), "\n")
}

// isDir reports whether p is a directory.
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// checkCIFARDir checks that dir holds the six batch files with the right sizes.
func checkCIFARDir(dir string, spec cifarSpec) error {
	var errs []error
	for _, name := range cifarBatchFiles() {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !st.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s is not a regular file", p))
		case st.Size() != spec.batchSize():
			errs = append(errs, fmt.Errorf("%s is %d bytes, want %d", p, st.Size(), spec.batchSize()))
		}
	}
	return errors.Join(errs...)
}

// readCIFARDir reads the six batch files (and the class names, when batches.meta.txt is there) of an
// extracted folder.
func readCIFARDir(ctx context.Context, dir string, spec cifarSpec) (*Dataset, error) {
	names, err := readCIFARMeta(filepath.Join(dir, cifarMetaFile))
	if err != nil {
		return nil, err
	}
	trainFiles := cifarTrainFiles()
	train := newCIFARSet(len(trainFiles) * spec.records)
	for i, name := range trainFiles {
		part := &Set{
			X: train.X[i*spec.records*cifarPixels : (i+1)*spec.records*cifarPixels],
			Y: train.Y[i*spec.records : (i+1)*spec.records],
			N: spec.records,
		}
		if err := readCIFARBatch(ctx, filepath.Join(dir, name), part); err != nil {
			return nil, err
		}
	}
	test := newCIFARSet(spec.records)
	if err := readCIFARBatch(ctx, filepath.Join(dir, cifarTestFile), test); err != nil {
		return nil, err
	}
	return &Dataset{Name: CIFAR10, Train: train, Test: test, ClassNames: names}, nil
}

// readCIFARMeta returns the class names listed in batches.meta.txt, or the standard names when the file
// is absent.
func readCIFARMeta(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return cifar10ClassNames(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cifar10: %w", err)
	}
	names, err := parseCIFARMeta(b)
	if err != nil {
		return nil, fmt.Errorf("cifar10: %s: %w", p, err)
	}
	return names, nil
}

// parseCIFARMeta returns the class names, one a line, of a batches.meta.txt file.
func parseCIFARMeta(b []byte) ([]string, error) {
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if len(names) != cifarClasses {
		return nil, fmt.Errorf("names %d classes, want %d (one name a line)", len(names), cifarClasses)
	}
	return names, nil
}

// extractCIFAR10 extracts the batch files (and batches.meta.txt and readme.html) of the archive at
// archivePath into dir, which must not exist. It extracts into a temporary folder beside dir, checks
// that every batch file is there with the right size, and only then renames the folder to dir, so a
// failed extraction leaves nothing behind.
func extractCIFAR10(ctx context.Context, archivePath, dir string, spec cifarSpec) (err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cifar10: extracting %s: %w", archivePath, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := extractCIFARMembers(ctx, archivePath, tmp, spec); err != nil {
		return fmt.Errorf("cifar10: extracting %s: %w", archivePath, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("cifar10: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have extracted the same archive meanwhile.
		if checkCIFARDir(dir, spec) == nil {
			os.RemoveAll(tmp)
			return nil
		}
		return fmt.Errorf("cifar10: %w", err)
	}
	return nil
}

// extractCIFARMembers writes the wanted members of the archive at archivePath into dir.
func extractCIFARMembers(ctx context.Context, archivePath, dir string, spec cifarSpec) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	defer zr.Close()
	// want maps each member to extract to its exact size, or to -1 for a small text file.
	want := map[string]int64{cifarMetaFile: -1, "readme.html": -1}
	for _, name := range cifarBatchFiles() {
		want[name] = spec.batchSize()
	}
	seen := map[string]bool{}
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		folder, base := path.Split(path.Clean(hdr.Name))
		size, ok := want[base]
		if !ok || folder != spec.dirName+"/" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if seen[base] {
			return fmt.Errorf("member %s appears twice", hdr.Name)
		}
		seen[base] = true
		switch {
		case size >= 0 && hdr.Size != size:
			return fmt.Errorf("member %s is %d bytes, want %d (%d records of %d bytes)", hdr.Name, hdr.Size, size, spec.records, cifarRecordSize)
		case size < 0 && hdr.Size > cifarMetaMax:
			return fmt.Errorf("member %s is %d bytes, want at most %d", hdr.Name, hdr.Size, cifarMetaMax)
		}
		p := filepath.Join(dir, base)
		if err := writeMember(p, tr, hdr.Size); err != nil {
			return fmt.Errorf("member %s: %w", hdr.Name, err)
		}
		if base == cifarMetaFile {
			if b, err := os.ReadFile(p); err != nil {
				return err
			} else if _, err := parseCIFARMeta(b); err != nil {
				return fmt.Errorf("member %s: %w", hdr.Name, err)
			}
		}
	}
	var missing []string
	for _, name := range cifarBatchFiles() {
		if !seen[name] {
			missing = append(missing, spec.dirName+"/"+name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("archive lacks %s", strings.Join(missing, ", "))
	}
	return checkCIFARDir(dir, spec)
}

// writeMember writes exactly size bytes from r to a new file at p.
func writeMember(p string, r io.Reader, size int64) error {
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.CopyN(out, r, size)
	if err != nil {
		out.Close()
		return readErr(err, n, size)
	}
	return out.Close()
}
