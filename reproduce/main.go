// Command reproduce regenerates the study: it trains every net with its learning rule, scores it for test
// accuracy and against brain data, and writes every table and figure.
//
//	GOEXPERIMENT=simd go run ./reproduce              # the study on CIFAR-10, into figures/
//	GOEXPERIMENT=simd go run ./reproduce -quick       # a small real-data run (MNIST), minutes
//	go run ./reproduce -h                             # every flag
//
// Subcommands: `reproduce bench` (benchmarks against PyTorch), `reproduce benchmarks` (the brain
// benchmarks and their data), `reproduce neural-fit` (score any features against neural responses),
// `reproduce fetch` (download and verify datasets, echarts and a backend's plugin, ahead of a run),
// `reproduce export` (the trained nets' weights as NumPy files, docs/interop.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bpdl/bpdl/bpdl/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors that are the user's: bad flags or arguments. They exit with status 2.
var errUsage = errors.New("usage")

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	if len(args) > 0 {
		switch args[0] {
		case "bench":
			err = runBench(ctx, args[1:], stdout, stderr)
			return exitStatus(err, stderr)
		case "benchmarks":
			err = runBenchmarks(ctx, args[1:], stdout, stderr)
			return exitStatus(err, stderr)
		case "neural-fit":
			err = runNeuralFit(ctx, args[1:], stdout, stderr)
			return exitStatus(err, stderr)
		case "fetch":
			err = runFetch(ctx, args[1:], stdout, stderr)
			return exitStatus(err, stderr)
		case "export":
			err = runExport(args[1:], stdout, stderr)
			return exitStatus(err, stderr)
		}
	}
	return exitStatus(runStudy(ctx, args, stdout, stderr), stderr)
}

func exitStatus(err error, stderr io.Writer) int {
	var stopped *train.InterruptedError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &stopped):
		fmt.Fprintf(stderr, "reproduce: interrupted: rerun the same command to resume from %s\n", resumePoint(stopped))
		return 130
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "reproduce: interrupted: rerun the same command to resume (finished runs are kept)\n")
		return 130
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "reproduce: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "reproduce: %v\n", err)
		return 1
	}
}

// resumePoint says where an interrupted run resumes: the epoch after the last one its checkpoint holds.
func resumePoint(e *train.InterruptedError) string {
	if e.EpochsDone == 0 && e.PretrainDone > 0 {
		return fmt.Sprintf("epoch 1 (after %d pretraining epoch(s))", e.PretrainDone)
	}
	return fmt.Sprintf("epoch %d", e.EpochsDone+1)
}

// usageError wraps a message as a usage error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
