package rules

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// DFA is direct feedback alignment (Nøkland 2016) as the study ran it, with LightOn's DFA library
// (dfa-scales-to-modern-deep-learning: a DFALayer after each hidden ReLU, the DFA module on the output).
// One fixed random matrix F of shape [classes, N], N the widest hidden layer, drawn once from U[-1, 1),
// sends the output error e straight to every hidden layer; nothing travels through the transposed weights.
// The feedback point is the hidden layer's output, after its ReLU, so for hidden layer l of width n_l:
//
//	e       = dL/da_L = (softmax(a_L) - onehot(y)) / B                  (mean cross-entropy)
//	p       = e F / sqrt(N)                                               ([B, N]; the library's normalisation)
//	delta_l = p[:, :n_l] ⊙ f_l'(a_l)                                     (hidden layers)
//	delta_L = e                                                          (the output layer's true gradient)
//	update W_l: delta_l^T h_{l-1},  update b_l: sum over the batch of delta_l
//
// Step.Aux[0] is F.
type DFA struct {
	// Normalize divides the projection by sqrt(N), as the library does by default. The study: true.
	Normalize bool
	// FeedbackBound is the half-width of the uniform distribution F is drawn from. The study: 1.
	FeedbackBound float64
}

// NewDFA returns DFA with the study's settings: F ~ U[-1, 1), normalised projection.
func NewDFA() DFA { return DFA{Normalize: true, FeedbackBound: 1} }

// Name implements Rule.
func (DFA) Name() string { return "dfa" }

// widest returns the width of the widest hidden layer (0 for a net without hidden layers).
func widest(spec nn.Spec) int {
	n := 0
	for _, w := range spec.Sizes[1 : len(spec.Sizes)-1] {
		n = max(n, w)
	}
	return n
}

// Setup implements Rule: it draws F, [classes, widest hidden width].
func (d DFA) Setup(spec nn.Spec, rng *rand.Rand) ([]*tensors.Tensor, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !(d.FeedbackBound > 0) {
		return nil, fmt.Errorf("dfa: feedback bound %g must be > 0", d.FeedbackBound)
	}
	n := widest(spec)
	if n == 0 {
		return nil, nil // a single layer: DFA is the true gradient
	}
	classes := spec.Sizes[len(spec.Sizes)-1]
	// torch.rand(classes, N) * 2 - 1: U[-1, 1), scaled by the bound.
	data := make([]float32, classes*n)
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * d.FeedbackBound)
	}
	return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(data, classes, n)}, nil
}

// Updates implements Rule.
func (d DFA) Updates(s *Step) *Update {
	loss, e := nn.CrossEntropy(s.Fwd.Logits, s.Labels)
	layers := s.Spec.Layers()
	deltas := make([]*Node, layers)
	deltas[layers-1] = e
	if layers > 1 {
		f := s.Aux[0]
		p := DotGeneral(e, []int{1}, nil, f, []int{0}, nil)
		if d.Normalize {
			p = MulScalar(p, 1/math.Sqrt(float64(f.Shape().Dimensions[1])))
		}
		for l := 0; l < layers-1; l++ {
			pl := p
			if n := s.Spec.Sizes[l+1]; n != p.Shape().Dimensions[1] {
				pl = Slice(p, AxisRange(), AxisRange(0, n))
			}
			deltas[l] = Mul(pl, nn.ReluDerivative(s.Fwd.Pre[l]))
		}
	}
	return Factored(s.Fwd, deltas, loss, s.Aux)
}
