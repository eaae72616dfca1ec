// Package fetch downloads data files into a cache directory, verifies them against a known checksum
// before anything uses them, and writes them atomically (a temporary file in the same directory, renamed
// into place only once its size and checksum are right), so a killed download never leaves a file that
// looks complete.
//
// Machines without network access get an *OfflineError that names each file, where to put it, its size
// and its checksum, so that a user can copy the file in by hand.
package fetch

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Algorithm names a checksum algorithm.
type Algorithm string

// The checksum algorithms the data sources publish (SHA-512: npm's package integrity).
const (
	MD5    Algorithm = "md5"
	SHA1   Algorithm = "sha1"
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// Checksum is an expected digest of a file, as lower-case hex.
type Checksum struct {
	Algorithm Algorithm
	Hex       string
}

// String returns the checksum as algorithm:hex, for example "md5:c32a1d4a...".
func (c Checksum) String() string { return string(c.Algorithm) + ":" + c.Hex }

// newHash returns a new hash of c's algorithm.
func (c Checksum) newHash() (hash.Hash, error) {
	switch c.Algorithm {
	case MD5:
		return md5.New(), nil
	case SHA1:
		return sha1.New(), nil
	case SHA256:
		return sha256.New(), nil
	case SHA512:
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("fetch: unknown checksum algorithm %q", c.Algorithm)
}

// File describes one file to fetch.
type File struct {
	// Name is the file name inside the cache directory (no path separators).
	Name string
	// URL is where the file is downloaded from.
	URL string
	// Size is the exact size in bytes, or 0 when unknown.
	Size int64
	// Sum is the checksum the file must have.
	Sum Checksum
}

// Options control a fetch.
type Options struct {
	// Client is the HTTP client; nil means a client that waits at most 30 s for a TLS handshake and for
	// response headers, and does not ask for compressed transfer.
	Client *http.Client
	// Offline forbids downloads: a missing file is an *OfflineError at once.
	Offline bool
	// Progress, when not nil, is called as bytes arrive (done, total; total is 0 when unknown).
	Progress func(done, total int64)
}

// OfflineError reports files that are missing from the cache and could not be downloaded.
type OfflineError struct {
	// Dir is the folder the files belong in.
	Dir string
	// Missing lists the files.
	Missing []File
	// Cause is why they were not downloaded ("offline", or the network error).
	Cause error
}

// Error lists each missing file with where to put it, where it comes from, its size and its checksum.
func (e *OfflineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data files missing and could not be downloaded")
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	fmt.Fprintf(&b, "; place them by hand:\n")
	for _, f := range e.Missing {
		fmt.Fprintf(&b, "  %s\n    from %s\n", filepath.Join(e.Dir, f.Name), f.URL)
		if f.Size > 0 {
			fmt.Fprintf(&b, "    size %d bytes, %s\n", f.Size, f.Sum)
		} else {
			fmt.Fprintf(&b, "    %s\n", f.Sum)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Unwrap returns the reason the download failed.
func (e *OfflineError) Unwrap() error { return e.Cause }

// ChecksumError reports a file whose content does not match its expected checksum or size.
type ChecksumError struct {
	// Path is the file's path, or its URL for a download.
	Path string
	// Want and Got are the expected and actual checksums (algorithm:hex) or sizes.
	Want, Got string
}

// Error names the file and both checksums (or sizes).
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: checksum mismatch: want %s, got %s", e.Path, e.Want, e.Got)
}

// Verify checks that the file at path has the size (when f.Size > 0) and checksum of f.
func Verify(path string, f File) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if f.Size > 0 {
		st, err := fh.Stat()
		if err != nil {
			return err
		}
		if st.Size() != f.Size {
			return &ChecksumError{Path: path, Want: fmt.Sprintf("%d bytes", f.Size), Got: fmt.Sprintf("%d bytes", st.Size())}
		}
	}
	h, err := f.Sum.newHash()
	if err != nil {
		return err
	}
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(got, f.Sum.Hex) {
		return &ChecksumError{Path: path, Want: f.Sum.String(), Got: string(f.Sum.Algorithm) + ":" + got}
	}
	return nil
}

// Ensure returns the path of f inside dir, downloading it first when it is missing. A file already in dir
// is verified; a file that fails verification is an error (it is not silently replaced: the user may have
// placed it by hand). Downloads are verified before they are renamed into place.
func Ensure(ctx context.Context, dir string, f File, opts Options) (string, error) {
	if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || f.Name == "." || f.Name == ".." {
		return "", fmt.Errorf("fetch: invalid file name %q", f.Name)
	}
	path := filepath.Join(dir, f.Name)
	if _, err := os.Stat(path); err == nil {
		if err := Verify(path, f); err != nil {
			return "", fmt.Errorf("fetch: cached file is not the expected one (delete it to download again): %w", err)
		}
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("fetch: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if opts.Offline || f.URL == "" {
		return "", &OfflineError{Dir: dir, Missing: []File{f}, Cause: errors.New("offline")}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fetch: cache directory: %w", err)
	}
	if err := download(ctx, path, f, opts); err != nil {
		var ce *ChecksumError
		if errors.As(err, &ce) || ctx.Err() != nil {
			return "", err
		}
		return "", &OfflineError{Dir: dir, Missing: []File{f}, Cause: err}
	}
	return path, nil
}

// download writes f.URL to a temporary file beside path, verifies it and renames it to path.
func download(ctx context.Context, path string, f File, opts Options) (err error) {
	client := opts.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DisableCompression:    true, // the checksum is of the bytes as served
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", f.URL, resp.Status)
	}
	if f.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != f.Size {
		return &ChecksumError{Path: f.URL, Want: fmt.Sprintf("%d bytes", f.Size), Got: fmt.Sprintf("%d bytes (Content-Length)", resp.ContentLength)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h, err := f.Sum.newHash()
	if err != nil {
		return err
	}
	var src io.Reader = resp.Body
	total := f.Size
	if total == 0 && resp.ContentLength > 0 {
		total = resp.ContentLength
	}
	if opts.Progress != nil {
		src = &progressReader{r: src, total: total, fn: opts.Progress}
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return fmt.Errorf("GET %s: %w", f.URL, err)
	}
	if f.Size > 0 && n != f.Size {
		return &ChecksumError{Path: f.URL, Want: fmt.Sprintf("%d bytes", f.Size), Got: fmt.Sprintf("%d bytes", n)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, f.Sum.Hex) {
		return &ChecksumError{Path: f.URL, Want: f.Sum.String(), Got: string(f.Sum.Algorithm) + ":" + got}
	}
	return commit(tmp, path)
}

// commit syncs and closes a finished temporary file, makes it readable by all (0644, as a file written
// with os.WriteFile under the usual umask; os.CreateTemp makes 0600) and renames it to path.
func commit(tmp *os.File, path string) error {
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// progressReader reports the bytes read through it to fn.
type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

// Read reads from the underlying reader and reports progress.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}

// WriteAtomic writes data produced by write to path through a temporary file in the same directory,
// renaming it into place (mode 0644) only when write and the file's sync and close all succeed.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	err = commit(tmp, path)
	return err
}
