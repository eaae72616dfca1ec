package train

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/pack"
)

// Chunker is a Learner that can take many training steps in one backend call: a training chunk. On an
// accelerator, a step at the study's batch size of 4 does little arithmetic and is bound by what every
// call costs (copying the batch to the device, launching the computation, reading the loss back); a
// chunk pays that once for all its steps, with the learner's state and the training set staying on the
// device. Run.StepsPerCall sets the chunk length.
//
// A chunk of K steps trains exactly as K calls of Step (or PretrainStep) on the same mini-batches: on
// the go backend to the bit (TestChunkEqualsSteps); see docs/chunks.md for what holds on XLA.
type Chunker interface {
	Learner
	// DefaultStepsPerCall is the chunk length the learner runs best with on its backend (1: a chunk
	// would gain nothing).
	DefaultStepsPerCall() int
	// StepChunk trains on len(order)/batch mini-batches of set in turn (mini-batch s holds the examples
	// order[s*batch:(s+1)*batch]) and returns each step's loss, as Step (or PretrainStep, when pretrain is
	// set) would; it may return fewer losses than steps when a loss is not finite, the last one being
	// that loss. The learner may keep set on the device until ReleaseData, so set must not change
	// meanwhile.
	StepChunk(set *data.Set, order []int, batch int, pretrain bool) ([]float64, error)
	// ReleaseData frees the training set StepChunk keeps on the device, if any.
	ReleaseData()
}

// DefaultStepsPerCall is the chunk length of the MLP on backends other than GoMLX's go backend. On a GPU,
// a step at the study's batch size costs mostly what every call costs, not its arithmetic; 100 steps per
// call spread that cost thinly, and 100 divides the steps of every epoch of the study at batch 4 (CIFAR-10:
// 12,500; MNIST: 15,000; the quick profile: 1,000) and the probe step (100), so no epoch ends in a
// shorter chunk, which would need a graph of its own. docs/chunks.md has the argument and the command
// that measures it.
const DefaultStepsPerCall = 100

// MaxResidentBytes bounds the training set an MLP keeps on the device for its chunks (CIFAR-10's
// 50,000 images take 0.6 GB); a larger set is copied to the device a chunk at a time instead, one
// transfer per chunk rather than one per step.
const MaxResidentBytes = 2 << 30

// chunkArgs are the arguments of the training and pretraining chunks' graphs: the examples the chunk
// draws its mini-batches from (the training set, resident on the device, or the chunk's own examples),
// which rows of them each step takes, and the learner's state.
type chunkArgs[T any] struct {
	// X [n, dim] and Y [n] are the examples.
	X, Y T
	// Index [steps, batch] (int32): row s holds the rows of X and Y of step s's mini-batch.
	Index T
	State state[T]
}

// residentSet is a training set on the device, for the chunks.
type residentSet struct {
	set  *data.Set
	x, y *tensors.Tensor
}

// DefaultStepsPerCall implements Chunker: 1 on GoMLX's go backend, where a call costs little next to a
// step's work (and the CPU fast path takes each step), DefaultStepsPerCall elsewhere.
func (m *MLP) DefaultStepsPerCall() int {
	if m.backend.Name() == goBackendName {
		return 1
	}
	return DefaultStepsPerCall
}

// StepChunk implements Chunker. The chunk is one GoMLX graph: a While loop whose body is the step graph's
// math (stepNodes, or pretrainNodes), gathering each mini-batch from the examples by the rows in Index.
// On the CPU fast path it takes the steps one by one instead (each already moves the weights once; the
// go backend's calls cost little), so a chunk gives the fast path's results there.
func (m *MLP) StepChunk(set *data.Set, order []int, batch int, pretrain bool) ([]float64, error) {
	what := "training"
	if pretrain {
		what = "pretraining"
	}
	if batch <= 0 || len(order) == 0 || len(order)%batch != 0 {
		return nil, fmt.Errorf("%s %s chunk: %d examples in mini-batches of %d, want a positive multiple", m.rule.Name(), what, len(order), batch)
	}
	if pretrain && m.pretrain == nil {
		return nil, fmt.Errorf("rule %s has no pretraining phase", m.rule.Name())
	}
	for _, i := range order {
		if i < 0 || i >= set.N {
			return nil, fmt.Errorf("%s %s chunk: example %d of a set of %d", m.rule.Name(), what, i, set.N)
		}
	}
	if m.fast != nil {
		return m.stepEach(set, order, batch, pretrain)
	}
	x, y, index := m.chunkData(set, order, batch)
	if err := m.compileChunks(); err != nil {
		return nil, fmt.Errorf("%s %s chunk: %w", m.rule.Name(), what, err)
	}
	args := argsOf(chunkArgs[*tensors.Tensor]{X: x, Y: y, Index: index, State: m.state})
	var outs []*tensors.Tensor
	var err error
	if pretrain {
		// The parameters and optimiser state are read, not changed: only the rule's tensors are new.
		outs, err = m.pretrainChunk.Exec(args...)
		if err != nil {
			return nil, fmt.Errorf("%s %s chunk: %w", m.rule.Name(), what, err)
		}
		finalize(m.state.Aux)
		m.state.Aux = outs[:len(outs)-1]
	} else {
		if args, err = m.donate(args, 3); err != nil {
			return nil, fmt.Errorf("%s %s chunk: %w", m.rule.Name(), what, err)
		}
		outs, err = m.chunk.Exec(args...)
		if err != nil {
			return nil, fmt.Errorf("%s %s chunk: %w", m.rule.Name(), what, err)
		}
		finalize(pack.Flatten[*tensors.Tensor](m.state))
		m.state = m.stateShape()
		pack.MustUnflatten(&m.state, outs[:len(outs)-1])
	}
	if m.data == nil || m.data.x != x {
		finalize([]*tensors.Tensor{x, y})
	}
	finalize([]*tensors.Tensor{index})
	last := outs[len(outs)-1]
	vals := tensors.MustCopyFlatData[float32](last)
	_ = last.FinalizeAll()
	losses := make([]float64, len(vals))
	for i, v := range vals {
		losses[i] = float64(v)
	}
	return losses, nil
}

// stepEach is StepChunk by single steps, for the CPU fast path. It stops after a non-finite loss, as the
// training loop does.
func (m *MLP) stepEach(set *data.Set, order []int, batch int, pretrain bool) ([]float64, error) {
	losses := make([]float64, 0, len(order)/batch)
	for s := 0; s < len(order); s += batch {
		x, y := batchTensors(set, order[s:s+batch])
		var loss float64
		var err error
		if pretrain {
			loss, err = m.PretrainStep(x, y)
		} else {
			loss, err = m.Step(x, y)
		}
		if err != nil {
			return nil, err
		}
		losses = append(losses, loss)
		if !finiteLoss(loss) {
			break
		}
	}
	return losses, nil
}

// chunkData returns the examples a chunk's graph draws from and the rows of each step: the training set
// on the device (made resident on first use) and the order's indices, or, for a set larger than
// MaxResidentBytes, the chunk's examples in order and the rows 0, 1, ...
func (m *MLP) chunkData(set *data.Set, order []int, batch int) (x, y, index *tensors.Tensor) {
	steps := len(order) / batch
	rows := make([]int32, len(order))
	if 4*set.N*(set.Dim+1) > m.maxResident {
		x, y = batchTensors(set, order)
		for i := range rows {
			rows[i] = int32(i)
		}
		return x, y, tensors.FromFlatDataAndDimensions(rows, steps, batch)
	}
	if m.data == nil || m.data.set != set {
		m.ReleaseData()
		m.data = &residentSet{set: set,
			x: tensors.FromFlatDataAndDimensions(set.X[:set.N*set.Dim], set.N, set.Dim),
			y: tensors.FromFlatDataAndDimensions(set.Y[:set.N], set.N)}
		// Moved, not copied, where the backend shares memory with the host; an error leaves the host
		// copy, which the backend copies on use.
		_ = m.data.x.ToDevice(m.backend, 0)
		_ = m.data.y.ToDevice(m.backend, 0)
	}
	for i, j := range order {
		rows[i] = int32(j)
	}
	return m.data.x, m.data.y, tensors.FromFlatDataAndDimensions(rows, steps, batch)
}

// ReleaseData implements Chunker.
func (m *MLP) ReleaseData() {
	if m.data != nil {
		finalize([]*tensors.Tensor{m.data.x, m.data.y})
		m.data = nil
	}
}

// compileChunks makes the chunks' executables on first use.
func (m *MLP) compileChunks() error {
	if m.chunk != nil {
		return nil
	}
	var err error
	if m.chunk, err = NewExec(m.backend, m.chunkGraph(false)); err != nil {
		return err
	}
	m.chunk = m.chunk.WithName(m.rule.Name() + "-chunk")
	if m.pretrain != nil {
		if m.pretrainChunk, err = NewExec(m.backend, m.chunkGraph(true)); err != nil {
			return err
		}
		m.pretrainChunk = m.pretrainChunk.WithName(m.rule.Name() + "-pretrain-chunk")
	}
	return nil
}

// chunkGraph returns the graph of a training (or pretraining) chunk: chunkArgs -> [the new state (the
// rule's new tensors when pretraining), the steps' losses].
//
// The steps run in a GoMLX While loop whose trip count is the chunk's length, a constant of the graph
// (the Index argument's first dimension), rather than as that many copies of the step: the graph is the
// size of one step whatever the length, where an unrolled chunk grows with it (and XLA's compilation
// with the graph), and a loop whose trip count XLA can read from the graph needs no look at its
// condition from the host after every step (docs/chunks.md). The loop carries a step counter, the state
// the steps change and the losses so far; its body reads the examples, the rows and (when pretraining)
// the parameters from the enclosing graph.
func (m *MLP) chunkGraph(pretrain bool) func(in []*Node) []*Node {
	return func(in []*Node) []*Node {
		a := chunkArgs[*Node]{State: m.shape()}
		pack.MustUnflatten(&a, in)
		g := a.Index.Graph()
		steps, batch := a.Index.Shape().Dimensions[0], a.Index.Shape().Dimensions[1]
		carried := pack.Flatten[*Node](a.State)
		if pretrain {
			carried = a.State.Aux
		}
		n := len(carried)
		lossType := a.State.Layers[0].W.DType()
		// step is one training step on the mini-batch whose rows of X and Y are rows ([batch, 1]): the
		// state the steps change, and the loss.
		step := func(rows *Node, cur []*Node) ([]*Node, *Node) {
			x, y := Gather(a.X, rows), Gather(a.Y, rows)
			var next []*Node
			var loss *Node
			if pretrain {
				next, loss = m.pretrainNodes(x, y, state[*Node]{Layers: a.State.Layers, Aux: cur, Opt: a.State.Opt})
			} else {
				st := m.shape()
				pack.MustUnflatten(&st, cur)
				var ns state[*Node]
				ns, loss = m.stepNodes(x, y, st)
				next = pack.Flatten[*Node](ns)
			}
			if loss.DType() != lossType {
				panic(fmt.Sprintf("%s: the loss is %s, the parameters %s", m.rule.Name(), loss.DType(), lossType))
			}
			return next, loss
		}
		if m.unrolled {
			// For comparison only (BenchmarkChunk): the steps one after another in the graph.
			losses := make([]*Node, steps)
			for s := range steps {
				carried, losses[s] = step(Reshape(Slice(a.Index, AxisElem(s)), batch, 1), carried)
				losses[s] = Reshape(losses[s], 1)
			}
			return append(carried, Concatenate(losses, 0))
		}
		init := append(append([]*Node{Const(g, int32(0))}, carried...), Zeros(g, shapes.Make(lossType, steps)))
		params := func(g *Graph) []*Node {
			ps := make([]*Node, len(init))
			for j, v := range init {
				ps[j] = Parameter(g, fmt.Sprintf("loop%d", j), v.Shape())
			}
			return ps
		}
		cond := NewClosure(g, func(g *Graph) []*Node {
			ps := params(g)
			return []*Node{LessThan(ps[0], Const(g, int32(steps)))}
		})
		body := NewClosure(g, func(g *Graph) []*Node {
			ps := params(g)
			i, cur, losses := ps[0], ps[1:1+n], ps[1+n]
			// Row i of Index, and the losses with entry i set, by Gather and Where: GoMLX's go backend has
			// neither DynamicSlice nor DynamicUpdateSlice.
			next, loss := step(Reshape(Gather(a.Index, Reshape(i, 1)), batch, 1), cur)
			at := Equal(Iota(g, shapes.Make(dtypes.Int32, steps), 0), i)
			losses = Where(at, BroadcastToDims(loss, steps), losses)
			return append(append([]*Node{Add(i, Const(g, int32(1)))}, next...), losses)
		})
		return While(cond, body, init...)[1:]
	}
}
