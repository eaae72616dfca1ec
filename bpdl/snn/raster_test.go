package snn

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// rasterNet is tinyConfig over 20 steps with 12 inputs and 3 classes: every layer fires.
func rasterNet(t *testing.T, seed uint64) (*Net, []float32) {
	t.Helper()
	cfg := tinyConfig(DecodeMean, 100)
	cfg.Steps = 20
	n, err := New(cfg, 12, 3, seed)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := randomBatch(seed, 1, 12, 3)
	return n, x
}

// TestRasterReplaysLIF checks a raster against the LIF equations: the hidden spikes are replayed in float64
// from the raster's own input spikes and the net's weights, step by step, and must fire exactly where the
// replayed potential crosses the threshold (up to rounding: potentials within 1e-4 of it are not judged).
func TestRasterReplaysLIF(t *testing.T) {
	n, x := rasterNet(t, 7)
	r, err := n.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	cfg := n.Config()
	if r.Steps != cfg.Steps || !slices.Equal(r.Units, []int{12, 16, 8}) || len(r.Spikes) != 3 {
		t.Fatalf("raster of %d steps, units %v, %d layers; want %d steps, [12 16 8], 3 layers", r.Steps, r.Units, len(r.Spikes), cfg.Steps)
	}
	for l, s := range r.Spikes {
		if len(s) == 0 {
			t.Fatalf("layer %d is silent; the test net should fire everywhere", l)
		}
		if !slices.IsSortedFunc(s, func(a, b [2]int) int {
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return a[1] - b[1]
		}) {
			t.Errorf("layer %d: spikes not sorted by step then unit", l)
		}
		for _, sp := range s {
			if sp[0] < 0 || sp[0] >= r.Steps || sp[1] < 0 || sp[1] >= r.Units[l] {
				t.Fatalf("layer %d: spike %v out of range", l, sp)
			}
		}
	}
	for _, sp := range r.Spikes[0] {
		if x[sp[1]] <= 0 {
			t.Errorf("input unit %d fired at step %d with x = %v <= 0", sp[1], sp[0], x[sp[1]])
		}
	}

	if judged := replayRaster(t, n, r); judged < 400 {
		t.Errorf("only %d (unit, step) pairs judged, want most of %d", judged, 20*(16+8))
	}
}

// replayRaster replays the hidden layers of r in float64 from r's input spikes and n's weights, step by
// step, and reports every (unit, step) whose spike disagrees with the LIF equations; potentials within
// 1e-4 of the threshold are not judged. It returns the number judged.
func replayRaster(t *testing.T, n *Net, r *Raster) int {
	t.Helper()
	cfg := n.Config()
	state := mustState(t, n)
	nu := cfg.Neuron.(LIF)
	am, as := cfg.DT*nu.TauMemInv, cfg.DT*nu.TauSynInv
	in := r.Spikes[0]
	judged := 0
	for l := 1; l < len(r.Spikes); l++ {
		w := tensors.MustCopyFlatData[float32](state[2*(l-1)])   // [out, in]
		b := tensors.MustCopyFlatData[float32](state[2*(l-1)+1]) // [out]
		units, inputs := r.Units[l], r.Units[l-1]
		fired := map[[2]int]bool{}
		for _, sp := range r.Spikes[l] {
			fired[sp] = true
		}
		v, cur := make([]float64, units), make([]float64, units)
		for k := range v {
			v[k] = nu.VLeak
		}
		next := 0
		for step := 0; step < r.Steps; step++ {
			act := make([]float64, inputs)
			for ; next < len(in) && in[next][0] == step; next++ {
				act[in[next][1]] = 1
			}
			for k := 0; k < units; k++ {
				d := v[k] + am*((nu.VLeak-v[k])+cur[k])
				input := float64(b[k])
				for j, a := range act {
					input += float64(w[k*inputs+j]) * a
				}
				cur[k] = cur[k] - as*cur[k] + input
				spike := d > nu.VTh
				if math.Abs(d-nu.VTh) > 1e-4 {
					judged++
					if spike != fired[[2]int{step, k}] {
						t.Errorf("layer %d unit %d step %d: replayed potential %.6f against threshold %v, raster says fired=%v",
							l, k, step, d, nu.VTh, fired[[2]int{step, k}])
					}
				}
				if spike {
					v[k] = nu.VReset
				} else {
					v[k] = d
				}
			}
		}
		in, next = r.Spikes[l], 0
	}
	return judged
}

// TestRasterIsPure checks that a raster depends only on the seed, the weights and the example: the
// same twice, whatever was evaluated in between, and without changing what later evaluations draw.
func TestRasterIsPure(t *testing.T) {
	a, x := rasterNet(t, 3)
	b, _ := rasterNet(t, 3)
	batch, _ := randomBatch(11, 4, 12, 3)

	r1, err := a.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	la, err := a.Logits(batch, 4)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	for l := range r1.Spikes {
		if !slices.Equal(r1.Spikes[l], r2.Spikes[l]) {
			t.Errorf("layer %d: the second raster differs from the first", l)
		}
	}
	lb, err := b.Logits(batch, 4) // the twin never drew a raster
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(la, lb) {
		t.Errorf("drawing a raster changed what Logits draws: %v, want %v", la, lb)
	}
	other, _ := rasterNet(t, 4)
	r3, err := other.Raster(x)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(r1.Spikes[0], r3.Spikes[0]) {
		t.Error("nets of seeds 3 and 4 drew the same input spikes")
	}
}

func TestRasterBadInput(t *testing.T) {
	n, x := rasterNet(t, 1)
	for _, bad := range [][]float32{nil, x[:11], append(slices.Clone(x), 0)} {
		if _, err := n.Raster(bad); err == nil {
			t.Errorf("Raster of %d values: no error, want one (the net has 12 inputs)", len(bad))
		}
	}
}

// TestRasterOfStudyNetIsSilent: the study's net on a real MNIST test image, at initialisation: the
// input fires, no hidden unit does.
func TestRasterOfStudyNetIsSilent(t *testing.T) {
	ds, err := loadOffline("mnist")
	if err != nil {
		t.Skipf("MNIST is not on this machine: %v", err)
	}
	test := ds.Test.Head(1)
	n, err := New(Study(), test.Dim, test.Classes, 42)
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.Raster(test.X)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Spikes[0]) == 0 {
		t.Error("no input spikes: the encoder is broken")
	}
	for l, s := range r.Spikes[1:] {
		if s == nil || len(s) != 0 {
			t.Errorf("hidden layer %d: %d spikes (nil: %v), want an empty list", l+1, len(s), s == nil)
		}
	}
}
