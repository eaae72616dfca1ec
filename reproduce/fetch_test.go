package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestFetchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"fetch"},
		{"fetch", "imagenet"},
		{"fetch", "-no-such-flag"},
	} {
		var out, errOut bytes.Buffer
		if got := run(context.Background(), args, &out, &errOut); got != 2 {
			t.Errorf("run %q: exit status %d, want 2 (stderr %q)", args, got, errOut.String())
		}
	}
}

func TestFetchOfflineMissing(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"fetch", "-offline", "-data-dir", t.TempDir(), "cifar10"}
	if got := run(context.Background(), args, &out, &errOut); got != 1 {
		t.Fatalf("run %q: exit status %d, want 1 (stdout %q, stderr %q)", args, got, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "cifar-10-binary.tar.gz") {
		t.Errorf("run %q: stderr %q does not say which file to put where", args, errOut.String())
	}
}

func TestFetchBackend(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"fetch", "-backend", "go"}
	if got := run(context.Background(), args, &out, &errOut); got != 0 {
		t.Fatalf("run %q: exit status %d, want 0 (stderr %q)", args, got, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "backend go: ") {
		t.Errorf("run %q: stdout %q, want a line describing the backend", args, out.String())
	}
}
