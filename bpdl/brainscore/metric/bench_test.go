package metric

import (
	"flag"
	"testing"
	"time"
)

var big = flag.Bool("big", false, "run TestPLSBig, the full-size scoring benchmark (3200 x 1536 -> 256, 10 splits)")

// TestPLSBig checks the time and memory budget of the study's largest scoring problem on this machine:
// under 20 s and under 1 GB peak RSS. Run it alone, so that the peak RSS is its own:
//
//	GOEXPERIMENT=simd go test ./bpdl/brainscore/metric -run TestPLSBig -big -v
func TestPLSBig(t *testing.T) {
	if !*big {
		t.Skip("full-size scoring benchmark: pass -big to run it")
	}
	r, err := BenchScoring(3200, 1536, 256)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Elapsed > 20*time.Second {
		t.Errorf("took %v, budget 20 s", r.Elapsed)
	}
	if r.PeakRSS > 1<<30 {
		t.Errorf("peak RSS %d bytes, budget 1 GiB", r.PeakRSS)
	}
}

// BenchmarkPLSCrossValidation times the full-size scoring problem (10 PLS fits of 2880 x 1536 -> 256
// and their test predictions) and reports the peak RSS.
func BenchmarkPLSCrossValidation(b *testing.B) {
	x, y, labels := BenchData(3200, 1536, 256, 1)
	splits, err := BrainScoreSplits(3200, labels)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Predictivity(x, y, splits, BrainScorePLS()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS-MiB")
}
