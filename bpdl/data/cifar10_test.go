package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// testRecords is the number of records in each batch file of the small test archives.
const testRecords = 7

// cifarRecord returns record i of batch b of the test data: label (b+i)%10, pixel j = (b*31+i*7+j)%256.
func cifarRecord(b, i int) []byte {
	r := make([]byte, cifarRecordSize)
	r[0] = byte((b + i) % 10)
	for j := range cifarPixels {
		r[1+j] = byte(b*31 + i*7 + j)
	}
	return r
}

// cifarBatch returns batch b (0-4 train, 5 test) of n records.
func cifarBatch(b, n int) []byte {
	var out []byte
	for i := range n {
		out = append(out, cifarRecord(b, i)...)
	}
	return out
}

// member is one tar member; size, when not 0, is the size its header declares (the data is cut or
// padded to it only by the tar writer's checks, so a larger size makes a truncated archive).
type member struct {
	name string
	data []byte
	size int64
}

// cifarMembers returns the members of a test archive in the real layout.
func cifarMembers(records int) []member {
	ms := []member{{name: "cifar-10-batches-bin/batches.meta.txt", data: []byte(strings.Join(cifar10ClassNames(), "\n") + "\n\n")}}
	for b, name := range cifarBatchFiles() {
		ms = append(ms, member{name: "cifar-10-batches-bin/" + name, data: cifarBatch(b, records)})
	}
	return append(ms, member{name: "cifar-10-batches-bin/readme.html", data: []byte("<html></html>")})
}

// tarGz returns a gzipped tar of members. A member whose declared size exceeds its data ends the archive
// right after that data, as a truncated download would.
func tarGz(t *testing.T, members []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	truncated := false
	for _, m := range members {
		size := int64(len(m.data))
		if m.size != 0 {
			size = m.size
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
		if size > int64(len(m.data)) {
			truncated = true
			break
		}
	}
	if !truncated {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testCIFARSpec returns a spec for test archives of testRecords records a batch, with the given archive
// content.
func testCIFARSpec(archive []byte, url string) cifarSpec {
	spec := cifar10Spec()
	sum := md5.Sum(archive)
	spec.archive.Size = int64(len(archive))
	spec.archive.Sum.Hex = hex.EncodeToString(sum[:])
	spec.archive.URL = url
	spec.records = testRecords
	return spec
}

// checkCIFARData checks that ds holds the test data of records records a batch.
func checkCIFARData(t *testing.T, ds *Dataset, records int) {
	t.Helper()
	if ds.Name != CIFAR10 || !slices.Equal(ds.ClassNames, cifar10ClassNames()) {
		t.Errorf("name %q, classes %v", ds.Name, ds.ClassNames)
	}
	checkCIFARSet(t, ds.Train, []int{0, 1, 2, 3, 4}, records)
	checkCIFARSet(t, ds.Test, []int{5}, records)
}

// checkCIFARSet checks that s holds the given test batches of records records each.
func checkCIFARSet(t *testing.T, s *Set, batches []int, records int) {
	t.Helper()
	if s.N != len(batches)*records || s.Dim != 3072 || s.C != 3 || s.H != 32 || s.W != 32 || s.Classes != 10 ||
		len(s.X) != s.N*s.Dim || len(s.Y) != s.N {
		t.Fatalf("set layout N %d Dim %d C,H,W %d,%d,%d classes %d, %d values %d labels", s.N, s.Dim, s.C, s.H, s.W, s.Classes, len(s.X), len(s.Y))
	}
	tbl := normTable()
	for k, b := range batches {
		for i := range records {
			rec := cifarRecord(b, i)
			n := k*records + i
			if s.Y[n] != int32(rec[0]) {
				t.Fatalf("example %d: label %d, want %d", n, s.Y[n], rec[0])
			}
			// Red (0,0), green (2,1) and blue (31,31): plane c, row y, column x at c*1024+y*32+x.
			for _, j := range []int{0, 1024 + 2*32 + 1, 2*1024 + 31*32 + 31} {
				if got, want := s.X[n*s.Dim+j], tbl[rec[1+j]]; got != want {
					t.Fatalf("example %d value %d: %v, want %v", n, j, got, want)
				}
			}
		}
	}
}

func TestParseCIFAR10(t *testing.T) {
	good := cifarBatch(0, 3)
	badLabel := cifarBatch(0, 3)
	badLabel[2*cifarRecordSize] = 10
	for _, tc := range []struct {
		name    string
		data    []byte
		size    int64
		wantN   int
		wantErr string
	}{
		{name: "three records", data: good, size: int64(len(good)), wantN: 3},
		{name: "first two of three", data: good, size: 2 * cifarRecordSize, wantN: 2},
		{name: "size zero", data: good, size: 0, wantErr: "multiple"},
		{name: "negative size", data: good, size: -cifarRecordSize, wantErr: "multiple"},
		{name: "size not a multiple", data: good, size: int64(len(good)) - 1, wantErr: "multiple of the record size 3073"},
		{name: "truncated", data: good[:len(good)-1], size: int64(len(good)), wantErr: "truncated: 9218 of 9219 bytes"},
		{name: "empty input", data: nil, size: cifarRecordSize, wantErr: "truncated: 0 of 3073"},
		{name: "label out of range", data: badLabel, size: int64(len(badLabel)), wantErr: "record 2: label 10"},
		{name: "real batch size, short input", data: good, size: 30730000, wantErr: "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseCIFAR10(bytes.NewReader(tc.data), tc.size)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkCIFARSet(t, s, []int{0}, tc.wantN)
		})
	}
}

func TestParseCIFAR10ReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(cifarBatch(0, 1)), errReader{boom})
	if _, err := ParseCIFAR10(r, 2*cifarRecordSize); !errors.Is(err, boom) {
		t.Errorf("error %v, want it to wrap the read error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestParseBoundsAllocation checks that a declared size far beyond the input allocates little.
func TestParseBoundsAllocation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parse func() error
	}{
		{"cifar10", func() error {
			_, err := ParseCIFAR10(bytes.NewReader(cifarBatch(0, 2)), 1_000_000*cifarRecordSize)
			return err
		}},
		{"idx images", func() error {
			_, _, _, _, err := ParseIDXImages(bytes.NewReader(idxFileBytes(3, []int{1 << 15, 1 << 8, 1 << 7}, make([]byte, 100))))
			return err
		}},
		{"idx labels", func() error {
			_, err := ParseIDXLabels(bytes.NewReader(idxFileBytes(1, []int{1<<31 - 1}, make([]byte, 100))))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.parse()
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("error %v, want truncated", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
				t.Errorf("allocated %d bytes for a short input", got)
			}
		})
	}
}

// TestLoadCIFAR10Archive loads archives placed in the cache directory.
func TestLoadCIFAR10Archive(t *testing.T) {
	members := cifarMembers(testRecords)
	without := func(name string) []member {
		return slices.DeleteFunc(slices.Clone(members), func(m member) bool { return strings.HasSuffix(m.name, "/"+name) })
	}
	with := func(extra ...member) []member { return append(slices.Clone(members), extra...) }
	resized := func(name string, delta int) []member {
		ms := slices.Clone(members)
		for i, m := range ms {
			if strings.HasSuffix(m.name, "/"+name) {
				ms[i].data = append(slices.Clone(m.data), make([]byte, delta)...)
			}
		}
		return ms
	}
	truncated := func(name string) []member {
		var ms []member
		for _, m := range members {
			if strings.HasSuffix(m.name, "/"+name) {
				m.size = int64(len(m.data))
				m.data = m.data[:len(m.data)/2]
			}
			ms = append(ms, m)
		}
		return ms
	}
	for _, tc := range []struct {
		name     string
		members  []member
		raw      []byte // archive bytes instead of members
		wrongMD5 bool
		wantErr  string
	}{
		{name: "right layout", members: members},
		{name: "without meta and readme", members: without("batches.meta.txt")[:len(members)-2]},
		{name: "other members ignored", members: with(
			member{name: "../escape.bin", data: []byte("x")},
			member{name: "/abs/data_batch_1.bin", data: []byte("x")},
			member{name: "other/test_batch.bin", data: []byte("x")},
			member{name: "cifar-10-batches-bin/unknown.bin", data: []byte("x")},
		)},
		{name: "wrong md5", members: members, wrongMD5: true, wantErr: "checksum mismatch"},
		{name: "truncated member", members: truncated("data_batch_3.bin"), wantErr: "data_batch_3.bin: truncated"},
		{name: "missing member", members: without("test_batch.bin"), wantErr: "archive lacks cifar-10-batches-bin/test_batch.bin"},
		{name: "missing two members", members: without("data_batch_2.bin")[:5], wantErr: "lacks cifar-10-batches-bin/data_batch_2.bin, cifar-10-batches-bin/test_batch.bin"},
		{name: "record size not 3073", members: resized("data_batch_1.bin", 1), wantErr: "data_batch_1.bin is 21512 bytes, want 21511 (7 records of 3073 bytes)"},
		{name: "one record too many", members: resized("test_batch.bin", cifarRecordSize), wantErr: "test_batch.bin is 24584 bytes, want 21511"},
		{name: "duplicate member", members: with(members[2]), wantErr: "appears twice"},
		{name: "bad class names", members: append(without("batches.meta.txt"), member{name: "cifar-10-batches-bin/batches.meta.txt", data: []byte("cat\ndog\n")}), wantErr: "names 2 classes"},
		{name: "not gzip", raw: []byte("this is not an archive"), wantErr: "not a gzip file"},
		{name: "gzip, not tar", raw: gzipBytes(t, bytes.Repeat([]byte("x"), 2000)), wantErr: "reading tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			archive := tc.raw
			if archive == nil {
				archive = tarGz(t, tc.members)
			}
			spec := testCIFARSpec(archive, "")
			if tc.wrongMD5 {
				spec.archive.Sum.Hex = strings.Repeat("0", 32)
			}
			cache := t.TempDir()
			if err := os.WriteFile(filepath.Join(cache, spec.archive.Name), archive, 0o644); err != nil {
				t.Fatal(err)
			}
			ds, err := loadCIFAR10(context.Background(), Options{CacheDir: cache, Offline: true}, spec)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkCIFARData(t, ds, testRecords)
				if _, err := os.Stat(filepath.Join(filepath.Dir(cache), "escape.bin")); err == nil {
					t.Errorf("a member escaped the cache directory")
				}
				got := listTree(t, filepath.Join(cache, spec.dirName))
				for _, name := range cifarBatchFiles() {
					if !slices.Contains(got, name) {
						t.Errorf("extracted folder lacks %s: %v", name, got)
					}
				}
				if slices.Contains(got, "unknown.bin") {
					t.Errorf("extracted an unknown member: %v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), "cifar10") {
				t.Errorf("error %q does not name the dataset", err)
			}
			// Nothing but the archive is left: no extracted or temporary folder.
			if got := listTree(t, cache); !slices.Equal(got, []string{spec.archive.Name}) {
				t.Errorf("cache holds %v after the failure, want only the archive", got)
			}
		})
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadCIFAR10Download downloads a test archive from a local server, then loads it again from the
// cache without the server.
func TestLoadCIFAR10Download(t *testing.T) {
	archive := tarGz(t, cifarMembers(testRecords))
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/kriz/cifar-10-binary.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		w.Write(archive)
	}))
	defer srv.Close()
	spec := testCIFARSpec(archive, srv.URL+"/kriz/cifar-10-binary.tar.gz")
	cache := filepath.Join(t.TempDir(), "cache")
	var progress int64
	opts := Options{CacheDir: cache, Fetch: fetch.Options{Progress: func(done, _ int64) { progress = done }}}
	ds, err := loadCIFAR10(context.Background(), opts, spec)
	if err != nil {
		t.Fatal(err)
	}
	checkCIFARData(t, ds, testRecords)
	if hits.Load() != 1 || progress != int64(len(archive)) {
		t.Errorf("%d requests, progress %d; want 1 request and progress %d", hits.Load(), progress, len(archive))
	}
	want := []string{"cifar-10-batches-bin", "cifar-10-binary.tar.gz"}
	if got := listTree(t, cache); !slices.Equal(got[:1], want[:1]) || !slices.Contains(got, want[1]) || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "tmp") || strings.Contains(s, "part") }) {
		t.Errorf("cache holds %v", got)
	}
	// Again, offline and with the server gone: the extracted folder is used.
	srv.Close()
	ds, err = loadCIFAR10(context.Background(), Options{CacheDir: cache, Offline: true}, spec)
	if err != nil {
		t.Fatal(err)
	}
	checkCIFARData(t, ds, testRecords)
	if hits.Load() != 1 {
		t.Errorf("second load made requests")
	}
	// A damaged extracted folder is reported, not silently replaced.
	if err := os.Truncate(filepath.Join(cache, spec.dirName, "data_batch_4.bin"), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCIFAR10(context.Background(), Options{CacheDir: cache, Offline: true}, spec); err == nil ||
		!strings.Contains(err.Error(), "data_batch_4.bin is 100 bytes, want 21511") || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged folder: error %v", err)
	}
}

// TestLoadCIFAR10Missing checks the error for data that is neither cached nor downloadable, and that
// nothing is left behind.
func TestLoadCIFAR10Missing(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, tc := range []struct {
		name    string
		spec    cifarSpec
		offline bool
		want    []string
	}{
		{
			name: "offline, real files", spec: cifar10Spec(), offline: true,
			want: []string{"cifar-10-binary.tar.gz", "170052171 bytes", "md5:c32a1d4ab5d03f1284b67883e8d87530",
				"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "cifar-10-batches-bin", "30730000 bytes",
				"data_batch_1.bin", "data_batch_5.bin", "test_batch.bin", "offline"},
		},
		{
			name: "server unreachable", spec: testCIFARSpec([]byte("x"), dead.URL+"/cifar-10-binary.tar.gz"),
			want: []string{"cifar-10-binary.tar.gz", "1 bytes", "21511 bytes", "connect"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			_, err := loadCIFAR10(context.Background(), Options{CacheDir: cache, Offline: tc.offline}, tc.spec)
			var me *MissingError
			var oe *fetch.OfflineError
			if !errors.As(err, &me) || !errors.As(err, &oe) {
				t.Fatalf("error %v, want a *MissingError wrapping a *fetch.OfflineError", err)
			}
			msg := err.Error()
			t.Logf("error: %v", err)
			want := append(tc.want, filepath.Join(cache, "cifar-10-binary.tar.gz"), filepath.Join(cache, "cifar-10-batches-bin"))
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if got := listTree(t, cache); len(got) != 0 {
				t.Errorf("cache holds %v", got)
			}
		})
	}
}

// TestLoadCIFAR10Dir reads an extracted folder named by Options.Dir.
func TestLoadCIFAR10Dir(t *testing.T) {
	spec := testCIFARSpec(nil, "")
	write := func(t *testing.T, dir string, skip string, resize string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for b, name := range cifarBatchFiles() {
			data := cifarBatch(b, testRecords)
			if name == resize {
				data = data[:len(data)-cifarRecordSize]
			}
			if name != skip {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, tc := range []struct {
		name, skip, resize string
		parent             bool // Options.Dir names the folder above cifar-10-batches-bin
		wantErr            []string
	}{
		{name: "extracted folder"},
		{name: "folder above", parent: true},
		{name: "missing file", skip: "data_batch_2.bin", wantErr: []string{"data_batch_2.bin", "no such file", "test_batch.bin, 21511 bytes each"}},
		{name: "short file", resize: "test_batch.bin", wantErr: []string{"test_batch.bin is 18438 bytes, want 21511"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "cifar-10-batches-bin")
			write(t, dir, tc.skip, tc.resize)
			optDir := dir
			if tc.parent {
				optDir = root
			}
			cache := filepath.Join(root, "cache")
			ds, err := loadCIFAR10(context.Background(), Options{Dir: optDir, CacheDir: cache, Offline: true}, spec)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				checkCIFARData(t, ds, testRecords)
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				t.Logf("error: %v", err)
				for _, w := range append(tc.wantErr, optDir) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
			}
			if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("loading from Options.Dir touched the cache directory")
			}
		})
	}
}

// TestCIFAR10RealSize checks the size checks of the real format: 10,000 records, 30,730,000 bytes a batch.
func TestCIFAR10RealSize(t *testing.T) {
	spec := cifar10Spec()
	if got := spec.batchSize(); got != 30730000 {
		t.Fatalf("batch size %d, want 30730000", got)
	}
	// A small archive does not pass for the real one.
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(archive, tarGz(t, cifarMembers(testRecords)), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cifar-10-batches-bin")
	err := extractCIFAR10(context.Background(), archive, dir, spec)
	if err == nil || !strings.Contains(err.Error(), "is 21511 bytes, want 30730000 (10000 records of 3073 bytes)") {
		t.Errorf("error %v, want a member size error", err)
	}
	if got := listTree(t, filepath.Dir(dir)); len(got) != 0 {
		t.Errorf("failed extraction left %v", got)
	}
	if testing.Short() {
		t.Skip("full-size archive skipped in short mode")
	}
	// A full-size archive (184 MB of zero pixels, compressed to little) extracts and reads.
	archive = filepath.Join(t.TempDir(), "full.tar.gz")
	writeFullSizeArchive(t, archive, spec)
	if err := extractCIFAR10(context.Background(), archive, dir, spec); err != nil {
		t.Fatal(err)
	}
	if err := checkCIFARDir(dir, spec); err != nil {
		t.Fatal(err)
	}
	test := newCIFARSet(spec.records)
	if err := readCIFARBatch(context.Background(), filepath.Join(dir, cifarTestFile), test); err != nil {
		t.Fatal(err)
	}
	if test.Y[9999] != 9 || test.X[0] != -1 || test.X[len(test.X)-1] != -1 {
		t.Errorf("last label %d, values %v %v; want 9, -1, -1", test.Y[9999], test.X[0], test.X[len(test.X)-1])
	}
}

// writeFullSizeArchive writes an archive in the real layout and size whose records have label i%10 and
// zero pixels.
func writeFullSizeArchive(t *testing.T, path string, spec cifarSpec) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	batch := make([]byte, spec.batchSize())
	for i := range spec.records {
		batch[i*cifarRecordSize] = byte(i % 10)
	}
	for _, name := range cifarBatchFiles() {
		if err := tw.WriteHeader(&tar.Header{Name: spec.dirName + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: spec.batchSize()}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCIFAR10Canceled(t *testing.T) {
	archive := tarGz(t, cifarMembers(testRecords))
	spec := testCIFARSpec(archive, "")
	cache := t.TempDir()
	if err := os.WriteFile(filepath.Join(cache, spec.archive.Name), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := loadCIFAR10(ctx, Options{CacheDir: cache, Offline: true}, spec); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if got := listTree(t, cache); !slices.Equal(got, []string{spec.archive.Name}) {
		t.Errorf("cache holds %v", got)
	}
}
