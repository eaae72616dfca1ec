package nb

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
)

// SharedData is where a checkout of the project finds the project's local copy of the brain data, relative
// to the checkout's root (beside it, as the tests find it).
const SharedData = "../shared/data"

// BrainData returns the local copy of the brain data (the folder holding rsa92/ and cowley-v4/) that a
// notebook scores with: $BPDL_BRAIN_DATA when set (as reproduce's -brain-data defaults to it), else the
// project's SharedData beside the checkout when it exists. Without either it returns "" and an error
// that says how to fetch the public data into bpdl's cache, where the benchmarks find them as well.
func BrainData() (string, error) {
	if d := os.Getenv(study.BrainDataEnvVar); d != "" {
		return d, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	d := filepath.Clean(filepath.Join(root, SharedData))
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d, nil
	}
	return "", fmt.Errorf("no local copy of the brain data (%s is unset and %s does not exist): the benchmarks look in bpdl's data cache instead; "+
		"`go run ./reproduce benchmarks -fetch -only rsa92.macaque-IT,cowley2023.V4-pls` downloads their public files there (about 20 MB)",
		study.BrainDataEnvVar, d)
}

// WorkDir returns a folder for a notebook's files that later cells of the same kernel session find again
// (a study's checkpoints): name inside GoNB's temporary folder of the session ($GONB_TMP_DIR), or inside
// the system's temporary folder outside GoNB. It creates the folder.
func WorkDir(name string) (string, error) {
	base := os.Getenv("GONB_TMP_DIR")
	if base == "" {
		base = os.TempDir()
	}
	d := filepath.Join(base, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("nb: %w", err)
	}
	return d, nil
}

// Scores returns a table of a run's brain scores: benchmark, region, the committed layer, the raw score
// with its error, the ceiling and both ceiled forms ((r/c)², the 2021 Brain-Score normalisation the study
// used, and r²/c, today's), and the status.
func Scores(scores []report.Score) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %-8s %-6s %17s %8s %8s %8s  %s\n", "benchmark", "region", "layer", "raw ± error", "ceiling", "(r/c)^2", "r^2/c", "status")
	for _, s := range scores {
		raw := "-"
		if !math.IsNaN(s.Raw) {
			raw = fixed(s.Raw, 4) + " ± " + fixed(s.Error, 4)
		}
		fmt.Fprintf(&b, "%-26s %-8s %-6s %17s %8s %8s %8s  %s\n", s.Benchmark, s.Region, s.Layer, raw,
			fixed(s.Ceiling, 4), fixed(s.CeiledRC2, 4), fixed(s.CeiledR2C, 4), s.Status)
	}
	return b.String()
}
