package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// accuracyLine is how the reproduce command reports a trained net's test accuracy on stdout.
var accuracyLine = regexp.MustCompile(`test accuracy ([0-9.]+)%`)

// EndToEnd times `reproduce -dataset mnist -rules bp -epochs 1 -offline -figures=false` on the named
// backend: the reproduce command at path reproduce, in a fresh process, into a temporary folder; then,
// unless ref is nil, the study's protocol in PyTorch (Reference.EndToEnd). It returns two rows, the wall
// time (seconds, the process's: data, training, test) and the test accuracy (percent), with the
// reference's beside them when it was measured. Progress goes to log; why the reference was not measured
// goes to warn. Only a failure of reproduce itself is an error.
func EndToEnd(ctx context.Context, reproduce, backendName string, ref *Reference, log, warn io.Writer) ([]*Row, error) {
	log, warn = orDiscard(log), orDiscard(warn)
	dir, err := os.MkdirTemp("", "bpdl-bench-e2e-")
	if err != nil {
		return nil, fmt.Errorf("-e2e: %w", err)
	}
	defer os.RemoveAll(dir)
	args := []string{"-dataset", "mnist", "-rules", "bp", "-epochs", "1", "-offline", "-figures=false", "-backend", backendName, "-out", dir}
	fmt.Fprintf(log, "bench -e2e: reproduce %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, reproduce, args...)
	cmd.Stdout = &out
	cmd.Stderr = io.Discard // the progress bar
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("-e2e: reproduce %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	wall := time.Since(start).Seconds()
	m := accuracyLine.FindSubmatch(out.Bytes())
	if m == nil {
		return nil, fmt.Errorf("-e2e: reproduce printed no test accuracy")
	}
	acc, _ := strconv.ParseFloat(string(m[1]), 64)
	fmt.Fprintf(log, "bench -e2e: bpdl %.1f s, test accuracy %.2f%%\n", wall, acc)
	shape := "mnist 784-1536-256-10"
	rows := []*Row{
		{Name: "end to end: reproduce -dataset mnist -rules bp -epochs 1", Shape: shape, Batch: 4, Bpdl: wall, Unit: "s", Better: Lower,
			Note: "wall time of the process: data, training, test"},
		{Name: "end to end: test accuracy", Shape: shape, Batch: 4, Bpdl: acc, Unit: "%"},
	}
	if ref == nil {
		return rows, nil
	}
	fmt.Fprintf(log, "bench -e2e: %s %s e2e\n", ref.Python, ref.Script)
	p, err := ref.EndToEnd(ctx)
	if err != nil {
		fmt.Fprintf(warn, "bench -e2e: PyTorch protocol not measured: %v\n", err)
		return rows, nil
	}
	fmt.Fprintf(log, "bench -e2e: PyTorch %.1f s, test accuracy %.2f%%\n", p.Wall, p.Accuracy)
	config := fmt.Sprintf("torch %d, OpenBLAS %d", p.TorchThreads, p.BlasThreads)
	note := "the study's BP loop (fun_cifar10.train_CIFAR10) on MNIST, 1 epoch"
	rows[0].Reference, rows[0].RefConfig, rows[0].RefNote = p.Wall, config, note
	rows[1].Reference, rows[1].RefConfig, rows[1].RefNote = p.Accuracy, config, note
	return rows, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
