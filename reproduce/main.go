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

// subcommands are reproduce's subcommands by name; without one, reproduce runs the study (runStudy).
var subcommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"bench": runBench, "benchmarks": runBenchmarks, "neural-fit": runNeuralFit, "fetch": runFetch, "export": runExport,
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && subcommands[args[0]] != nil {
		return exitStatus(subcommands[args[0]](ctx, args[1:], stdout, stderr), stderr)
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
		fmt.Fprintf(stderr, "reproduce: interrupted: rerun the same command to resume from %s\n", stopped.Resume())
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

// usageError wraps a message as a usage error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
