package fetch

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// content is the file the test server serves at /good.
var content = []byte(strings.Repeat("verified content\n", 1000))

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// server serves /good (content), /bad (same size, other bytes), /short (a Content-Length larger than
// the body), /long (one byte more than content), /chunked-short (half of content without a Content-Length) and /missing (404). It counts
// requests.
func server(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/good":
			w.Write(content)
		case "/bad":
			bad := append([]byte(nil), content...)
			bad[10] ^= 1
			w.Write(bad)
		case "/short":
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.Write(content[:len(content)/2])
		case "/long":
			w.Write(append(append([]byte(nil), content...), '!'))
		case "/chunked-short":
			w.Write(content[:len(content)/2])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// file returns a File for content served at path.
func file(srv *httptest.Server, path string) File {
	return File{Name: "data.bin", URL: srv.URL + path, Size: int64(len(content)), Sum: Checksum{SHA256, sha256Hex(content)}}
}

// entries returns the names in dir, or nil when dir does not exist.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestEnsureDownload(t *testing.T) {
	srv, _ := server(t)
	for _, tc := range []struct {
		name     string
		path     string
		size     int64
		wantErr  bool
		checksum bool // the error is a *ChecksumError
		offline  bool // the error is an *OfflineError
	}{
		{name: "good", path: "/good", size: int64(len(content))},
		{name: "good, size unknown", path: "/good"},
		{name: "wrong content", path: "/bad", size: int64(len(content)), wantErr: true, checksum: true},
		{name: "wrong content, size unknown", path: "/bad", wantErr: true, checksum: true},
		{name: "wrong Content-Length", path: "/long", size: int64(len(content)), wantErr: true, checksum: true},
		{name: "too long, size unknown", path: "/long", wantErr: true, checksum: true},
		{name: "truncated body", path: "/short", size: int64(len(content)), wantErr: true, offline: true},
		{name: "truncated, no length", path: "/chunked-short", size: int64(len(content)), wantErr: true, checksum: true},
		{name: "truncated, no length, size unknown", path: "/chunked-short", wantErr: true, checksum: true},
		{name: "not found", path: "/missing", size: int64(len(content)), wantErr: true, offline: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			f := file(srv, tc.path)
			f.Size = tc.size
			p, err := Ensure(context.Background(), dir, f, Options{})
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(content) {
					t.Errorf("downloaded %d bytes, not the content", len(got))
				}
				if names := entries(t, dir); len(names) != 1 || names[0] != f.Name {
					t.Errorf("cache holds %v, want only %s", names, f.Name)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ChecksumError
			if errors.As(err, &ce) != tc.checksum {
				t.Errorf("error %q: ChecksumError %v, want %v", err, !tc.checksum, tc.checksum)
			}
			var oe *OfflineError
			if errors.As(err, &oe) != tc.offline {
				t.Errorf("error %q: OfflineError %v, want %v", err, !tc.offline, tc.offline)
			}
			if names := entries(t, dir); len(names) != 0 {
				t.Errorf("failed download left %v", names)
			}
		})
	}
}

func TestEnsureCached(t *testing.T) {
	srv, hits := server(t)
	for _, tc := range []struct {
		name    string
		cached  []byte
		wantErr string
	}{
		{name: "good", cached: content},
		{name: "wrong content", cached: append([]byte("X"), content[1:]...), wantErr: "checksum mismatch"},
		{name: "wrong size", cached: content[1:], wantErr: "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := file(srv, "/good")
			p := filepath.Join(dir, f.Name)
			if err := os.WriteFile(p, tc.cached, 0o644); err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			got, err := Ensure(context.Background(), dir, f, Options{})
			if hits.Load() != before {
				t.Errorf("Ensure downloaded although the file was cached")
			}
			if tc.wantErr == "" {
				if err != nil || got != p {
					t.Fatalf("Ensure = %q, %v; want %q, nil", got, err, p)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "delete it") {
				t.Fatalf("error %v, want one containing %q and telling to delete the file", err, tc.wantErr)
			}
			if b, _ := os.ReadFile(p); string(b) != string(tc.cached) {
				t.Errorf("the cached file was changed")
			}
		})
	}
}

func TestEnsureOffline(t *testing.T) {
	srv, hits := server(t)
	dir := filepath.Join(t.TempDir(), "cache")
	f := file(srv, "/good")
	_, err := Ensure(context.Background(), dir, f, Options{Offline: true})
	var oe *OfflineError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v, want an *OfflineError", err)
	}
	if hits.Load() != 0 {
		t.Errorf("offline Ensure made %d requests", hits.Load())
	}
	msg := err.Error()
	for _, want := range []string{filepath.Join(dir, f.Name), f.URL, strconv.Itoa(len(content)) + " bytes", "sha256:" + f.Sum.Hex, "offline"} {
		if !strings.Contains(msg, want) {
			t.Errorf("offline error %q lacks %q", msg, want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("offline Ensure created the cache directory (stat: %v)", err)
	}
	// A file without a URL is offline too.
	f.URL = ""
	if _, err := Ensure(context.Background(), dir, f, Options{}); !errors.As(err, &oe) {
		t.Errorf("file without URL: error %v, want an *OfflineError", err)
	}
}

func TestEnsureProgress(t *testing.T) {
	srv, _ := server(t)
	var calls int
	var last, total int64
	opts := Options{Progress: func(done, tot int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		calls++
		last, total = done, tot
	}}
	if _, err := Ensure(context.Background(), t.TempDir(), file(srv, "/good"), opts); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != int64(len(content)) || total != int64(len(content)) {
		t.Errorf("progress: %d calls, last (%d, %d), want last (%d, %d)", calls, last, total, len(content), len(content))
	}
}

func TestEnsureCanceled(t *testing.T) {
	srv, _ := server(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := Ensure(ctx, dir, file(srv, "/good"), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("canceled download left %v", names)
	}
}

func TestEnsureInvalidName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", `a\b`} {
		f := File{Name: name, URL: "http://127.0.0.1:1/x", Sum: Checksum{SHA256, sha256Hex(nil)}}
		if _, err := Ensure(context.Background(), t.TempDir(), f, Options{}); err == nil || !strings.Contains(err.Error(), "invalid file name") {
			t.Errorf("name %q: error %v, want invalid file name", name, err)
		}
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	m := md5.Sum(content)
	s1 := sha1.Sum(content)
	s512 := sha512.Sum512(content)
	for _, tc := range []struct {
		name string
		f    File
		ok   bool
	}{
		{"md5", File{Sum: Checksum{MD5, hex.EncodeToString(m[:])}}, true},
		{"sha1", File{Sum: Checksum{SHA1, hex.EncodeToString(s1[:])}}, true},
		{"sha256", File{Sum: Checksum{SHA256, sha256Hex(content)}}, true},
		{"sha512", File{Sum: Checksum{SHA512, hex.EncodeToString(s512[:])}}, true},
		{"sha256 upper case", File{Sum: Checksum{SHA256, strings.ToUpper(sha256Hex(content))}}, true},
		{"sha256 with size", File{Size: int64(len(content)), Sum: Checksum{SHA256, sha256Hex(content)}}, true},
		{"wrong size", File{Size: 1, Sum: Checksum{SHA256, sha256Hex(content)}}, false},
		{"wrong sum", File{Sum: Checksum{SHA256, sha256Hex(nil)}}, false},
		{"unknown algorithm", File{Sum: Checksum{"crc32", "00000000"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(p, tc.f)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if err := Verify(filepath.Join(dir, "absent"), File{Sum: Checksum{SHA256, ""}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Verify of an absent file = %v, want ErrNotExist", err)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	p := filepath.Join(dir, "out.txt")
	if err := WriteAtomic(p, func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	boom := errors.New("boom")
	err := WriteAtomic(p, func(w io.Writer) error { io.WriteString(w, "partial"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("WriteAtomic = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "hello" {
		t.Errorf("failed write changed the file to %q", b)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("failed write left %v", names)
	}
}
