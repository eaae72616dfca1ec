package metric

import (
	"flag"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadAverage returns the 1-minute load average from /proc/loadavg, or NaN where there is none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

var big = flag.Bool("big", false, "run TestPLSBig, the full-size scoring benchmark (3200 x 1536 -> 256, 10 splits)")

// TestPLSBig checks the time and memory budget of the study's largest scoring problem on this machine:
// under 20 s and under 1 GB peak RSS. Run it alone, so that the peak RSS is its own:
//
//	GOEXPERIMENT=simd go test ./bpdl/brainscore/metric -run TestPLSBig -big -v
//
// The wall time depends on what else the machine runs; the CPU time (all threads) does not, and on an
// otherwise idle machine bounds the wall time. The test fails when the CPU time exceeds the budget, and
// when the wall time does while the machine was not busy with other work (load average below its cores).
func TestPLSBig(t *testing.T) {
	if !*big {
		t.Skip("full-size scoring benchmark: pass -big to run it")
	}
	r, err := BenchScoring(3200, 1536, 256)
	if err != nil {
		t.Fatal(err)
	}
	load := loadAverage()
	t.Logf("%v (1-minute load average %.1f on %d CPUs)", r, load, runtime.NumCPU())
	if r.CPU > 20*time.Second {
		t.Errorf("used %v of CPU, budget 20 s", r.CPU)
	}
	if r.Elapsed > 20*time.Second {
		if load < float64(runtime.NumCPU()) {
			t.Errorf("took %v, budget 20 s", r.Elapsed)
		} else {
			t.Logf("took %v of wall time, over the 20 s budget, while other processes kept the machine busy", r.Elapsed)
		}
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
