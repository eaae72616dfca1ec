package benchmark

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// probabilitiesClassifier is model-tools' ProbabilitiesMapping.ProbabilitiesClassifier: features
// standardised by scikit-learn's StandardScaler, then LogisticRegression(multi_class="multinomial",
// solver="newton-cg", C=1e-3) with an intercept.
//
// The fit minimises scikit-learn's objective, Σᵢ −log softmax(xᵢW + b)[yᵢ] + ‖W‖²/(2C) (the intercept b
// is not penalised), by L-BFGS to max |gradient| ≤ 1e-5, ten times below scikit-learn's stopping
// tolerance for newton-cg (1e-4); the objective is strictly convex in W, and the probabilities, which
// are all the benchmark uses, are unique. (A tighter tolerance buys nothing: on the study's 2160 × 256
// readout the sum's rounding keeps the gradient near 1e-6.)
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
	w, g, err := lbfgs(fg, make([]float64, nw+k), 1e-5, 10000)
	if err == nil && g > 1e-4 {
		err = errors.New("stalled")
	}
	if err != nil {
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

// lbfgs minimises a smooth function by limited-memory BFGS (ten correction pairs, two-loop recursion)
// with a backtracking line search under the Armijo condition. fg returns the function value and, when
// grad is not nil, writes the gradient into it. It stops when max |gradient| ≤ gtol, or when ten
// iterations in a row no longer decrease the function (the limit of floating-point precision), and
// returns the point and its max |gradient|; it fails after maxIter iterations or when the line search
// cannot decrease the function at all.
func lbfgs(fg func(grad, w []float64) float64, w []float64, gtol float64, maxIter int) ([]float64, float64, error) {

	const memory = 10
	n := len(w)
	g := make([]float64, n)
	f := fg(g, w)
	var sHist, yHist [][]float64
	var rho []float64
	d := make([]float64, n)
	alpha := make([]float64, memory)
	wNew := make([]float64, n)
	gNew := make([]float64, n)
	stalled := 0
	for iter := 0; ; iter++ {
		gmax := floats.Norm(g, math.Inf(1))
		if math.IsNaN(f) || math.IsNaN(gmax) {
			return w, gmax, errors.New("objective is NaN")
		}
		if gmax <= gtol || stalled >= 10 {
			return w, gmax, nil
		}
		if iter >= maxIter {
			return w, gmax, fmt.Errorf("no convergence in %d iterations", maxIter)
		}
		// Direction d = −H g by the two-loop recursion.
		copy(d, g)
		for i := len(sHist) - 1; i >= 0; i-- {
			alpha[i] = rho[i] * floats.Dot(sHist[i], d)
			floats.AddScaled(d, -alpha[i], yHist[i])
		}
		if m := len(sHist); m > 0 {
			floats.Scale(floats.Dot(sHist[m-1], yHist[m-1])/floats.Dot(yHist[m-1], yHist[m-1]), d)
		} else {
			floats.Scale(1/math.Max(1, floats.Norm(g, 2)), d)
		}
		for i := range sHist {
			b := rho[i] * floats.Dot(yHist[i], d)
			floats.AddScaled(d, alpha[i]-b, sHist[i])
		}
		floats.Scale(-1, d)
		slope := floats.Dot(g, d)
		if slope >= 0 { // not a descent direction: restart from the gradient
			sHist, yHist, rho = nil, nil, nil
			copy(d, g)
			floats.Scale(-1/math.Max(1, floats.Norm(g, 2)), d)
			slope = floats.Dot(g, d)
		}
		step, fNew := 1.0, 0.0
		for ls := 0; ; ls++ {
			floats.AddScaledTo(wNew, w, step, d)
			fNew = fg(gNew, wNew)
			if fNew <= f+1e-4*step*slope {
				break
			}
			if ls == 60 {
				return w, gmax, errors.New("line search failed")
			}
			step /= 2
		}
		sv := make([]float64, n)
		yv := make([]float64, n)
		floats.SubTo(sv, wNew, w)
		floats.SubTo(yv, gNew, g)
		if sy := floats.Dot(sv, yv); sy > 1e-12*floats.Norm(sv, 2)*floats.Norm(yv, 2) {
			if len(sHist) == memory {
				sHist, yHist, rho = sHist[1:], yHist[1:], rho[1:]
			}
			sHist, yHist, rho = append(sHist, sv), append(yHist, yv), append(rho, 1/sy)
		}
		if fNew < f {
			stalled = 0
		} else {
			stalled++
		}
		copy(w, wNew)
		copy(g, gNew)
		f = fNew
	}
}
