// Package nn holds the study's network: a fully connected net of dense layers (weights stored [out,in]),
// ReLU on the hidden layers, a linear output layer and softmax cross-entropy, written as plain GoMLX graph
// functions, with PyTorch's default initialisation.
//
// nn knows nothing of learning rules, training or brains: rules compute updates from the activations that
// Forward returns, and the brain benchmarks read the same activations.
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Spec is the architecture of a fully connected net: Sizes[0] inputs, Sizes[1..L-1] hidden units, Sizes[L]
// outputs. The study's CIFAR-10 net is Spec{Sizes: []int{3072, 1536, 256, 10}}.
type Spec struct {
	Sizes []int
}

// StudyHidden are the study's hidden layer widths.
var StudyHidden = []int{1536, 256}

// NewSpec returns the spec of a net with the given input size, hidden widths and number of classes.
func NewSpec(inputs int, hidden []int, classes int) Spec {
	sizes := append([]int{inputs}, hidden...)
	return Spec{Sizes: append(sizes, classes)}
}

// Layers is the number of weight layers.
func (s Spec) Layers() int { return len(s.Sizes) - 1 }

// Validate checks that the spec has at least one layer and positive widths.
func (s Spec) Validate() error {
	if len(s.Sizes) < 2 {
		return fmt.Errorf("nn: a net needs at least an input and an output size, got %v", s.Sizes)
	}
	for i, n := range s.Sizes {
		if n <= 0 {
			return fmt.Errorf("nn: layer size %d is %d, want > 0 (sizes %v)", i, n, s.Sizes)
		}
	}
	return nil
}

func (s Spec) String() string {
	str := ""
	for i, n := range s.Sizes {
		if i > 0 {
			str += "-"
		}
		str += fmt.Sprint(n)
	}
	return str
}

// Params are a net's weights and biases on the host or device: W[l] has shape [Sizes[l+1], Sizes[l]]
// ([out, in], like torch.nn.Linear) and B[l] has shape [Sizes[l+1]].
type Params struct {
	W, B []*tensors.Tensor
}

// Tensors returns W and B interleaved: W0, B0, W1, B1, ...
func (p *Params) Tensors() []*tensors.Tensor {
	out := make([]*tensors.Tensor, 0, 2*len(p.W))
	for l := range p.W {
		out = append(out, p.W[l], p.B[l])
	}
	return out
}

// ParamsFromTensors is the inverse of Params.Tensors.
func ParamsFromTensors(ts []*tensors.Tensor) *Params {
	p := &Params{}
	for i := 0; i+1 < len(ts); i += 2 {
		p.W = append(p.W, ts[i])
		p.B = append(p.B, ts[i+1])
	}
	return p
}

// Uniform returns a [rows, cols] float32 tensor (a vector when cols is 0) of values drawn from U(-bound, bound).
func Uniform(rng *rand.Rand, bound float64, rows, cols int) *tensors.Tensor {
	n := rows
	dims := []int{rows}
	if cols > 0 {
		n *= cols
		dims = append(dims, cols)
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// InitPyTorch draws parameters as torch.nn.Linear's default reset_parameters does: weights from
// kaiming_uniform_ with a = sqrt(5), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases from
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in being the layer's input width.
func InitPyTorch(spec Spec, rng *rand.Rand) *Params {
	p := &Params{}
	for l := 0; l < spec.Layers(); l++ {
		in, out := spec.Sizes[l], spec.Sizes[l+1]
		bound := 1 / math.Sqrt(float64(in))
		p.W = append(p.W, Uniform(rng, bound, out, in))
		p.B = append(p.B, Uniform(rng, bound, out, 0))
	}
	return p
}

// KaimingUniformBound is the bound b of torch.nn.init.kaiming_uniform_(w, a) for a leaky-ReLU slope a:
// b = sqrt(6 / ((1 + a^2) fan_in)).
func KaimingUniformBound(a float64, fanIn int) float64 {
	return math.Sqrt(6 / ((1 + a*a) * float64(fanIn)))
}

// XavierUniformBound is the bound of torch.nn.init.xavier_uniform_ (gain 1): sqrt(6 / (fan_in + fan_out)).
func XavierUniformBound(fanIn, fanOut int) float64 {
	return math.Sqrt(6 / float64(fanIn+fanOut))
}

// Linear computes x W^T + b for x [batch, in], w [out, in], b [out]: the pre-activation of a dense layer.
func Linear(x, w, b *Node) *Node {
	y := DotGeneral(x, []int{1}, nil, w, []int{1}, nil)
	if b == nil {
		return y
	}
	return Add(y, ExpandAxes(b, 0))
}

// Activations of one forward pass. Pre[l] = h[l] W[l]^T + b[l] is layer l's pre-activation (what the
// study's hooks recorded, "fc1", "fc2", ...); Post[l] is its output, ReLU(Pre[l]) for hidden layers and
// Pre[l] itself for the output layer. In is the net's input h[0]; Logits is the last Post.
type Activations struct {
	In        *Node
	Pre, Post []*Node
	Logits    *Node
}

// Input returns the input of layer l: In for l = 0, Post[l-1] otherwise.
func (a *Activations) Input(l int) *Node {
	if l == 0 {
		return a.In
	}
	return a.Post[l-1]
}

// Forward runs the net on x [batch, Sizes[0]]: ReLU hidden layers and a linear output layer.
func Forward(x *Node, w, b []*Node) *Activations {
	return ForwardFrom(x, Linear(x, w[0], b[0]), w, b)
}

// ForwardFrom is Forward with the first layer's pre-activation pre0 = x W[0]^T + b[0] given, computed
// elsewhere (package train's CPU fast path computes it with a hand-written kernel); w[0] and b[0] are not
// used and may be nil.
func ForwardFrom(x, pre0 *Node, w, b []*Node) *Activations {
	a := &Activations{In: x}
	h := x
	for l := range w {
		var pre *Node
		if l == 0 {
			pre = pre0
		} else {
			pre = Linear(h, w[l], b[l])
		}
		a.Pre = append(a.Pre, pre)
		if l < len(w)-1 {
			h = MaxScalar(pre, 0.0)
		} else {
			h = pre
		}
		a.Post = append(a.Post, h)
	}
	a.Logits = h
	return a
}

// ReluDerivative is f'(a) for f = ReLU: 1 where a > 0, else 0 (PyTorch's convention at 0), as x's dtype.
func ReluDerivative(pre *Node) *Node {
	return ConvertDType(GreaterThan(pre, ZerosLike(pre)), pre.DType())
}

// CrossEntropy returns the mean softmax cross-entropy of logits [batch, classes] against integer labels
// [batch], L = -(1/B) sum_b log softmax(z_b)[y_b], and its gradient with respect to the logits,
// dL/dz = (softmax(z) - onehot(y)) / B.
func CrossEntropy(logits, labels *Node) (loss, dLogits *Node) {
	classes := logits.Shape().Dimensions[1]
	batch := float64(logits.Shape().Dimensions[0])
	onehot := OneHot(labels, classes, logits.DType())
	logp := LogSoftmax(logits, 1)
	loss = DivScalar(Neg(ReduceAllSum(Mul(onehot, logp))), batch)
	dLogits = DivScalar(Sub(Exp(logp), onehot), batch)
	return loss, dLogits
}

// Correct returns how many rows of logits have their maximum at the label (ties go to the first index,
// as torch.argmax), as an int32 scalar.
func Correct(logits, labels *Node) *Node {
	pred := ArgMax(logits, 1, dtypes.Int32)
	return ReduceAllSum(ConvertDType(Equal(pred, ConvertDType(labels, dtypes.Int32)), dtypes.Int32))
}
