package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/report"
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

// TestFetchEchartsOffline checks that fetch -echarts -offline with an empty cache says which file to put
// where (the download itself is tested in package report, against a local server).
func TestFetchEchartsOffline(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	var out, errOut bytes.Buffer
	args := []string{"fetch", "-offline", "-echarts"}
	if got := run(context.Background(), args, &out, &errOut); got != 1 {
		t.Fatalf("run %q: exit status %d, want 1 (stdout %q, stderr %q)", args, got, out.String(), errOut.String())
	}
	for _, want := range []string{"echarts-" + report.EchartsVersion + ".tgz", filepath.Join(cache, "bpdl", "echarts", report.EchartsVersion)} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("run %q: stderr %q does not name %s", args, errOut.String(), want)
		}
	}
}
