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
type PLS struct {
	// Components is the number of latent components (Brain-Score uses 25). It must not exceed the
	// number of features.
	Components int
	// MaxIter bounds the power iterations per component; 0 means 500.
	MaxIter int
	// Tol stops the power iterations once the squared change of the X weights is below it; <= 0 means 1e-6.
	Tol float64
}

// BrainScorePLS returns the regression Brain-Score's neural predictivity uses:
// PLSRegression(n_components=25, scale=False).
func BrainScorePLS() PLS { return PLS{Components: 25} }

// PLSModel is a fitted PLS regression. Matrices with one column per component have Components columns;
// when the Y residual vanished before all components were found (scikit-learn warns "Y residual is
// constant"), the remaining columns are zero.
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
}

// Fit fits the regression of y (n×q) on x (n×p). Neither input is modified.
//
// The power iterations, which dominate the cost, run on the p×q cross-covariance matrix C = XₖᵀYₖ and
// the q×q matrix YₖᵀYₖ instead of the n-row data: XₖᵀYₖv = Cv and so on, and both matrices are downdated
// exactly as the data are deflated (Cₖ₊₁ = Cₖ − tᵀt p cᵀ, YₖᵀYₖ shrinks by tᵀt c cᵀ). Every quantity
// scikit-learn computes is the same in exact arithmetic, with one exception that cannot change any
// result: the score norm tᵀt by which scikit-learn divides the Y weights inside the loop only rescales
// them, so it is evaluated exactly on the first iteration of each component and reused; the loop's X
// weights are normalised and its convergence test compares them, so neither depends on that scale
// beyond the 1e-16 guards scikit-learn adds to its norms. The weights and loadings stored after the loop
// are computed from the deflated data themselves.
func (c PLS) Fit(x, y mat.Matrix) (*PLSModel, error) {
	n, p := x.Dims()
	ny, q := y.Dims()
	if n != ny {
		return nil, fmt.Errorf("metric: PLS fit: X has %d rows but Y has %d", n, ny)
	}
	xs := denseCopy(x)
	ys := denseCopy(y)
	m, err := c.fitInPlace(xs, ys, n, p, q)
	if err != nil {
		return nil, fmt.Errorf("metric: PLS fit: %w", err)
	}
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
	nComp, maxIter, tol, err := c.params(p)
	if err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("need at least 2 samples, got %d", n)
	}
	if q < 1 {
		return nil, errors.New("Y has no columns")
	}
	for _, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("X contains NaN or infinity")
		}
	}
	for _, v := range ys {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("Y contains NaN or infinity")
		}
	}
	bl := blas64.Implementation()
	xMean := centre(xs, n, p)
	yMean := centre(ys, n, q)

	// cov = XᵀY (p×q) and gram = YᵀY (q×q, both triangles).
	cov := make([]float64, p*q)
	bl.Dgemm(blas.Trans, blas.NoTrans, p, q, n, 1, xs, p, ys, q, 0, cov, q)
	gram := make([]float64, q*q)
	bl.Dsyrk(blas.Upper, blas.Trans, q, n, 1, ys, q, 0, gram, q)
	for i := 0; i < q; i++ {
		for j := i + 1; j < q; j++ {
			gram[j*q+i] = gram[i*q+j]
		}
	}

	W := mat.NewDense(p, nComp, nil)
	P := mat.NewDense(p, nComp, nil)
	Cl := mat.NewDense(q, nComp, nil)
	var nIter []int

	zeroed := make([]bool, q)
	xw := make([]float64, p)
	xwOld := make([]float64, p)
	v := make([]float64, p)
	yw := make([]float64, q)
	hyw := make([]float64, q)
	t := make([]float64, n)
	pl := make([]float64, p)
	cl := make([]float64, q)

	for k := 0; k < nComp; k++ {
		// scikit-learn replaces Y columns whose entries are all below 10 eps in magnitude by zeros.
		for j := 0; j < q; j++ {
			if zeroed[j] || !columnBelow(ys, n, q, j, 10*eps) {
				continue
			}
			zeroed[j] = true
			for i := 0; i < n; i++ {
				ys[i*q+j] = 0
			}
			for i := 0; i < p; i++ {
				cov[i*q+j] = 0
			}
			for i := 0; i < q; i++ {
				gram[i*q+j], gram[j*q+i] = 0, 0
			}
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

		var xx float64 // tᵀt for the loop's current X weights (see Fit)
		iter := 0
		for iter < maxIter {
			if iter == 0 {
				// x weights = Xᵀy / yᵀy for y = Y[:, j0]: Xᵀy is column j0 of XᵀY.
				g := gram[j0*q+j0]
				for i := 0; i < p; i++ {
					v[i] = cov[i*q+j0] / g
				}
			} else {
				// y score s = Y yw / (ywᵀyw + eps); x weights = Xᵀs / sᵀs
				//   = (XᵀY yw) (ywᵀyw + eps) / (ywᵀ YᵀY yw).
				yy := bl.Ddot(q, yw, 1, yw, 1)
				bl.Dsymv(blas.Upper, q, 1, gram, q, yw, 1, 0, hyw, 1)
				s := (yy + eps) / bl.Ddot(q, yw, 1, hyw, 1)
				bl.Dgemv(blas.NoTrans, p, q, s, cov, q, yw, 1, 0, v, 1)
			}
			norm := math.Sqrt(bl.Ddot(p, v, 1, v, 1)) + eps
			for i := range xw {
				xw[i] = v[i] / norm
			}
			if iter == 0 {
				bl.Dgemv(blas.NoTrans, n, p, 1, xs, p, xw, 1, 0, t, 1)
				xx = bl.Ddot(n, t, 1, t, 1)
			}
			// y weights = Yᵀt / tᵀt = (XᵀY)ᵀ w / tᵀt.
			bl.Dgemv(blas.Trans, p, q, 1/xx, cov, q, xw, 1, 0, yw, 1)
			iter++
			if q == 1 {
				break
			}
			if iter > 1 {
				d := 0.0
				for i := range xw {
					e := xw[i] - xwOld[i]
					d += e * e
				}
				if d < tol {
					break
				}
			}
			copy(xwOld, xw)
		}
		nIter = append(nIter, iter)

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
		bl.Dgemv(blas.Trans, n, p, 1/tt, xs, p, t, 1, 0, pl, 1)
		bl.Dgemv(blas.Trans, n, q, 1/tt, ys, q, t, 1, 0, cl, 1)
		bl.Dger(n, p, -1, t, 1, pl, 1, xs, p)
		bl.Dger(n, q, -1, t, 1, cl, 1, ys, q)
		bl.Dger(p, q, -tt, pl, 1, cl, 1, cov, q)
		bl.Dger(q, q, -tt, cl, 1, cl, 1, gram, q)

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
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, errors.New("SVD of PᵀW did not converge")
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
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

// Predict returns (X − XMean) Coef + YMean for the rows of x.
func (m *PLSModel) Predict(x mat.Matrix) (*mat.Dense, error) {
	n, p := x.Dims()
	if p != len(m.XMean) {
		return nil, fmt.Errorf("metric: PLS predict: X has %d columns, the model was fitted on %d", p, len(m.XMean))
	}
	xc := denseCopy(x)
	for i := 0; i < n; i++ {
		row := xc[i*p : (i+1)*p]
		for j := range row {
			row[j] -= m.XMean[j]
		}
	}
	q := len(m.YMean)
	out := mat.NewDense(n, q, nil)
	if n == 0 {
		return out, nil
	}
	out.Mul(mat.NewDense(n, p, xc), m.Coef)
	raw := out.RawMatrix()
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+q]
		for j := range row {
			row[j] += m.YMean[j]
		}
	}
	return out, nil
}
