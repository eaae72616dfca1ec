package perf

import (
	"context"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
)

// TestScoring times the scoring pipeline of a real learner on small synthetic data.
func TestScoring(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a learner: skipped with -short")
	}
	b, err := backend.Open(backend.Resolve(""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	sizes := benchmark.Sizes{
		HvMObjects: 8, HvMPerObject: 10, HvMRepetitions: 4, HvMV4: 6, HvMIT: 8, HvMSize: 64,
		FZFamilies: 5, FZPerFamily: 6, FZRepetitions: 4, FZV1: 5, FZV2: 6, FZBins: 300, FZSize: 64,
		Objects: 5, ObjectomePerObject: 8, TrialsPerImage: 20, ObjectomeSize: 64,
	}
	var log strings.Builder
	rows, err := Scoring(context.Background(), b, sizes, []int{64, 32}, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(rows) != 8 || !strings.Contains(rows[6].Name, "five public benchmarks") || rows[6].Bpdl <= 0 {
		t.Errorf("rows %+v", rows)
	}
	for _, id := range []string{benchmark.FreemanZiemba2013V1, benchmark.MajajHong2015IT, benchmark.Rajalingham2018I2n} {
		if !strings.Contains(log.String(), id+" (") {
			t.Errorf("no result for %s in the log:\n%s", id, log.String())
		}
	}
}
