package perf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// Better says which way a row's values are better, and so how its speed-up is computed.
type Better string

const (
	// Higher: rates; the speed-up is bpdl / reference.
	Higher Better = "higher"
	// Lower: times; the speed-up is reference / bpdl.
	Lower Better = "lower"
	// Neither (""): no speed-up, as for an accuracy.
	Neither Better = ""
)

// Row is one line of the performance report.
type Row struct {
	// Name says what was measured ("bp step", "end to end: test accuracy"), Shape on which net
	// ("cifar10 3072-1536-256-10"); Batch is 0 when it does not apply.
	Name  string
	Shape string
	Batch int
	// Bpdl is bpdl's value (the best over the rounds for steps).
	Bpdl float64
	// Reference is the PyTorch reference's value, 0 when not measured; RefConfig names the thread
	// configuration that gave it ("torch 2, OpenBLAS 1"), RefNote says why it is missing or what it is.
	Reference float64
	RefConfig string
	RefNote   string
	// RefAll is the reference's best rate per thread configuration over the rounds ("TORCH:BLAS" keys).
	RefAll map[string]float64
	// Unit is "examples/s", "s", "%" or "GiB"; Note qualifies it in the table.
	Unit string
	Note string
	// Better says which way is better.
	Better Better
	// Step identifies a training-step row; nil for the others.
	Step *Step
}

// Speedup is how many times faster bpdl is than the reference on the row, 0 when it has none.
func (r *Row) Speedup() float64 {
	if r.Reference <= 0 || r.Bpdl <= 0 {
		return 0
	}
	switch r.Better {
	case Higher:
		return r.Bpdl / r.Reference
	case Lower:
		return r.Reference / r.Bpdl
	}
	return 0
}

// Report is a performance measurement: its rows and how they were measured.
type Report struct {
	Rows []*Row
	// Backend names the GoMLX backend; Machine describes the machine (see Machine).
	Backend string
	Machine string
	// Rounds and Seconds are the rounds of measurements and the seconds of each.
	Rounds  int
	Seconds float64
}

// Tables renders the report as bench.csv (one line per row, with every thread configuration's
// reference rate) and bench.md (a Markdown table whose notes, numbered, say what the reference is or
// why it was not measured).
func (rep *Report) Tables() (csvOut, md []byte) {
	var c, m strings.Builder
	c.WriteString("benchmark,shape,batch,bpdl,reference_pytorch,speedup,unit,reference_config,reference_formulation,reference_all_configs,backend,machine\n")
	fmt.Fprintf(&m, "Measured by `reproduce bench` on %s, backend %s; best of %d round(s) of %g s per measurement.\n",
		rep.Machine, rep.Backend, rep.Rounds, rep.Seconds)
	m.WriteString("PyTorch: the study's own formulation of each rule (bench/torch_study.py), at the fastest of its thread configurations\n" +
		"(torch threads x OpenBLAS threads), which the table names. Speed-up: how many times faster bpdl is.\n\n")
	m.WriteString("| benchmark | shape | batch | bpdl | PyTorch | PyTorch threads | speed-up | unit |\n|---|---|---|---|---|---|---|---|\n")
	notes := map[string]int{}
	var noteList []string
	for _, r := range rep.Rows {
		ref, ratio, cfg := "", "", r.RefConfig
		if r.Reference > 0 {
			ref = strconv.FormatFloat(r.Reference, 'f', 1, 64)
			if s := r.Speedup(); s > 0 {
				ratio = strconv.FormatFloat(s, 'f', 2, 64)
			}
		}
		if r.RefNote != "" {
			k, ok := notes[r.RefNote]
			if !ok {
				noteList = append(noteList, r.RefNote)
				k = len(noteList)
				notes[r.RefNote] = k
			}
			if r.Reference > 0 {
				cfg += fmt.Sprintf(" [%d]", k)
			} else {
				ref = fmt.Sprintf("not measured [%d]", k)
			}
		}
		batch := ""
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		val := strconv.FormatFloat(r.Bpdl, 'f', 1, 64)
		csvRef := ""
		if r.Reference > 0 {
			csvRef = strconv.FormatFloat(r.Reference, 'f', 1, 64)
		}
		fmt.Fprintf(&c, "%q,%q,%s,%s,%s,%s,%q,%q,%q,%q,%q,%q\n", r.Name, r.Shape, batch, val, csvRef, ratio, r.Unit, r.RefConfig, r.RefNote,
			allConfigs(r.RefAll), rep.Backend, rep.Machine)
		unit := r.Unit
		if r.Note != "" {
			unit += " (" + r.Note + ")"
		}
		fmt.Fprintf(&m, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Shape, batch, val, ref, cfg, ratio, unit)
	}
	if len(noteList) > 0 {
		m.WriteString("\n")
		for i, n := range noteList {
			fmt.Fprintf(&m, "[%d] %s\n", i+1, n)
		}
	}
	return []byte(c.String()), []byte(m.String())
}

// Write writes the tables to dir as bench.csv and bench.md, each whole or not at all, and returns
// bench.md's content.
func (rep *Report) Write(dir string) (md []byte, err error) {
	csvOut, md := rep.Tables()
	for _, f := range []struct {
		name string
		b    []byte
	}{{"bench.csv", csvOut}, {"bench.md", md}} {
		if err := fetch.WriteAtomic(filepath.Join(dir, f.name), func(w io.Writer) error { _, err := w.Write(f.b); return err }); err != nil {
			return nil, err
		}
	}
	return md, nil
}

// allConfigs lists a row's reference rates per thread configuration, "torch 1, BLAS 2: 4712.0; ...",
// in the order of the configurations.
func allConfigs(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		var ti, bi, tj, bj int
		fmt.Sscanf(keys[i], "%d:%d", &ti, &bi)
		fmt.Sscanf(keys[j], "%d:%d", &tj, &bj)
		return ti < tj || ti == tj && bi < bj
	})
	var parts []string
	for _, k := range keys {
		t, b, _ := strings.Cut(k, ":")
		parts = append(parts, fmt.Sprintf("torch %s, BLAS %s: %.1f", t, b, m[k]))
	}
	return strings.Join(parts, "; ")
}

// Machine describes this machine for the report: the CPU model, the core count and the load average
// now (Linux; the architecture stands for the model elsewhere).
func Machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	desc := fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fields := strings.Fields(string(b)); len(fields) >= 3 {
			desc += fmt.Sprintf(", load average %s %s %s at the start", fields[0], fields[1], fields[2])
		}
	}
	return desc
}
