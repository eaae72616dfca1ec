package metric

import (
	"math"
	"slices"
)

// Median returns the median of the non-NaN values of x (the mean of the two middle values when their
// number is even), as xarray's median(skipna=True) and numpy.nanmedian compute it; NaN when there are
// none. x is not modified.
func Median(x []float64) float64 {
	v := make([]float64, 0, len(x))
	for _, e := range x {
		if !math.IsNaN(e) {
			v = append(v, e)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// Mean returns the mean of the non-NaN values of x (xarray's mean(skipna=True)); NaN when there are none.
func Mean(x []float64) float64 {
	s, n := 0.0, 0
	for _, e := range x {
		if !math.IsNaN(e) {
			s += e
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// StdErr returns the standard error of the mean over splits the way Brain-Score reports a score's error:
// the population standard deviation (ddof = 0) of the non-NaN values divided by the square root of the
// number of values, std(x) / √len(x).
func StdErr(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	m := Mean(x)
	s, n := 0.0, 0
	for _, e := range x {
		if !math.IsNaN(e) {
			s += (e - m) * (e - m)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(s/float64(n)) / math.Sqrt(float64(len(x)))
}
