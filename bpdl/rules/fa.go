package rules

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// FA is feedback alignment (Lillicrap et al. 2016) as the study ran it: the FA_wrapper of Frenkel et al.'s
// DRTP code around every Linear layer, output layer included, with the signal sent down clamped to
// [-0.5, 0.5]. Each layer l has a fixed random matrix B_l of W_l's shape [out_l, in_l], drawn once and never
// trained, that carries the error down in place of W_l:
//
//	delta_L = dL/da_L = (softmax(a_L) - onehot(y)) / B
//	delta_l = clamp(delta_{l+1} B_{l+1}, -c, c) ⊙ f_l'(a_l)      (c = Clamp; no clamp when Clamp <= 0)
//	update W_l: delta_l^T h_{l-1},  update b_l: sum over the batch of delta_l
//
// The wrapper's hook replaces the gradient with respect to the layer's input h_{l-1} (after the ReLU) by
// the clamped projection, so the clamp comes before multiplying by ReLU'(a_{l-1}), as here. The weight
// updates use each layer's own delta exactly as BP does; only what travels down differs.
//
// The first layer's input is the image, which needs no gradient, so the wrapper never sends anything
// through B_1: Setup draws B_l only for layers l >= 2 (indices 1..L-1), and Step.Aux[l-1] is B_l.
type FA struct {
	// Clamp is the bound c of the clamp on the signal sent down; <= 0 disables it. The study: 0.5.
	Clamp float64
	// FeedbackSlope is the a of torch.nn.init.kaiming_uniform_(B, a) that draws each B_l from U(-b, b),
	// b = sqrt(6 / ((1 + a^2) in_l)). The study: 0 (kaiming_uniform_'s default).
	FeedbackSlope float64
}

// NewFA returns FA with the study's settings: clamp at 0.5, feedback drawn by kaiming_uniform_ with a = 0.
func NewFA() FA { return FA{Clamp: 0.5} }

// Name implements Rule.
func (FA) Name() string { return "fa" }

// Setup implements Rule: it draws the fixed feedback matrices B_l, l = 2..L, each [out_l, in_l].
func (f FA) Setup(spec nn.Spec, rng *rand.Rand) ([]*tensors.Tensor, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if f.FeedbackSlope < 0 {
		return nil, fmt.Errorf("fa: feedback slope %g must be >= 0", f.FeedbackSlope)
	}
	var aux []*tensors.Tensor
	for l := 1; l < spec.Layers(); l++ {
		in, out := spec.Sizes[l], spec.Sizes[l+1]
		aux = append(aux, nn.Uniform(rng, nn.KaimingUniformBound(f.FeedbackSlope, in), out, in))
	}
	return aux, nil
}

// Updates implements Rule.
func (f FA) Updates(s *Step) *Update {
	loss, dLogits := nn.CrossEntropy(s.Fwd.Logits, s.Labels)
	deltas := Deltas(s.Fwd, dLogits, func(l int, delta *Node) *Node {
		return f.Send(delta, s.Aux[l-1])
	})
	return Factored(s.Fwd, deltas, loss, s.Aux)
}

// Send returns what a layer with error delta [B, out] and feedback matrix b [out, in] sends to the layer
// below: clamp(delta b, -Clamp, Clamp), [B, in].
func (f FA) Send(delta, b *Node) *Node {
	sig := DotGeneral(delta, []int{1}, nil, b, []int{0}, nil)
	if f.Clamp > 0 {
		sig = ClipScalar(sig, -f.Clamp, f.Clamp)
	}
	return sig
}
