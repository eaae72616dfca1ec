package benchmark

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/report"
)

// StatusSeeLog is a failed benchmark's status in a table (WriteScores, and the study's tables): the
// failure's own status names files and paths, which belong in the log, not in a table.
const StatusSeeLog = "error (see the log)"

// Failed reports whether the benchmark failed: its status is an error ("error: ..."), not a score, nor
// data that are absent, nor a model that has nothing for it.
func (r *Result) Failed() bool { return strings.HasPrefix(r.Status, "error") }

// Failures lists the benchmarks of the results that failed.
func Failures(res []*Result) []string {
	var ids []string
	for _, r := range res {
		if r.Failed() {
			ids = append(ids, r.Benchmark)
		}
	}
	return ids
}

// FailureError is an error naming the benchmarks of the results that failed ("... failed: see above":
// their messages are in the log), nil when none did.
func FailureError(res []*Result) error {
	if failed := Failures(res); len(failed) > 0 {
		return fmt.Errorf("%s failed: see above", strings.Join(failed, ", "))
	}
	return nil
}

// WriteStatuses writes each result's benchmark and status on a line, and its notes indented below.
func WriteStatuses(w io.Writer, res []*Result) error {
	var b strings.Builder
	for _, r := range res {
		fmt.Fprintf(&b, "%s: %s\n", r.Benchmark, r.Status)
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteScores writes results as CSV in the columns of the study's scores.csv (the model instead of
// dataset, rule and seed): one row per result with the committed layer's scores to five decimals, empty
// where undefined, and the status (StatusSeeLog for a failed benchmark).
func WriteScores(w io.Writer, res []*Result) error {
	rows := [][]string{{"model", "benchmark", "region", "layer", "raw", "error", "ceiling", "ceiled_r_over_c_squared", "ceiled_r2_over_c", "status"}}
	for _, r := range res {
		s, status := r.Score(), r.Status
		if r.Failed() {
			status = StatusSeeLog
		}
		rows = append(rows, []string{r.Model, r.Benchmark, r.Region, r.Layer, report.Format(s.Raw, 5), report.Format(s.Error, 5),
			report.Format(s.Ceiling, 5), report.Format(s.CeiledRC2, 5), report.Format(s.CeiledR2C, 5), status})
	}
	cw := csv.NewWriter(w)
	return cw.WriteAll(rows)
}

// InputOf is the model input the stimuli are prepared for: input (CxHxW, see ParseInput) when given, else
// the shape the stimuli in dir were exported for (its manifest), else the study's CIFAR-10 input, 3x32x32.
func InputOf(input, dir string) (channels, height, width int, err error) {
	if input == "" {
		if m, err := ReadManifest(dir); dir != "" && err == nil {
			return m.Channels, m.Height, m.Width, nil
		}
		input = "3x32x32"
	}
	return ParseInput(input)
}

// ParseInput parses a model input shape CxHxW ("3x32x32", "1x28x28"): 1 (gray) or 3 (RGB) channels,
// and a height and width from 1 to 4096.
func ParseInput(s string) (channels, height, width int, err error) {
	parts := strings.Split(s, "x")
	if len(parts) != 3 {
		return 0, 0, 0, errors.New("want CxHxW, such as 3x32x32")
	}
	var v [3]int
	for i, p := range parts {
		if v[i], err = strconv.Atoi(p); err != nil || v[i] < 1 || v[i] > 4096 {
			return 0, 0, 0, fmt.Errorf("want CxHxW with each a positive integer, such as 3x32x32")
		}
	}
	if v[0] != 1 && v[0] != 3 {
		return 0, 0, 0, fmt.Errorf("%d channels: want 1 (gray) or 3 (RGB)", v[0])
	}
	return v[0], v[1], v[2], nil
}
