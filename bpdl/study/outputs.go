package study

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

// Manifest is the file that says how a report was made.
const Manifest = "MANIFEST"

// Outputs returns the report of runs: every table, the figures when figures is set, and the MANIFEST,
// which records command (the command line that made it), the configuration, the data files' checksums,
// bpdl's version and the SHA-256 of every output but timings.csv and the PNGs.
func (s *Study) Outputs(runs []report.Run, command string, figures bool) (report.Files, error) {
	return s.outputs(runs, nil, command, figures)
}

// outputs is Outputs of a partial set: its MANIFEST lists the planned runs that are missing from it.
func (s *Study) outputs(runs []report.Run, missing []Run, command string, figures bool) (report.Files, error) {
	order := report.Order(train.DefaultRegistry().Names())
	files := report.Tables(runs, order)
	if figures {
		figs, err := report.Figures(runs, order)
		if err != nil {
			return nil, err
		}
		for name, content := range figs {
			files[name] = content
		}
	}
	files[Manifest] = s.manifest(command, files, missing)
	return files, nil
}

func (s *Study) manifest(command string, files report.Files, missing []Run) []byte {
	c := s.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "command: %s\n", command)
	fmt.Fprintf(&b, "dataset: %s\nrules: %s\nseeds: %d from %d\nbackend: %s\n", c.Dataset, strings.Join(c.rules(), ","), c.Seeds, c.Seed, s.backendName)
	if c.TrainLimit > 0 {
		fmt.Fprintf(&b, "train-limit: %d\n", c.TrainLimit)
	}
	if c.TestLimit > 0 {
		fmt.Fprintf(&b, "test-limit: %d\n", c.TestLimit)
	}
	fmt.Fprintf(&b, "bpdl: %s\n", Version())
	for _, f := range data.Files(c.Dataset) {
		fmt.Fprintf(&b, "data: %s %s\n", f.Name, f.Sum)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if n != "timings.csv" && n != Manifest && !strings.HasSuffix(n, ".png") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&b, "output: %s sha256:%s\n", n, hex.EncodeToString(sum[:]))
	}
	for _, r := range missing {
		fmt.Fprintf(&b, "missing: %s (no result in %s/: the tables and figures leave it out)\n", r.ID, RunsDir)
	}
	return []byte(b.String())
}

// Version is the version of bpdl this program was built from: the module version for a released build,
// else the VCS revision Go stamped into the binary ("+modified" when the working tree had changes), else
// "devel" (go run and go test do not stamp one).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case rev == "":
		return "devel"
	case modified == "true":
		return "devel " + rev + "+modified"
	}
	return "devel " + rev
}

// CommandLine is the command line a MANIFEST records for program run with args: args without -out and
// its value and without -report, so that the same study written into two folders, or reported by -report
// after a job array did its runs, records the same command.
func CommandLine(program string, args []string) string {
	out := []string{program}
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "-out" || a == "out":
			i++
		case strings.HasPrefix(a, "out=") || strings.HasPrefix(a, "-out="):
		case a == "report" || a == "-report" || strings.HasPrefix(a, "report=") || strings.HasPrefix(a, "-report="):
		default:
			out = append(out, args[i])
		}
	}
	return strings.Join(out, " ")
}
