// Package shared locates the project's read-only test material, ../shared/data beside the module root,
// for tests and benchmarks. It is absent on users' machines: tests then skip with a clear message.
package shared

import (
	"os"
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
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "data")
			st, err := os.Stat(d)
			return d, err == nil && st.IsDir()
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
