package optim_test

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// This file is what a user's own optimiser takes: one type implementing optim.Optimizer, plus one
// Register line (in registry_test.go). SignSGD (Bernstein et al. 2018) steps every weight by the
// learning rate against the sign of its gradient:
//
//	p <- p - lr sign(g)
//
// It keeps no state. Clipping scales g by a positive factor, which leaves its sign alone, but the option
// is kept so that SignSGD behaves as every optimiser does.
type SignSGD struct {
	LR   float64
	Clip float64
}

func (o SignSGD) String() string { return fmt.Sprintf("SignSGD(lr=%g)", o.LR) }

func (o SignSGD) Validate() error {
	if !(o.LR > 0) || !(o.Clip >= 0) {
		return fmt.Errorf("SignSGD: lr %g must be > 0 and clip %g >= 0", o.LR, o.Clip)
	}
	return nil
}

func (o SignSGD) LearningRate() float64                       { return o.LR }
func (o SignSGD) ClipNorm() float64                           { return o.Clip }
func (o SignSGD) WithLearningRate(lr float64) optim.Optimizer { o.LR = lr; return o }
func (o SignSGD) WithClipNorm(max float64) optim.Optimizer    { o.Clip = max; return o }
func (SignSGD) Slots() int                                    { return 0 }
func (SignSGD) State([]shapes.Shape) []*tensors.Tensor        { return nil }

func (o SignSGD) Apply(params, grads, state []*Node) (newParams, newState []*Node) {
	for i, p := range params {
		newParams = append(newParams, Sub(p, MulScalar(Sign(grads[i]), o.LR)))
	}
	return newParams, nil
}

func (o SignSGD) Span(_ int, coef float32) optim.SpanFunc {
	lr := float32(o.LR)
	return func(p, g, _, _ []float32) {
		for n := range p {
			switch gn := g[n] * coef; {
			case gn > 0:
				p[n] -= lr
			case gn < 0:
				p[n] -= -lr
			}
		}
	}
}
