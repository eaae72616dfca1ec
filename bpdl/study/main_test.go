package study_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// brainData is the project's shared test data, which holds the RSA benchmark's files (rsa92/).
var brainData string

// TestMain finds the shared test data; without it (a user's machine) the example, which scores on real
// macaque data, is skipped with a message, as the tests that need the data are.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, ok := shared.DataDir()
	if _, err := os.Stat(filepath.Join(dir, "rsa92")); !ok || err != nil {
		fmt.Printf("skipping the examples: the shared test data (../shared/data or $%s) is not here\n", shared.EnvVar)
		if err := flag.Set("test.skip", "^Example"); err != nil {
			panic(err)
		}
	}
	brainData = dir
	os.Exit(m.Run())
}
