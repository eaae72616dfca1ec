package metric

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Ridge is scikit-learn 1.2's Ridge(alpha=Alpha) with an intercept and its default solver for dense
// data, one of the regressions Brain-Score offers for neural predictivity. It minimises
// ‖Y − (X − x̄)B − ȳ‖² + Alpha‖B‖² over B: with Xc and Yc the centred data,
//
//	B = (XcᵀXc + αI)⁻¹ XcᵀYc        (p ≤ n, the primal solution, by Cholesky)
//	B = Xcᵀ (XcXcᵀ + αI)⁻¹ Yc       (p > n, the same B from the n×n kernel, by Cholesky)
//
// and, when that matrix is singular (only possible with Alpha 0), the SVD solution
// B = V diag(s/(s² + α)) Uᵀ Yc over the singular values s > 1e-15 of Xc = U S Vᵀ, as scikit-learn
// falls back to. Alpha 0 is least squares (the minimum-norm solution when X is rank deficient), Brain-Score's
// linear regression.
//
// Unlike PLS, ridge is not invariant to a rescaling of the features: the penalty is in their units.
type Ridge struct {
	// Alpha is the penalty, >= 0; scikit-learn's default is 1.
	Alpha float64
}

// RidgeModel is a fitted ridge regression: Ŷ = (X − XMean) Coef + YMean.
type RidgeModel struct {
	// XMean and YMean are the column means of the training data.
	XMean, YMean []float64
	// Coef (p×q) is B, scikit-learn's coef_ transposed.
	Coef *mat.Dense
}

// Fit implements Regression.
func (r Ridge) Fit(x, y mat.Matrix) (Predictor, error) {
	m, err := r.FitModel(x, y)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// FitModel fits the regression of y (n×q) on x (n×p). Neither input is modified.
func (r Ridge) FitModel(x, y mat.Matrix) (*RidgeModel, error) {
	n, p := x.Dims()
	ny, q := y.Dims()
	switch {
	case n != ny:
		return nil, fmt.Errorf("metric: ridge fit: X has %d rows but Y has %d", n, ny)
	case n < 1 || p < 1 || q < 1:
		return nil, fmt.Errorf("metric: ridge fit: empty data (%d×%d features, %d responses)", n, p, q)
	case !(r.Alpha >= 0) || math.IsInf(r.Alpha, 0):
		return nil, fmt.Errorf("metric: ridge fit: alpha %v is not a finite number >= 0", r.Alpha)
	}
	xs, ys := denseCopy(x), denseCopy(y)
	if !allFinite(xs) {
		return nil, errors.New("metric: ridge fit: X contains NaN or infinity")
	}
	if !allFinite(ys) {
		return nil, errors.New("metric: ridge fit: Y contains NaN or infinity")
	}
	m := &RidgeModel{XMean: centre(xs, n, p), YMean: centre(ys, n, q)}
	xc, yc := mat.NewDense(n, p, xs), mat.NewDense(n, q, ys)
	var err error
	if m.Coef, err = r.solve(xc, yc); err != nil {
		return nil, fmt.Errorf("metric: ridge fit: %w", err)
	}
	return m, nil
}

// solve returns B for centred xc (n×p) and yc (n×q).
func (r Ridge) solve(xc, yc *mat.Dense) (*mat.Dense, error) {
	n, p := xc.Dims()
	_, q := yc.Dims()
	var gram mat.SymDense
	if p > n {
		gram.SymOuterK(1, xc) // Xc Xcᵀ
	} else {
		gram.SymOuterK(1, xc.T()) // Xcᵀ Xc
	}
	for i := range gram.SymmetricDim() {
		gram.SetSym(i, i, gram.At(i, i)+r.Alpha)
	}
	var ch mat.Cholesky
	if ch.Factorize(&gram) {
		coef := mat.NewDense(p, q, nil)
		if p > n {
			var dual mat.Dense
			if err := ch.SolveTo(&dual, yc); err != nil {
				return nil, err
			}
			coef.Mul(xc.T(), &dual)
		} else {
			var xty mat.Dense
			xty.Mul(xc.T(), yc)
			if err := ch.SolveTo(coef, &xty); err != nil {
				return nil, err
			}
		}
		return coef, nil
	}
	// Singular: scikit-learn's _solve_svd.
	s, u, v, err := thinSVD(xc, "the centred features")
	if err != nil {
		return nil, err
	}
	var uty mat.Dense
	uty.Mul(u.T(), yc) // k×q
	for k, sk := range s {
		d := 0.0
		if sk > 1e-15 {
			d = sk / (sk*sk + r.Alpha)
		}
		row := uty.RawRowView(k)
		for j := range row {
			row[j] *= d
		}
	}
	coef := mat.NewDense(p, q, nil)
	coef.Mul(v, &uty)
	return coef, nil
}

// Predict implements Predictor.
func (m *RidgeModel) Predict(x mat.Matrix) (*mat.Dense, error) {
	n, p := x.Dims()
	if p != len(m.XMean) {
		return nil, fmt.Errorf("metric: ridge predict: X has %d columns, the model was fitted on %d", p, len(m.XMean))
	}
	xc := denseCopy(x)
	for i := range n {
		subtract(xc[i*p:(i+1)*p], m.XMean)
	}
	q := len(m.YMean)
	out := mat.NewDense(n, q, nil)
	if n == 0 {
		return out, nil
	}
	out.Mul(mat.NewDense(n, p, xc), m.Coef)
	for i := range n {
		row := out.RawRowView(i)
		for j := range row {
			row[j] += m.YMean[j]
		}
	}
	return out, nil
}
