package benchmark

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// probabilitiesClassifier is model-tools' ProbabilitiesMapping.ProbabilitiesClassifier: features
// standardised by scikit-learn's StandardScaler, then LogisticRegression(multi_class="multinomial",
// solver="newton-cg", C=1e-3) with an intercept.
//
// The fit minimises scikit-learn's objective, Σᵢ −log softmax(xᵢW + b)[yᵢ] + ‖W‖²/(2C) (the intercept b
// is not penalised), by gonum's L-BFGS to max |gradient| < 1e-5, ten times below scikit-learn's
// stopping tolerance for newton-cg (1e-4); the objective is strictly convex in W, and the probabilities,
// which are all the benchmark uses, are unique. (A tighter tolerance buys nothing: on the study's
// 2160 × 256 readout the sum's rounding keeps the gradient near 1e-6.)
type probabilitiesClassifier struct {
	mean, scale []float64 // StandardScaler
	coef        *mat.Dense
	intercept   []float64
	classes     int
}

// classifierC is model-tools' classifier_c.
const classifierC = 1e-3

// fitProbabilities fits the classifier to features x (samples × features) and labels y in [0, classes).
func fitProbabilities(x mat.Matrix, y []int, classes int, c float64) (*probabilitiesClassifier, error) {
	n, p := x.Dims()
	if len(y) != n {
		return nil, fmt.Errorf("logistic regression: %d labels for %d samples", len(y), n)
	}
	if classes < 2 {
		return nil, fmt.Errorf("logistic regression: %d classes, want at least 2", classes)
	}
	for i, v := range y {
		if v < 0 || v >= classes {
			return nil, fmt.Errorf("logistic regression: label %d of sample %d outside [0, %d)", v, i, classes)
		}
	}
	m := &probabilitiesClassifier{classes: classes}
	m.mean, m.scale = standardScaler(x)
	z := m.standardise(x)
	lambda := 1 / c
	k := classes
	nw := p * k
	// Parameters: W (p × k, row-major), then b (k).
	xz := z.RawMatrix()
	logits := make([]float64, n*k)
	prob := make([]float64, n*k)
	fg := func(grad, w []float64) float64 {
		W, b := w[:nw], w[nw:]
		blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, n, k, p, 1, xz.Data, xz.Stride, W, k, 0, logits, k)
		loss := 0.0
		for i := range n {
			row := logits[i*k : (i+1)*k]
			floats.Add(row, b)
			mx := floats.Max(row)
			s := 0.0
			for j, v := range row {
				e := math.Exp(v - mx)
				prob[i*k+j] = e
				s += e
			}
			loss += math.Log(s) + mx - row[y[i]]
			for j := range row {
				prob[i*k+j] /= s
			}
			prob[i*k+y[i]] -= 1 // prob now holds P − Y
		}
		loss += lambda / 2 * floats.Dot(W, W)
		if grad != nil {
			gW, gb := grad[:nw], grad[nw:]
			blas64.Implementation().Dgemm(blas.Trans, blas.NoTrans, p, k, n, 1, xz.Data, xz.Stride, prob, k, 0, gW, k)
			floats.AddScaled(gW, lambda, W)
			clear(gb)
			for i := range n {
				floats.Add(gb, prob[i*k:(i+1)*k])
			}
		}
		return loss
	}
	w, g, err := minimizeLBFGS(fg, make([]float64, nw+k), 1e-5, 10000)
	if !(g <= 1e-4) { // a stop short of 1e-5 is fine within scikit-learn's own tolerance
		if err == nil {
			err = errors.New("stalled")
		}
		return nil, fmt.Errorf("logistic regression: %w (max |gradient| %.3g, scikit-learn stops at 1e-4)", err, g)
	}
	m.coef = mat.NewDense(p, k, w[:nw])
	m.intercept = w[nw:]
	return m, nil
}

// standardScaler returns scikit-learn StandardScaler's mean and scale (population standard deviation,
// 1 for a feature it deems constant: variance ≤ n·ε·variance + (n·mean·ε)²).
func standardScaler(x mat.Matrix) (mean, scale []float64) {
	n, p := x.Dims()
	mean, scale = make([]float64, p), make([]float64, p)
	col := make([]float64, n)
	for j := range p {
		mat.Col(col, j, x)
		mu := floats.Sum(col) / float64(n)
		v := 0.0
		for _, e := range col {
			v += (e - mu) * (e - mu)
		}
		v /= float64(n)
		const eps = 2.220446049250313e-16
		nf := float64(n)
		if v <= nf*eps*v+(nf*mu*eps)*(nf*mu*eps) {
			scale[j] = 1
		} else {
			scale[j] = math.Sqrt(v)
		}
		mean[j] = mu
	}
	return mean, scale
}

// standardise returns (x − mean) / scale.
func (m *probabilitiesClassifier) standardise(x mat.Matrix) *mat.Dense {
	n, p := x.Dims()
	z := mat.NewDense(n, p, nil)
	for i := range n {
		row := z.RawRowView(i)
		for j := range p {
			row[j] = (x.At(i, j) - m.mean[j]) / m.scale[j]
		}
	}
	return z
}

// predictProba returns the class probabilities of the samples x (samples × classes).
func (m *probabilitiesClassifier) predictProba(x mat.Matrix) (*mat.Dense, error) {
	_, p := x.Dims()
	if r, _ := m.coef.Dims(); r != p {
		return nil, fmt.Errorf("logistic regression: %d features, fitted on %d", p, r)
	}
	var logits mat.Dense
	logits.Mul(m.standardise(x), m.coef)
	n, k := logits.Dims()
	for i := range n {
		row := logits.RawRowView(i)
		floats.Add(row, m.intercept)
		mx := floats.Max(row)
		s := 0.0
		for j := range k {
			row[j] = math.Exp(row[j] - mx)
			s += row[j]
		}
		floats.Scale(1/s, row)
	}
	return &logits, nil
}

// minimizeLBFGS minimises fg (see fitProbabilities) from w by gonum's L-BFGS until max |gradient| <
// gtol, and returns the point and its max |gradient|.
func minimizeLBFGS(fg func(grad, w []float64) float64, w []float64, gtol float64, maxIter int) ([]float64, float64, error) {
	// gonum asks for the value and the gradient at the same point one after the other; both come from
	// one pass over the data, so the pass's gradient is kept for the request that follows.
	var at, grad []float64
	var f float64
	eval := func(w []float64) {
		if at != nil && floats.Equal(at, w) {
			return
		}
		at = append(at[:0], w...)
		if grad == nil {
			grad = make([]float64, len(w))
		}
		f = fg(grad, w)
	}
	prob := optimize.Problem{
		Func: func(w []float64) float64 { eval(w); return f },
		Grad: func(g, w []float64) { eval(w); copy(g, grad) },
	}
	res, err := optimize.Minimize(prob, w, &optimize.Settings{
		GradientThreshold: gtol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Iterations: 10},
	}, &optimize.LBFGS{Store: 10})
	if res == nil || res.Gradient == nil {
		return w, math.NaN(), err
	}
	return res.X, floats.Norm(res.Gradient, math.Inf(1)), err
}
