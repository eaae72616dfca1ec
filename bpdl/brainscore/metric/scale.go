package metric

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// PLS regression is equivariant to a rescaling of its data: fitted to (aX, bY) it predicts bŶ from aX,
// and its X weights, X loadings and rotations do not change. scikit-learn's algorithm is not quite:
// it adds machine epsilon to norms, zeroes responses below 10·eps in magnitude and squares
// cross-covariances, so that features scaled by 1e-100 or 1e150 (or responses by 1e-30) underflow or
// overflow into a score of 0. PLS therefore fits data whose largest magnitude lies outside
// [safeLow, safeHigh] after multiplying them by a power of two that brings it into [0.5, 1): exactly,
// since a power of two only shifts exponents, so the fit is scikit-learn's fit of the rescaled data,
// returned in the original units. Data inside the range, every data set of the study, are fitted as
// they are, bit for bit as before.
//
// Columns that are constant (every value equal) carry no information. Centring leaves rounding noise
// in them when their mean is not exact, which scikit-learn then fits; PLS instead fits them as exact
// zeros and keeps their value as their mean, so that constant features predict nothing (a constant
// prediction, whose correlation with anything is undefined, NaN) and constant responses are predicted
// as their constant (also NaN), the same answer both ways.
const (
	safeLow  = 0x1p-24
	safeHigh = 0x1p48
)

// dataScale records how the data of one fit were prepared: multiplied by 2^xExp and 2^yExp, and which
// columns were constant, with their values.
type dataScale struct {
	xExp, yExp     int
	xConst, yConst map[int]float64
}

// prepareData zeroes the constant columns of the row-major xs (n×p) and ys (n×q) and rescales each
// matrix by a power of two when its largest magnitude is outside the safe range, in place.
func prepareData(xs, ys []float64, n, p, q int) *dataScale {
	s := &dataScale{xConst: zeroConstant(xs, n, p), yConst: zeroConstant(ys, n, q)}
	s.xExp = normalise(xs)
	s.yExp = normalise(ys)
	return s
}

// zeroConstant sets the columns of the row-major a (n×c) whose values are all equal to zero and returns
// their values by column.
func zeroConstant(a []float64, n, c int) map[int]float64 {
	if n < 2 {
		return nil
	}
	var out map[int]float64
	for j := 0; j < c; j++ {
		v := a[j]
		constant := true
		for i := 1; i < n && constant; i++ {
			constant = a[i*c+j] == v
		}
		if !constant || v == 0 {
			continue
		}
		if out == nil {
			out = map[int]float64{}
		}
		out[j] = v
		for i := 0; i < n; i++ {
			a[i*c+j] = 0
		}
	}
	return out
}

// normalise multiplies a by 2^e so that its largest magnitude lies in [0.5, 1), when that magnitude is
// outside [safeLow, safeHigh], and returns e (0 when it leaves a as it is, or a is all zeros).
func normalise(a []float64) int {
	big := 0.0
	for _, v := range a {
		big = math.Max(big, math.Abs(v))
	}
	if big == 0 || (big >= safeLow && big <= safeHigh) {
		return 0
	}
	_, e := math.Frexp(big)
	for i, v := range a {
		a[i] = math.Ldexp(v, -e)
	}
	return -e
}

// ldexpAll returns the elements of v multiplied by 2^e, in a new slice.
func ldexpAll(v []float64, e int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Ldexp(x, e)
	}
	return out
}

// scaledPLS is a PLS fit in the units of the prepared data, which Predict uses so that nothing
// overflows between the two scales.
type scaledPLS struct {
	xExp, yExp   int
	xMean, yMean []float64
	coef         *mat.Dense
}

// restore turns a fit of the prepared data into the fit of the original data: means in the original
// units (a constant column's mean is its value), Y weights, Y loadings and coefficients multiplied by
// 2^(xExp−yExp). It keeps the prepared fit for Predict.
func (s *dataScale) restore(m *PLSModel) {
	if s.xExp == 0 && s.yExp == 0 {
		for j, v := range s.xConst {
			m.XMean[j] = v
		}
		for j, v := range s.yConst {
			m.YMean[j] = v
		}
		return
	}
	sc := &scaledPLS{xExp: s.xExp, yExp: s.yExp, xMean: m.XMean, yMean: m.YMean, coef: m.Coef}
	for j, v := range s.xConst {
		sc.xMean[j] = math.Ldexp(v, s.xExp)
	}
	for j, v := range s.yConst {
		sc.yMean[j] = math.Ldexp(v, s.yExp)
	}
	m.scaled = sc
	m.XMean = ldexpAll(sc.xMean, -s.xExp)
	m.YMean = ldexpAll(sc.yMean, -s.yExp)
	for j, v := range s.xConst {
		m.XMean[j] = v
	}
	for j, v := range s.yConst {
		m.YMean[j] = v
	}
	d := s.xExp - s.yExp
	for _, a := range []*mat.Dense{m.YWeights, m.YLoadings} {
		a.Apply(func(_, _ int, v float64) float64 { return math.Ldexp(v, d) }, a)
	}
	coef := mat.DenseCopyOf(m.Coef)
	coef.Apply(func(_, _ int, v float64) float64 { return math.Ldexp(v, d) }, coef)
	m.Coef = coef
}
