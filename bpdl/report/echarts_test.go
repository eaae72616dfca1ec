package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// isolateEcharts makes a test see no echarts but what it puts there: no EchartsEnv, a user cache of
// its own, and a working directory in a fresh module root. It returns that root.
func isolateEcharts(t *testing.T) string {
	t.Helper()
	t.Setenv(EchartsEnv, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	root := t.TempDir()
	writeFiles(t, map[string]string{filepath.Join(root, "go.mod"): "// bpdl\nmodule " + modulePath + "\n\ngo 1.26\n"})
	t.Chdir(root)
	return root
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEchartsLookup(t *testing.T) {
	oneRun := syntheticStudy(studyOptions{rules: []string{"bp"}, seeds: 1, epochs: 1})
	t.Run("environment variable names a missing file", func(t *testing.T) {
		isolateEcharts(t)
		t.Setenv(EchartsEnv, filepath.Join(t.TempDir(), "nope.js"))
		_, err := Figures(oneRun, testOrder)
		if !errors.Is(err, ErrNoEcharts) || !strings.Contains(err.Error(), EchartsEnv) {
			t.Errorf("error %v, want one wrapping ErrNoEcharts that names %s", err, EchartsEnv)
		}
	})
	t.Run("nothing installed", func(t *testing.T) {
		isolateEcharts(t)
		cache, err := EchartsCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		err = CheckEcharts()
		if !errors.Is(err, ErrNoEcharts) {
			t.Fatalf("error %v, want one wrapping ErrNoEcharts", err)
		}
		for _, want := range []string{"reproduce fetch -echarts", "npm ci", EchartsEnv, cache} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("node_modules of the module root, from a folder below it", func(t *testing.T) {
		root := isolateEcharts(t)
		pkg := filepath.Join(root, "node_modules", "echarts")
		sub := filepath.Join(root, "a", "b")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, map[string]string{filepath.Join(pkg, "dist", "echarts.min.js"): "/* js */", filepath.Join(pkg, "LICENSE"): "licence"})
		t.Chdir(sub)
		f, err := Figures(oneRun, testOrder)
		if err != nil {
			t.Fatal(err)
		}
		if string(f[EchartsScript]) != "/* js */" || string(f[EchartsLicense]) != "licence" {
			t.Errorf("copied script %q and licence %q", f[EchartsScript], f[EchartsLicense])
		}
		if _, ok := f[EchartsNotice]; ok {
			t.Error("a NOTICE that does not exist was copied")
		}
	})
	t.Run("another module", func(t *testing.T) {
		// Another Go module's node_modules belong to another project, from its root or below it.
		root := isolateEcharts(t)
		other := filepath.Join(root, "other")
		writeFiles(t, map[string]string{
			filepath.Join(other, "go.mod"):                                         "module example.com/other\n",
			filepath.Join(other, "node_modules", "echarts", "dist", EchartsScript): "/* js */",
			filepath.Join(other, "node_modules", "echarts", "LICENSE"):             "lic",
		})
		t.Chdir(other)
		if err := CheckEcharts(); !errors.Is(err, ErrNoEcharts) {
			t.Errorf("another module's node_modules used: %v", err)
		}
		t.Chdir(filepath.Join(other, "node_modules"))
		if err := CheckEcharts(); !errors.Is(err, ErrNoEcharts) {
			t.Errorf("another module's node_modules used from below its root: %v", err)
		}
	})
	t.Run("user cache", func(t *testing.T) {
		isolateEcharts(t)
		cache, err := EchartsCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "bpdl", "echarts", EchartsVersion); cache != want {
			t.Errorf("EchartsCacheDir = %s, want %s", cache, want)
		}
		writeFiles(t, map[string]string{filepath.Join(cache, "echarts.min.js"): "/* cached */", filepath.Join(cache, "LICENSE"): "lic", filepath.Join(cache, "NOTICE"): "note"})
		f, err := Figures(oneRun, testOrder)
		if err != nil {
			t.Fatal(err)
		}
		if string(f[EchartsScript]) != "/* cached */" || string(f[EchartsNotice]) != "note" {
			t.Errorf("copied script %q and notice %q", f[EchartsScript], f[EchartsNotice])
		}
	})
	t.Run("node_modules before the cache", func(t *testing.T) {
		root := isolateEcharts(t)
		cache, _ := EchartsCacheDir()
		pkg := filepath.Join(root, "node_modules", "echarts")
		writeFiles(t, map[string]string{
			filepath.Join(cache, "echarts.min.js"): "/* cached */", filepath.Join(cache, "LICENSE"): "lic",
			filepath.Join(pkg, "dist", "echarts.min.js"): "/* npm */", filepath.Join(pkg, "LICENSE"): "lic",
		})
		if f, err := Figures(oneRun, testOrder); err != nil || string(f[EchartsScript]) != "/* npm */" {
			t.Errorf("Figures: script %q, %v; want node_modules' script", f[EchartsScript], err)
		}
	})
	t.Run("an output folder's copy", func(t *testing.T) {
		isolateEcharts(t)
		dir := t.TempDir()
		writeFiles(t, map[string]string{filepath.Join(dir, EchartsScript): "/* js */", filepath.Join(dir, EchartsLicense): "lic", filepath.Join(dir, EchartsNotice): "note"})
		t.Setenv(EchartsEnv, filepath.Join(dir, EchartsScript))
		if f, err := Figures(oneRun, testOrder); err != nil || string(f[EchartsLicense]) != "lic" || string(f[EchartsNotice]) != "note" {
			t.Errorf("Figures: licence %q, notice %q, %v", f[EchartsLicense], f[EchartsNotice], err)
		}
	})
	t.Run("no licence", func(t *testing.T) {
		isolateEcharts(t)
		js := filepath.Join(t.TempDir(), "dist", "echarts.min.js")
		writeFiles(t, map[string]string{js: "/* js */"})
		t.Setenv(EchartsEnv, js)
		if err := CheckEcharts(); !errors.Is(err, ErrNoEcharts) || !strings.Contains(err.Error(), "LICENSE") {
			t.Errorf("error %v, want one about the missing LICENSE", err)
		}
	})
}

func TestDeclaresModule(t *testing.T) {
	for _, tc := range []struct {
		gomod string
		want  bool
	}{
		{"module github.com/bpdl/bpdl\n\ngo 1.26\n", true},
		{"// a comment\nmodule \"github.com/bpdl/bpdl\" // quoted\n", true},
		{"module github.com/bpdl/bpdl/v2\n", false},
		{"module example.com/x\n", false},
		{"go 1.26\n", false},
	} {
		if got := declaresModule([]byte(tc.gomod), modulePath); got != tc.want {
			t.Errorf("declaresModule(%q) = %v, want %v", tc.gomod, got, tc.want)
		}
	}
}

// TestEchartsPinMatchesLock checks that the release FetchEcharts downloads is the one package-lock.json
// pins for npm ci, so that the two ways of getting echarts cannot drift apart.
func TestEchartsPinMatchesLock(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	p, ok := lock.Packages["node_modules/echarts"]
	if !ok {
		t.Fatal("package-lock.json pins no node_modules/echarts")
	}
	if p.Version != EchartsVersion || p.Integrity != EchartsIntegrity {
		t.Errorf("package-lock.json pins echarts %s %s; the Go code %s %s", p.Version, p.Integrity, EchartsVersion, EchartsIntegrity)
	}
	if _, err := integritySHA512(EchartsIntegrity); err != nil {
		t.Error(err)
	}
}

// tarball returns a gzipped tar of files (name -> content).
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, text := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(text)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func integrityOf(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

// npmServer serves body as the tarball of echarts version at npm's path and counts the requests.
func npmServer(t *testing.T, version string, body []byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/echarts/-/echarts-"+version+".tgz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestFetchEcharts(t *testing.T) {
	good := tarball(t, map[string]string{
		"package/package.json":           `{"name":"echarts"}`,
		"package/dist/echarts.min.js":    "/* echarts */",
		"package/dist/echarts.js":        "/* not taken */",
		"package/LICENSE":                "Apache-2.0",
		"package/NOTICE":                 "Apache ECharts",
		"package/licenses/LICENSE-d3":    "BSD-3-Clause",
		"package/src/chart/bar/index.ts": "// not taken",
	})
	ctx := context.Background()

	t.Run("download, verify, extract", func(t *testing.T) {
		isolateEcharts(t)
		srv, requests := npmServer(t, "9.9.9", good)
		dir := t.TempDir()
		opt := EchartsFetch{Registry: srv.URL + "/", Version: "9.9.9", Integrity: integrityOf(good), Dir: dir}
		js, err := FetchEcharts(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		if js != filepath.Join(dir, EchartsScript) {
			t.Errorf("script at %s, want in %s", js, dir)
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if got := strings.Join(names, " "); got != "LICENSE LICENSE-d3 NOTICE echarts.min.js" {
			t.Errorf("dir holds %s; want the script and its licence files, no tarball", got)
		}
		t.Setenv(EchartsEnv, js)
		f, err := echartsAssets()
		if err != nil || string(f[EchartsScript]) != "/* echarts */" || string(f[EchartsLicense]) != "Apache-2.0" {
			t.Errorf("assets after the fetch: %v, %v", fileNames(f), err)
		}
		// A second fetch finds the files and downloads nothing.
		if _, err := FetchEcharts(ctx, opt); err != nil || requests.Load() != 1 {
			t.Errorf("second fetch: %v after %d requests, want no new request", err, requests.Load())
		}
	})
	t.Run("tampered tarball", func(t *testing.T) {
		isolateEcharts(t)
		bad := tarball(t, map[string]string{"package/dist/echarts.min.js": "alert('tampered')", "package/LICENSE": "Apache-2.0"})
		srv, _ := npmServer(t, "9.9.9", bad)
		dir := t.TempDir()
		_, err := FetchEcharts(ctx, EchartsFetch{Registry: srv.URL, Version: "9.9.9", Integrity: integrityOf(good), Dir: dir})
		var ce *fetch.ChecksumError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "sha512:") {
			t.Errorf("error %v, want a checksum error naming the SHA-512", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("a tampered tarball left %d files in the folder", len(entries))
		}
	})
	t.Run("verified tarball without the script", func(t *testing.T) {
		isolateEcharts(t)
		odd := tarball(t, map[string]string{"package/LICENSE": "Apache-2.0"})
		srv, _ := npmServer(t, "9.9.9", odd)
		dir := t.TempDir()
		_, err := FetchEcharts(ctx, EchartsFetch{Registry: srv.URL, Version: "9.9.9", Integrity: integrityOf(odd), Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "no package/dist/echarts.min.js") {
			t.Errorf("error %v, want one naming the missing script", err)
		}
		if regular(filepath.Join(dir, EchartsScript)) {
			t.Error("a script was written")
		}
	})
	t.Run("not found", func(t *testing.T) {
		isolateEcharts(t)
		srv, _ := npmServer(t, "9.9.9", good)
		_, err := FetchEcharts(ctx, EchartsFetch{Registry: srv.URL, Version: "1.0.0", Integrity: integrityOf(good), Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "echarts-1.0.0.tgz") {
			t.Errorf("error %v, want one naming the file and the 404", err)
		}
	})
	t.Run("into the user cache by default", func(t *testing.T) {
		// The pinned version from a test server, with the stand-in's integrity.
		isolateEcharts(t)
		srv, _ := npmServer(t, EchartsVersion, good)
		if _, err := FetchEcharts(ctx, EchartsFetch{Registry: srv.URL, Version: EchartsVersion, Integrity: integrityOf(good)}); err != nil {
			t.Fatal(err)
		}
		if err := CheckEcharts(); err != nil {
			t.Errorf("Figures does not find the fetched script: %v", err)
		}
	})
	for _, bad := range []string{"", "sha256-abc", "sha512-!!", "sha512-" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := integritySHA512(bad); err == nil {
			t.Errorf("integritySHA512(%q) accepted", bad)
		}
	}
}

// TestFiguresWanted checks the decision a long run makes up front: figures off stay off; without echarts
// the run goes on without figures and one warning that says how to get it, unless the figures were asked
// for explicitly, which is an error.
func TestFiguresWanted(t *testing.T) {
	withFakeEcharts(t)
	var warn bytes.Buffer
	if ok, err := FiguresWanted(true, false, &warn); !ok || err != nil || warn.Len() != 0 {
		t.Errorf("with echarts: %v, %v, %q", ok, err, warn.String())
	}
	t.Setenv(EchartsEnv, filepath.Join(t.TempDir(), "missing.js"))
	if ok, err := FiguresWanted(false, true, &warn); ok || err != nil || warn.Len() != 0 {
		t.Errorf("figures off: %v, %v, %q", ok, err, warn.String())
	}
	if ok, err := FiguresWanted(true, false, &warn); ok || err != nil || strings.Count(warn.String(), "warning") != 1 || !strings.Contains(warn.String(), EchartsEnv) {
		t.Errorf("missing echarts, by default: %v, %v, %q", ok, err, warn.String())
	}
	if ok, err := FiguresWanted(true, true, io.Discard); ok || err == nil || !errors.Is(err, ErrNoEcharts) || !strings.Contains(err.Error(), "-figures=true") {
		t.Errorf("missing echarts, asked for: %v, %v", ok, err)
	}
}
