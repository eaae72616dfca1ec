package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Files maps output file names (relative to the output directory) to their contents.
type Files map[string][]byte

// Regions are the brain-score columns of the main tables, in order.
var Regions = []string{"V1", "V2", "V4", "IT", "behavior"}

// scoreColumns returns the benchmark names of all runs' scores, public benchmarks in region order, then
// the others sorted.
func scoreColumns(runs []Run) []string {
	seen := map[string]Score{}
	for _, r := range runs {
		for _, s := range r.Scores {
			seen[s.Benchmark] = s
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	rank := func(n string) int {
		for i, reg := range Regions {
			if seen[n].Region == reg {
				return i
			}
		}
		return len(Regions)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

func scoreOf(r Run, bench string) (Score, bool) {
	for _, s := range r.Scores {
		if s.Benchmark == bench {
			return s, true
		}
	}
	return Score{}, false
}

func csvBytes(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows)
	return b.Bytes()
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// Tables returns results.csv (one row per trained model), scores.csv (every score with its details),
// summary.csv and summary.md (per dataset and rule: mean and standard deviation over seeds), settings.md
// (the training settings of each rule), history.csv (every training point) and timings.csv.
func Tables(runs []Run, order Order) Files {
	runs = sortedRuns(runs, order)
	benches := scoreColumns(runs)
	f := Files{}

	// results.csv
	head := []string{"dataset", "rule", "seed", "epochs", "batch", "optimizer", "backend", "test_accuracy"}
	for _, b := range benches {
		head = append(head, b+":raw", b+":ceiling", b+":ceiled", b+":layer")
	}
	rows := [][]string{head}
	for _, r := range runs {
		row := []string{r.Dataset, r.Rule, u(r.Seed), strconv.Itoa(r.Epochs), strconv.Itoa(r.Batch), r.Optimizer, r.Backend, Format(r.TestAccuracy, 4)}
		for _, b := range benches {
			s, ok := scoreOf(r, b)
			if !ok || s.Status != "ok" {
				status := "not scored"
				if ok {
					status = s.Status
				}
				row = append(row, status, "", "", "")
				continue
			}
			row = append(row, Format(s.Raw, 4), Format(s.Ceiling, 4), Format(s.CeiledRC2, 4), s.Layer)
		}
		rows = append(rows, row)
	}
	f["results.csv"] = csvBytes(rows)

	// scores.csv
	rows = [][]string{{"dataset", "rule", "seed", "benchmark", "region", "layer", "raw", "error", "ceiling", "ceiled_r_over_c_squared", "ceiled_r2_over_c", "status"}}
	for _, r := range runs {
		for _, s := range r.Scores {
			rows = append(rows, []string{r.Dataset, r.Rule, u(r.Seed), s.Benchmark, s.Region, s.Layer, Format(s.Raw, 5), Format(s.Error, 5), Format(s.Ceiling, 5), Format(s.CeiledRC2, 5), Format(s.CeiledR2C, 5), s.Status})
		}
	}
	f["scores.csv"] = csvBytes(rows)

	// summary: mean and std over seeds.
	groups := groupRuns(runs)
	rows = [][]string{{"dataset", "rule", "seeds", "test_accuracy_mean", "test_accuracy_std"}}
	for _, b := range benches {
		rows[0] = append(rows[0], b+":raw_mean", b+":raw_std", b+":ceiled_mean", b+":ceiled_std")
	}
	var md strings.Builder
	md.WriteString("| dataset | rule | seeds | test accuracy |")
	for _, b := range benches {
		md.WriteString(" " + b + " |")
	}
	md.WriteString("\n|---|---|---|---|")
	for range benches {
		md.WriteString("---|")
	}
	md.WriteString("\n")
	for _, g := range groups {
		accs := collect(g, func(r Run) float64 { return r.TestAccuracy })
		m, sd := MeanStd(accs)
		row := []string{g[0].Dataset, g[0].Rule, strconv.Itoa(len(g)), Format(m, 4), Format(sd, 4)}
		fmt.Fprintf(&md, "| %s | %s | %d | %s |", g[0].Dataset, g[0].Rule, len(g), pm(100*m, 100*sd, len(g), 2, "%"))
		for _, b := range benches {
			raw := collect(g, func(r Run) float64 { s, ok := scoreOf(r, b); return okVal(s, ok, s.Raw) })
			ceiled := collect(g, func(r Run) float64 { s, ok := scoreOf(r, b); return okVal(s, ok, s.CeiledRC2) })
			rm, rs := MeanStd(raw)
			cm, cs := MeanStd(ceiled)
			row = append(row, Format(rm, 4), Format(rs, 4), Format(cm, 4), Format(cs, 4))
			cell := pm(rm, rs, len(g), 3, "")
			if !math.IsNaN(cm) {
				cell += " (ceiled " + pm(cm, cs, len(g), 3, "") + ")"
			}
			if math.IsNaN(rm) {
				cell = statusOf(g[0], b)
			}
			md.WriteString(" " + cell + " |")
		}
		md.WriteString("\n")
		rows = append(rows, row)
	}
	f["summary.csv"] = csvBytes(rows)
	f["summary.md"] = []byte(md.String())

	// settings.md
	var st strings.Builder
	st.WriteString("| dataset | rule | optimiser | batch | epochs |\n|---|---|---|---|---|\n")
	for _, g := range groups {
		fmt.Fprintf(&st, "| %s | %s | %s | %d | %d |\n", g[0].Dataset, g[0].Rule, g[0].Optimizer, g[0].Batch, g[0].Epochs)
	}
	f["settings.md"] = []byte(st.String())

	// history.csv
	var metricNames []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.History {
			for _, m := range p.Metrics {
				if n := m.Name(); !seen[n] {
					seen[n] = true
					metricNames = append(metricNames, n)
				}
			}
		}
	}
	sort.Strings(metricNames)
	head = []string{"dataset", "rule", "seed", "phase", "epoch", "step", "examples", "train_loss", "test_accuracy"}
	rows = [][]string{append(head, metricNames...)}
	for _, r := range runs {
		for _, p := range r.History {
			row := []string{r.Dataset, r.Rule, u(r.Seed), p.Phase, Format(p.Epoch, 4), strconv.Itoa(p.Step), strconv.Itoa(p.Examples), Format(p.TrainLoss, 6), Format(p.TestAccuracy, 4)}
			vals := map[string]float64{}
			for _, m := range p.Metrics {
				vals[m.Name()] = m.Value
			}
			for _, n := range metricNames {
				v, ok := vals[n]
				if !ok {
					v = math.NaN()
				}
				row = append(row, Format(v, 6))
			}
			rows = append(rows, row)
		}
	}
	f["history.csv"] = csvBytes(rows)

	// timings.csv: the one output that differs between runs.
	rows = [][]string{{"dataset", "rule", "seed", "backend", "wall_seconds", "examples_per_second"}}
	for _, r := range runs {
		rows = append(rows, []string{r.Dataset, r.Rule, u(r.Seed), r.Backend, Format(r.WallSeconds, 1), Format(r.ExamplesPerSec, 1)})
	}
	f["timings.csv"] = csvBytes(rows)
	return f
}

func okVal(s Score, ok bool, v float64) float64 {
	if !ok || s.Status != "ok" {
		return math.NaN()
	}
	return v
}

func statusOf(r Run, bench string) string {
	if s, ok := scoreOf(r, bench); ok {
		return s.Status
	}
	return "not scored"
}

// pm formats mean ± std (just the mean for a single value).
func pm(m, sd float64, n, decimals int, unit string) string {
	if math.IsNaN(m) {
		return ""
	}
	if n < 2 {
		return Format(m, decimals) + unit
	}
	return Format(m, decimals) + unit + " ± " + Format(sd, decimals) + unit
}

func collect(g []Run, f func(Run) float64) []float64 {
	out := make([]float64, len(g))
	for i, r := range g {
		out[i] = f(r)
	}
	return out
}

// MeanStd returns the mean and the sample standard deviation (n-1; 0 for one value) of the non-NaN
// values, NaN when there are none.
func MeanStd(v []float64) (mean, std float64) {
	var n int
	for _, x := range v {
		if !math.IsNaN(x) {
			mean += x
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	mean /= float64(n)
	if n == 1 {
		return mean, 0
	}
	for _, x := range v {
		if !math.IsNaN(x) {
			std += (x - mean) * (x - mean)
		}
	}
	return mean, math.Sqrt(std / float64(n-1))
}

// Order is the order rules appear in tables and figures (the study's: train.DefaultRegistry().Names()),
// and the order of their colours, so that a rule has the same colour in every report. Rules it does not
// list come after, sorted by name.
type Order []string

// rank is rule's position in o, or len(o) when o does not list it.
func (o Order) rank(rule string) int {
	for i, n := range o {
		if n == rule {
			return i
		}
	}
	return len(o)
}

func sortedRuns(runs []Run, order Order) []Run {
	out := append([]Run{}, runs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if ra, rb := order.rank(a.Rule), order.rank(b.Rule); ra != rb {
			return ra < rb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Seed < b.Seed
	})
	return out
}

// groupRuns groups sorted runs by dataset and rule.
func groupRuns(runs []Run) [][]Run {
	var groups [][]Run
	for _, r := range runs {
		n := len(groups)
		if n > 0 && groups[n-1][0].Dataset == r.Dataset && groups[n-1][0].Rule == r.Rule {
			groups[n-1] = append(groups[n-1], r)
			continue
		}
		groups = append(groups, []Run{r})
	}
	return groups
}

// Write writes files into dir atomically (each through a temporary file renamed into place).
func (f Files) Write(dir string, write func(path string, data []byte) error) error {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := write(filepath.Join(dir, n), f[n]); err != nil {
			return err
		}
	}
	return nil
}
