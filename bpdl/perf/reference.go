package perf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// DefaultScript is the PyTorch reference script, relative to the module root: the study's formulation
// of every rule (docs/performance.md says what it does and how it is checked to do the same work as
// bpdl's learners).
const DefaultScript = "bench/torch_study.py"

// Reference runs the PyTorch reference script.
type Reference struct {
	// Python is an interpreter that imports torch and numpy (Debian's /usr/bin/python3 with
	// python3-torch).
	Python string
	// Script is the reference script, usually DefaultScript from the module root.
	Script string
	// Configs are the thread configurations to try: "auto" (torch × OpenBLAS threads, powers of two up
	// to the core count) or TORCH:BLAS pairs, comma-separated ("1:1,2:1").
	Configs string
	// Norse is a source checkout of norse v0.0.6, which the spiking nets' reference needs; without it
	// their rows say so.
	Norse string
	// Stderr receives the script's standard error; nil discards it.
	Stderr io.Writer
}

// Measured is the reference's result for one step: its best rate over the thread configurations, or
// why it was not measured. It is one JSON line of the script's bench command.
type Measured struct {
	Rule         string             `json:"rule"`
	Dataset      string             `json:"shape"`
	Batch        int                `json:"batch"`
	Rate         float64            `json:"examples_per_s"`
	TorchThreads int                `json:"torch_threads"`
	BlasThreads  int                `json:"blas_threads"`
	Blas         string             `json:"blas"`
	Formulation  string             `json:"formulation"`
	Configs      map[string]float64 `json:"configs"` // the rate per configuration, "TORCH:BLAS" keys
	NotMeasured  string             `json:"not_measured"`
}

// Config names the winning thread configuration, e.g. "torch 2, OpenBLAS 1".
func (m Measured) Config() string {
	blas := "BLAS"
	if strings.HasPrefix(m.Blas, "openblas") {
		blas = "OpenBLAS"
	}
	return fmt.Sprintf("torch %d, %s %d", m.TorchThreads, blas, m.BlasThreads)
}

// HasReference reports whether the reference script implements a learner: bp, fa, dfa, dtp, dtp-tuned,
// snn and snn-tuned.
func HasReference(rule string) bool {
	switch rule {
	case "bp", "fa", "dfa", "dtp", "dtp-tuned", "snn", "snn-tuned":
		return true
	}
	return false
}

// Steps runs the script's bench command on the named learners it implements, for about seconds per
// measurement at every thread configuration, and returns its results by Step (with Engine "").
func (r Reference) Steps(ctx context.Context, seconds float64, rules []string) (map[Step]Measured, error) {
	var known []string
	for _, n := range rules {
		if HasReference(n) {
			known = append(known, n)
		}
	}
	if len(known) == 0 {
		return nil, nil
	}
	out, err := r.run(ctx, "bench", "--seconds", strconv.FormatFloat(seconds, 'f', -1, 64),
		"--rules", strings.Join(known, ","), "--configs", r.Configs, "--norse", r.Norse)
	if err != nil {
		return nil, err
	}
	return ParseReference(bytes.NewReader(out))
}

// run runs the script with the arguments and returns its standard output.
func (r Reference) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.Python, append([]string{r.Script}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = r.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", r.Python, r.Script, args[0], err)
	}
	return out.Bytes(), nil
}

// ParseReference reads the JSON lines of the script's bench command. Lines that are not JSON objects
// (the script's progress) are skipped, and so are results with neither a rate nor a reason.
func ParseReference(rd io.Reader) (map[Step]Measured, error) {
	res := map[Step]Measured{}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		var v Measured
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Rule == "" {
			continue
		}
		if v.Rate <= 0 && v.NotMeasured == "" {
			continue
		}
		res[Step{Rule: v.Rule, Dataset: v.Dataset, Batch: v.Batch}] = v
	}
	return res, sc.Err()
}

// Protocol is the reference's end-to-end result: the study's BP training protocol on MNIST for one
// epoch, timed in a fresh process at the fastest thread configuration.
type Protocol struct {
	Wall         float64 `json:"wall_s"`
	Accuracy     float64 `json:"test_accuracy"` // percent
	TorchThreads int     `json:"torch_threads"`
	BlasThreads  int     `json:"blas_threads"`
}

// EndToEnd runs the script's e2e command and returns its result (the last line of its output). It takes
// minutes: the script calibrates every thread configuration, then trains for an epoch with the fastest.
func (r Reference) EndToEnd(ctx context.Context) (*Protocol, error) {
	out, err := r.run(ctx, "e2e", "--configs", r.Configs)
	if err != nil {
		return nil, err
	}
	var p Protocol
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &p); err != nil || p.Wall <= 0 {
		return nil, fmt.Errorf("%s %s e2e printed no result: %q", r.Python, r.Script, out)
	}
	return &p, nil
}
