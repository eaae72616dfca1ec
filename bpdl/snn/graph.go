package snn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.

	"github.com/bpdl/bpdl/bpdl/nn"
)

// The spiking net as GoMLX graph functions: the definition that the graph engine compiles for any
// backend. As in norse's functional API, each neuron model is a pure step function, state in, state out;
// a layer runs its step over the T time steps, and GoMLX's autodiff takes the gradients, with the spike's
// derivative replaced by SuperSpike's surrogate. The neuron steps compute in float32 with the same
// operations, in the same order, as the event-driven kernels; the input products and the sums over time add
// in another order, so the two engines agree up to float32 rounding.

// Neuron is a neuron model in graph form, as a pure step function in the style of norse's functional
// API: the state of a layer of neurons and the step that advances it, state in, state out. LIF (spiking)
// and LI (the readout) implement it, and the event-driven kernels implement those two as well. A new
// model is one file holding a type with these methods plus one line registering it (Models): RunLayer
// runs it over time and GoMLX's autodiff takes its backward pass through time (a spiking model supplies
// its surrogate derivative in GraphStep, as LIF does with SuperSpike), so the graph engine needs nothing
// else from it.
type Neuron interface {
	// Validate checks the model's parameters.
	Validate() error
	// Init returns the state before the first step of a layer of units neurons for a batch, each part
	// [batch, units].
	Init(g *Graph, batch, units int) []*Node
	// GraphStep advances the state by one step of dt seconds given the input current [batch, units], and
	// returns the layer's output at this step (spikes for a spiking neuron, the potential for a readout)
	// and the new state.
	GraphStep(dt float64, state []*Node, input *Node) (out *Node, next []*Node)
}

// shapeOf is the float32 shape of the given dimensions.
func shapeOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

// constant is a float32 scalar constant of g holding v, rounded to float32 as the kernels round it.
func constant(g *Graph, v float32) *Node { return Scalar(g, dtypes.Float32, float64(v)) }

// Init implements Neuron: v = VLeak, i = 0.
func (p LIF) Init(g *Graph, batch, units int) []*Node {
	return restState(g, batch, units, p.coef(1).vleak)
}

// GraphStep implements Neuron: norse 0.0.6's lif_feed_forward_step on a layer, state [v, i], as
// LIF.Step,
//
//	v' = v + dt*TauMemInv*((VLeak - v) + i)
//	z  = H(v' - VTh)                     (SuperSpike: dz/dv' := 1/(Alpha |v' - VTh| + 1)^2)
//	v  <- (1 - z) v' + z VReset
//	i  <- i - dt*TauSynInv*i + input
//
// and returns the spikes z. The reset is written as a product so that the gradient flows through it.
func (p LIF) GraphStep(dt float64, state []*Node, input *Node) (z *Node, next []*Node) {
	c := p.coef(dt)
	v, i := state[0], state[1]
	g := v.Graph()
	vd := decayV(v, i, c.am, c.vleak)
	z = SuperSpike(Sub(vd, constant(g, c.vth)), float64(c.alpha))
	v = Add(Mul(OneMinus(z), vd), Mul(z, constant(g, c.vreset)))
	return z, []*Node{v, Add(decayI(i, c.as), input)}
}

// Init implements Neuron: v = VLeak, i = 0.
func (p LI) Init(g *Graph, batch, units int) []*Node {
	return restState(g, batch, units, p.coef(1).vleak)
}

// restState is a layer's state [v, i] at rest, the initial state of both neuron models: v = vleak, i = 0.
func restState(g *Graph, batch, units int, vleak float32) []*Node {
	zeros := Zeros(g, shapeOf(batch, units))
	return []*Node{Add(zeros, constant(g, vleak)), zeros}
}

// GraphStep implements Neuron: norse 0.0.6's li_feed_forward_step on a layer, state [v, i], as
// LI.Step,
//
//	v <- v + dt*TauMemInv*((VLeak - v) + i)
//	i <- i - dt*TauSynInv*i + input
//
// and returns the new potential v.
func (p LI) GraphStep(dt float64, state []*Node, input *Node) (v *Node, next []*Node) {
	c := p.coef(dt)
	v = decayV(state[0], state[1], c.am, c.vleak)
	return v, []*Node{v, Add(decayI(state[1], c.as), input)}
}

// decayV is v + am*((vleak - v) + i), as lifCoef.decayV.
func decayV(v, i *Node, am, vleak float32) *Node {
	g := v.Graph()
	return Add(v, Mul(constant(g, am), Add(Sub(constant(g, vleak), v), i)))
}

// decayI is i - as*i, as lifCoef.decayI.
func decayI(i *Node, as float32) *Node { return Sub(i, Mul(constant(i.Graph(), as), i)) }

// SuperSpike returns the spikes z = H(x), 1 where x > 0 and 0 elsewhere, of x = v' - VTh, with the
// derivative of the step replaced in the backward pass by SuperSpike's surrogate (Zenke & Ganguli 2018,
// norse's "super" threshold):
//
//	dz/dx := 1/(alpha |x| + 1)^2
//
// The value is exactly H(x): z = H(x) + (s - s) with s an identity of x whose gradient is set to the
// surrogate's and the second s outside the gradient's reach.
func SuperSpike(x *Node, alpha float64) *Node {
	s := IdentityWithCustomGradient(x, func(x, v *Node) *Node {
		d := OnePlus(MulScalar(Abs(x), alpha))
		return Mul(v, Reciprocal(Mul(d, d)))
	})
	h := StopGradient(ConvertDType(GreaterThan(x, ZerosLike(x)), x.DType()))
	return Add(h, Sub(s, StopGradient(s)))
}

// PoissonSpikes is norse's poisson_encode in graph form: given inputs x [batch, inputs] and uniform draws
// u [T, batch, inputs] in [0, 1), unit j of example b fires at step t when u[t, b, j] < q x[b, j], with
// q = FMax*DT. The engines draw the same spike trains on the host instead (from a stream per example, so
// that both engines see the same input), with the same distribution.
func PoissonSpikes(x, u *Node, q float64) *Node {
	return ConvertDType(LessThan(u, MulScalar(InsertAxes(x, 0), q)), dtypes.Float32)
}

// RunLayer runs a layer of neurons over the T time steps of its input currents c [T, batch, units], from
// n.Init, and returns its outputs at every step, [T, batch, units]. The steps are one unrolled chain in
// the graph: GoMLX's While is neither differentiable nor available on the go backend, and unrolled, the
// whole recurrence is in view of the compiler (XLA fuses each step's elementwise operations).
func RunLayer(n Neuron, dt float64, c *Node) *Node {
	outs, _ := unroll(n, dt, c)
	return Stack(outs, 0)
}

// unroll runs n over the steps of c as RunLayer, and returns the outputs of each step and the input
// current of each step. The inputs are slices of c outside the reach of gradients: the gradient with
// respect to them is taken by Gradients and stacked, where GoMLX's gradient of each slice would be a
// padded copy of c, T^2 work.
func unroll(n Neuron, dt float64, c *Node) (outs, inputs []*Node) {
	dims := c.Shape().Dimensions
	steps, batch, units := dims[0], dims[1], dims[2]
	state := n.Init(c.Graph(), batch, units)
	fixed := StopGradient(c)
	outs, inputs = make([]*Node, steps), make([]*Node, steps)
	for t := range steps {
		inputs[t] = Reshape(Slice(fixed, AxisElem(t)), batch, units)
		outs[t], state = n.GraphStep(dt, state, inputs[t])
	}
	return outs, inputs
}

// Currents is a Linear layer applied to the spikes x [T, batch, in] of every step at once, one matrix
// product: c(t) = W x(t) + b for W [out, in] and b [out] in torch's layout; it returns [T, batch, out].
func Currents(x, w, b *Node) *Node {
	dims := x.Shape().Dimensions
	out := w.Shape().Dimensions[0]
	return Reshape(nn.Linear(Reshape(x, dims[0]*dims[1], dims[2]), w, b), dims[0], dims[1], out)
}

// DecodeLogits turns the readout potentials v [T, batch, classes] into logits [batch, classes]: their
// maximum over time (DecodeMax) or their mean (DecodeMean).
func DecodeLogits(d Decode, v *Node) *Node {
	switch d {
	case DecodeMax:
		return ReduceMax(v, 0)
	case DecodeMean:
		// The sum over time, then times 1/T, as the kernels compute it.
		return MulScalar(ReduceSum(v, 0), float64(1/float32(v.Shape().Dimensions[0])))
	}
	panic(fmt.Sprintf("snn: unknown decoder %q", d))
}

// Pass is what a forward pass of the net computes.
type Pass struct {
	// Logits are the decoded readout [batch, classes].
	Logits *Node
	// Spikes and Currents are, per hidden layer, its spikes and input currents [T, batch, units].
	Spikes, Currents []*Node
}

// Simulate is the net's forward pass on input spikes x [T, batch, inputs] with params W0, B0, W1, B1, ...
// (torch's layout): each hidden layer's input currents for all steps are one product (Currents), then
// its neurons run over time (RunLayer with cfg.Neuron) and their spikes feed the next layer; the readout
// (cfg.Readout) runs on the last hidden layer's spikes and is decoded into logits (DecodeLogits).
func Simulate(cfg Config, x *Node, params []*Node) *Pass {
	f := &Pass{}
	layers := len(params) / 2
	h := x
	for l := 0; l < layers-1; l++ {
		c := Currents(h, params[2*l], params[2*l+1])
		h = RunLayer(cfg.Neuron, cfg.DT, c)
		f.Currents = append(f.Currents, c)
		f.Spikes = append(f.Spikes, h)
	}
	v := RunLayer(cfg.Readout, cfg.DT, Currents(h, params[2*layers-2], params[2*layers-1]))
	f.Logits = DecodeLogits(cfg.Decode, v)
	return f
}

// Loss is the mean softmax cross-entropy of the net on input spikes x [T, batch, inputs] against labels
// [batch], and the forward pass that computed it. Its gradients are Gradients', not GoMLX's Gradient of
// it (see unroll).
func Loss(cfg Config, x, labels *Node, params []*Node) (*Node, *Pass) {
	f := Simulate(cfg, x, params)
	loss, _ := nn.CrossEntropy(f.Logits, labels)
	return loss, f
}

// Gradients returns Loss and its gradients with respect to params (W0, B0, W1, B1, ...), by
// backpropagation through time: GoMLX's autodiff through each layer's recurrence (with SuperSpike's
// surrogate for the spike's derivative), chained between layers through their input products. For a
// layer with input x(t) (the spikes below) and currents c(t) = W x(t) + b, given dL/dc(t) for every step
// from the autodiff of the layer's steps,
//
//	dL/dW = sum_t dL/dc(t)^T x(t),   dL/db = sum_t dL/dc(t),   dL/dx(t) = dL/dc(t) W
//
// are each one matrix product over all T*batch rows, and dL/dx(t) is the spike gradient that the autodiff
// of the layer below starts from.
func Gradients(cfg Config, x, labels *Node, params []*Node) (loss *Node, grads []*Node) {
	layers := len(params) / 2
	dims := x.Shape().Dimensions
	steps, batch := dims[0], dims[1]
	ins := make([]*Node, layers)      // each layer's input spikes [T, batch, in]
	leaves := make([][]*Node, layers) // each layer's input currents, step by step
	h := x
	var outs []*Node
	for l := range layers {
		ins[l] = h
		var n Neuron = cfg.Neuron
		if l == layers-1 {
			n = cfg.Readout
		}
		outs, leaves[l] = unroll(n, cfg.DT, Currents(h, params[2*l], params[2*l+1]))
		h = Stack(outs, 0)
	}
	loss, _ = nn.CrossEntropy(DecodeLogits(cfg.Decode, h), labels)
	grads = make([]*Node, 2*layers)
	target := loss // a scalar whose gradient with respect to the layer's outputs is dL/d(outputs)
	for l := layers - 1; l >= 0; l-- {
		in, units := ins[l].Shape().Dimensions[2], params[2*l+1].Shape().Dimensions[0]
		gc := Reshape(Stack(Gradient(target, leaves[l]...), 0), steps*batch, units)
		xs := Reshape(ins[l], steps*batch, in)
		grads[2*l] = DotGeneral(gc, []int{0}, nil, xs, []int{0}, nil) // [units, in]
		grads[2*l+1] = ReduceSum(gc, 0)
		if l > 0 {
			gx := Reshape(DotGeneral(gc, []int{1}, nil, params[2*l], []int{0}, nil), steps, batch, in)
			// sum(x * StopGradient(dL/dx)) has gradient dL/dx with respect to the layer below's outputs.
			target = ReduceAllSum(Mul(ins[l], StopGradient(gx)))
		}
	}
	return loss, grads
}
