package optim

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// SGD is stochastic gradient descent with optional momentum, as torch.optim.SGD (dampening 0, no
// Nesterov, no weight decay), with g the gradient after clipping:
//
//	v <- mu v + g;  p <- p - lr v        (momentum mu > 0; v starts at 0, so the first step is p - lr g)
//	p <- p - lr g                        (mu = 0)
type SGD struct {
	LR       float64
	Momentum float64 // mu, in [0, 1); 0 is plain SGD
	Clip     float64 // maximum global L2 norm of the gradients; 0 disables
}

// String implements Optimizer.
func (o SGD) String() string {
	return fmt.Sprintf("SGD(lr=%g, momentum=%g)", o.LR, o.Momentum) + clipSuffix(o.Clip)
}

// Validate implements Optimizer.
func (o SGD) Validate() error {
	if !(o.Momentum >= 0 && o.Momentum < 1) {
		return fmt.Errorf("optim: SGD momentum %g out of [0, 1)", o.Momentum)
	}
	return validateCommon("SGD", o.LR, o.Clip)
}

// LearningRate implements Optimizer.
func (o SGD) LearningRate() float64 { return o.LR }

// ClipNorm implements Optimizer.
func (o SGD) ClipNorm() float64 { return o.Clip }

// WithLearningRate implements Optimizer.
func (o SGD) WithLearningRate(lr float64) Optimizer { o.LR = lr; return o }

// WithClipNorm implements Optimizer.
func (o SGD) WithClipNorm(max float64) Optimizer { o.Clip = max; return o }

// Slots implements Optimizer: the momentum buffer v, when there is momentum.
func (o SGD) Slots() int {
	if o.Momentum != 0 {
		return 1
	}
	return 0
}

// State implements Optimizer: one zero momentum buffer per parameter (none for plain SGD).
func (o SGD) State(params []shapes.Shape) []*tensors.Tensor {
	var out []*tensors.Tensor
	if o.Momentum != 0 {
		for _, s := range params {
			out = append(out, tensors.FromShape(s))
		}
	}
	return out
}

// Apply implements Optimizer.
func (o SGD) Apply(params, grads, state []*Node) (newParams, newState []*Node) {
	newParams = make([]*Node, len(params))
	for i, p := range params {
		g := grads[i]
		if o.Momentum != 0 {
			v := Add(MulScalar(state[i], o.Momentum), g)
			newState = append(newState, v)
			g = v
		}
		newParams[i] = Sub(p, MulScalar(g, o.LR))
	}
	return newParams, newState
}

// Span implements Optimizer. The step count does not matter to SGD.
func (o SGD) Span(_ int, coef float32) SpanFunc {
	lr, mu := float32(o.LR), float32(o.Momentum)
	if o.Momentum == 0 {
		return func(p, g, _, _ []float32) { sgdSpan(p, g, lr, coef) }
	}
	return func(p, g, v, _ []float32) { momentumSpan(p, g, v, lr, mu, coef) }
}

// spanRows4 is Span with the gradient formed in the same pass (see Rows4Func).
func (o SGD) spanRows4(_ int, coef float32) Rows4Func {
	lr, mu := float32(o.LR), float32(o.Momentum)
	if o.Momentum == 0 {
		return func(p, _, _ []float32, a [4]float32, h0, h1, h2, h3 []float32) {
			sgdRows4(p, a, h0, h1, h2, h3, lr, coef)
		}
	}
	return func(p, v, _ []float32, a [4]float32, h0, h1, h2, h3 []float32) {
		momentumRows4(p, v, a, h0, h1, h2, h3, lr, mu, coef)
	}
}
