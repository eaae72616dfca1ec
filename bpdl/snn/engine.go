package snn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// Impl names the engine that simulates and trains a Net. Both engines compute the same net from the
// same input spike trains; they differ only in float32 rounding.
type Impl string

// The engines.
const (
	// ImplAuto is ImplKernels on the go backend and ImplGraph on any other.
	ImplAuto Impl = "auto"
	// ImplGraph compiles the net's graph functions (Simulate, Loss) with GoMLX's autodiff and the
	// optimiser into one graph per training step, for any GoMLX backend: the engine for accelerators,
	// where the weights stay on the device between steps.
	ImplGraph Impl = "graph"
	// ImplKernels runs bpdl's event-driven CPU kernels, whatever the backend: the fast path on CPUs,
	// where the spikes' sparsity saves most of the work.
	ImplKernels Impl = "kernels"
)

// Impls lists the engine names ParseImpl accepts.
func Impls() []Impl { return []Impl{ImplAuto, ImplGraph, ImplKernels} }

// ParseImpl reads an engine name; "" means ImplAuto.
func ParseImpl(s string) (Impl, error) {
	if s == "" {
		return ImplAuto, nil
	}
	if i := Impl(s); slices.Contains(Impls(), i) {
		return i, nil
	}
	names := make([]string, 0, 3)
	for _, i := range Impls() {
		names = append(names, string(i))
	}
	return "", fmt.Errorf("snn: unknown engine %q (want %s)", s, strings.Join(names, ", "))
}

// Resolve returns the engine that i means on backend b: ImplAuto becomes ImplKernels on the go backend
// (or with no backend) and ImplGraph on any other; the others are themselves. (NewOn also picks the graph
// engine for ImplAuto when the net's neuron models are not the kernels' LIF and LI.)
func (i Impl) Resolve(b compute.Backend) Impl {
	if b == nil {
		return i.ResolveName(gobackend.BackendName)
	}
	return i.ResolveName(b.String())
}

// ResolveName is Resolve for the backend configured as backend ("go", "xla:cuda", ...), without opening
// it: auto is the kernels on the go backend and the graph engine on any other.
func (i Impl) ResolveName(backend string) Impl {
	if i != ImplAuto && i != "" {
		return i
	}
	if name, _, _ := strings.Cut(backend, ":"); name == gobackend.BackendName {
		return ImplKernels
	}
	return ImplGraph
}

// graphEngine trains and simulates a net through compiled GoMLX graphs. Its parameters (torch's layout,
// W0, B0, W1, B1, ...) and optimiser state (optim.Optimizer.State's order) live as backend tensors,
// updated in place by one graph per training step.
type graphEngine struct {
	backend compute.Backend
	cfg     Config
	sizes   []int

	params, opt []*tensors.Tensor
	// step: [spikes, labels, params..., opt...] -> [params'..., opt'..., loss].
	// simulate: [spikes, params...] -> [logits, per hidden layer its spike counts and summed currents
	// over time, [batch, units]].
	// spikes: [spikes, params...] -> per hidden layer its spikes [T, batch, units].
	step, simulate, spikes *Exec
}

// newGraphEngine builds the graph engine on backend b for a net of cfg and sizes with the given initial
// weights and biases in torch's layout.
func newGraphEngine(b compute.Backend, cfg Config, sizes []int, w, bias [][]float32) (*graphEngine, error) {
	if b == nil {
		return nil, fmt.Errorf("snn: the graph engine needs a backend")
	}
	e := &graphEngine{backend: b, cfg: cfg, sizes: sizes}
	var pshapes []shapes.Shape
	for l := range w {
		in, out := sizes[l], sizes[l+1]
		e.params = append(e.params,
			tensors.FromFlatDataAndDimensions(slices.Clone(w[l]), out, in),
			tensors.FromFlatDataAndDimensions(slices.Clone(bias[l]), out))
		pshapes = append(pshapes, shapes.Make(dtypes.Float32, out, in), shapes.Make(dtypes.Float32, out))
	}
	e.opt = cfg.Optimizer.State(pshapes)
	np := len(e.params)
	var err error
	e.step, err = NewExec(b, func(in []*Node) []*Node {
		x, y, params, opt := ConvertDType(in[0], dtypes.Float32), in[1], in[2:2+np], in[2+np:]
		loss, grads := Gradients(cfg, x, y, params)
		newParams, newOpt := optim.Step(cfg.Optimizer, params, optim.DenseGrads(grads), opt)
		return append(append(newParams, newOpt...), loss)
	})
	if err != nil {
		return nil, fmt.Errorf("snn: graph engine: %w", err)
	}
	e.simulate, err = NewExec(b, func(in []*Node) []*Node {
		p := Simulate(cfg, ConvertDType(in[0], dtypes.Float32), in[1:])
		out := []*Node{p.Logits}
		for l := range p.Spikes {
			out = append(out, ReduceSum(p.Spikes[l], 0), ReduceSum(p.Currents[l], 0))
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("snn: graph engine: %w", err)
	}
	e.spikes, err = NewExec(b, func(in []*Node) []*Node {
		return Simulate(cfg, ConvertDType(in[0], dtypes.Float32), in[1:]).Spikes
	})
	if err != nil {
		return nil, fmt.Errorf("snn: graph engine: %w", err)
	}
	e.step = e.step.WithName("snn-step")
	return e, nil
}

// dense returns the encoded spikes of a batch as a uint8 0/1 tensor [T, batch, inputs], the graph
// engine's input (a quarter of float32's size on the way to a device).
func dense(in *events, steps, batch, inputs int) *tensors.Tensor {
	d := make([]uint8, steps*batch*inputs)
	for r := 0; r < steps*batch; r++ {
		row := d[r*inputs : (r+1)*inputs]
		for _, j := range in.row(r) {
			row[j] = 1
		}
	}
	return tensors.FromFlatDataAndDimensions(d, steps, batch, inputs)
}

// train runs one training step on the encoded batch in and labels y, and returns the batch's mean loss.
func (e *graphEngine) train(in *events, y []int32) (float64, error) {
	batch := len(y)
	args := []any{dense(in, e.cfg.Steps, batch, e.sizes[0]), tensors.FromFlatDataAndDimensions(slices.Clone(y), batch)}
	for _, group := range [][]*tensors.Tensor{e.params, e.opt} {
		for _, t := range group {
			// The state is donated, so that the backend updates it in place.
			d, err := DonateTensorBuffer(t, e.backend, 0)
			if err != nil {
				return 0, err
			}
			args = append(args, d)
		}
	}
	outs, err := e.step.Exec(args...)
	if err != nil {
		return 0, err
	}
	np, no := len(e.params), len(e.opt)
	e.params, e.opt = outs[:np], outs[np:np+no]
	loss := outs[np+no]
	defer loss.FinalizeAll()
	return float64(loss.Value().(float32)), nil
}

// run simulates the encoded batch in and writes its logits [batch, classes] to logits and, when act is
// not nil, its activity.
func (e *graphEngine) run(in *events, batch int, logits []float32, act *activity) error {
	args := []any{dense(in, e.cfg.Steps, batch, e.sizes[0])}
	for _, t := range e.params {
		args = append(args, t)
	}
	outs, err := e.simulate.Exec(args...)
	if err != nil {
		return err
	}
	defer finalize(outs)
	copy(logits, tensors.MustCopyFlatData[float32](outs[0]))
	if act != nil {
		for l := range act.spikes {
			copy(act.spikes[l], tensors.MustCopyFlatData[float32](outs[1+2*l]))
			copy(act.current[l], tensors.MustCopyFlatData[float32](outs[2+2*l]))
		}
	}
	return nil
}

// layerSpikes simulates the encoded batch in and returns each hidden layer's spikes as events, rows
// r = t*batch + b as the kernels keep them.
func (e *graphEngine) layerSpikes(in *events, batch int) ([]*events, error) {
	args := []any{dense(in, e.cfg.Steps, batch, e.sizes[0])}
	for _, t := range e.params {
		args = append(args, t)
	}
	outs, err := e.spikes.Exec(args...)
	if err != nil {
		return nil, err
	}
	defer finalize(outs)
	var res []*events
	for l, o := range outs {
		units := e.sizes[l+1]
		z := tensors.MustCopyFlatData[float32](o)
		ev := &events{}
		ev.reset()
		for r := 0; r < e.cfg.Steps*batch; r++ {
			for j, s := range z[r*units : (r+1)*units] {
				if s != 0 {
					ev.idx = append(ev.idx, int32(j))
				}
			}
			ev.endRow()
		}
		res = append(res, ev)
	}
	return res, nil
}

// weights returns copies of the parameters, W0, B0, W1, B1, ... in torch's layout.
func (e *graphEngine) weights() [][]float32 {
	out := make([][]float32, len(e.params))
	for k, t := range e.params {
		out[k] = tensors.MustCopyFlatData[float32](t)
	}
	return out
}

// state returns host copies of the parameters and the optimiser state, in State's order.
func (e *graphEngine) state() ([]*tensors.Tensor, error) {
	var out []*tensors.Tensor
	for _, group := range [][]*tensors.Tensor{e.params, e.opt} {
		for _, t := range group {
			c, err := t.LocalClone()
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// setState replaces the parameters and the optimiser state with copies of ts (State's order, shapes
// checked by the caller).
func (e *graphEngine) setState(ts []*tensors.Tensor) error {
	var copies []*tensors.Tensor
	for _, t := range ts {
		c, err := t.LocalClone()
		if err != nil {
			return err
		}
		copies = append(copies, c)
	}
	finalize(e.params)
	finalize(e.opt)
	np := len(e.params)
	e.params, e.opt = copies[:np], copies[np:]
	return nil
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		_ = t.FinalizeAll()
	}
}

// torchLayout returns the kernels' input-major weights as W [out, in] per layer (torch's layout).
func torchLayout(w [][]float32, sizes []int) [][]float32 {
	out := make([][]float32, len(w))
	for l := range w {
		out[l] = toTorch(w[l], sizes[l+1], sizes[l])
	}
	return out
}
