package snn

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/optim"
)

func TestParseImpl(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Impl
		err  bool
	}{
		{"", ImplAuto, false}, {"auto", ImplAuto, false}, {"graph", ImplGraph, false},
		{"kernels", ImplKernels, false}, {"gpu", "", true}, {"Graph", "", true},
	} {
		got, err := ParseImpl(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseImpl(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
	be := testBackend(t)
	for _, tc := range []struct {
		impl Impl
		b    compute.Backend
		want Impl
	}{
		{ImplAuto, be, ImplKernels}, {ImplAuto, nil, ImplKernels}, {ImplGraph, be, ImplGraph}, {ImplKernels, be, ImplKernels},
	} {
		if got := tc.impl.Resolve(tc.b); got != tc.want {
			t.Errorf("%q.Resolve(%v) = %q, want %q", tc.impl, tc.b, got, tc.want)
		}
	}
	if _, err := NewOn(nil, ImplGraph, tinyConfig(DecodeMax, 10), 12, 3, 1); err == nil {
		t.Error("the graph engine without a backend: no error")
	}
}

// enginePair returns the same net (configuration, sizes, seed) on the kernels and on the graph engine.
func enginePair(t *testing.T, cfg Config, inputs, classes int, seed uint64) (kern, graph *Net) {
	t.Helper()
	kern, err := New(cfg, inputs, classes, seed)
	if err != nil {
		t.Fatal(err)
	}
	graph, err = NewOn(testBackend(t), ImplGraph, cfg, inputs, classes, seed)
	if err != nil {
		t.Fatal(err)
	}
	if kern.Impl() != ImplKernels || graph.Impl() != ImplGraph {
		t.Fatalf("engines %q and %q", kern.Impl(), graph.Impl())
	}
	return kern, graph
}

// engineConfigs are small nets that fire a lot (tinyConfig), with each decoder and optimiser.
func engineConfigs() map[string]Config {
	out := map[string]Config{}
	for _, d := range []Decode{DecodeMax, DecodeMean} {
		for name, opt := range map[string]optim.Optimizer{"sgd": optim.Study(), "adam": optim.DefaultAdam(1e-3)} {
			cfg := tinyConfig(d, 10)
			cfg.Steps = 12
			cfg.Optimizer = opt
			out[fmt.Sprintf("%s/%s", d, name)] = cfg
		}
	}
	return out
}

// TestEnginesSpikeAlike: for the same weights and input spike trains, both engines give the same spikes
// in every hidden layer, and logits equal to float32 rounding.
func TestEnginesSpikeAlike(t *testing.T) {
	for name, cfg := range engineConfigs() {
		t.Run(name, func(t *testing.T) {
			const inputs, classes, batch = 12, 3, 5
			kern, graph := enginePair(t, cfg, inputs, classes, 3)
			x, _ := randomBatch(4, batch, inputs, classes)
			kern.encode(x, batch, streamTrain, 0, 0)
			graph.encode(x, batch, streamTrain, 0, 0)
			if !sameEvents(&kern.ws.in, &graph.ws.in) {
				t.Fatal("the engines drew different input spikes")
			}
			kern.forward(batch, false, nil)
			ev, err := graph.graph.layerSpikes(&graph.ws.in, batch)
			if err != nil {
				t.Fatal(err)
			}
			for l := range ev {
				want := denseSpikes(kern.ws.spk[l], cfg.Steps, batch, cfg.Hidden[l])
				got := denseSpikes(spikes{ev[l]}, cfg.Steps, batch, cfg.Hidden[l])
				fired := kern.ws.spk[l].count()
				if total := cfg.Steps * batch * cfg.Hidden[l]; fired == 0 || fired == total {
					t.Fatalf("hidden layer %d fired %d of %d times: the test needs some spikes and some silences", l, fired, total)
				}
				if !equalValues(tensors.MustCopyFlatData[float32](got), tensors.MustCopyFlatData[float32](want)) {
					t.Errorf("hidden layer %d: the engines' spikes differ", l)
				}
			}
			lk, err := kern.Logits(x, batch)
			if err != nil {
				t.Fatal(err)
			}
			lg, err := graph.Logits(x, batch)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "logits", lg, lk, 1e-5)
		})
	}
}

// TestEnginesTrainAlike: both engines, from the same seed on the same batches, end with the same weights
// and optimiser state up to float32 rounding after several steps, report the same losses, probes and
// activity, and their states are interchangeable.
func TestEnginesTrainAlike(t *testing.T) {
	for name, cfg := range engineConfigs() {
		t.Run(name, func(t *testing.T) {
			const inputs, classes, batch = 12, 3, 6
			kern, graph := enginePair(t, cfg, inputs, classes, 5)
			for s := range 6 {
				x, y := randomBatch(uint64(20+s), batch, inputs, classes)
				lk, err := kern.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				lg, err := graph.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(lk-lg) > 1e-5*math.Max(1, math.Abs(lk)) {
					t.Errorf("step %d: loss %v on the kernels, %v on the graph engine", s, lk, lg)
				}
			}
			sk, sg := mustState(t, kern), mustState(t, graph)
			if len(sk) != len(sg) {
				t.Fatalf("states of %d and %d tensors", len(sk), len(sg))
			}
			for k := range sk {
				if !sk[k].Shape().Equal(sg[k].Shape()) {
					t.Fatalf("state tensor %d: shapes %s and %s", k, sk[k].Shape(), sg[k].Shape())
				}
				if k == len(sk)-1 {
					if !equalValues(tensors.MustCopyFlatData[int64](sk[k]), tensors.MustCopyFlatData[int64](sg[k])) {
						t.Errorf("stream counters differ")
					}
					continue
				}
				// Adam's normalised steps amplify rounding in the tiny second moments; 1e-4 of the largest
				// value is still far below one step's change.
				assertClose(t, fmt.Sprintf("state tensor %d", k), tensors.MustCopyFlatData[float32](sg[k]), tensors.MustCopyFlatData[float32](sk[k]), 1e-4)
			}
			x, y := randomBatch(40, 7, inputs, classes)
			pk, err := kern.Probe(x, y)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := graph.Probe(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(pk.Loss-pg.Loss) > 1e-4 || pk.Spikes[0] != pg.Spikes[0] {
				t.Errorf("probes differ: %+v and %+v", pk, pg)
			}
			rk, ck, err := kern.Activity(x, 7)
			if err != nil {
				t.Fatal(err)
			}
			rg, cg, err := graph.Activity(x, 7)
			if err != nil {
				t.Fatal(err)
			}
			for l := range rk {
				assertClose(t, fmt.Sprintf("rates %d", l), rg[l], rk[l], 0.05) // a rounding apart, a spike may flip
				assertClose(t, fmt.Sprintf("currents %d", l), cg[l], ck[l], 1e-4)
			}
			// The kernels resume from the graph engine's state and the other way round.
			if err := kern.SetState(sg); err != nil {
				t.Fatal(err)
			}
			if err := graph.SetState(sk); err != nil {
				t.Fatal(err)
			}
			if !sameState(stateValues(t, graph), valuesOf(sk)) {
				t.Error("the graph engine's state after SetState differs from the one set")
			}
			if _, err := graph.Step(x, y); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEngineRaster: the graph engine's raster has the kernels' spikes.
func TestEngineRaster(t *testing.T) {
	cfg := engineConfigs()["max/sgd"]
	kern, graph := enginePair(t, cfg, 12, 3, 8)
	x, _ := randomBatch(9, 1, 12, 3)
	rk, err := kern.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	rg, err := graph.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rk) != fmt.Sprint(rg) {
		t.Errorf("rasters differ:\nkernels %v\ngraph   %v", rk, rg)
	}
	if len(rk.Spikes[1]) == 0 {
		t.Error("hidden layer 1 is silent: the test needs spikes")
	}
}

// TestGraphGradientsMatchKernels: Gradients, GoMLX's autodiff with SuperSpike's custom gradient, equals the
// kernels' written-out backward pass through time.
func TestGraphGradientsMatchKernels(t *testing.T) {
	be := testBackend(t)
	for name, cfg := range engineConfigs() {
		t.Run(name, func(t *testing.T) {
			const inputs, classes, batch = 12, 3, 5
			n, err := New(cfg, inputs, classes, 6)
			if err != nil {
				t.Fatal(err)
			}
			params := mustState(t, n)[:2*len(n.w)]
			x, y := randomBatch(13, batch, inputs, classes)
			n.encode(x, batch, streamTrain, 0, 0)
			spk := dense(&n.ws.in, cfg.Steps, batch, inputs)
			loss, err := n.gradients(x, y)
			if err != nil {
				t.Fatal(err)
			}
			exec, err := NewExec(be, func(in []*Node) []*Node {
				l, grads := Gradients(cfg, ConvertDType(in[0], in[2].DType()), in[1], in[2:])
				return append([]*Node{l}, grads...)
			})
			if err != nil {
				t.Fatal(err)
			}
			args := []any{spk, tensors.FromFlatDataAndDimensions(y, batch)}
			for _, p := range params {
				args = append(args, p)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(outs[0].Value().(float32)); math.Abs(got-loss) > 1e-5*math.Max(1, loss) {
				t.Errorf("loss %v, kernels %v", got, loss)
			}
			for l := range n.w {
				in, out := n.sizes[l], n.sizes[l+1]
				assertClose(t, fmt.Sprintf("dL/dW%d", l), tensors.MustCopyFlatData[float32](outs[1+2*l]), toTorch(n.gw[l], out, in), 1e-5)
				assertClose(t, fmt.Sprintf("dL/db%d", l), tensors.MustCopyFlatData[float32](outs[2+2*l]), n.gb[l], 1e-5)
			}
		})
	}
}

func sameEvents(a, b *events) bool {
	return equalValues(a.ptr, b.ptr) && equalValues(a.idx, b.idx)
}

func equalValues[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// valuesOf is a state's values: float32 tensors as they are, the int64 counters one by one.
func valuesOf(ts []*tensors.Tensor) [][]float32 {
	var out [][]float32
	for _, s := range ts {
		switch s.DType().String() {
		case "Float32":
			out = append(out, tensors.MustCopyFlatData[float32](s))
		case "Int64":
			for _, v := range tensors.MustCopyFlatData[int64](s) {
				out = append(out, []float32{float32(v)})
			}
		}
	}
	return out
}

// TestPoissonSpikes: the graph form of the encoder fires unit j of example b at step t exactly when
// u[t, b, j] < q x[b, j].
func TestPoissonSpikes(t *testing.T) {
	x := []float32{1, 0.5, -1, 0.25, 2, 0}       // [2, 3]
	u := []float32{0.1, 0.1, 0, 0.05, 0.3, 0.01, // step 0
		0.2, 0.09, 0.5, 0.049, 0.31, 0} // step 1
	const q = 0.2
	exec := MustNewExec(testBackend(t), func(x, u *Node) *Node { return PoissonSpikes(x, u, q) })
	got := tensors.MustCopyFlatData[float32](exec.MustExec(tensors.FromFlatDataAndDimensions(x, 2, 3), tensors.FromFlatDataAndDimensions(u, 2, 2, 3))[0])
	for k := range u {
		want := float32(0)
		if u[k] < q*x[k%6] {
			want = 1
		}
		if got[k] != want {
			t.Errorf("spike %d = %v, want %v (u %v, q x %v)", k, got[k], want, u[k], q*x[k%6])
		}
	}
}
