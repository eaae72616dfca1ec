// Package shared locates the project's read-only test material, ../shared/data beside the module root,
// for tests and benchmarks. It is absent on users' machines: tests then skip with a clear message.
package shared

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvVar overrides the location of the shared data directory.
const EnvVar = "BPDL_SHARED_DATA"

// DataDir returns the shared data directory (the folder holding rsa92/, cowley-v4/, ...) and whether it
// exists. It is $BPDL_SHARED_DATA when set, else ../shared/data beside the directory holding go.mod.
func DataDir() (string, bool) {
	if d := os.Getenv(EnvVar); d != "" {
		st, err := os.Stat(d)
		return d, err == nil && st.IsDir()
	}
	root, ok := moduleRoot()
	if !ok {
		return "", false
	}
	d := filepath.Join(filepath.Dir(root), "shared", "data")
	st, err := os.Stat(d)
	return d, err == nil && st.IsDir()
}

// moduleRoot returns the nearest directory at or above the working directory that holds go.mod.
func moduleRoot() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Path returns the path of a file or folder inside the shared data directory (for example
// Path(t, "rsa92", "stimuli_meta.csv")), skipping the test when the directory or the entry is absent.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	dir, ok := DataDir()
	if !ok {
		tb.Skipf("shared test data not found (../shared/data beside the module root, or $%s): skipping", EnvVar)
	}
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared test data %s not found: skipping", p)
	}
	return p
}

// SyntheticNPY extracts the brainscore-synthetic assembly into .npy files in a temporary directory with
// bpdl/brainscore/metric/testdata/gen_synthetic.py, and returns the directory. It skips the test when the
// shared data or Debian's python3 with netCDF4 and NumPy is missing.
func SyntheticNPY(tb testing.TB) string {
	tb.Helper()
	nc := Path(tb, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc")
	csvPath := Path(tb, "brainscore-synthetic", "stimulus_set.csv")
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import netCDF4, numpy").Run(); err != nil {
		tb.Skipf("reading the synthetic netCDF assembly needs %s with netCDF4 and numpy (apt-get install python3-netcdf4): %v", py, err)
	}
	root, ok := moduleRoot()
	if !ok {
		tb.Fatal("no go.mod at or above the working directory")
	}
	dir := tb.TempDir()
	script := filepath.Join(root, "bpdl", "brainscore", "metric", "testdata", "gen_synthetic.py")
	if out, err := exec.Command(py, script, nc, csvPath, dir).CombinedOutput(); err != nil {
		tb.Fatalf("%s failed: %v\n%s", script, err, out)
	}
	return dir
}
