// Package optim holds the optimisers the study used, with PyTorch's exact semantics, in the shape of
// torch.optim: one type per optimiser, named as torch.optim's classes (SGD, with or without momentum, and
// Adam), behind the Optimizer interface. Clipping of the global gradient norm
// (torch.nn.utils.clip_grad_norm_, which the study called before every step) is an option of each
// optimiser, not something its caller does.
//
// Every optimiser works in two places with the same arithmetic, so that one implementation serves every
// engine bpdl has (the MLP graphs, the MLP fast path of package train, and both engines of the spiking net
// of package snn):
//
//   - in a GoMLX graph: State makes the optimiser's state tensors and Step (the package function) takes one
//     step, clipping first. Step accepts dense gradients and the factored gradients of dense layers
//     (Grad): a layer whose weight gradient is D^T H takes its share of the clipping norm from
//     [batch, batch] Gram matrices, and the clipping factor scales the small D before D^T H is formed.
//   - on the host, in place on []float32: Host keeps the state in Go slices, in the order of the graph
//     form's, and steps whole parameters (clipping included), in parallel and with results that do not
//     depend on the number of workers; Optimizer.Span (or HostStepOf, which adds SGD's Rows4Func that
//     forms a batch of four's gradient in the same pass) gives the update of one contiguous span, for
//     callers that produce gradients a block at a time (the MLP fast path forms each block of D^T H and
//     updates it while it is in cache; HostFactoredNorm gives it the clipping norm from Gram matrices).
//     The host update does the same float32 operations in the same order as the graph (tests check
//     equality), except that the host takes the clipping norm in float64.
//
// A new optimiser is one new file, its type implementing Optimizer (graph Apply, host Span, State, Slots),
// plus one line registering it in a Registry (DefaultRegistry lists bpdl's), which gives it its name in
// the JSON of training settings (Registry.Marshal and Unmarshal), the form run fingerprints hash and
// result files hold.
package optim

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Optimizer is an optimisation algorithm with its hyper-parameters, clipping included. Its state, one
// list of tensors for a list of parameters, is made by State and threaded through Step by the caller, so
// that an optimiser value is immutable and can be shared.
type Optimizer interface {
	fmt.Stringer
	// Validate checks the hyper-parameters.
	Validate() error
	// LearningRate is the step size.
	LearningRate() float64
	// ClipNorm is the maximum global L2 norm of the gradients (torch.nn.utils.clip_grad_norm_'s
	// max_norm); 0 disables clipping.
	ClipNorm() float64
	// WithLearningRate and WithClipNorm return a copy with the learning rate or the clipping norm changed.
	WithLearningRate(lr float64) Optimizer
	WithClipNorm(max float64) Optimizer

	// State returns zero-valued state for parameters of the given shapes: Slots() tensors per parameter,
	// each shaped like it (parameter after parameter), followed by the optimiser's scalars if it has any
	// (Adam's step count).
	State(params []shapes.Shape) []*tensors.Tensor
	// Slots is the number of state tensors per parameter (SGD with momentum 1, plain SGD 0, Adam 2).
	Slots() int
	// Apply builds, inside a graph, one step of the optimiser's update rule from gradients that are
	// already clipped, and returns the new parameters and state. Use Step, which clips first.
	Apply(params, grads, state []*Node) (newParams, newState []*Node)
	// Span returns the host update of the step-th step (counted from 1) for one contiguous span of a
	// parameter: p, g and the Slots() state slices s0, s1 (nil when unused) have the same length; the
	// gradient is scaled by coef (the clipping factor, 1 without clipping) and p and the state are
	// updated in place. It does the same float32 operations, in the same order, as Apply.
	Span(step int, coef float32) SpanFunc
}

// ParamState returns the state entries of parameter i (Slots() of them) from state laid out as State
// makes it.
func ParamState[T any](o Optimizer, state []T, i int) []T {
	n := o.Slots()
	return state[n*i : n*(i+1)]
}

// StepCount returns the entry of state laid out as State makes it for params parameters that counts the
// steps taken (Adam's t, a float32 scalar), if the optimiser has one.
func StepCount[T any](o Optimizer, state []T, params int) (t T, ok bool) {
	if n := o.Slots() * params; len(state) == n+1 {
		return state[n], true
	}
	return t, false
}

// SpanFunc updates a span of a parameter in place; see Optimizer.Span.
type SpanFunc func(p, g, s0, s1 []float32)

// Rows4Func updates a span of a parameter in place, as a SpanFunc does, from a gradient it forms in the
// same pass: g = a[0] h0 + a[1] h1 + a[2] h2 + a[3] h3 (rows of a layer's inputs, for a batch of four),
// each element the chain of fused multiply-adds a[3]*h3 + (a[2]*h2 + (a[1]*h1 + a[0]*h0)) that package
// dense's product tiles compute. The gradient never reaches memory.
type Rows4Func func(p, s0, s1 []float32, a [4]float32, h0, h1, h2, h3 []float32)

// HostStep is an optimiser's host update for one step: Span, and Rows4 where the optimiser and the CPU
// have it (nil otherwise). Both give the same bits for the same gradient.
type HostStep struct {
	Span  SpanFunc
	Rows4 Rows4Func
	// Momentum is SGD with momentum's constants where Span is its update and the vector kernels run
	// (nil otherwise), for kernels that apply the update themselves to a gradient they hold in registers
	// (package dense); they must give Span's bits.
	Momentum *MomentumCoef
}

// MomentumCoef is the update of SGD with momentum as its host Span takes it, elementwise and without
// fused multiply-adds: v <- v*Mu + g*Coef, then p <- p - v*LR.
type MomentumCoef struct {
	LR, Mu, Coef float32
}

// rows4er is implemented by the optimisers that have a Rows4Func.
type rows4er interface {
	spanRows4(step int, coef float32) Rows4Func
}

// HostStepOf returns o's host update for the step-th step (counted from 1) with the clipping factor coef.
func HostStepOf(o Optimizer, step int, coef float32) HostStep {
	hs := HostStep{Span: o.Span(step, coef)}
	if r, ok := o.(rows4er); ok && vectorFMA {
		hs.Rows4 = r.spanRows4(step, coef)
	}
	if s, ok := o.(SGD); ok && s.Momentum != 0 && vectorFMA {
		hs.Momentum = &MomentumCoef{LR: float32(s.LR), Mu: float32(s.Momentum), Coef: coef}
	}
	return hs
}

// Grad is the gradient of one parameter, as Step takes it: Dense, or the factors of a dense layer's
// gradient, D [batch, out] (the layer's errors) and H [batch, in] (its inputs): a weight's gradient is
// D^T H ([out, in]); a bias's (H nil) is the batch sum of D ([out]).
type Grad struct {
	Dense *Node
	D, H  *Node
}

// DenseGrads wraps gradients as Grads.
func DenseGrads(gs []*Node) []Grad {
	out := make([]Grad, len(gs))
	for i, g := range gs {
		out[i] = Grad{Dense: g}
	}
	return out
}

// LayerGrads returns the factored gradients of a dense layer's weight (D^T H) and bias (batch sum of D),
// in that order.
func LayerGrads(d, h *Node) (w, b Grad) { return Grad{D: d, H: h}, Grad{D: d} }

func (g Grad) factored() bool { return g.Dense == nil }

// Value returns the gradient, with its factor D scaled by coef first when coef is not nil (or the dense
// gradient scaled by coef).
func (g Grad) Value(coef *Node) *Node {
	if !g.factored() {
		if coef == nil {
			return g.Dense
		}
		return Mul(g.Dense, ConvertDType(coef, g.Dense.DType()))
	}
	d := g.D
	if coef != nil {
		d = Mul(d, ConvertDType(coef, d.DType()))
	}
	if g.H == nil {
		return ReduceSum(d, 0)
	}
	return DotGeneral(d, []int{0}, nil, g.H, []int{0}, nil)
}

// Norm is the global L2 norm of the gradients taken as one vector. Factored gradients are not formed:
// ||D^T H||_F^2 = sum((D D^T) ⊙ (H H^T)) and ||1^T D||^2 = sum(D D^T), so a dense layer costs two
// [batch, batch] Gram matrices. A layer's weight and bias that share D (as LayerGrads gives them) are
// summed together first, then the layers in order.
func Norm(grads []Grad) *Node {
	var total *Node
	add := func(sq *Node) {
		if total == nil {
			total = sq
		} else {
			total = Add(total, sq)
		}
	}
	factored := false
	for i := 0; i < len(grads); i++ {
		g := grads[i]
		if !g.factored() {
			add(sumOfSquares(g.Dense))
			continue
		}
		factored = true
		dd := DotGeneral(g.D, []int{1}, nil, g.D, []int{1}, nil)
		if g.H == nil {
			add(ReduceAllSum(dd))
			continue
		}
		hh := DotGeneral(g.H, []int{1}, nil, g.H, []int{1}, nil)
		sq := ReduceAllSum(Mul(dd, hh))
		if i+1 < len(grads) && grads[i+1].factored() && grads[i+1].H == nil && grads[i+1].D == g.D {
			sq = Add(sq, ReduceAllSum(dd))
			i++
		}
		add(sq)
	}
	if factored {
		// Rounding can make a sum of Gram products slightly negative when the gradient is ~0.
		return Sqrt(MaxScalar(total, 0))
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

// ClipCoefficient is min(1, max/(norm + 1e-6)), the factor torch.nn.utils.clip_grad_norm_ scales every
// gradient by.
func ClipCoefficient(norm *Node, max float64) *Node {
	return MinScalar(MulScalar(Inverse(AddScalar(norm, 1e-6)), max), 1.0)
}

// HostClipCoefficient is ClipCoefficient for a norm computed on the host (in float64).
func HostClipCoefficient(norm, max float64) float32 {
	return float32(math.Min(max/(norm+1e-6), 1))
}

// Step takes one step of optimiser o inside a graph: it clips the gradients to o.ClipNorm() (scaling
// every gradient by ClipCoefficient of their Norm, factored gradients through their D), forms them, and
// applies o's update rule. It returns the new parameters and state.
//
// SGD (PyTorch): v <- mu v + g; p <- p - lr v (plain p <- p - lr g when mu = 0).
// Adam (PyTorch): t <- t+1; m <- b1 m + (1-b1) g; s <- b2 s + (1-b2) g^2;
// p <- p - lr (m/(1-b1^t)) / (sqrt(s/(1-b2^t)) + eps).
func Step(o Optimizer, params []*Node, grads []Grad, state []*Node) (newParams, newState []*Node) {
	coef := ClipFactor(o, grads)
	gs := make([]*Node, len(grads))
	for i, g := range grads {
		gs[i] = g.Value(coef)
	}
	return o.Apply(params, gs, state)
}

// ClipFactor returns the factor by which o scales the gradients before its update: ClipCoefficient of
// their Norm when o clips, nil when it does not. Step applies it; callers that apply the update outside
// the graph (through Span, with factored gradients) scale the factors D by it.
func ClipFactor(o Optimizer, grads []Grad) *Node {
	if max := o.ClipNorm(); max > 0 {
		return ClipCoefficient(Norm(grads), max)
	}
	return nil
}

// validateCommon checks what every optimiser shares: a finite positive learning rate and a clipping norm
// >= 0.
func validateCommon(name string, lr, clip float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: %s learning rate %g must be > 0", name, lr)
	}
	if !(clip >= 0) || math.IsInf(clip, 0) {
		return fmt.Errorf("optim: %s clip %g must be >= 0 (0 disables)", name, clip)
	}
	return nil
}

// clipSuffix is the String suffix of a clipping norm.
func clipSuffix(clip float64) string {
	if clip > 0 {
		return fmt.Sprintf(", clip=%g", clip)
	}
	return ""
}

// Study is the study's optimiser for BP, FA and DFA: SGD, lr 1e-3, momentum 0.9, gradients clipped to a
// global norm of 2.0.
func Study() SGD { return SGD{LR: 1e-3, Momentum: 0.9, Clip: 2.0} }

// DefaultAdam returns torch.optim.Adam's defaults with the given learning rate.
func DefaultAdam(lr float64) Adam {
	return Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}
