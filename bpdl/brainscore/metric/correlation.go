package metric

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Pearson returns the Pearson correlation coefficient of x and y,
//
//	r = Σᵢ (xᵢ − x̄)(yᵢ − ȳ) / (‖x − x̄‖ ‖y − ȳ‖),
//
// computed as scipy.stats.pearsonr does (each centred vector divided by its norm, then their dot
// product, clipped to [−1, 1]), for data of any scale (see pearsonRescaled). It returns NaN when either
// vector is constant (all its elements equal, as scipy checks: their computed mean need not equal them,
// so the deviations would be rounding noise), when they have fewer than two elements, or when either
// holds a NaN. It panics if the lengths differ.
func Pearson(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("metric: Pearson of vectors of lengths %d and %d", len(x), len(y)))
	}
	n := len(x)
	if n < 2 || constant(x) || constant(y) {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		syy += dy * dy
	}
	if !(sxx > squareMin && syy > squareMin) || math.IsInf(sxx, 0) || math.IsInf(syy, 0) {
		return pearsonRescaled(x, y, mx, my)
	}
	nx, ny := math.Sqrt(sxx), math.Sqrt(syy)
	var r float64
	for i := range x {
		r += (x[i] - mx) / nx * ((y[i] - my) / ny)
	}
	return math.Max(-1, math.Min(1, r))
}

// constant reports whether every element of x equals the first.
func constant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}

// squareMin bounds the sums of squares Pearson takes as they are: below it (deviations near 1e-136 or
// smaller) squares lose precision or vanish, and Pearson rescales.
const squareMin = 0x1p-900

// pearsonRescaled computes Pearson's r with each centred vector first divided by a power of two near its
// largest magnitude (exact), so that r does not depend on the data's scale even where their squares
// would overflow or underflow; NaN when a vector is constant.
func pearsonRescaled(x, y []float64, mx, my float64) float64 {
	dx, dy := make([]float64, len(x)), make([]float64, len(y))
	for i := range x {
		dx[i], dy[i] = x[i]-mx, y[i]-my
	}
	for _, d := range [][]float64{dx, dy} {
		big := 0.0
		for _, v := range d {
			big = math.Max(big, math.Abs(v))
		}
		if big == 0 || math.IsInf(big, 0) {
			return math.NaN()
		}
		_, e := math.Frexp(big)
		for i, v := range d {
			d[i] = math.Ldexp(v, -e)
		}
	}
	var sxx, syy, r float64
	for i := range dx {
		sxx += dx[i] * dx[i]
		syy += dy[i] * dy[i]
	}
	nx, ny := math.Sqrt(sxx), math.Sqrt(syy)
	for i := range dx {
		r += dx[i] / nx * (dy[i] / ny)
	}
	return math.Max(-1, math.Min(1, r))
}

// PearsonColumns returns the Pearson correlation between each column of a and the same column of b,
// taken over the rows (for predictions and responses: one r per neuroid, over images). It returns an
// error when the shapes differ.
func PearsonColumns(a, b mat.Matrix) ([]float64, error) {
	ra, ca := a.Dims()
	rb, cb := b.Dims()
	if ra != rb || ca != cb {
		return nil, fmt.Errorf("metric: Pearson per column of %dx%d and %dx%d matrices", ra, ca, rb, cb)
	}
	out := make([]float64, ca)
	x := make([]float64, ra)
	y := make([]float64, ra)
	for j := range out {
		mat.Col(x, j, a)
		mat.Col(y, j, b)
		out[j] = Pearson(x, y)
	}
	return out, nil
}

// Ranks returns the 1-based ranks of x with ties given the average of the ranks they span, as
// scipy.stats.rankdata(x, method="average") does. NaNs rank above every number (as in NumPy's sort).
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b float64) bool { return a < b || (!math.IsNaN(a) && math.IsNaN(b)) }
	sort.SliceStable(idx, func(i, j int) bool { return less(x[idx[i]], x[idx[j]]) })
	ranks := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && !less(x[idx[i]], x[idx[j]]) {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[idx[k]] = avg
		}
		i = j
	}
	return ranks
}

// Spearman returns Spearman's rank correlation of x and y: the Pearson correlation of their average
// ranks (see Ranks). It returns NaN when either vector holds a NaN or is constant. It panics if the
// lengths differ.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("metric: Spearman of vectors of lengths %d and %d", len(x), len(y)))
	}
	if slices.ContainsFunc(x, math.IsNaN) || slices.ContainsFunc(y, math.IsNaN) {
		return math.NaN()
	}
	return Pearson(Ranks(x), Ranks(y))
}

// SpearmanBrown corrects a split-half correlation r to the reliability of the full (twice as long)
// measurement: 2r / (1 + r), the Spearman-Brown prophecy formula n·r / (1 + (n−1)·r) with n = 2.
func SpearmanBrown(r float64) float64 {
	return 2 * r / (1 + r)
}
