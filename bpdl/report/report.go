// Package report turns the results of a study into tables (CSV and Markdown), echarts figures and a
// manifest. It reads results and never trains. Every output is deterministic: sorted keys, fixed float
// formatting, no timestamps; only timings.csv holds measurements of time.
package report

import (
	"math"
	"strconv"

	"github.com/bpdl/bpdl/bpdl/diag"
)

// Run is one trained model: a learning rule on a dataset with a seed.
type Run struct {
	Dataset      string
	Rule         string
	Seed         uint64
	Epochs       int
	Batch        int
	Optimizer    string
	Backend      string
	TestAccuracy float64
	History      []Point
	Scores       []Score
	Raster       *Raster // spiking nets only: one example's spikes after training
	// Timing (timings.csv only).
	WallSeconds    float64
	ExamplesPerSec float64
}

// Point is one moment of a run's training (see train.Point).
type Point struct {
	Phase        string
	Epoch        float64
	Step         int
	Examples     int
	TrainLoss    float64
	TestAccuracy float64
	Metrics      []diag.Metric
}

// Score is a run's score on one brain benchmark.
type Score struct {
	Benchmark string  // e.g. "MajajHong2015public.IT-pls", "rsa92.macaque-IT", "cowley2023.V4-pls"
	Region    string  // V1, V2, V4, IT, behavior
	Layer     string  // the layer the score comes from (the best one, when several were scored)
	Raw       float64 // unceiled score (Pearson r, Spearman rho, ...)
	Error     float64 // standard error or half-width of the interval over splits/bootstrap; NaN if none
	Ceiling   float64 // NaN when the benchmark has none
	CeiledRC2 float64 // (r/c)^2, the 2021 Brain-Score normalisation the study used
	CeiledR2C float64 // r^2/c, today's Brain-Score normalisation
	Status    string  // "ok", or why there is no score ("data not present")
}

// Format writes a float with a fixed number of decimals, "" for NaN, so tables are byte-identical across runs.
func Format(v float64, decimals int) string {
	if math.IsNaN(v) {
		return ""
	}
	if math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if s == "-"+strconv.FormatFloat(0, 'f', decimals, 64) {
		s = s[1:]
	}
	return s
}

// Raster is the spike trains of one example through a spiking net: for each layer, which units fired at
// which time steps.
type Raster struct {
	Steps  int           // time steps
	DT     float64       // step length in milliseconds
	Label  int           // the example's class
	Layers []RasterLayer // input first
}

// RasterLayer is one layer's spikes: Spikes[k] = [step, unit] of the k-th spike, sorted by step then unit.
type RasterLayer struct {
	Name   string
	Units  int
	Spikes [][2]int
}
