package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// Net is a spiking net with its optimiser, ready to train, on one of two engines (Impl): the event-driven
// CPU kernels or GoMLX graphs. It is not safe for concurrent use.
//
// With the kernels, weights are kept input-major, w[l][j*out + k] = W_l[k, j] for layer l's weight
// matrix W_l [out, in] (torch.nn.Linear's layout), so that the input spikes of a step select contiguous
// rows; with the graph engine they live in the engine, in torch's layout. State and SetState use torch's
// layout with either engine, so a checkpoint of one engine resumes on the other.
type Net struct {
	cfg     Config
	sizes   []int // inputs, hidden widths, classes
	seed    uint64
	workers int
	lif     lifCoef
	li      liCoef
	q       float32      // FMax*DT, the firing probability per step of an input at 1
	graph   *graphEngine // the graph engine; nil when the kernels run
	calls   [2]uint64    // how many batches the training and the evaluation streams have encoded

	// The kernels' state; unused with the graph engine.
	w, b   [][]float32 // weights (input-major) and biases per layer
	gw, gb [][]float32 // their gradients, zero between steps
	// opt is the optimiser with its state, W0, B0, W1, B1, ... in the kernels' layout; it clears the
	// gradients as it uses them.
	opt *optim.Host

	// blocks[l] cuts the units of hidden layer l into blocks of blockWidth units (the last may be
	// shorter): the unit of work of a worker, small enough that its weights stay in cache over a whole
	// batch.
	blocks [][]int
	ws     workspace
}

// workspace holds the buffers of a step, reused between steps.
type workspace struct {
	enc     poissonEncoder
	in      events
	spk     []spikes    // per hidden layer, per block
	vd      [][]float32 // per hidden layer: potentials before reset, [T*batch, units]
	out     []float32   // readout potentials [T*batch, classes]
	gc      [][]float32 // per layer l >= 1: dL/d(input current) [T*batch, units]
	gz      []float32   // dL/d(spikes) of a hidden layer [T*batch, units]
	gout    []float32
	wt      [][]float32 // per layer l >= 1: W_l in torch's layout [out, in], for the backward products
	scratch []scratch   // per worker
	logits  []float32
	arg     []int32
}

// scratch are one worker's buffers for a range of units.
type scratch struct {
	v, i, cur, vd []float32
}

// blockUnits is the largest number of units in a block (see Net.blocks), minBlockUnits the smallest: the
// width of the kernels' widest vector loop (addRows).
const (
	blockUnits    = 128
	minBlockUnits = 64
)

// blockWidth is the number of units in the blocks of a hidden layer of units neurons run by workers:
// blockUnits, halved down to minBlockUnits while that leaves fewer than two blocks per worker, so that
// small layers are shared by more workers. The results do not depend on it: every kernel computes each
// unit on its own, in the same order whatever the block.
func blockWidth(units, workers int) int {
	w := blockUnits
	for w > minBlockUnits && units < 2*workers*w {
		w /= 2
	}
	return w
}

// microBatch is the number of examples a training step simulates at once.
const microBatch = 8

// evalChunk is the number of examples an evaluation simulates at once, bounding its memory.
const evalChunk = 100

// New builds a net on the kernels for inputs of the given size and classes per cfg, with weights drawn
// from seed as torch.nn.Linear's default (nn.InitPyTorch, from the same random stream as an MLP of
// package train with that seed) times cfg.InitScale. The seed also keys the input spike trains.
func New(cfg Config, inputs, classes int, seed uint64) (*Net, error) {
	return NewOn(nil, ImplKernels, cfg, inputs, classes, seed)
}

// NewOn builds the net of New on the engine impl means for backend be (Impl.Resolve); the graph engine
// compiles its graphs for be. The same seed gives the same initial weights and input spike trains on
// either engine. The kernels implement the LIF neuron and the LI readout only: a net of other neuron
// models runs on the graph engine, which ImplAuto then chooses whatever the backend.
func NewOn(be compute.Backend, impl Impl, cfg Config, inputs, classes int, seed uint64) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := ParseImpl(string(impl)); err != nil {
		return nil, err
	}
	auto := impl == ImplAuto || impl == ""
	impl = impl.Resolve(be)
	lif, li, kernelModels := cfg.kernelModels()
	if impl == ImplKernels && !kernelModels {
		if !auto || be == nil {
			return nil, fmt.Errorf("snn: the event-driven kernels implement the LIF neuron and the LI readout, not %T and %T: run the net on the graph engine (ImplGraph, with a backend)", cfg.Neuron, cfg.Readout)
		}
		impl = ImplGraph
	}
	if inputs <= 0 || classes <= 0 {
		return nil, fmt.Errorf("snn: %d inputs and %d classes, want > 0", inputs, classes)
	}
	cfg.Hidden = append([]int(nil), cfg.Hidden...)
	spec := nn.NewSpec(inputs, cfg.Hidden, classes)
	n := &Net{cfg: cfg, sizes: spec.Sizes, seed: seed, workers: cfg.Workers}
	if n.workers == 0 {
		n.workers = runtime.GOMAXPROCS(0)
	}
	n.ws.enc.workers = n.workers
	n.lif = lif.coef(cfg.DT)
	n.li = li.coef(cfg.DT)
	n.q = float32(cfg.FMax * cfg.DT)
	p := nn.InitPyTorch(spec, rand.New(rand.NewPCG(seed, 0x62706c64))) // the stream of train.NewMLP
	var lengths []int                                                  // of every parameter, in the optimiser's order W0, B0, W1, B1, ...
	for l := range p.W {
		in, out := n.sizes[l], n.sizes[l+1]
		w := fromTorch(tensors.MustCopyFlatData[float32](p.W[l]), out, in)
		b := tensors.MustCopyFlatData[float32](p.B[l])
		if cfg.InitScale != 1 {
			s := float32(cfg.InitScale)
			for k := range w {
				w[k] *= s
			}
			for k := range b {
				b[k] *= s
			}
		}
		n.w, n.b = append(n.w, w), append(n.b, b)
		n.gw, n.gb = append(n.gw, make([]float32, len(w))), append(n.gb, make([]float32, len(b)))
		lengths = append(lengths, len(w), len(b))
	}
	if impl == ImplGraph {
		var err error
		if n.graph, err = newGraphEngine(be, cfg, n.sizes, torchLayout(n.w, n.sizes), n.b); err != nil {
			return nil, err
		}
		n.w, n.b, n.gw, n.gb = nil, nil, nil, nil
		return n, nil
	}
	n.opt = optim.NewHost(cfg.Optimizer, lengths)
	n.opt.ZeroGrads = true
	hidden := len(cfg.Hidden)
	n.ws.spk = make([]spikes, hidden)
	for l, h := range cfg.Hidden {
		var b []int
		for lo := 0; lo < h; lo += blockWidth(h, n.workers) {
			b = append(b, lo)
			n.ws.spk[l] = append(n.ws.spk[l], &events{})
		}
		n.blocks = append(n.blocks, append(b, h))
	}
	n.ws.scratch = make([]scratch, n.workers)
	n.ws.vd = make([][]float32, hidden)
	n.ws.gc = make([][]float32, len(n.w))
	n.ws.wt = make([][]float32, len(n.w))
	return n, nil
}

// Config returns the net's configuration.
func (n *Net) Config() Config {
	c := n.cfg
	c.Hidden = append([]int(nil), c.Hidden...)
	return c
}

// Impl returns the engine the net runs on: ImplKernels or ImplGraph.
func (n *Net) Impl() Impl {
	if n.graph != nil {
		return ImplGraph
	}
	return ImplKernels
}

// Sizes returns the widths of the net's layers: inputs, hidden layers, classes.
func (n *Net) Sizes() []int { return append([]int(nil), n.sizes...) }

func (n *Net) checkBatch(x []float32, batch int) error {
	if batch <= 0 || len(x) != batch*n.sizes[0] {
		return fmt.Errorf("snn: %d input values for a batch of %d examples of %d values", len(x), batch, n.sizes[0])
	}
	return nil
}

// startTraining checks a training batch and numbers its call: the Poisson streams of a training batch
// are keyed by the call's number, so that both engines draw the same spikes for the same step.
func (n *Net) startTraining(x []float32, y []int32) (call uint64, err error) {
	if err := n.checkBatch(x, len(y)); err != nil {
		return 0, err
	}
	if err := n.checkLabels(y); err != nil {
		return 0, err
	}
	call = n.calls[0]
	n.calls[0]++
	return call, nil
}

func (n *Net) checkLabels(y []int32) error {
	classes := int32(n.sizes[len(n.sizes)-1])
	for _, c := range y {
		if c < 0 || c >= classes {
			return fmt.Errorf("snn: label %d out of [0, %d)", c, classes)
		}
	}
	return nil
}

// Step trains the net on one mini-batch, inputs x [batch, inputs] (normalised pixels in [-1, 1]) and
// labels y [batch]: it encodes the inputs as spike trains, simulates the net, backpropagates the mean
// cross-entropy of the decoded logits through time and applies the optimiser. It returns the batch's
// mean loss before the update.
func (n *Net) Step(x []float32, y []int32) (float64, error) {
	if n.graph != nil {
		return n.graphStep(x, y)
	}
	loss, err := n.gradients(x, y)
	if err != nil {
		return 0, err
	}
	var params, grads [][]float32
	for _, p := range n.hostParams() {
		params, grads = append(params, *p.value), append(grads, p.grad)
	}
	n.opt.Step(params, grads, n.workers) // and clears the gradients
	return loss, nil
}

// hostParam is one of the kernels' parameters as the optimiser and checkpoints see it: a layer's
// weights W [out, in] (kept input-major) or its biases [out].
type hostParam struct {
	value   *[]float32
	grad    []float32
	opt     [][]float32 // the optimiser's state of the parameter (optim.Host.ParamState), in the same layout
	out, in int         // in is 0 for biases
}

// hostParams returns the kernels' parameters in the optimiser's order, W0, B0, W1, B1, ...
func (n *Net) hostParams() []hostParam {
	var ps []hostParam
	for l := range n.w {
		in, out := n.sizes[l], n.sizes[l+1]
		ps = append(ps, hostParam{value: &n.w[l], grad: n.gw[l], out: out, in: in}, hostParam{value: &n.b[l], grad: n.gb[l], out: out})
	}
	for p := range ps {
		ps[p].opt = n.opt.ParamState(p) // the optimiser keeps its state in the same order
	}
	return ps
}

// tensor returns values shaped like p as a tensor in torch's layout.
func (p hostParam) tensor(values []float32) *tensors.Tensor {
	if p.in == 0 {
		return tensors.FromFlatDataAndDimensions(slices.Clone(values), p.out)
	}
	return tensors.FromFlatDataAndDimensions(toTorch(values, p.out, p.in), p.out, p.in)
}

// fromTensor returns the values of t, shaped like p in torch's layout, in the kernels' layout.
func (p hostParam) fromTensor(t *tensors.Tensor) []float32 {
	v := tensors.MustCopyFlatData[float32](t)
	if p.in == 0 {
		return v
	}
	return fromTorch(v, p.out, p.in)
}

// graphStep is Step on the graph engine: the whole batch is encoded at once (each example from its own
// stream, so the spikes are those the kernels draw micro-batch by micro-batch) and trained by one graph.
func (n *Net) graphStep(x []float32, y []int32) (float64, error) {
	batch := len(y)
	call, err := n.startTraining(x, y)
	if err != nil {
		return 0, err
	}
	n.encode(x, batch, streamTrain, call, 0)
	return n.graph.train(&n.ws.in, y)
}

// gradients encodes a training batch, runs the net forward and backward, and leaves the gradients of the
// mean loss in gw and gb (which must be zero before). It returns the loss. The batch is simulated
// microBatch examples at a time, each part adding its share to the gradients: the same gradients (up to
// the order of the float32 sums) with a working set that stays in cache.
func (n *Net) gradients(x []float32, y []int32) (float64, error) {
	batch := len(y)
	call, err := n.startTraining(x, y)
	if err != nil {
		return 0, err
	}
	ws := &n.ws
	c, dim := n.classes(), n.sizes[0]
	ws.logits = resize(ws.logits, batch*c)
	n.transposeWeights()
	var loss float64
	for first := 0; first < batch; first += microBatch {
		size := min(microBatch, batch-first)
		n.encode(x[first*dim:(first+size)*dim], size, streamTrain, call, first)
		n.forward(size, true, nil)
		logits := ws.logits[first*c : (first+size)*c]
		ws.arg = resize(ws.arg, size*c)
		n.decode(size, logits, ws.arg)
		l, dlogits := crossEntropy(logits, y[first:first+size], c, batch)
		loss += l
		n.backward(size, dlogits, ws.arg)
	}
	return loss, nil
}

func (n *Net) classes() int { return n.sizes[len(n.sizes)-1] }
func (n *Net) steps() int   { return n.cfg.Steps }

// encode draws the input spike trains of a batch into ws.in; example b uses the stream of example
// first+b of the call.
func (n *Net) encode(x []float32, batch int, stream, call uint64, first int) {
	n.ws.enc.encode(&n.ws.in, x, batch, n.sizes[0], n.steps(), n.q, func(b int) *rand.Rand {
		return exampleRNG(n.seed, stream, call, first+b)
	})
}

// activity accumulates, per hidden layer, each example's spike count and summed input current per unit
// ([batch, units]), and the input layer's spike count.
type activity struct {
	spikes, current [][]float32
	inputSpikes     int
}

// forward simulates the encoded batch in ws.in through every layer, layer by layer: a layer's spikes at
// all steps are known before the next layer runs. With train set the potentials before reset are kept
// for the backward pass. act, when not nil, accumulates activity.
func (n *Net) forward(batch int, train bool, act *activity) {
	ws := &n.ws
	rows := n.steps() * batch
	in := spikes{&ws.in}
	if act != nil {
		act.inputSpikes += ws.in.count()
	}
	for l := range n.blocks {
		units := n.sizes[l+1]
		var vd []float32
		if train {
			ws.vd[l] = resize(ws.vd[l], rows*units)
			vd = ws.vd[l]
		}
		n.forBlocks(l, func(worker, k, lo, hi int) {
			n.forwardLIF(l, in, batch, lo, hi, vd, ws.spk[l][k], &ws.scratch[worker], act)
		})
		in = ws.spk[l]
	}
	ws.out = resize(ws.out, rows*n.classes())
	n.forwardLI(in, batch, ws.out)
}

// forBlocks runs f(worker, k, lo, hi) for every block k = [lo, hi) of hidden layer l, the workers taking
// the next block when they are free.
func (n *Net) forBlocks(l int, f func(worker, k, lo, hi int)) {
	b := n.blocks[l]
	forEach(len(b)-1, n.workers, func(worker, k int) { f(worker, k, b[k], b[k+1]) })
}

// current sets cur to the input current of units [lo, hi) of layer l at row r: b + W z for the spikes
// z of row r of the layer's input, summing the weight rows of the units that fired.
func (n *Net) current(cur []float32, l int, in spikes, r, lo, hi int) {
	units := n.sizes[l+1]
	copy(cur, n.b[l][lo:hi])
	for _, e := range in {
		if idx := e.row(r); len(idx) > 0 {
			addRows(cur, n.w[l], units, lo, idx)
		}
	}
}

// addOuter adds the outer product x(r) g^T of the spikes of row r of in and g to the columns
// [lo, lo+len(g)) of the input-major weight gradient w (units columns): g is added to the row of every
// unit that fired. It is one step's contribution to dL/dW = sum_t dL/dc(t)^T x(t).
func addOuter(w []float32, units, lo int, in spikes, r int, g []float32) {
	for _, e := range in {
		if idx := e.row(r); len(idx) > 0 {
			addToRows(w, units, lo, idx, g)
		}
	}
}

// forwardLIF simulates units [lo, hi) of hidden layer l over all steps, given the layer's input spikes,
// writing the units' spikes to e and, when vdAll is not nil, their potentials before reset to vdAll.
func (n *Net) forwardLIF(l int, in spikes, batch, lo, hi int, vdAll []float32, e *events, sc *scratch, act *activity) {
	units, width := n.sizes[l+1], hi-lo
	sc.v, sc.i = resize(sc.v, batch*width), resize(sc.i, batch*width)
	sc.cur, sc.vd = resize(sc.cur, width), resize(sc.vd, width)
	for k := range sc.v {
		sc.v[k] = n.lif.vleak
	}
	clear(sc.i)
	e.reset()
	for t := 0; t < n.steps(); t++ {
		for b := 0; b < batch; b++ {
			r := t*batch + b
			n.current(sc.cur, l, in, r, lo, hi)
			vd := sc.vd
			if vdAll != nil {
				vd = vdAll[r*units+lo : r*units+hi]
			}
			lifForward(n.lif, sc.v[b*width:(b+1)*width], sc.i[b*width:(b+1)*width], sc.cur, vd)
			start := len(e.idx)
			e.idx = spikesAbove(e.idx, vd, n.lif.vth, int32(lo))
			e.endRow()
			if act != nil {
				addTo(act.current[l][b*units+lo:b*units+hi], sc.cur)
				s := act.spikes[l][b*units : (b+1)*units]
				for _, j := range e.idx[start:] {
					s[j]++
				}
			}
		}
	}
}

// forwardLI simulates the readout over all steps given the last hidden layer's spikes, writing its
// potentials to out [T*batch, classes].
func (n *Net) forwardLI(in spikes, batch int, out []float32) {
	l := len(n.w) - 1
	c := n.classes()
	v, i, cur := make([]float32, batch*c), make([]float32, batch*c), make([]float32, c)
	for k := range v {
		v[k] = n.li.vleak
	}
	for t := 0; t < n.steps(); t++ {
		for b := 0; b < batch; b++ {
			r := t*batch + b
			n.current(cur, l, in, r, 0, c)
			liForward(n.li, v[b*c:(b+1)*c], i[b*c:(b+1)*c], cur, out[r*c:(r+1)*c])
		}
	}
}

// decode turns the readout potentials ws.out into logits [batch, classes]: their maximum over time
// (arg receives the first step reaching it) or their mean.
func (n *Net) decode(batch int, logits []float32, arg []int32) {
	c, out := n.classes(), n.ws.out
	switch n.cfg.Decode {
	case DecodeMax:
		copy(logits, out[:batch*c])
		clear(arg)
		for t := 1; t < n.steps(); t++ {
			row := out[t*batch*c : (t+1)*batch*c]
			for k, v := range row {
				if v > logits[k] {
					logits[k], arg[k] = v, int32(t)
				}
			}
		}
	case DecodeMean:
		clear(logits)
		for t := 0; t < n.steps(); t++ {
			addTo(logits, out[t*batch*c:(t+1)*batch*c])
		}
		inv := 1 / float32(n.steps())
		for k := range logits {
			logits[k] *= inv
		}
	}
}

// crossEntropy returns the softmax cross-entropies of logits [len(y), classes] against labels y, summed
// and divided by total, -(1/total) sum_b log softmax(z_b)[y_b], and their gradient
// (softmax(z) - onehot(y))/total: with total = len(y) the batch's mean loss; with the size of a batch of
// which y is a part, that part's share of it.
func crossEntropy(logits []float32, y []int32, classes, total int) (float64, []float32) {
	grad := make([]float32, len(logits))
	var loss float64
	for b := range y {
		z := logits[b*classes : (b+1)*classes]
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, float64(v))
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(sum)
		loss += lse - float64(z[y[b]])
		for k, v := range z {
			g := math.Exp(float64(v) - lse)
			if int32(k) == y[b] {
				g--
			}
			grad[b*classes+k] = float32(g / float64(total))
		}
	}
	return loss / float64(total), grad
}

// backward backpropagates dL/dlogits through time, from the readout down to the first layer, adding the
// gradients of every weight and bias to gw and gb.
//
// For a layer with input current c(t) = W x(t) + b at step t (x the spikes of the layer below, or the
// input spikes), dL/dc(t) is the gradient of the synaptic current after step t; then
//
//	dL/dW = sum_t dL/dc(t)^T x(t)   (a sum over the spikes only: x is binary and sparse)
//	dL/db = sum_t dL/dc(t)
//	dL/dx(t) = dL/dc(t) W           (one product for all steps at once)
//
// and dL/dx(t) is the spike gradient of the layer below, whose own recurrence is then run backward in
// time (lifBackward). The readout and each hidden layer are taken in turn; within a hidden layer the
// workers split the units and share nothing.
func (n *Net) backward(batch int, dlogits []float32, arg []int32) {
	ws := &n.ws
	steps, c, top := n.steps(), n.classes(), len(n.w)-1
	rows := steps * batch
	// dL/d(readout potential) at each step.
	ws.gout = resize(ws.gout, rows*c)
	clear(ws.gout)
	switch n.cfg.Decode {
	case DecodeMax:
		for k, g := range dlogits {
			b := k / c
			ws.gout[(int(arg[k])*batch+b)*c+k%c] = g
		}
	case DecodeMean:
		inv := 1 / float32(steps)
		for t := 0; t < steps; t++ {
			row := ws.gout[t*batch*c : (t+1)*batch*c]
			for k, g := range dlogits {
				row[k] = g * inv
			}
		}
	}
	// Readout: run the leaky integrators backward, collecting dL/dc.
	ws.gc[top] = resize(ws.gc[top], rows*c)
	gc := ws.gc[top]
	gv, gi := make([]float32, batch*c), make([]float32, batch*c)
	below := ws.spk[top-1]
	for t := steps - 1; t >= 0; t-- {
		for b := 0; b < batch; b++ {
			r := t*batch + b
			g := gi[b*c : (b+1)*c]
			copy(gc[r*c:(r+1)*c], g)
			if t < steps-1 { // dL/dc(T-1) = 0: the last input never reaches the output
				addTo(n.gb[top], g)
				addOuter(n.gw[top], c, 0, below, r, g)
			}
			liBackward(n.li, ws.gout[r*c:(r+1)*c], gv[b*c:(b+1)*c], g)
		}
	}
	// Hidden layers, top down.
	for l := top - 1; l >= 0; l-- {
		units, above := n.sizes[l+1], n.sizes[l+2]
		ws.gz = resize(ws.gz, rows*units)
		if l > 0 {
			ws.gc[l] = resize(ws.gc[l], rows*units)
		}
		in := spikes{&ws.in}
		if l > 0 {
			in = ws.spk[l-1]
		}
		// dL/dz at every step: dL/dc of the layer above times its weights. With fewer than four blocks per
		// worker (where whole blocks would leave workers idle at the end), the product is split by rows too
		// and done first; otherwise each block computes its columns and runs its recurrence at once, while
		// they are in cache. Every value is the same either way.
		blocks := len(n.blocks[l]) - 1
		split := blocks < 4*n.workers && n.workers > 1
		if split {
			chunks := min(rows, (4*n.workers+blocks-1)/blocks)
			b := n.blocks[l]
			forEach(blocks*chunks, n.workers, func(_, i int) {
				k, c := i%blocks, i/blocks
				lo, hi := c*rows/chunks, (c+1)*rows/chunks
				mulRows(ws.gz[lo*units:], units, ws.gc[l+1][lo*above:], hi-lo, above, ws.wt[l+1], units, b[k], b[k+1])
			})
		}
		n.forBlocks(l, func(worker, _, lo, hi int) {
			if !split {
				mulRows(ws.gz, units, ws.gc[l+1], rows, above, ws.wt[l+1], units, lo, hi)
			}
			n.backwardLIF(l, in, batch, lo, hi, &ws.scratch[worker])
		})
	}
}

// backwardLIF runs units [lo, hi) of hidden layer l backward in time given their spike gradients in
// ws.gz, adding to the layer's weight and bias gradients and, above the first layer, storing dL/dc in
// ws.gc[l].
func (n *Net) backwardLIF(l int, in spikes, batch, lo, hi int, sc *scratch) {
	ws := &n.ws
	units, width, steps := n.sizes[l+1], hi-lo, n.steps()
	gv, gi := resize(sc.v, batch*width), resize(sc.i, batch*width)
	clear(gv)
	clear(gi)
	gw, gb := n.gw[l], n.gb[l][lo:hi]
	for t := steps - 1; t >= 0; t-- {
		for b := 0; b < batch; b++ {
			r := t*batch + b
			g := gi[b*width : (b+1)*width]
			if l > 0 {
				copy(ws.gc[l][r*units+lo:r*units+hi], g)
			}
			if t < steps-1 { // dL/dc(T-1) = 0: the last input never reaches the output
				addTo(gb, g)
				addOuter(gw, units, lo, in, r, g)
			}
			span := ws.vd[l][r*units+lo : r*units+hi]
			lifBackward(n.lif, span, ws.gz[r*units+lo:r*units+hi], gv[b*width:(b+1)*width], g)
		}
	}
}

// Logits simulates the net on a batch of inputs x [batch, inputs] and returns its logits
// [batch, classes]. Each call draws new input spike trains from the evaluation stream.
func (n *Net) Logits(x []float32, batch int) ([]float32, error) {
	return n.evaluate(x, batch, nil)
}

// evaluate simulates a batch in chunks of evalChunk examples and returns its logits and, when act is not
// nil, the activity (which must be sized for the batch).
func (n *Net) evaluate(x []float32, batch int, act *activity) ([]float32, error) {
	if err := n.checkBatch(x, batch); err != nil {
		return nil, err
	}
	call := n.calls[1]
	n.calls[1]++
	c, dim := n.classes(), n.sizes[0]
	logits := make([]float32, batch*c)
	for first := 0; first < batch; first += evalChunk {
		size := min(evalChunk, batch-first)
		n.encode(x[first*dim:(first+size)*dim], size, streamEval, call, first)
		var sub *activity
		if act != nil {
			sub = act.slice(n, first, size)
		}
		if n.graph != nil {
			if sub != nil {
				sub.inputSpikes = n.ws.in.count()
			}
			if err := n.graph.run(&n.ws.in, size, logits[first*c:(first+size)*c], sub); err != nil {
				return nil, err
			}
		} else {
			n.forward(size, false, sub)
			arg := make([]int32, size*c)
			n.decode(size, logits[first*c:(first+size)*c], arg)
		}
		if sub != nil {
			act.inputSpikes += sub.inputSpikes
		}
	}
	return logits, nil
}

// slice returns the activity of examples [first, first+size) of a batch, sharing a's storage.
func (a *activity) slice(n *Net, first, size int) *activity {
	s := &activity{}
	for l := range a.spikes {
		units := n.sizes[l+1]
		s.spikes = append(s.spikes, a.spikes[l][first*units:(first+size)*units])
		s.current = append(s.current, a.current[l][first*units:(first+size)*units])
	}
	return s
}

func newActivity(n *Net, batch int) *activity {
	a := &activity{}
	for _, h := range n.cfg.Hidden {
		a.spikes = append(a.spikes, make([]float32, batch*h))
		a.current = append(a.current, make([]float32, batch*h))
	}
	return a
}

// Probe is what a net does on a batch: its loss and how much each layer fires.
type Probe struct {
	// Loss is the batch's mean cross-entropy.
	Loss float64
	// Accuracy is the fraction of the batch classified correctly.
	Accuracy float64
	// Spikes counts the spikes of the input layer and of each hidden layer over the batch's T steps.
	Spikes []int
	// Rates are the mean spike probabilities per unit and step of the input and hidden layers: Spikes
	// divided by units*T*batch. A rate r is r/DT Hz.
	Rates []float64
}

// Probe simulates a batch and reports its loss, accuracy and spike counts.
func (n *Net) Probe(x []float32, y []int32) (*Probe, error) {
	batch := len(y)
	if err := n.checkLabels(y); err != nil {
		return nil, err
	}
	act := newActivity(n, batch)
	logits, err := n.evaluate(x, batch, act)
	if err != nil {
		return nil, err
	}
	c := n.classes()
	loss, _ := crossEntropy(logits, y, c, batch)
	correct := 0
	for b := 0; b < batch; b++ {
		if argmax(logits[b*c:(b+1)*c]) == int(y[b]) {
			correct++
		}
	}
	pr := &Probe{Loss: loss, Accuracy: float64(correct) / float64(batch)}
	steps := float64(n.steps() * batch)
	pr.Spikes = append(pr.Spikes, act.inputSpikes)
	pr.Rates = append(pr.Rates, float64(act.inputSpikes)/(steps*float64(n.sizes[0])))
	for l, s := range act.spikes {
		var total float64
		for _, v := range s {
			total += float64(v)
		}
		pr.Spikes = append(pr.Spikes, int(total))
		pr.Rates = append(pr.Rates, total/(steps*float64(n.sizes[l+1])))
	}
	return pr, nil
}

// argmax returns the index of the largest value, the first one on ties (as torch.argmax).
func argmax(v []float32) int {
	best := 0
	for k := range v {
		if v[k] > v[best] {
			best = k
		}
	}
	return best
}

// Activity simulates a batch and returns, per hidden layer, each example's firing rate per step
// (spikes/T) and mean input current W x(t) + b over the T steps, both [batch, units] row-major.
func (n *Net) Activity(x []float32, batch int) (rates, currents [][]float32, err error) {
	act := newActivity(n, batch)
	if _, err := n.evaluate(x, batch, act); err != nil {
		return nil, nil, err
	}
	inv := 1 / float32(n.steps())
	for l := range act.spikes {
		for k := range act.spikes[l] {
			act.spikes[l][k] *= inv
			act.current[l][k] *= inv
		}
	}
	return act.spikes, act.current, nil
}

// transposeWeights sets ws.wt[l] to the transpose of the input-major weights w[l], W_l in torch's
// layout [out, in], for every layer above the first: the backward products read W_l's rows. The workers
// split the rows of w[l] (the units of hidden layer l-1) by blocks.
func (n *Net) transposeWeights() {
	for l := 1; l < len(n.w); l++ {
		in, out := n.sizes[l], n.sizes[l+1]
		n.ws.wt[l] = resize(n.ws.wt[l], len(n.w[l]))
		wt, w := n.ws.wt[l], n.w[l]
		n.forBlocks(l-1, func(_, _, lo, hi int) {
			// Rows of wt in turn: contiguous writes, reads from the block's rows of w, which stay in cache.
			for k := 0; k < out; k++ {
				dst := wt[k*in+lo : k*in+hi]
				for j := range dst {
					dst[j] = w[(lo+j)*out+k]
				}
			}
		})
	}
}

// transpose sets dst [cols, rows] to the transpose of src [rows, cols].
func transpose(dst, src []float32, rows, cols int) {
	const tile = 32
	for r0 := 0; r0 < rows; r0 += tile {
		for c0 := 0; c0 < cols; c0 += tile {
			for r := r0; r < min(r0+tile, rows); r++ {
				for c := c0; c < min(c0+tile, cols); c++ {
					dst[c*rows+r] = src[r*cols+c]
				}
			}
		}
	}
}

// fromTorch returns the input-major copy of a weight matrix given in torch's layout [out, in].
func fromTorch(w []float32, out, in int) []float32 {
	t := make([]float32, len(w))
	transpose(t, w, out, in)
	return t
}

// toTorch is the inverse of fromTorch.
func toTorch(t []float32, out, in int) []float32 {
	w := make([]float32, len(t))
	transpose(w, t, in, out)
	return w
}

// State returns every tensor that defines the net, for checkpoints: per layer the weights [out, in]
// and biases [out]; the optimiser's state in optim.Optimizer.State's order and shapes; and the number of
// batches the training and evaluation spike streams have encoded (int64 [2]). Both engines use this
// layout.
func (n *Net) State() ([]*tensors.Tensor, error) {
	calls := tensors.FromFlatDataAndDimensions([]int64{int64(n.calls[0]), int64(n.calls[1])}, 2)
	if n.graph != nil {
		out, err := n.graph.state()
		if err != nil {
			return nil, fmt.Errorf("snn: reading the graph engine's state: %w", err)
		}
		return append(out, calls), nil
	}
	var out []*tensors.Tensor
	ps := n.hostParams()
	for _, p := range ps {
		out = append(out, p.tensor(*p.value))
	}
	for _, p := range ps {
		for _, s := range p.opt {
			out = append(out, p.tensor(s))
		}
	}
	if n.opt.CountsSteps() {
		out = append(out, n.opt.StepTensor())
	}
	return append(out, calls), nil
}

// SetState restores a state made by State of a net of the same configuration and sizes.
func (n *Net) SetState(ts []*tensors.Tensor) error {
	cur, err := n.State()
	if err != nil {
		return err
	}
	if len(ts) != len(cur) {
		return fmt.Errorf("snn: state has %d tensors, want %d", len(ts), len(cur))
	}
	for k := range ts {
		if !ts[k].Shape().Equal(cur[k].Shape()) {
			return fmt.Errorf("snn: state tensor %d has shape %s, want %s", k, ts[k].Shape(), cur[k].Shape())
		}
	}
	if n.graph != nil {
		if err := n.graph.setState(ts[:len(ts)-1]); err != nil {
			return fmt.Errorf("snn: %w", err)
		}
		calls := tensors.MustCopyFlatData[int64](ts[len(ts)-1])
		n.calls = [2]uint64{uint64(calls[0]), uint64(calls[1])}
		return nil
	}
	k := 0
	next := func() *tensors.Tensor { t := ts[k]; k++; return t }
	ps := n.hostParams()
	for _, p := range ps {
		*p.value = p.fromTensor(next())
	}
	for _, p := range ps {
		for _, s := range p.opt {
			copy(s, p.fromTensor(next()))
		}
	}
	if n.opt.CountsSteps() {
		if err := n.opt.SetStepTensor(next()); err != nil {
			return fmt.Errorf("snn: %w", err)
		}
	}
	calls := tensors.MustCopyFlatData[int64](next())
	n.calls = [2]uint64{uint64(calls[0]), uint64(calls[1])}
	return nil
}

// Raster is the spike trains of one example through the net.
type Raster struct {
	// Steps is the number of time steps simulated (Config.Steps), each Config.DT seconds long.
	Steps int
	// Units are the widths of the input layer and of each hidden layer.
	Units []int
	// Spikes lists, for the input layer (0) and each hidden layer (1, 2, ...), the [step, unit] pairs at
	// which its units fired, sorted by step then unit. A silent layer has an empty, non-nil list.
	Spikes [][][2]int
}

// Raster simulates one example x [inputs] and returns the spikes of its Poisson-encoded input and of
// every hidden layer. The input spike trains come from a stream of their own, drawn afresh for every call
// from the net's seed alone, so the raster depends only on the seed, the weights and x: it neither
// changes nor depends on what Logits, Probe and Activity draw.
func (n *Net) Raster(x []float32) (*Raster, error) {
	if err := n.checkBatch(x, 1); err != nil {
		return nil, err
	}
	n.encode(x, 1, streamRaster, 0, 0)
	layers := n.ws.spk
	if n.graph != nil {
		ev, err := n.graph.layerSpikes(&n.ws.in, 1)
		if err != nil {
			return nil, err
		}
		layers = nil
		for _, e := range ev {
			layers = append(layers, spikes{e})
		}
	} else {
		n.forward(1, false, nil)
	}
	steps := n.steps()
	r := &Raster{Steps: steps, Units: n.Sizes()[:len(n.sizes)-1]}
	collect := func(parts spikes) [][2]int {
		out := [][2]int{}
		for t := 0; t < steps; t++ { // batch 1: row t is step t
			for _, e := range parts {
				for _, j := range e.row(t) {
					out = append(out, [2]int{t, int(j)})
				}
			}
		}
		return out
	}
	r.Spikes = append(r.Spikes, collect(spikes{&n.ws.in}))
	for _, s := range layers {
		r.Spikes = append(r.Spikes, collect(s))
	}
	return r, nil
}
