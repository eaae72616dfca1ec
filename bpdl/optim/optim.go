// Package optim holds the optimisers the study used, as GoMLX graph functions with PyTorch's exact
// semantics: SGD with momentum, Adam, and clipping of the global gradient norm.
package optim

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Kind names an optimiser.
type Kind string

// The optimisers.
const (
	SGD  Kind = "sgd"
	Adam Kind = "adam"
)

// Config is an optimiser with its hyper-parameters. The zero Clip disables clipping.
type Config struct {
	Kind     Kind
	LR       float64
	Momentum float64 // SGD only; 0 is plain SGD
	Beta1    float64 // Adam only
	Beta2    float64 // Adam only
	Eps      float64 // Adam only
	Clip     float64 // maximum global L2 norm of the gradients (torch.nn.utils.clip_grad_norm_); 0 disables
}

// Paper is the study's optimiser for BP, FA and DFA: SGD, lr 1e-3, momentum 0.9, gradients clipped to a
// global norm of 2.0.
func Paper() Config { return Config{Kind: SGD, LR: 1e-3, Momentum: 0.9, Clip: 2.0} }

// AdamDefaults returns torch.optim.Adam's defaults with the given learning rate.
func AdamDefaults(lr float64) Config {
	return Config{Kind: Adam, LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Validate checks the hyper-parameters.
func (c Config) Validate() error {
	switch c.Kind {
	case SGD:
		if c.Momentum < 0 || c.Momentum >= 1 {
			return fmt.Errorf("optim: momentum %g out of [0, 1)", c.Momentum)
		}
	case Adam:
		if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Eps <= 0 {
			return fmt.Errorf("optim: Adam betas (%g, %g) must be in [0, 1) and eps %g > 0", c.Beta1, c.Beta2, c.Eps)
		}
	default:
		return fmt.Errorf("optim: unknown optimiser %q (want %q or %q)", c.Kind, SGD, Adam)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("optim: learning rate %g must be > 0", c.LR)
	}
	if c.Clip < 0 {
		return fmt.Errorf("optim: clip %g must be >= 0 (0 disables)", c.Clip)
	}
	return nil
}

func (c Config) String() string {
	s := ""
	switch c.Kind {
	case SGD:
		s = fmt.Sprintf("SGD(lr=%g, momentum=%g)", c.LR, c.Momentum)
	case Adam:
		s = fmt.Sprintf("Adam(lr=%g, betas=(%g, %g), eps=%g)", c.LR, c.Beta1, c.Beta2, c.Eps)
	default:
		s = string(c.Kind)
	}
	if c.Clip > 0 {
		s += fmt.Sprintf(", clip=%g", c.Clip)
	}
	return s
}

// State returns zero-valued optimiser state for parameters of the given shapes: one momentum buffer per
// parameter for SGD with momentum, nothing for plain SGD, and for Adam the first and second moments of
// each parameter followed by a scalar step count.
func (c Config) State(params []shapes.Shape) []*tensors.Tensor {
	var out []*tensors.Tensor
	zeros := func(s shapes.Shape) *tensors.Tensor { return tensors.FromShape(s) }
	switch c.Kind {
	case SGD:
		if c.Momentum != 0 {
			for _, s := range params {
				out = append(out, zeros(s))
			}
		}
	case Adam:
		for _, s := range params {
			out = append(out, zeros(s), zeros(s))
		}
		out = append(out, tensors.FromScalar(float32(0)))
	}
	return out
}

// GlobalNorm is the L2 norm of all the gradients taken as one vector.
func GlobalNorm(grads []*Node) *Node {
	var total *Node
	for _, g := range grads {
		sq := sumOfSquares(g)
		if total == nil {
			total = sq
		} else {
			total = Add(total, sq)
		}
	}
	return Sqrt(total)
}

// sumOfSquares returns the sum of the squares of g's entries. For matrices it sums each row's squares
// with a matrix-vector product, which GoMLX's Go backend runs several times faster than a generic
// reduction over millions of entries.
func sumOfSquares(g *Node) *Node {
	sq := Square(g)
	if g.Rank() != 2 || g.Shape().Size() < 1<<14 {
		return ReduceAllSum(sq)
	}
	ones := Ones(g.Graph(), shapes.Make(g.DType(), g.Shape().Dimensions[1]))
	return ReduceAllSum(DotGeneral(sq, []int{1}, nil, ones, []int{0}, nil))
}

// FactoredNorm is GlobalNorm of the weight updates D_l^T H_l and bias updates sum_b D_l of layers whose
// updates are given by their factors D_l [batch, out] and H_l [batch, in], computed without forming the
// updates: ||D^T H||_F^2 = sum((D D^T) ⊙ (H H^T)) and ||1^T D||^2 = sum(D D^T), so the cost is that of
// [batch, batch] Gram matrices.
func FactoredNorm(deltas, inputs []*Node) *Node {
	var total *Node
	for l, d := range deltas {
		dd := DotGeneral(d, []int{1}, nil, d, []int{1}, nil)
		hh := DotGeneral(inputs[l], []int{1}, nil, inputs[l], []int{1}, nil)
		sq := Add(ReduceAllSum(Mul(dd, hh)), ReduceAllSum(dd))
		if total == nil {
			total = sq
		} else {
			total = Add(total, sq)
		}
	}
	return Sqrt(MaxScalar(total, 0))
}

// ClipCoefficient is min(1, max/(norm + 1e-6)), the factor torch.nn.utils.clip_grad_norm_ scales every
// gradient by.
func ClipCoefficient(norm *Node, max float64) *Node {
	return MinScalar(MulScalar(Inverse(AddScalar(norm, 1e-6)), max), 1.0)
}

// ClipGlobalNorm scales all gradients by min(1, max/(norm + 1e-6)), norm being their global L2 norm,
// exactly as torch.nn.utils.clip_grad_norm_ does. It returns the clipped gradients and the norm before
// clipping.
func ClipGlobalNorm(grads []*Node, max float64) (clipped []*Node, norm *Node) {
	norm = GlobalNorm(grads)
	coef := ClipCoefficient(norm, max)
	clipped = make([]*Node, len(grads))
	for i, g := range grads {
		clipped[i] = Mul(g, ConvertDType(coef, g.DType()))
	}
	return clipped, norm
}

// Step applies one optimiser step to params given their gradients and the state made by State, inside a
// graph, and returns the new parameters and state. Clipping (when Clip > 0) is applied to all grads first.
//
// SGD (PyTorch): v <- mu v + g; p <- p - lr v (plain p <- p - lr g when mu = 0).
// Adam (PyTorch): t <- t+1; m <- b1 m + (1-b1) g; s <- b2 s + (1-b2) g^2;
// p <- p - lr (m/(1-b1^t)) / (sqrt(s/(1-b2^t)) + eps).
func (c Config) Step(params, grads, state []*Node) (newParams, newState []*Node) {
	if c.Clip > 0 {
		grads, _ = ClipGlobalNorm(grads, c.Clip)
	}
	newParams = make([]*Node, len(params))
	switch c.Kind {
	case SGD:
		for i, p := range params {
			g := grads[i]
			if c.Momentum != 0 {
				v := Add(MulScalar(state[i], c.Momentum), g)
				newState = append(newState, v)
				g = v
			}
			newParams[i] = Sub(p, MulScalar(g, c.LR))
		}
	case Adam:
		n := len(params)
		t := AddScalar(state[2*n], 1)
		// 1 - b^t = -expm1(t log b): no cancellation in float32 when b is close to 1 (PyTorch computes
		// these corrections in float64 on the host).
		bc1 := Neg(Expm1(MulScalar(t, math.Log(c.Beta1))))
		bc2 := Neg(Expm1(MulScalar(t, math.Log(c.Beta2))))
		for i, p := range params {
			g := grads[i]
			m := Add(MulScalar(state[2*i], c.Beta1), MulScalar(g, 1-c.Beta1))
			s := Add(MulScalar(state[2*i+1], c.Beta2), MulScalar(Square(g), 1-c.Beta2))
			newState = append(newState, m, s)
			mhat := Div(m, ConvertDType(bc1, m.DType()))
			shat := Div(s, ConvertDType(bc2, s.DType()))
			newParams[i] = Sub(p, MulScalar(Div(mhat, AddScalar(Sqrt(shat), c.Eps)), c.LR))
		}
		newState = append(newState, t)
	default:
		panic(fmt.Sprintf("optim: unknown optimiser %q", c.Kind))
	}
	return newParams, newState
}
