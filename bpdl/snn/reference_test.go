package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/nn"
)

// The reference: the net written densely in GoMLX, one step after another as norse runs it, the spikes of
// every layer a dense 0/1 tensor, and its gradients taken by GoMLX's autodiff. The surrogate gradient
// enters through z = H(x) + (s(x) - StopGradient(s(x))) with s(x) = x/(alpha |x| + 1), whose value is
// exactly H(x) and whose derivative is s'(x) = 1/(alpha |x| + 1)^2, SuperSpike's.

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// denseLoss is the mean cross-entropy of the net on input spikes [T, batch, inputs] as a graph, and its
// logits; params are W0, B0, W1, B1, ... in torch's layout.
func denseLoss(cfg Config, spikesIn, labels *Node, params []*Node) (loss, logits *Node) {
	g := spikesIn.Graph()
	dims := spikesIn.Shape().Dimensions
	steps, batch := dims[0], dims[1]
	layers := len(params) / 2
	lif, li := cfg.Neuron.(LIF).coef(cfg.DT), cfg.Readout.(LI).coef(cfg.DT)
	type state struct{ v, i *Node }
	st := make([]state, layers)
	for l := range st {
		units := params[2*l].Shape().Dimensions[0]
		leak := float64(lif.vleak)
		if l == layers-1 {
			leak = float64(li.vleak)
		}
		st[l] = state{
			v: Add(Zeros(g, shapeOf(batch, units)), Scalar(g, dtypes.Float32, leak)),
			i: Zeros(g, shapeOf(batch, units)),
		}
	}
	decay := func(v, i *Node, am, leak float32) *Node {
		return Add(v, MulScalar(Add(Sub(Scalar(g, dtypes.Float32, float64(leak)), v), i), float64(am)))
	}
	var outs []*Node
	for t := 0; t < steps; t++ {
		h := Reshape(Slice(spikesIn, AxisElem(t)), batch, dims[2])
		for l := 0; l < layers; l++ {
			c := nn.Linear(h, params[2*l], params[2*l+1])
			s := st[l]
			if l == layers-1 {
				vn := decay(s.v, s.i, li.am, li.vleak)
				st[l] = state{v: vn, i: Add(Sub(s.i, MulScalar(s.i, float64(li.as))), c)}
				outs = append(outs, vn)
				break
			}
			vd := decay(s.v, s.i, lif.am, lif.vleak)
			x := AddScalar(vd, -float64(lif.vth))
			sur := Div(x, AddScalar(MulScalar(Abs(x), float64(lif.alpha)), 1))
			z := Add(ConvertDType(GreaterThan(x, ZerosLike(x)), dtypes.Float32), Sub(sur, StopGradient(sur)))
			st[l] = state{
				v: Add(Mul(OneMinus(z), vd), MulScalar(z, float64(lif.vreset))),
				i: Add(Sub(s.i, MulScalar(s.i, float64(lif.as))), c),
			}
			h = z
		}
	}
	out := Stack(outs, 0)
	switch cfg.Decode {
	case DecodeMax:
		logits = ReduceMax(out, 0)
	case DecodeMean:
		logits = ReduceMean(out, 0)
	}
	loss, _ = nn.CrossEntropy(logits, labels)
	return loss, logits
}

// denseSpikes returns events as a dense [T, batch, units] 0/1 tensor.
func denseSpikes(s spikes, steps, batch, units int) *tensors.Tensor {
	d := make([]float32, steps*batch*units)
	for r := 0; r < steps*batch; r++ {
		for _, e := range s {
			for _, j := range e.row(r) {
				d[r*units+int(j)] = 1
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(d, steps, batch, units)
}

// tinyConfig is a small net (12 inputs, hidden 16 and 8, 3 classes, T = 5) that fires a lot, so that
// every path of the backward pass carries gradient.
func tinyConfig(decode Decode, alpha float64) Config {
	cfg := Study()
	cfg.Steps = 5
	cfg.Hidden = []int{16, 8}
	cfg.FMax = 600
	cfg.InitScale = 4
	lif := StudyLIF()
	lif.VTh, lif.Alpha = 0.1, alpha
	cfg.Neuron = lif
	cfg.Decode = decode
	cfg.Workers = 2
	return cfg
}

func randomBatch(seed uint64, batch, dim, classes int) ([]float32, []int32) {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, batch*dim)
	for k := range x {
		x[k] = float32(2*r.Float64() - 1)
	}
	y := make([]int32, batch)
	for k := range y {
		y[k] = int32(r.IntN(classes))
	}
	return x, y
}

func TestBPTTMatchesAutodiff(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		decode Decode
		alpha  float64 // a blunter surrogate than the study's 100 makes every path carry more gradient
		batch  int     // above microBatch, the step runs in parts
	}{
		{DecodeMax, 100, 3},
		{DecodeMax, 10, 3},
		{DecodeMean, 10, 3},
		{DecodeMax, 10, microBatch + 3},
	} {
		t.Run(fmt.Sprintf("%s/alpha=%g/batch=%d", tc.decode, tc.alpha, tc.batch), func(t *testing.T) {
			cfg := tinyConfig(tc.decode, tc.alpha)
			const inputs, classes = 12, 3
			batch := tc.batch
			n, err := New(cfg, inputs, classes, 5)
			if err != nil {
				t.Fatal(err)
			}
			params := mustState(t, n)[:2*len(n.w)]
			x, y := randomBatch(11, batch, inputs, classes)
			// The input spikes, drawn as the step draws them.
			var enc poissonEncoder
			var in events
			enc.encode(&in, x, batch, inputs, cfg.Steps, n.q, func(b int) *rand.Rand { return exampleRNG(n.seed, streamTrain, 0, b) })
			loss, err := n.gradients(x, y)
			if err != nil {
				t.Fatal(err)
			}
			for l := range cfg.Hidden {
				s := n.ws.spk[l].count()
				if total := cfg.Steps * min(batch, microBatch) * cfg.Hidden[l]; s == 0 || s == total {
					t.Fatalf("hidden layer %d fired %d of %d times: the test needs some spikes and some silences", l, s, total)
				}
			}
			exec, err := NewExec(be, func(in []*Node) []*Node {
				loss, logits := denseLoss(cfg, in[0], in[1], in[2:])
				return append([]*Node{loss, logits}, Gradient(loss, in[2:]...)...)
			})
			if err != nil {
				t.Fatal(err)
			}
			args := []any{denseSpikes(spikes{&in}, cfg.Steps, batch, inputs), tensors.FromFlatDataAndDimensions(y, batch)}
			for _, p := range params {
				args = append(args, p)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(outs[0].Value().(float32)); math.Abs(loss-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("loss %v, dense reference %v", loss, want)
			}
			assertClose(t, "logits", n.ws.logits, tensors.MustCopyFlatData[float32](outs[1]), 1e-5)
			for l := range n.w {
				in, out := n.sizes[l], n.sizes[l+1]
				assertClose(t, fmt.Sprintf("dL/dW%d", l), toTorch(n.gw[l], out, in), tensors.MustCopyFlatData[float32](outs[2+2*l]), 1e-5)
				assertClose(t, fmt.Sprintf("dL/db%d", l), n.gb[l], tensors.MustCopyFlatData[float32](outs[3+2*l]), 1e-5)
			}
		})
	}
}

// assertClose fails unless got and want differ by at most tol times the largest magnitude of want (and
// want is not all zeros).
func assertClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	scale, worst, at := 0.0, 0.0, 0
	for k := range want {
		scale = math.Max(scale, math.Abs(float64(want[k])))
		if d := math.Abs(float64(got[k] - want[k])); d > worst {
			worst, at = d, k
		}
	}
	if scale == 0 {
		t.Errorf("%s: the reference is all zeros", name)
		return
	}
	if worst > tol*scale {
		t.Errorf("%s: largest difference %.3g at %d (%v vs %v), above %.0g x max |want| %.3g", name, worst, at, got[at], want[at], tol, scale)
	}
}
