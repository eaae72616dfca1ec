package brainio

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

func TestCatalogNamesAndURLs(t *testing.T) {
	const base = "https://brainscore-storage.s3.amazonaws.com/brainio-brainscore/"
	tests := []struct {
		id, kind, stimuli string
		urls              []string
	}{
		{"dicarlo.MajajHong2015.public", KindAssembly, "hvm-public", []string{base + "assy_dicarlo_MajajHong2015_public.nc"}},
		{"hvm-public", KindStimulusSet, "", []string{base + "stimulus_hvm-public.csv", base + "stimulus_hvm-public.zip"}},
		{"movshon.FreemanZiemba2013.public", KindAssembly, "FreemanZiemba2013.aperture-public",
			[]string{base + "assy_movshon_FreemanZiemba2013_public.nc?versionId=W2vx7jdh9utZdVumHHarXa4L1zOrA8Fd"}},
		{"FreemanZiemba2013.aperture-public", KindStimulusSet, "",
			[]string{base + "stimulus_FreemanZiemba2013_aperture-public.csv", base + "stimulus_FreemanZiemba2013_aperture-public.zip"}},
		{"dicarlo.Rajalingham2018.public", KindAssembly, "objectome.public", []string{base + "assy_dicarlo_Rajalingham2018_public.nc"}},
		{"objectome.public", KindStimulusSet, "", []string{base + "stimulus_objectome_public.csv", base + "stimulus_objectome_public.zip"}},
	}
	if n := len(Catalog()); n != len(tests) {
		t.Errorf("catalog has %d entries, want %d", n, len(tests))
	}
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	for _, tc := range tests {
		e, ok := Lookup(tc.id)
		if !ok {
			t.Errorf("%s not in catalog", tc.id)
			continue
		}
		if e.Kind != tc.kind || e.StimulusSet != tc.stimuli || len(e.Files) != len(tc.urls) {
			t.Errorf("%s: %+v", tc.id, e)
			continue
		}
		for i, f := range e.Files {
			if f.URL != tc.urls[i] {
				t.Errorf("%s: URL %s, want %s", tc.id, f.URL, tc.urls[i])
			}
			if u, _ := url.Parse(f.URL); f.Name != filepath.Base(u.Path) {
				t.Errorf("%s: local name %q differs from the remote one", tc.id, f.Name)
			}
			if f.Sum.Algorithm != fetch.SHA1 || !hex40.MatchString(f.Sum.Hex) {
				t.Errorf("%s: checksum %v", tc.id, f.Sum)
			}
		}
		if e.StimulusSet != "" {
			if _, ok := Lookup(e.StimulusSet); !ok {
				t.Errorf("%s: stimulus set %s not in catalog", tc.id, e.StimulusSet)
			}
		}
	}
	if _, err := Locate(context.Background(), t.TempDir(), "dicarlo.Nope", fetch.Options{}); err == nil || !strings.Contains(err.Error(), "hvm-public") {
		t.Errorf("unknown identifier: err = %v, want one listing the known identifiers", err)
	}
}

// testEntry is a stimulus set served by srv: two small generated files.
func testEntry(t *testing.T, srv *httptest.Server) (Entry, map[string][]byte) {
	t.Helper()
	content := map[string][]byte{
		"stimulus_test.csv": []byte("stimulus_id,filename\nA,a.png\n"),
		"stimulus_test.zip": zipOf(t, map[string][]byte{"a.png": tinyPNG(t, 2, 2)}),
	}
	e := Entry{Identifier: "test", Kind: KindStimulusSet}
	for _, name := range []string{"stimulus_test.csv", "stimulus_test.zip"} {
		sum := sha1.Sum(content[name])
		e.Files = append(e.Files, fetch.File{
			Name: name, URL: srv.URL + "/" + name, Size: int64(len(content[name])),
			Sum: fetch.Checksum{Algorithm: fetch.SHA1, Hex: hex.EncodeToString(sum[:])},
		})
	}
	return e, content
}

func TestLocateDownloadsAndVerifies(t *testing.T) {
	var mu sync.Mutex
	var content map[string][]byte
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		b, ok := content[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	e, c := testEntry(t, srv)
	mu.Lock()
	content = c
	mu.Unlock()
	dir := t.TempDir()
	if ok, missing := present(dir, e); ok || len(missing) != 2 {
		t.Errorf("before download: present = %v, missing %d files", ok, len(missing))
	}
	paths, err := locate(context.Background(), dir, e, fetch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[0] != filepath.Join(dir, "stimulus_test.csv") || paths[1] != filepath.Join(dir, "stimulus_test.zip") {
		t.Fatalf("paths %v", paths)
	}
	s, err := ReadStimulusSet(paths[0], paths[1])
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if ok, missing := present(dir, e); !ok || len(missing) != 0 {
		t.Errorf("after download: present = %v, missing %v", ok, missing)
	}
	// A second call uses the verified cache, even offline.
	srv.Close()
	if _, err := locate(context.Background(), dir, e, fetch.Options{Offline: true}); err != nil {
		t.Errorf("cached locate: %v", err)
	}
	if requests != 2 {
		t.Errorf("%d requests, want 2", requests)
	}
	// A cached file that was changed is reported, not silently used or replaced.
	if err := os.WriteFile(paths[0], []byte("stimulus_id,filename\nB,a.png\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, missing := present(dir, e); ok || len(missing) != 1 || missing[0].Name != "stimulus_test.csv" {
		t.Errorf("after corruption: present = %v, missing %v", ok, missing)
	}
	var ce *fetch.ChecksumError
	if _, err := locate(context.Background(), dir, e, fetch.Options{Offline: true}); !errors.As(err, &ce) {
		t.Errorf("corrupted cache: err = %v, want a ChecksumError", err)
	}
}

func TestLocateRejectsWrongContent(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		w.Write([]byte("not the real file"))
	}))
	defer srv.Close()
	// Send the catalog's real URLs to the local server.
	target, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: rewriteTransport{target: target}}
	dir := t.TempDir()
	_, err := Locate(context.Background(), dir, "movshon.FreemanZiemba2013.public", fetch.Options{Client: client})
	var ce *fetch.ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "761c08f796db4e342555cdb60eef23a4f19ead43") {
		t.Errorf("err = %v, want a checksum mismatch naming the expected SHA-1", err)
	}
	want := "/brainio-brainscore/assy_movshon_FreemanZiemba2013_public.nc?versionId=W2vx7jdh9utZdVumHHarXa4L1zOrA8Fd"
	if len(paths) != 1 || paths[0] != want {
		t.Errorf("requested %v, want [%s]", paths, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a rejected download left %d files behind", len(entries))
	}
}

// rewriteTransport sends every request to target, keeping its path and query.
type rewriteTransport struct{ target *url.URL }

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = rt.target.Scheme
	r.URL.Host = rt.target.Host
	r.Host = rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("network is unreachable")
}

func TestLocateOffline(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		opts  fetch.Options
		cause string
	}{
		{"offline", fetch.Options{Offline: true}, "offline"},
		{"unreachable", fetch.Options{Client: &http.Client{Transport: failingTransport{}}}, "network is unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Locate(context.Background(), dir, "hvm-public", tc.opts)
			var oe *fetch.OfflineError
			if !errors.As(err, &oe) || len(oe.Missing) != 2 {
				t.Fatalf("err = %v, want an OfflineError naming both files", err)
			}
			msg := err.Error()
			for _, want := range []string{
				tc.cause,
				filepath.Join(dir, "stimulus_hvm-public.csv"),
				"from https://brainscore-storage.s3.amazonaws.com/brainio-brainscore/stimulus_hvm-public.csv",
				"sha1:5ca7a3da00d8e9c694a9cd725df5ba0ad6d735af",
				filepath.Join(dir, "stimulus_hvm-public.zip"),
				"sha1:8aa44e038d7b551efa8077467622f9d48d72e473",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("offline error does not mention %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestPresentUnknown(t *testing.T) {
	if ok, missing := Present(t.TempDir(), "nope"); ok || missing != nil {
		t.Errorf("Present(nope) = %v, %v", ok, missing)
	}
	ok, missing := Present(t.TempDir(), "dicarlo.MajajHong2015.public")
	if ok || len(missing) != 1 || missing[0].Name != "assy_dicarlo_MajajHong2015_public.nc" {
		t.Errorf("Present in an empty dir = %v, %v", ok, missing)
	}
}
