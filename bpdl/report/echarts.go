package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// EchartsEnv names the environment variable that points Figures at the echarts.min.js to copy next to the
// HTML figures. Unset, Figures looks for the script in the places EchartsPlaces lists.
const EchartsEnv = "BPDL_ECHARTS_JS"

// The echarts release the figures load: go-echarts v2.6.7 targets echarts 5.4.3. EchartsIntegrity is
// npm's integrity string of the release's tarball (its SHA-512, base64), the one package-lock.json pins
// for `npm ci` (a test checks that the two agree).
const (
	EchartsVersion   = "5.4.3"
	EchartsIntegrity = "sha512-mYKxLxhzy6zyTi/FaEbJMOZU1ULGEQHaeIeuMR5L+JnJTpz+YR03mnnpBhbR4+UYJAgiXgpyTVLffPAjOTLkZA=="
)

// DefaultNPMRegistry is the npm registry FetchEcharts downloads from by default.
const DefaultNPMRegistry = "https://registry.npmjs.org"

// ErrNoEcharts is wrapped by the error Figures returns when it cannot find echarts.min.js or its licence.
var ErrNoEcharts = errors.New("echarts.min.js not found")

// EchartsPlace is a place where Figures looks for echarts.min.js.
type EchartsPlace struct {
	What string // what the place is, for messages ("the user cache")
	Path string // the script's path there
}

// EchartsPlaces returns where Figures looks for echarts.min.js when EchartsEnv is unset, in order:
//
//  1. node_modules/echarts/dist/ in the bpdl module's root, when the working directory is inside the
//     module (its nearest go.mod is bpdl's): where `npm ci` there installs it;
//  2. beside the running executable, for a binary shipped with the script (and its LICENSE);
//  3. the user cache, EchartsCacheDir, which `reproduce fetch -echarts` (FetchEcharts) fills.
//
// Places that cannot be worked out (no working directory, no cache directory) are left out.
func EchartsPlaces() []EchartsPlace {
	var places []EchartsPlace
	if root, ok := moduleRoot(); ok {
		places = append(places, EchartsPlace{"the bpdl module's node_modules", filepath.Join(root, "node_modules", "echarts", "dist", EchartsScript)})
	}
	if exe, err := os.Executable(); err == nil {
		places = append(places, EchartsPlace{"beside the executable", filepath.Join(filepath.Dir(exe), EchartsScript)})
	}
	if dir, err := EchartsCacheDir(); err == nil {
		places = append(places, EchartsPlace{"the user cache", filepath.Join(dir, EchartsScript)})
	}
	return places
}

// modulePath is the bpdl module's path, as its go.mod declares it.
const modulePath = "github.com/bpdl/bpdl"

// moduleRoot returns the root of the bpdl module when the working directory is inside it: the nearest
// directory at or above it with a go.mod, if that go.mod declares modulePath.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			return dir, declaresModule(b, modulePath)
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", false
		}
		dir = up
	}
}

// declaresModule reports whether the go.mod content gomod declares the module path. It reads only the
// module line (golang.org/x/mod/modfile would do it too, but is no dependency of bpdl for one line).
func declaresModule(gomod []byte, path string) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`+"`") == path
		}
	}
	return false
}

// EchartsCacheDir is the folder of the user's cache that holds echarts EchartsVersion for every bpdl
// program of the user: <user cache>/bpdl/echarts/<EchartsVersion> (os.UserCacheDir: $XDG_CACHE_HOME or
// ~/.cache on Linux).
func EchartsCacheDir() (string, error) { return echartsCacheDir(EchartsVersion) }

func echartsCacheDir(version string) (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("report: no user cache directory for echarts: %w", err)
	}
	return filepath.Join(d, "bpdl", "echarts", version), nil
}

// CheckEcharts reports whether Figures can find echarts.min.js and its licence (see EchartsEnv and
// EchartsPlaces), so that a study can decide before training whether it will draw the figures.
func CheckEcharts() error {
	_, err := echartsAssets()
	return err
}

// FiguresWanted decides before a long run whether it will draw the HTML figures: not when figures is
// false; when echarts cannot be found, not, with a warning to warn saying how to get it, unless the
// figures were asked for explicitly (then the missing script is an error, before any work is done).
func FiguresWanted(figures, explicit bool, warn io.Writer) (bool, error) {
	if !figures {
		return false, nil
	}
	if err := CheckEcharts(); err != nil {
		if explicit {
			return false, fmt.Errorf("-figures=true: %w", err)
		}
		fmt.Fprintf(warn, "warning: writing no HTML figures (-figures=false to silence this): %v\n", err)
		return false, nil
	}
	return true, nil
}

// echartsAssets reads echarts.min.js and its licence (see EchartsEnv).
func echartsAssets() (Files, error) {
	js, err := findEchartsJS()
	if err != nil {
		return nil, err
	}
	script, err := os.ReadFile(js)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if len(script) == 0 {
		return nil, fmt.Errorf("report: %s is empty: %w", js, ErrNoEcharts)
	}
	f := Files{EchartsScript: script}
	// The licence sits in the package root, one level above dist/, or next to a copied script: as
	// LICENSE, or as echarts.LICENSE beside the script of a report's output folder.
	for _, c := range []struct{ dir, prefix string }{
		{filepath.Dir(js), ""}, {filepath.Dir(js), "echarts."}, {filepath.Dir(filepath.Dir(js)), ""},
	} {
		lic, err := os.ReadFile(filepath.Join(c.dir, c.prefix+"LICENSE"))
		if err != nil {
			continue
		}
		f[EchartsLicense] = lic
		if notice, err := os.ReadFile(filepath.Join(c.dir, c.prefix+"NOTICE")); err == nil {
			f[EchartsNotice] = notice
		}
		return f, nil
	}
	return nil, fmt.Errorf("report: no echarts LICENSE next to %s or in the directory above it, and the figures must ship it: %w", js, ErrNoEcharts)
}

// findEchartsJS returns the path of echarts.min.js: EchartsEnv's file, else the first of EchartsPlaces
// that holds one.
func findEchartsJS() (string, error) {
	if p := os.Getenv(EchartsEnv); p != "" {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("report: %s=%s is not a readable file: %w", EchartsEnv, p, ErrNoEcharts)
		}
		return p, nil
	}
	places := EchartsPlaces()
	var where []string
	for _, pl := range places {
		if st, err := os.Stat(pl.Path); err == nil && st.Mode().IsRegular() {
			return pl.Path, nil
		}
		where = append(where, pl.Path)
	}
	cache := "the user cache"
	if dir, err := EchartsCacheDir(); err == nil {
		cache = dir
	}
	return "", fmt.Errorf("report: the HTML figures need echarts %s's %s, which is in none of %s: "+
		"run `reproduce fetch -echarts` (it downloads it from npm into %s), or `npm ci` in the bpdl module root, or set %s to the file: %w",
		EchartsVersion, EchartsScript, strings.Join(where, ", "), cache, EchartsEnv, ErrNoEcharts)
}

// EchartsFetch says where FetchEcharts gets echarts from and puts it; zero values mean the defaults.
type EchartsFetch struct {
	// Registry is the npm registry's base URL; "" means DefaultNPMRegistry.
	Registry string
	// Version and Integrity are the release and its tarball's npm integrity string ("sha512-<base64>");
	// "" means EchartsVersion and EchartsIntegrity.
	Version, Integrity string
	// Dir is the folder the script and its licence files go to; "" means the user cache's folder of
	// Version (EchartsCacheDir for EchartsVersion).
	Dir string
	// Client is the HTTP client; nil means package fetch's default.
	Client *http.Client
	// Offline forbids the download: only a tarball placed in Dir by hand is extracted, and without one
	// the error says where to put which file.
	Offline bool
}

// echartsTarballFiles maps the files FetchEcharts takes from the tarball to their names in Dir. The
// script comes last: it is written last, so a folder with the script has its licence too.
var echartsTarballFiles = []struct{ tar, name string }{
	{"package/LICENSE", "LICENSE"},
	{"package/NOTICE", "NOTICE"},
	{"package/licenses/LICENSE-d3", "LICENSE-d3"}, // the d3.js code echarts embeds (its LICENSE says so)
	{"package/dist/" + EchartsScript, EchartsScript},
}

// maxEchartsFile bounds a file FetchEcharts extracts (echarts.min.js 5.4.3 is about 1 MB).
const maxEchartsFile = 64 << 20

// FetchEcharts puts echarts.min.js and its licence files into opt.Dir (by default the user cache, where
// Figures finds them) and returns the script's path. It downloads the release's npm tarball,
// <Registry>/echarts/-/echarts-<Version>.tgz, verifies it against Integrity before reading anything from
// it (the tarball is kept nowhere else: a copy of it placed in Dir by hand is used, after the same check,
// on a machine without network), and extracts package/dist/echarts.min.js, package/LICENSE, and, when
// the tarball has them, package/NOTICE and package/licenses/LICENSE-d3. Every file is written
// atomically, the script last. A Dir that already holds the script and its LICENSE is left as it is.
func FetchEcharts(ctx context.Context, opt EchartsFetch) (string, error) {
	if opt.Registry == "" {
		opt.Registry = DefaultNPMRegistry
	}
	if opt.Version == "" {
		opt.Version, opt.Integrity = EchartsVersion, EchartsIntegrity
	}
	if opt.Dir == "" {
		d, err := echartsCacheDir(opt.Version)
		if err != nil {
			return "", err
		}
		opt.Dir = d
	}
	script := filepath.Join(opt.Dir, EchartsScript)
	if regular(script) && regular(filepath.Join(opt.Dir, "LICENSE")) {
		return script, nil
	}
	sum, err := integritySHA512(opt.Integrity)
	if err != nil {
		return "", err
	}
	tgz := fmt.Sprintf("echarts-%s.tgz", opt.Version)
	f := fetch.File{Name: tgz, URL: strings.TrimSuffix(opt.Registry, "/") + "/echarts/-/" + tgz, Sum: fetch.Checksum{Algorithm: fetch.SHA512, Hex: sum}}
	path, err := fetch.Ensure(ctx, opt.Dir, f, fetch.Options{Client: opt.Client, Offline: opt.Offline})
	if err != nil {
		return "", fmt.Errorf("echarts %s: %w", opt.Version, err)
	}
	files, err := extractEcharts(path)
	if err != nil {
		return "", fmt.Errorf("echarts %s: %s: %w", opt.Version, path, err)
	}
	for _, tf := range echartsTarballFiles {
		b, ok := files[tf.tar]
		if !ok {
			continue
		}
		err := fetch.WriteAtomic(filepath.Join(opt.Dir, tf.name), func(w io.Writer) error { _, err := w.Write(b); return err })
		if err != nil {
			return "", fmt.Errorf("echarts %s: %w", opt.Version, err)
		}
	}
	if err := os.Remove(path); err != nil {
		return "", fmt.Errorf("echarts %s: %w", opt.Version, err)
	}
	return script, nil
}

// integritySHA512 returns the hex SHA-512 of an npm integrity string "sha512-<base64>".
func integritySHA512(integrity string) (string, error) {
	b64, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return "", fmt.Errorf("echarts: integrity %q: want sha512-<base64>", integrity)
	}
	sum, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sum) != 64 {
		return "", fmt.Errorf("echarts: integrity %q: want sha512- and 64 bytes in base64", integrity)
	}
	return hex.EncodeToString(sum), nil
}

// extractEcharts reads the files of echartsTarballFiles from a verified npm tarball; the script and the
// LICENSE must be there.
func extractEcharts(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("not a gzip tarball: %w", err)
	}
	want := map[string]bool{}
	for _, tf := range echartsTarballFiles {
		want[tf.tar] = true
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tarball: %w", err)
		}
		if !want[h.Name] || h.Typeflag != tar.TypeReg {
			continue
		}
		var b bytes.Buffer
		n, err := io.Copy(&b, io.LimitReader(tr, maxEchartsFile+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s from the tarball: %w", h.Name, err)
		}
		if n > maxEchartsFile {
			return nil, fmt.Errorf("%s in the tarball is over %d bytes", h.Name, maxEchartsFile)
		}
		out[h.Name] = b.Bytes()
	}
	for _, need := range []string{"package/dist/" + EchartsScript, "package/LICENSE"} {
		if _, ok := out[need]; !ok {
			return nil, fmt.Errorf("the tarball has no %s", need)
		}
	}
	return out, nil
}

// regular reports whether path is a regular file.
func regular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
