package rules

import (
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// BP is backpropagation (Rumelhart, Hinton & Williams 1986). For a net h_l = f_l(a_l), a_l = W_l h_{l-1} + b_l,
// with loss L (mean softmax cross-entropy over a batch of B examples):
//
//	delta_L = dL/da_L = (softmax(a_L) - onehot(y)) / B
//	delta_l = (delta_{l+1} W_{l+1}) ⊙ f_l'(a_l)          (the error travels back through the transposed weights)
//	dL/dW_l = delta_l^T h_{l-1},  dL/db_l = sum over the batch of delta_l
//
// Rows are examples: delta_l is [B, out_l], W_l is [out_l, in_l].
type BP struct{}

// Name implements Rule.
func (BP) Name() string { return "bp" }

// Setup implements Rule: BP has no tensors of its own.
func (BP) Setup(nn.Spec, *rand.Rand) ([]*tensors.Tensor, error) { return nil, nil }

// Updates implements Rule.
func (BP) Updates(s *Step) *Update {
	loss, dLogits := nn.CrossEntropy(s.Fwd.Logits, s.Labels)
	deltas := Deltas(s.Fwd, dLogits, func(l int, delta *Node) *Node {
		return DotGeneral(delta, []int{1}, nil, s.W[l], []int{0}, nil)
	})
	return Factored(s.Fwd, deltas, loss, s.Aux)
}

// Factored returns the Update whose weight updates are deltas[l]^T h_{l-1} and whose bias updates are the
// batch sums of deltas[l], with the factors recorded (see Update.Deltas).
func Factored(fwd *nn.Activations, deltas []*Node, loss *Node, aux []*Node) *Update {
	u := &Update{Loss: loss, Aux: aux, Deltas: deltas}
	for l, d := range deltas {
		gw, gb := LayerGrads(d, fwd.Input(l))
		u.GW = append(u.GW, gw)
		u.GB = append(u.GB, gb)
		u.Inputs = append(u.Inputs, fwd.Input(l))
	}
	return u
}

// Backward runs a layer-by-layer backward pass from the output error dLogits = dL/da_L. send(l, delta_l)
// returns the signal layer l sends to layer l-1 ([B, in_l]; BP sends delta_l W_l), which is multiplied by
// ReLU'(a_{l-1}) to give delta_{l-1}. It returns the weight and bias updates delta_l^T h_{l-1} and
// sum_b delta_l.
func Backward(fwd *nn.Activations, dLogits *Node, send func(l int, delta *Node) *Node) (gw, gb []*Node) {
	deltas := Deltas(fwd, dLogits, send)
	gw = make([]*Node, len(deltas))
	gb = make([]*Node, len(deltas))
	for l, d := range deltas {
		gw[l], gb[l] = LayerGrads(d, fwd.Input(l))
	}
	return gw, gb
}

// Deltas runs the same backward pass as Backward and returns each layer's error delta_l [B, out_l].
func Deltas(fwd *nn.Activations, dLogits *Node, send func(l int, delta *Node) *Node) []*Node {
	layers := len(fwd.Pre)
	deltas := make([]*Node, layers)
	delta := dLogits
	for l := layers - 1; l >= 0; l-- {
		deltas[l] = delta
		if l > 0 {
			delta = Mul(send(l, delta), nn.ReluDerivative(fwd.Pre[l-1]))
		}
	}
	return deltas
}

// LayerGrads returns a dense layer's weight and bias updates for its error delta [B, out] and its input
// h [B, in]: delta^T h ([out, in]) and the batch sum of delta ([out]).
func LayerGrads(delta, h *Node) (gw, gb *Node) {
	return DotGeneral(delta, []int{0}, nil, h, []int{0}, nil), ReduceSum(delta, 0)
}
