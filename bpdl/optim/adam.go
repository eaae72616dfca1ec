package optim

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Adam is Adam (Kingma & Ba 2015) as torch.optim.Adam (no weight decay, no AMSGrad), with g the
// gradient after clipping and t the step count:
//
//	t <- t + 1;  m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2
//	p <- p - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
//
// The bias corrections 1 - b^t are computed as -expm1(t log b), which loses no digits in float32 when b is
// close to 1 (PyTorch computes them in float64 on the host).
type Adam struct {
	LR           float64
	Beta1, Beta2 float64 // in [0, 1)
	Eps          float64 // > 0
	Clip         float64 // maximum global L2 norm of the gradients; 0 disables
}

// String implements Optimizer.
func (o Adam) String() string {
	return fmt.Sprintf("Adam(lr=%g, betas=(%g, %g), eps=%g)", o.LR, o.Beta1, o.Beta2, o.Eps) + clipSuffix(o.Clip)
}

// Validate implements Optimizer.
func (o Adam) Validate() error {
	if !(o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0) {
		return fmt.Errorf("optim: Adam betas (%g, %g) must be in [0, 1) and eps %g > 0", o.Beta1, o.Beta2, o.Eps)
	}
	return validateCommon("Adam", o.LR, o.Clip)
}

// LearningRate implements Optimizer.
func (o Adam) LearningRate() float64 { return o.LR }

// ClipNorm implements Optimizer.
func (o Adam) ClipNorm() float64 { return o.Clip }

// WithLearningRate implements Optimizer.
func (o Adam) WithLearningRate(lr float64) Optimizer { o.LR = lr; return o }

// WithClipNorm implements Optimizer.
func (o Adam) WithClipNorm(max float64) Optimizer { o.Clip = max; return o }

// Slots implements Optimizer: the first and second moments m and s.
func (Adam) Slots() int { return 2 }

// State implements Optimizer: m and s per parameter, then the step count t, a float32 scalar.
func (o Adam) State(params []shapes.Shape) []*tensors.Tensor {
	var out []*tensors.Tensor
	for _, s := range params {
		out = append(out, tensors.FromShape(s), tensors.FromShape(s))
	}
	return append(out, tensors.FromShape(shapes.Make(dtypes.Float32)))
}

// Apply implements Optimizer.
func (o Adam) Apply(params, grads, state []*Node) (newParams, newState []*Node) {
	n := len(params)
	newParams = make([]*Node, n)
	t := AddScalar(state[2*n], 1)
	bc1 := Neg(Expm1(MulScalar(t, math.Log(o.Beta1))))
	bc2 := Neg(Expm1(MulScalar(t, math.Log(o.Beta2))))
	for i, p := range params {
		g := grads[i]
		m := Add(MulScalar(state[2*i], o.Beta1), MulScalar(g, 1-o.Beta1))
		s := Add(MulScalar(state[2*i+1], o.Beta2), MulScalar(Square(g), 1-o.Beta2))
		newState = append(newState, m, s)
		mhat := Div(m, ConvertDType(bc1, m.DType()))
		shat := Div(s, ConvertDType(bc2, s.DType()))
		newParams[i] = Sub(p, MulScalar(Div(mhat, AddScalar(Sqrt(shat), o.Eps)), o.LR))
	}
	return newParams, append(newState, t)
}

// biasCorrection is 1 - b^t as Apply computes it for a float32 step count: -expm1(float32(t) float32(log b)).
func biasCorrection(b float64, step int) float32 {
	x := float32(step) * float32(math.Log(b))
	return -float32(math.Expm1(float64(x)))
}

// Span implements Optimizer.
func (o Adam) Span(step int, coef float32) SpanFunc {
	c := adamCoef{
		lr: float32(o.LR), b1: float32(o.Beta1), b2: float32(o.Beta2), nb1: float32(1 - o.Beta1), nb2: float32(1 - o.Beta2),
		eps: float32(o.Eps), coef: coef, bc1: biasCorrection(o.Beta1, step), bc2: biasCorrection(o.Beta2, step),
	}
	return func(p, g, m, s []float32) { adamSpan(c, p, g, m, s) }
}

// adamCoef are the float32 constants of one Adam step: nb1 = 1 - b1 and nb2 = 1 - b2 rounded from float64
// (as the graph's scalars), bc1 and bc2 the bias corrections, coef the clipping factor.
type adamCoef struct {
	lr, b1, b2, nb1, nb2, eps, coef, bc1, bc2 float32
}
