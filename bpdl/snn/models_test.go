package snn_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	cshapes "github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/snn"
)

func shapes(dims ...int) cshapes.Shape { return cshapes.Make(dtypes.Float32, dims...) }

func TestModelsJSON(t *testing.T) {
	r := snn.DefaultModels()
	if got, want := r.Names(), []string{"lif", "li"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	lif := snn.StudyLIF()
	lif.VTh = 0.25
	for _, tc := range []struct {
		model snn.Neuron
		want  string
	}{
		{lif, `{"Kind":"lif","TauSynInv":200,"TauMemInv":100,"VLeak":0,"VTh":0.25,"VReset":0,"Alpha":100}`},
		{snn.StudyLI(), `{"Kind":"li","TauSynInv":200,"TauMemInv":100,"VLeak":0}`},
	} {
		b, err := r.Marshal(tc.model)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal(%+v) = %s, want %s", tc.model, b, tc.want)
		}
		if back, err := r.Unmarshal(b); err != nil || back != tc.model {
			t.Errorf("Unmarshal(%s) = %+v, %v", b, back, err)
		}
	}
	// A partial document keeps the constructor's (the study's) values.
	if back, err := r.Unmarshal([]byte(`{"Kind":"lif","VTh":0.25}`)); err != nil || back != lif {
		t.Errorf("partial LIF = %+v, %v; want %+v", back, err, lif)
	}
	for _, bad := range []string{`{"Kind":"izhikevich"}`, `{"VTh":1}`, `{"Kind":"lif","VTh":"high"}`} {
		if n, err := r.Unmarshal([]byte(bad)); err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", bad, n)
		}
	}
	if _, err := r.Marshal(IF{}); err == nil {
		t.Errorf("Marshal encoded an unregistered model")
	}
	if err := r.Register("lif", func() snn.Neuron { return IF{} }); err == nil {
		t.Errorf("Register accepted a name twice")
	}
}

// TestRegisterOwnNeuron registers a user's neuron model (IF, ifneuron_test.go) with one line, chooses
// it by name, and trains a tiny net of it on the graph engine; the net's hidden spikes follow IF's
// equations, replayed here on the host from the net's weights and input spikes.
func TestRegisterOwnNeuron(t *testing.T) {
	r := snn.DefaultModels()
	if err := r.Register("if", func() snn.Neuron { return IF{VTh: 0.5, Alpha: 10} }); err != nil {
		t.Fatal(err)
	}
	model, err := r.New("if")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Kind":"if","VTh":0.5,"Alpha":10}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	if back, err := r.Unmarshal(b); err != nil || back != model {
		t.Fatalf("Unmarshal(%s) = %+v, %v", b, back, err)
	}

	cfg := snn.Tuned()
	cfg.Neuron = model
	cfg.Steps, cfg.Hidden, cfg.FMax, cfg.Batch, cfg.InitScale = 8, []int{10}, 500, 8, 2
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	const inputs, classes = 12, 3
	if _, err := snn.New(cfg, inputs, classes, 1); err == nil {
		t.Errorf("the kernels accepted a model they do not implement")
	}
	if _, err := snn.NewOn(be, snn.ImplKernels, cfg, inputs, classes, 1); err == nil {
		t.Errorf("ImplKernels accepted a model the kernels do not implement")
	}
	net, err := snn.NewOn(be, snn.ImplAuto, cfg, inputs, classes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.Impl() != snn.ImplGraph {
		t.Fatalf("a net of IF neurons runs on %s, want the graph engine", net.Impl())
	}
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, cfg.Batch*inputs)
	y := make([]int32, cfg.Batch)
	for k := range x {
		x[k] = float32(rng.Float64())
	}
	for k := range y {
		y[k] = int32(k % classes)
	}
	first, last := 0.0, 0.0
	for step := range 20 {
		loss, err := net.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(loss) {
			t.Fatalf("step %d: loss NaN", step)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < first) {
		t.Errorf("20 steps on one batch: loss %.4f -> %.4f, want it lower", first, last)
	}

	// Replay the hidden layer: c(t) = W0 x(t) + b0, v += c(t), a spike where v > VTh resets v to 0.
	raster, err := net.Raster(x[:inputs])
	if err != nil {
		t.Fatal(err)
	}
	state, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	w, bias := tensors.MustCopyFlatData[float32](state[0]), tensors.MustCopyFlatData[float32](state[1])
	in := make([][]int, cfg.Steps)
	for _, s := range raster.Spikes[0] {
		in[s[0]] = append(in[s[0]], s[1])
	}
	got := map[[2]int]bool{}
	for _, s := range raster.Spikes[1] {
		got[s] = true
	}
	units := cfg.Hidden[0]
	v := make([]float64, units)
	judged := 0
	for step := 0; step < cfg.Steps; step++ {
		for k := 0; k < units; k++ {
			c := float64(bias[k])
			for _, j := range in[step] {
				c += float64(w[k*inputs+j])
			}
			v[k] += c
			want := v[k] > 0.5
			if math.Abs(v[k]-0.5) > 1e-4 { // potentials at the threshold are not judged
				judged++
				if got[[2]int{step, k}] != want {
					t.Errorf("step %d unit %d: spike %v, IF's equations give %v (v = %g)", step, k, got[[2]int{step, k}], want, v[k])
				}
			}
			if want {
				v[k] = 0
			}
		}
	}
	t.Logf("loss %.4f -> %.4f, %d hidden spikes, %d judged", first, last, len(raster.Spikes[1]), judged)
	if len(raster.Spikes[1]) == 0 || judged < cfg.Steps*units/2 {
		t.Errorf("%d hidden spikes, %d (unit, step) pairs judged: the test needs a firing layer", len(raster.Spikes[1]), judged)
	}
}
