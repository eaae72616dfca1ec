package main

import (
	"context"
	"errors"
	"io"
)

func runBenchmarks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("benchmarks: not built yet")
}

func runNeuralFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("neural-fit: not built yet")
}
