package metric

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// eps is the float64 machine epsilon, 2^-52, NumPy's np.finfo(np.float64).eps.
const eps = 0x1p-52

// PLS configures a partial least squares regression with the semantics of scikit-learn 1.2's
// PLSRegression(n_components=Components, scale=False, max_iter=MaxIter, tol=Tol), the regression
// Brain-Score maps model features to neural responses with (25 components, no scaling).
//
// Fitting centres X (n×p) and Y (n×q) on their column means and then, for each component k, finds the
// first pair of singular vectors of the cross-covariance XₖᵀYₖ by NIPALS power iterations (mode A), takes
// the X score t = Xₖw, and deflates both blocks on it (regression mode):
//
//	Xₖ₊₁ = Xₖ − t pᵀ,  p = Xₖᵀt / tᵀt   (x loadings)
//	Yₖ₊₁ = Yₖ − t cᵀ,  c = Yₖᵀt / tᵀt   (y loadings)
//
// With W, P and C the weights and loadings of all components as columns, the X rotations are
// R = W (PᵀW)⁺ (pseudo-inverse), the coefficients B = R Cᵀ (p×q), and a prediction is
// Ŷ = (X − x̄) B + ȳ.
//
// The zero value of MaxIter means 500 and a Tol <= 0 means 1e-6, scikit-learn's defaults.
//
// One deliberate difference: when X has rank below Components, scikit-learn goes on extracting
// components from the rounding noise that deflation leaves of X and returns huge, arbitrary
// coefficients (they differ between BLAS builds). Fit instead stops once a component's scores fall below
// 1e-12 of the centred X's norm, and leaves the remaining components zero, which gives the PLS fit of
// the components X does have.
//
// Two more, which make the fit independent of the data's scale (see scale.go): data whose largest
// magnitude lies outside [2^-24, 2^48] are fitted after an exact power-of-two rescaling and the fit
// returned in their units (scikit-learn's epsilon guards turn features scaled by 1e-100 into a score of
// 0), and constant columns are fitted as exact zeros, their value kept as their mean (scikit-learn fits
// the rounding noise centring leaves in them).
type PLS struct {
	// Components is the number of latent components (Brain-Score uses 25). It must not exceed the
	// number of features.
	Components int
	// MaxIter bounds the power iterations per component; 0 means 500.
	MaxIter int
	// Tol stops the power iterations once the squared change of the X weights is below it; <= 0 means 1e-6.
	Tol float64

	// space chooses the power iterations' working space; the zero value picks the cheaper one. Tests
	// set it to check that both give the same fit.
	space powerSpace
}

// powerSpace names the space the power iterations run in.
type powerSpace int

const (
	autoSpace powerSpace = iota // Y-weight space when q <= p, else X-weight space
	xSpace                      // powerP
	ySpace                      // powerQ
)

// BrainScorePLS returns the regression Brain-Score's neural predictivity uses:
// PLSRegression(n_components=25, scale=False).
func BrainScorePLS() PLS { return PLS{Components: 25} }

// PLSModel is a fitted PLS regression. Matrices with one column per component have Components columns;
// when the Y residual vanished before all components were found (scikit-learn warns "Y residual is
// constant") or X had no rank left (see PLS), the remaining columns are zero and NIter is shorter.
type PLSModel struct {
	// XMean and YMean are the column means subtracted from X and Y (the intercept is YMean).
	XMean, YMean []float64
	// XWeights (p×k) are the unit X weight vectors w, one column per component.
	XWeights *mat.Dense
	// XLoadings (p×k) are the X loadings p = Xₖᵀt / tᵀt.
	XLoadings *mat.Dense
	// YWeights (q×k) are the Y weights; in regression mode they equal the Y loadings.
	YWeights *mat.Dense
	// YLoadings (q×k) are the Y loadings c = Yₖᵀt / tᵀt.
	YLoadings *mat.Dense
	// XRotations (p×k) is W (PᵀW)⁺, which maps centred X to its scores.
	XRotations *mat.Dense
	// Coef (p×q) maps centred X to centred Y: Ŷ = (X − XMean) Coef + YMean. It is scikit-learn 1.2's
	// coef_ (n_features × n_targets).
	Coef *mat.Dense
	// NIter is the number of power iterations each extracted component took.
	NIter []int
	// scaled is the fit of the rescaled data, when PLS rescaled them (see scale.go).
	scaled *scaledPLS
}

// Fit implements Regression: FitModel's fit, as a Predictor.
func (c PLS) Fit(x, y mat.Matrix) (Predictor, error) {
	m, err := c.FitModel(x, y)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// CrossFit implements CrossFitter: it prepares the data once (see PLS on scale), centres them and forms
// their cross products over all images, and fits each split from products derived from those (see
// crossProducts), which costs a tenth of forming them from the split's rows.
func (c PLS) CrossFit(x, y mat.Matrix) (func(Split) (Predictor, error), error) {
	n, p := x.Dims()
	ny, q := y.Dims()
	if n != ny {
		return nil, fmt.Errorf("metric: PLS fit: X has %d rows but Y has %d", n, ny)
	}
	xs, ys := denseCopy(x), denseCopy(y)
	if err := c.check(xs, ys, n, p, q); err != nil {
		return nil, fmt.Errorf("metric: PLS fit: %w", err)
	}
	sc := prepareData(xs, ys, n, p, q)
	cp := newCrossProducts(xs, ys, n, p, q)
	return func(sp Split) (Predictor, error) {
		nTr := len(sp.Train)
		xtr, ytr := gatherRows(xs, p, sp.Train), gatherRows(ys, q, sp.Train)
		if err := c.check(xtr, ytr, nTr, p, q); err != nil {
			return nil, fmt.Errorf("metric: PLS fit: %w", err)
		}
		xMean, yMean := centre(xtr, nTr, p), centre(ytr, nTr, q)
		cov, gram := cp.splitProducts(xs, ys, p, q, sp.Test, nTr, xMean, yMean)
		m, err := c.fitCentred(xtr, ytr, xMean, yMean, cov, gram, nTr, p, q)
		if err != nil {
			return nil, fmt.Errorf("metric: PLS fit: %w", err)
		}
		sc.restore(m)
		return m, nil
	}, nil
}

// FitModel fits the regression of y (n×q) on x (n×p) and returns the whole fitted model. Neither input
// is modified.
//
// The power iterations, which dominate the cost, do not touch the n-row data. They run on the p×q
// cross-covariance C = XₖᵀYₖ and the q×q matrix H = YₖᵀYₖ (XₖᵀYₖv = Cv, ‖Yₖv‖² = vᵀHv), and, when
// q <= p, in the q-dimensional space of Y weights using K = CᵀC (see powerQ), so that an iteration costs
// O(q²) instead of O(n(p+q)). C, H and K are downdated exactly as the data are deflated. The iterates,
// the convergence test and so the iteration counts are scikit-learn's, in exact arithmetic, with one
// exception that cannot change a result: the score norm tᵀt by which scikit-learn divides the Y weights
// inside the loop only rescales them, so it is evaluated on the first iteration of each component and
// reused; the loop's X weights are normalised and the convergence test compares them, so neither
// depends on that scale beyond the 1e-16 guards scikit-learn adds to its norms. Scores, loadings and
// the deflation itself are computed from the data, as scikit-learn does.
func (c PLS) FitModel(x, y mat.Matrix) (*PLSModel, error) {
	n, p := x.Dims()
	ny, q := y.Dims()
	if n != ny {
		return nil, fmt.Errorf("metric: PLS fit: X has %d rows but Y has %d", n, ny)
	}
	xs := denseCopy(x)
	ys := denseCopy(y)
	if err := c.check(xs, ys, n, p, q); err != nil {
		return nil, fmt.Errorf("metric: PLS fit: %w", err)
	}
	sc := prepareData(xs, ys, n, p, q)
	m, err := c.fitInPlace(xs, ys, n, p, q)
	if err != nil {
		return nil, fmt.Errorf("metric: PLS fit: %w", err)
	}
	sc.restore(m)
	return m, nil
}

// denseCopy returns the elements of m in row-major order, in a new slice.
func denseCopy(m mat.Matrix) []float64 {
	r, c := m.Dims()
	out := make([]float64, r*c)
	if d, ok := m.(mat.RawMatrixer); ok {
		raw := d.RawMatrix()
		for i := 0; i < r; i++ {
			copy(out[i*c:(i+1)*c], raw.Data[i*raw.Stride:i*raw.Stride+c])
		}
		return out
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = m.At(i, j)
		}
	}
	return out
}

func (c PLS) params(p int) (k, maxIter int, tol float64, err error) {
	k, maxIter, tol = c.Components, c.MaxIter, c.Tol
	if maxIter == 0 {
		maxIter = 500
	}
	if tol <= 0 {
		tol = 1e-6
	}
	if k < 1 {
		return 0, 0, 0, fmt.Errorf("need at least one component, got %d", k)
	}
	if k > p {
		return 0, 0, 0, fmt.Errorf("%d components exceed the %d features (the upper bound in regression mode)", k, p)
	}
	if maxIter < 1 {
		return 0, 0, 0, fmt.Errorf("max iterations %d is not positive", maxIter)
	}
	return k, maxIter, tol, nil
}

// fitInPlace fits on xs (n×p) and ys (n×q), row-major, which it centres and deflates in place.
func (c PLS) fitInPlace(xs, ys []float64, n, p, q int) (*PLSModel, error) {
	bl := blas64.Implementation()
	xMean := centre(xs, n, p)
	yMean := centre(ys, n, q)
	// cov = XᵀY (p×q) and gram = YᵀY (q×q, both triangles).
	cov := make([]float64, p*q)
	bl.Dgemm(blas.Trans, blas.NoTrans, p, q, n, 1, xs, p, ys, q, 0, cov, q)
	gram := make([]float64, q*q)
	bl.Dgemm(blas.Trans, blas.NoTrans, q, q, n, 1, ys, q, ys, q, 0, gram, q)
	return c.fitCentred(xs, ys, xMean, yMean, cov, gram, n, p, q)
}

// check validates the configuration and the data before a fit.
func (c PLS) check(xs, ys []float64, n, p, q int) error {
	if _, _, _, err := c.params(p); err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("need at least 2 samples, got %d", n)
	}
	if q < 1 {
		return errors.New("Y has no columns")
	}
	for _, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("X contains NaN or infinity")
		}
	}
	for _, v := range ys {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("Y contains NaN or infinity")
		}
	}
	return nil
}

// fitCentred fits on centred xs (n×p) and ys (n×q), given their means and cov = XᵀY (p×q) and
// gram = YᵀY (q×q, both triangles). It overwrites all four (they are deflated as components are found).
func (c PLS) fitCentred(xs, ys, xMean, yMean, cov, gram []float64, n, p, q int) (*PLSModel, error) {
	nComp, maxIter, tol, err := c.params(p)
	if err != nil {
		return nil, err
	}
	bl := blas64.Implementation()

	W := mat.NewDense(p, nComp, nil)
	P := mat.NewDense(p, nComp, nil)
	Cl := mat.NewDense(q, nComp, nil)
	var nIter []int

	zeroed := make([]bool, q)
	// Scores with tᵀt below this are what deflation leaves of directions already removed.
	xExhausted := exhaustedTol * exhaustedTol * bl.Ddot(n*p, xs, 1, xs, 1)
	useQ := c.space == ySpace || (c.space == autoSpace && q <= p)
	ws := newNipals(xs, cov, gram, n, p, q, useQ)
	xw, t := ws.xw, ws.t
	pl := make([]float64, p)
	cl := make([]float64, q)

	for k := 0; k < nComp; k++ {
		// scikit-learn replaces Y columns whose entries are all below 10 eps in magnitude by zeros.
		for j := 0; j < q; j++ {
			if zeroed[j] || !columnBelow(ys, n, q, j, 10*eps) {
				continue
			}
			zeroed[j] = true
			ws.zeroColumn(ys, j)
		}
		// The power method starts from the first Y column with an entry above eps in magnitude.
		j0 := -1
		for j := 0; j < q && j0 < 0; j++ {
			if !zeroed[j] && columnAbove(ys, n, q, j, eps) {
				j0 = j
			}
		}
		if j0 < 0 {
			break // Y residual is constant: the remaining components stay zero.
		}

		iter, ok := 0, false
		if useQ {
			iter, ok = ws.powerQ(j0, maxIter, tol)
		}
		if !ok {
			// powerQ gives up only when CᵀC has lost its meaning (C is rounding noise); the explicit
			// iterations then behave as scikit-learn's do on such data.
			iter = ws.powerP(j0, maxIter, tol)
		}

		// Sign convention: the largest-magnitude X weight is positive.
		big := bl.Idamax(p, xw, 1)
		if xw[big] < 0 {
			for i := range xw {
				xw[i] = -xw[i]
			}
		} else if xw[big] == 0 {
			clear(xw)
		}

		// Scores and loadings from the data, then deflation.
		bl.Dgemv(blas.NoTrans, n, p, 1, xs, p, xw, 1, 0, t, 1)
		tt := bl.Ddot(n, t, 1, t, 1)
		if !(tt > xExhausted) || math.IsInf(tt, 0) {
			break // X residual is rounding noise: the remaining components stay zero (see PLS).
		}
		bl.Dgemv(blas.Trans, n, p, 1/tt, xs, p, t, 1, 0, pl, 1)
		bl.Dgemv(blas.Trans, n, q, 1/tt, ys, q, t, 1, 0, cl, 1)
		if !allFinite(pl) || !allFinite(cl) {
			break
		}
		ws.deflate(ys, tt, pl, cl)
		nIter = append(nIter, iter)

		W.SetCol(k, xw)
		P.SetCol(k, pl)
		Cl.SetCol(k, cl)
	}

	// Rotations R = W (PᵀW)⁺ and coefficients B = R Cᵀ.
	var ptw mat.Dense
	ptw.Mul(P.T(), W)
	pinv, err := pseudoInverse(&ptw)
	if err != nil {
		return nil, err
	}
	rot := mat.NewDense(p, nComp, nil)
	rot.Mul(W, pinv)
	coef := mat.NewDense(p, q, nil)
	coef.Mul(rot, Cl.T())
	yWeights := mat.DenseCopyOf(Cl)
	return &PLSModel{
		XMean: xMean, YMean: yMean,
		XWeights: W, XLoadings: P, YWeights: yWeights, YLoadings: Cl,
		XRotations: rot, Coef: coef, NIter: nIter,
	}, nil
}

// nipals holds the matrices and scratch vectors of the power iterations for one fit.
type nipals struct {
	n, p, q int
	xs      []float64 // deflated, centred X (n×p)
	cov     []float64 // XₖᵀYₖ (p×q)
	gram    []float64 // YₖᵀYₖ (q×q, both triangles)
	kq      []float64 // CᵀC (q×q, both triangles), for powerQ; the upper half of kh
	kh      []float64 // [K; H] (2q×q) for powerQ, which gets K u and H u from one product
	g       []float64 // Cᵀp (q), for downdating kq

	xw, t           []float64 // the result: X weights (p) and, as a by-product, scores (n)
	v, xwOld        []float64 // p-vectors for powerP
	yw, hyw, u, kuP []float64 // q-vectors
	khu             []float64 // [K u; H u] (2q)
}

func newNipals(xs, cov, gram []float64, n, p, q int, useQ bool) *nipals {
	w := &nipals{n: n, p: p, q: q, xs: xs, cov: cov, gram: gram,
		xw: make([]float64, p), t: make([]float64, n),
		yw: make([]float64, q), hyw: make([]float64, q)}
	if useQ {
		w.kh = make([]float64, 2*q*q)
		w.kq, w.gram = w.kh[:q*q], w.kh[q*q:]
		copy(w.gram, gram)
		blas64.Implementation().Dgemm(blas.Trans, blas.NoTrans, q, q, p, 1, cov, q, cov, q, 0, w.kq, q)
		w.u, w.kuP, w.g = make([]float64, q), make([]float64, q), make([]float64, q)
		w.khu = make([]float64, 2*q)
	} else {
		w.v, w.xwOld = make([]float64, p), make([]float64, p)
	}
	return w
}

// deflate removes the component with scores t (tᵀt = tt), X loadings pl and Y loadings cl from the
// data and the matrices derived from them: Xₖ₊₁ = Xₖ − t plᵀ and Yₖ₊₁ = Yₖ − t clᵀ give
// Cₖ₊₁ = Xₖ₊₁ᵀYₖ₊₁ = Cₖ − tt pl clᵀ (because Xₖᵀt = tt pl and Yₖᵀt = tt cl), Hₖ₊₁ = Hₖ − tt cl clᵀ and
// Kₖ₊₁ = Cₖ₊₁ᵀCₖ₊₁ = Kₖ − tt (g clᵀ + cl gᵀ) + tt² (plᵀpl) cl clᵀ with g = Cₖᵀpl.
func (w *nipals) deflate(ys []float64, tt float64, pl, cl []float64) {
	bl := blas64.Implementation()
	n, p, q := w.n, w.p, w.q
	if w.kq != nil {
		bl.Dgemv(blas.Trans, p, q, 1, w.cov, q, pl, 1, 0, w.g, 1)
		bl.Dger(q, q, -tt, w.g, 1, cl, 1, w.kq, q)
		bl.Dger(q, q, -tt, cl, 1, w.g, 1, w.kq, q)
		bl.Dger(q, q, tt*tt*bl.Ddot(p, pl, 1, pl, 1), cl, 1, cl, 1, w.kq, q)
	}
	bl.Dger(n, p, -1, w.t, 1, pl, 1, w.xs, p)
	bl.Dger(n, q, -1, w.t, 1, cl, 1, ys, q)
	bl.Dger(p, q, -tt, pl, 1, cl, 1, w.cov, q)
	bl.Dger(q, q, -tt, cl, 1, cl, 1, w.gram, q)
}

// zeroColumn records that scikit-learn zeroes Y column j: it vanishes from C, H and K too.
func (w *nipals) zeroColumn(ys []float64, j int) {
	n, p, q := w.n, w.p, w.q
	for i := 0; i < n; i++ {
		ys[i*q+j] = 0
	}
	for i := 0; i < p; i++ {
		w.cov[i*q+j] = 0
	}
	for i := 0; i < q; i++ {
		w.gram[i*q+j], w.gram[j*q+i] = 0, 0
		if w.kq != nil {
			w.kq[i*q+j], w.kq[j*q+i] = 0, 0
		}
	}
}

// powerP runs scikit-learn's power method (_get_first_singular_vectors_power_method, mode A, Y weights
// not normalised) for the current component, starting from Y column j0, with the X-side vectors held
// explicitly: each iteration costs two p×q matrix-vector products. It leaves the X weights in w.xw and
// returns the number of iterations.
//
// In scikit-learn's terms, with y = Y[:, j0] on the first iteration and y = Y c / (cᵀc + eps) after:
//
//	w = Xᵀy / yᵀy;  w /= ‖w‖ + eps;  t = X w;  c = Yᵀt / tᵀt
//
// until ‖w − w_old‖² < tol. With C = XᵀY and H = YᵀY: Xᵀy = C c / (cᵀc + eps) and
// yᵀy = cᵀH c / (cᵀc + eps)², and Yᵀt = Cᵀw.
func (w *nipals) powerP(j0, maxIter int, tol float64) int {
	bl := blas64.Implementation()
	if w.v == nil {
		w.v, w.xwOld = make([]float64, w.p), make([]float64, w.p)
	}
	n, p, q := w.n, w.p, w.q
	var xx float64 // tᵀt for the loop's current X weights (see PLS.Fit)
	iter := 0
	for iter < maxIter {
		if iter == 0 {
			g := w.gram[j0*q+j0]
			for i := 0; i < p; i++ {
				w.v[i] = w.cov[i*q+j0] / g
			}
		} else {
			yy := bl.Ddot(q, w.yw, 1, w.yw, 1)
			bl.Dsymv(blas.Upper, q, 1, w.gram, q, w.yw, 1, 0, w.hyw, 1)
			s := (yy + eps) / bl.Ddot(q, w.yw, 1, w.hyw, 1)
			bl.Dgemv(blas.NoTrans, p, q, s, w.cov, q, w.yw, 1, 0, w.v, 1)
		}
		norm := math.Sqrt(bl.Ddot(p, w.v, 1, w.v, 1)) + eps
		for i := range w.xw {
			w.xw[i] = w.v[i] / norm
		}
		if iter == 0 {
			bl.Dgemv(blas.NoTrans, n, p, 1, w.xs, p, w.xw, 1, 0, w.t, 1)
			xx = bl.Ddot(n, w.t, 1, w.t, 1)
		}
		bl.Dgemv(blas.Trans, p, q, 1/xx, w.cov, q, w.xw, 1, 0, w.yw, 1)
		iter++
		if q == 1 {
			break
		}
		if iter > 1 {
			d := 0.0
			for i := range w.xw {
				e := w.xw[i] - w.xwOld[i]
				d += e * e
			}
			if d < tol {
				break
			}
		}
		copy(w.xwOld, w.xw)
	}
	return iter
}

// powerQ runs the same iterations as powerP in the q-dimensional Y-weight space: each iteration costs
// one 2q×q product instead of two p×q ones, which is cheaper when q <= p.
//
// Every X-weight vector of the loop has the form w = a C u for a q-vector u (u = e_j0 on the first
// iteration, the previous Y weights after) and a scalar a = s / (‖s C u‖ + eps), where s is the factor
// powerP multiplies C u by. With K = CᵀC, ‖C u‖² = uᵀK u, the new Y weights are Cᵀw / tᵀt = a K u / tᵀt,
// and the convergence test ‖w − w_old‖² = a²uᵀKu + a_old²u_oldᵀKu_old − 2 a a_old uᵀK u_old needs no
// p-vector. Only the final w = a C u is formed explicitly.
//
// It reports false, leaving the work to powerP, if uᵀK u is not positive and finite, which happens only
// when C is rounding noise and K, downdated from the start, has lost its positive definiteness.
func (w *nipals) powerQ(j0, maxIter int, tol float64) (int, bool) {
	bl := blas64.Implementation()
	n, p, q := w.n, w.p, w.q
	var xx, a, aOld, normOld2 float64
	s := 1 / w.gram[j0*q+j0]
	clear(w.u)
	w.u[j0] = 1
	ku := w.khu[:q]
	iter := 0
	for iter < maxIter {
		if iter == 0 {
			for i := 0; i < q; i++ {
				ku[i] = w.kq[i*q+j0]
			}
		} else {
			// u = previous Y weights; s = (uᵀu + eps) / (uᵀH u), from one product [K; H] u.
			copy(w.u, w.yw)
			bl.Dgemv(blas.NoTrans, 2*q, q, 1, w.kh, q, w.u, 1, 0, w.khu, 1)
			s = (bl.Ddot(q, w.u, 1, w.u, 1) + eps) / bl.Ddot(q, w.u, 1, w.khu[q:], 1)
		}
		uKu := bl.Ddot(q, w.u, 1, ku, 1)
		if !(uKu > 0) || math.IsInf(uKu, 0) || !(s > 0) || math.IsInf(s, 0) {
			return iter, false
		}
		a = s / (s*math.Sqrt(uKu) + eps)
		if iter == 0 {
			for i := 0; i < p; i++ {
				w.xw[i] = a * w.cov[i*q+j0]
			}
			bl.Dgemv(blas.NoTrans, n, p, 1, w.xs, p, w.xw, 1, 0, w.t, 1)
			xx = bl.Ddot(n, w.t, 1, w.t, 1)
		}
		for i := range w.yw {
			w.yw[i] = a / xx * ku[i]
		}
		iter++
		if q == 1 {
			break
		}
		norm2 := a * a * uKu
		if iter > 1 {
			cross := bl.Ddot(q, w.u, 1, w.kuP, 1)
			if norm2+normOld2-2*a*aOld*cross < tol {
				break
			}
		}
		aOld, normOld2 = a, norm2
		copy(w.kuP, ku)
	}
	if iter > 1 {
		bl.Dgemv(blas.NoTrans, p, q, a, w.cov, q, w.u, 1, 0, w.xw, 1)
	}
	return iter, true
}

// exhaustedTol is the norm, relative to the centred X's Frobenius norm, below which a component's scores
// count as rounding noise.
const exhaustedTol = 1e-12

// allFinite reports whether every element of x is finite.
func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// columnBelow reports whether every entry of column j of the row-major n×q matrix a is below bound in
// magnitude.
func columnBelow(a []float64, n, q, j int, bound float64) bool {
	for i := 0; i < n; i++ {
		if math.Abs(a[i*q+j]) >= bound {
			return false
		}
	}
	return true
}

// columnAbove reports whether some entry of column j of the row-major n×q matrix a exceeds bound in
// magnitude.
func columnAbove(a []float64, n, q, j int, bound float64) bool {
	for i := 0; i < n; i++ {
		if math.Abs(a[i*q+j]) > bound {
			return true
		}
	}
	return false
}

// centre subtracts the column means from the row-major n×c matrix a and returns the means.
func centre(a []float64, n, c int) []float64 {
	mean := make([]float64, c)
	for i := 0; i < n; i++ {
		row := a[i*c : (i+1)*c]
		for j, v := range row {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		row := a[i*c : (i+1)*c]
		for j := range row {
			row[j] -= mean[j]
		}
	}
	return mean
}

// pseudoInverse returns the Moore-Penrose pseudo-inverse of a as scipy.linalg.pinv computes it: from the
// thin SVD a = U S Vᵀ, singular values at most max(m, n)·eps·max(S) count as zero and A⁺ = V S⁻¹ Uᵀ over
// the others.
func pseudoInverse(a *mat.Dense) (*mat.Dense, error) {
	r, c := a.Dims()
	s, u, v, err := thinSVD(a, "PᵀW")
	if err != nil {
		return nil, err
	}
	maxS := 0.0
	for _, x := range s {
		maxS = math.Max(maxS, x)
	}
	cut := maxS * float64(max(r, c)) * eps
	out := mat.NewDense(c, r, nil)
	for k, sk := range s {
		if !(sk > cut) {
			continue
		}
		for i := 0; i < c; i++ {
			vi := v.At(i, k) / sk
			if vi == 0 {
				continue
			}
			for j := 0; j < r; j++ {
				out.Set(i, j, out.At(i, j)+vi*u.At(j, k))
			}
		}
	}
	return out, nil
}

// thinSVD factorises a = U diag(s) Vᵀ (gonum's thin SVD, as NumPy's and SciPy's full_matrices=False);
// what names a in the error when the factorisation does not converge.
func thinSVD(a mat.Matrix, what string) (s []float64, u, v *mat.Dense, err error) {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, nil, nil, fmt.Errorf("SVD of %s did not converge", what)
	}
	u, v = new(mat.Dense), new(mat.Dense)
	svd.UTo(u)
	svd.VTo(v)
	return svd.Values(nil), u, v, nil
}

// Predict returns (X − XMean) Coef + YMean for the rows of x (computed in the units the data were
// fitted in, when PLS rescaled them).
func (m *PLSModel) Predict(x mat.Matrix) (*mat.Dense, error) {
	n, p := x.Dims()
	if p != len(m.XMean) {
		return nil, fmt.Errorf("metric: PLS predict: X has %d columns, the model was fitted on %d", p, len(m.XMean))
	}
	xMean, yMean, coef, xExp := m.XMean, m.YMean, m.Coef, 0
	if m.scaled != nil {
		xMean, yMean, coef, xExp = m.scaled.xMean, m.scaled.yMean, m.scaled.coef, m.scaled.xExp
	}
	xc := denseCopy(x)
	for i := 0; i < n; i++ {
		row := xc[i*p : (i+1)*p]
		for j := range row {
			if xExp != 0 {
				row[j] = math.Ldexp(row[j], xExp)
			}
			row[j] -= xMean[j]
		}
	}
	q := len(yMean)
	out := mat.NewDense(n, q, nil)
	if n == 0 {
		return out, nil
	}
	out.Mul(mat.NewDense(n, p, xc), coef)
	raw := out.RawMatrix()
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+q]
		for j := range row {
			row[j] += yMean[j]
			if m.scaled != nil && m.scaled.yExp != 0 {
				row[j] = math.Ldexp(row[j], -m.scaled.yExp)
			}
		}
	}
	return out, nil
}
