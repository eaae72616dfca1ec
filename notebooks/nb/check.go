package nb

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// Check is what a notebook needs to compute a learning rule's update by hand and set it beside bpdl's:
// a net with the initial weights and the rule's own tensors as the rule draws them, and one mini-batch of
// real MNIST images, both as float64 gonum matrices (the float32 values bpdl computes with, widened).
// Library runs the rule's graph on the same values.
type Check struct {
	Rule rules.Rule
	Spec nn.Spec
	// X holds the batch's images, [B, inputs] (the first B MNIST training images), and Y their labels.
	X *mat.Dense
	Y []int
	// W[l] is layer l's weight matrix [out, in], B[l] its bias [1, out].
	W, B []*mat.Dense
	// Aux are the rule's own tensors (rules.Step.Aux, as the rule's Setup draws them: FA's feedback
	// matrices, DFA's F, DTP's random-number state and feedback weights), matrices as [rows, cols] and
	// vectors as [1, n]; nil for a tensor that does not hold float32 values (DTP's random-number state).
	Aux []*mat.Dense

	x, y        *tensors.Tensor
	params, aux []*tensors.Tensor
}

// NewCheck draws a net of the study's layout with hidden widths hidden for the rule that rules.New names,
// as bpdl's training does (its weights by the rule's InitParams when it has one, DTP's Xavier weights,
// else nn.InitPyTorch; then the rule's own tensors by its Setup), from a random stream seeded by seed, and
// takes the first batch MNIST training images.
func NewCheck(rule string, hidden []int, batch int, seed uint64) (*Check, error) {
	r, err := rules.New(rule)
	if err != nil {
		return nil, fmt.Errorf("nb: %w", err)
	}
	if batch <= 0 {
		return nil, fmt.Errorf("nb: check of %s: batch %d, want > 0", rule, batch)
	}
	ds, err := data.Load(context.Background(), data.MNIST, data.Options{Offline: true})
	if err != nil {
		return nil, fmt.Errorf("nb: MNIST: %w", err)
	}
	set := ds.Train.Head(batch)
	spec := nn.NewSpec(set.Dim, hidden, set.Classes)
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("nb: check of %s: %w", rule, err)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	var p *nn.Params
	if in, ok := r.(interface { // the rules whose published nets are initialised otherwise (DTP)
		InitParams(nn.Spec, *rand.Rand) *nn.Params
	}); ok {
		p = in.InitParams(spec, rng)
	} else {
		p = nn.InitPyTorch(spec, rng)
	}
	aux, err := r.Setup(spec, rng)
	if err != nil {
		return nil, fmt.Errorf("nb: check of %s: %w", rule, err)
	}
	c := &Check{Rule: r, Spec: spec, params: p.Tensors(), aux: aux,
		x: tensors.FromFlatDataAndDimensions(append([]float32(nil), set.X...), set.N, set.Dim),
		y: tensors.FromFlatDataAndDimensions(append([]int32(nil), set.Y...), set.N)}
	c.X = Matrix(c.x)
	for _, v := range set.Y {
		c.Y = append(c.Y, int(v))
	}
	for l := range p.W {
		c.W = append(c.W, Matrix(p.W[l]))
		c.B = append(c.B, Matrix(p.B[l]))
	}
	for _, t := range aux {
		c.Aux = append(c.Aux, Matrix(t))
	}
	return c, nil
}

// Matrix returns a float32 tensor of rank 1 or 2 as a float64 matrix ([1, n] for a vector), or nil for
// any other tensor.
func Matrix(t *tensors.Tensor) *mat.Dense {
	if t.DType() != dtypes.Float32 {
		return nil
	}
	v := tensors.MustCopyFlatData[float32](t)
	dims := t.Shape().Dimensions
	rows, cols := 1, len(v)
	switch len(dims) {
	case 1:
	case 2:
		rows, cols = dims[0], dims[1]
	default:
		return nil
	}
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return mat.NewDense(rows, cols, f)
}

// Updates is what bpdl computes for a Check's batch, read back as float64 matrices.
type Updates struct {
	// GW and GB are the rule's update directions (rules.Update), what the optimiser descends: W[l]'s
	// [out, in] and B[l]'s [1, out].
	GW, GB []*mat.Dense
	// Loss is the batch's mean cross-entropy.
	Loss float64
	// Gradient holds the true gradient of the loss with respect to each W[l] by GoMLX's automatic
	// differentiation (of rules.LossOf, so through the rule's output nonlinearity if it has one).
	Gradient []*mat.Dense
	// Angles are rules.AlignmentAngles: for each layer, the angle in degrees between GW[l] and the true
	// gradient, as the training loop's probe measures it.
	Angles []float64
}

// Library runs the rule's graph on the check's net and batch, on Backend: rules.NewStep (the forward pass)
// and the rule's Updates, which the training step (train.MLP) wraps with clipping and the optimiser,
// GoMLX's autodiff of the loss, and rules.AlignmentAngles.
func (c *Check) Library() (*Updates, error) {
	b, err := backend.Open(Backend)
	if err != nil {
		return nil, fmt.Errorf("nb: %w", err)
	}
	defer b.Finalize()
	layers := c.Spec.Layers()
	exec, err := graph.NewExec(b, func(in []*graph.Node) []*graph.Node {
		w, bias := make([]*graph.Node, layers), make([]*graph.Node, layers)
		for l := range layers {
			w[l], bias[l] = in[2+2*l], in[3+2*l]
		}
		s := rules.NewStep(c.Spec, in[0], in[1], w, bias, in[2+2*layers:])
		u := c.Rule.Updates(s)
		loss, _ := rules.LossOf(c.Rule, s)
		out := append(append(append([]*graph.Node{}, u.GW...), u.GB...), loss)
		out = append(out, graph.Gradient(loss, w...)...)
		return append(out, rules.AlignmentAngles(c.Rule, s)...)
	})
	if err != nil {
		return nil, fmt.Errorf("nb: %s graph: %w", c.Rule.Name(), err)
	}
	args := []any{c.x, c.y}
	for _, t := range c.params {
		args = append(args, t)
	}
	for _, t := range c.aux {
		args = append(args, t)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("nb: %s graph: %w", c.Rule.Name(), err)
	}
	u := &Updates{}
	for l := range layers {
		u.GW = append(u.GW, Matrix(outs[l]))
		u.GB = append(u.GB, Matrix(outs[layers+l]))
		u.Gradient = append(u.Gradient, Matrix(outs[2*layers+1+l]))
		u.Angles = append(u.Angles, float64(tensors.ToScalar[float32](outs[3*layers+1+l])))
	}
	u.Loss = float64(tensors.ToScalar[float32](outs[2*layers]))
	for _, o := range outs {
		_ = o.FinalizeAll()
	}
	return u, nil
}
