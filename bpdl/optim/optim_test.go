package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
)

// graphSteps executes steps optimiser steps (Step, in a graph) from params ps with the same gradients gs
// every step, and returns the final parameters and state.
func graphSteps(t *testing.T, o Optimizer, ps, gs [][]float32, steps int) (params [][]float32, state []*tensors.Tensor) {
	t.Helper()
	b, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ps)
	var pts, gts []*tensors.Tensor
	var pshapes []shapes.Shape
	for i := range ps {
		pts = append(pts, tensors.FromFlatDataAndDimensions(append([]float32{}, ps[i]...), len(ps[i])))
		gts = append(gts, tensors.FromFlatDataAndDimensions(gs[i], len(gs[i])))
		pshapes = append(pshapes, pts[i].Shape())
	}
	state = o.State(pshapes)
	exec, err := NewExec(b, func(in []*Node) []*Node {
		np, ns := Step(o, in[:n], DenseGrads(in[n:2*n]), in[2*n:])
		return append(np, ns...)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < steps; i++ {
		var args []any
		for _, t := range append(append(append([]*tensors.Tensor{}, pts...), gts...), state...) {
			args = append(args, t)
		}
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		pts, state = outs[:n], outs[n:]
	}
	for _, p := range pts {
		params = append(params, tensors.MustCopyFlatData[float32](p))
	}
	return params, state
}

func TestSGDMomentumAndClipping(t *testing.T) {
	// Hand-computed with PyTorch's rules. g = (3, 4) has norm 5; clip 2 scales it by 2/(5+1e-6).
	// Momentum 0.9, lr 0.1: v1 = g', p1 = p0 - 0.1 g'; v2 = 1.9 g', p2 = p1 - 0.19 g' = p0 - 0.29 g'.
	s := 2 / (5 + 1e-6)
	for _, tc := range []struct {
		name  string
		opt   Optimizer
		steps int
		want  []float64
	}{
		{"sgd-plain", SGD{LR: 0.1}, 1, []float64{1 - 0.3, 2 - 0.4}},
		{"momentum-2-steps", SGD{LR: 0.1, Momentum: 0.9}, 2, []float64{1 - 0.29*3, 2 - 0.29*4}},
		{"clip-1-step", SGD{LR: 0.1, Momentum: 0.9, Clip: 2}, 1, []float64{1 - 0.1*3*s, 2 - 0.1*4*s}},
		{"clip-momentum-2-steps", SGD{LR: 0.1, Momentum: 0.9, Clip: 2}, 2, []float64{1 - 0.29*3*s, 2 - 0.29*4*s}},
		{"clip-inactive", SGD{LR: 0.1, Clip: 10}, 1, []float64{1 - 0.3, 2 - 0.4}},
		// Adam's first step moves every coordinate by lr (m/(1-b1) / sqrt(v/(1-b2)) = sign(g)) up to eps.
		{"adam-1-step", DefaultAdam(0.01), 1, []float64{1 - 0.01*3/(3+1e-8), 2 - 0.01*4/(4+1e-8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := graphSteps(t, tc.opt, [][]float32{{1, 2}}, [][]float32{{3, 4}}, tc.steps)
			for i := range got[0] {
				if math.Abs(float64(got[0][i])-tc.want[i]) > 1e-6 {
					t.Errorf("param %d = %.8f, want %.8f", i, got[0][i], tc.want[i])
				}
			}
		})
	}
}

func TestAdamSecondStep(t *testing.T) {
	// Two Adam steps with gradient 2 then 2, computed in float64 here.
	o := DefaultAdam(0.1)
	p := 1.0
	m, v := 0.0, 0.0
	for step := 1; step <= 2; step++ {
		g := 2.0
		m = o.Beta1*m + (1-o.Beta1)*g
		v = o.Beta2*v + (1-o.Beta2)*g*g
		mh := m / (1 - math.Pow(o.Beta1, float64(step)))
		vh := v / (1 - math.Pow(o.Beta2, float64(step)))
		p -= o.LR * mh / (math.Sqrt(vh) + o.Eps)
	}
	got, _ := graphSteps(t, o, [][]float32{{1}}, [][]float32{{2}}, 2)
	if math.Abs(float64(got[0][0])-p) > 1e-6 {
		t.Errorf("after two Adam steps p = %.8f, want %.8f", got[0][0], p)
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Optimizer{
		SGD{LR: 0},
		SGD{LR: math.Inf(1)},
		SGD{LR: 1, Momentum: 1},
		SGD{LR: 1, Momentum: math.NaN()},
		SGD{LR: 1, Clip: -1},
		Adam{LR: 1, Beta1: 0.9, Beta2: 0.999},
		Adam{LR: 1, Beta1: 1, Beta2: 0.999, Eps: 1e-8},
	} {
		if o.Validate() == nil {
			t.Errorf("Validate(%+v) accepted a bad optimiser", o)
		}
	}
	for _, o := range []Optimizer{Study(), DefaultAdam(1e-3)} {
		if err := o.Validate(); err != nil {
			t.Errorf("%v invalid: %v", o, err)
		}
	}
}

func randomVectors(seed uint64, sizes []int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	var out [][]float32
	for _, n := range sizes {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		out = append(out, v)
	}
	return out
}

// TestNorm compares Norm, on dense gradients (whose large matrices take the matrix-vector path) and on
// factored ones, with a float64 sum of squares of the formed gradients.
func TestNorm(t *testing.T) {
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(dims ...int) ([]float32, *tensors.Tensor) {
		n := 1
		for _, d := range dims {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return data, tensors.FromFlatDataAndDimensions(data, dims...)
	}
	t.Run("dense", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			shapes [][]int
		}{
			{"vector", [][]int{{7}}},
			{"small-matrix", [][]int{{3, 5}}},
			{"large-matrix", [][]int{{300, 200}}},
			{"mixed", [][]int{{300, 200}, {300}, {10, 300}, {10}}},
		} {
			var args []any
			var want float64
			for _, dims := range tc.shapes {
				data, tt := random(dims...)
				for _, v := range data {
					want += float64(v) * float64(v)
				}
				args = append(args, tt)
			}
			want = math.Sqrt(want)
			exec, err := NewExec(be, func(in []*Node) *Node { return Norm(DenseGrads(in)) })
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(outs[0].Value().(float32)); math.Abs(got-want) > 1e-5*want {
				t.Errorf("%s: Norm = %.7g, want %.7g", tc.name, got, want)
			}
		}
	})
	t.Run("factored", func(t *testing.T) {
		// Two layers given by their factors (batch 5), a lone dense gradient between them.
		batch, sizes := 5, []int{6, 4, 3}
		var args []any
		var want float64
		var ds, hs [][]float32
		for l := 0; l+1 < len(sizes); l++ {
			d, dt := random(batch, sizes[l+1])
			h, ht := random(batch, sizes[l])
			ds, hs = append(ds, d), append(hs, h)
			args = append(args, dt, ht)
			for o := 0; o < sizes[l+1]; o++ {
				var bsum float64
				for i := 0; i < sizes[l]; i++ {
					var w float64
					for b := 0; b < batch; b++ {
						w += float64(d[b*sizes[l+1]+o]) * float64(h[b*sizes[l]+i])
					}
					want += w * w
				}
				for b := 0; b < batch; b++ {
					bsum += float64(d[b*sizes[l+1]+o])
				}
				want += bsum * bsum
			}
		}
		dense, dt := random(9)
		for _, v := range dense {
			want += float64(v) * float64(v)
		}
		args = append(args, dt)
		want = math.Sqrt(want)
		exec, err := NewExec(be, func(in []*Node) *Node {
			w0, b0 := LayerGrads(in[0], in[1])
			w1, b1 := LayerGrads(in[2], in[3])
			return Norm([]Grad{w0, b0, {Dense: in[4]}, w1, b1})
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(outs[0].Value().(float32)); math.Abs(got-want) > 1e-5*want {
			t.Errorf("factored Norm = %.7g, want %.7g", got, want)
		}
	})
}

// TestFactoredStepEqualsDense checks that Step on factored layer gradients (clipping through D) gives the
// parameters that Step on the formed gradients gives, up to float32 rounding.
func TestFactoredStepEqualsDense(t *testing.T) {
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	batch, in, out := 4, 30, 20
	rng := rand.New(rand.NewPCG(5, 6))
	mk := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	w, b, d, h := mk(out, in), mk(out), mk(batch, out), mk(batch, in)
	for _, o := range []Optimizer{SGD{LR: 0.1, Momentum: 0.9, Clip: 0.5}, Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, Clip: 0.5}} {
		state := o.State([]shapes.Shape{w.Shape(), b.Shape()})
		run := func(factored bool) []float32 {
			exec, err := NewExec(be, func(x []*Node) []*Node {
				var grads []Grad
				if factored {
					gw, gb := LayerGrads(x[2], x[3])
					grads = []Grad{gw, gb}
				} else {
					grads = DenseGrads([]*Node{
						DotGeneral(x[2], []int{0}, nil, x[3], []int{0}, nil), ReduceSum(x[2], 0)})
				}
				np, _ := Step(o, x[:2], grads, x[4:])
				return np
			})
			if err != nil {
				t.Fatal(err)
			}
			args := []any{w, b, d, h}
			for _, s := range state {
				args = append(args, s)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			return append(tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])...)
		}
		f, dn := run(true), run(false)
		for i := range f {
			if math.Abs(float64(f[i]-dn[i])) > 1e-6 {
				t.Fatalf("%v: factored step gives %g at %d, dense %g", o, f[i], i, dn[i])
			}
		}
	}
}
