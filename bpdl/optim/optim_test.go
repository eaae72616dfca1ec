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

// run executes steps optimiser steps from params p with the same gradients g every step and returns the
// final parameters.
func run(t *testing.T, c Config, p, g []float32, steps int) []float32 {
	t.Helper()
	b, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	pt := tensors.FromFlatDataAndDimensions(append([]float32{}, p...), len(p))
	state := c.State([]shapes.Shape{pt.Shape()})
	exec, err := NewExec(b, func(in []*Node) []*Node {
		np, ns := c.Step(in[:1], in[1:2], in[2:])
		return append(np, ns...)
	})
	if err != nil {
		t.Fatal(err)
	}
	gt := tensors.FromFlatDataAndDimensions(g, len(g))
	for i := 0; i < steps; i++ {
		args := []any{pt, gt}
		for _, s := range state {
			args = append(args, s)
		}
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		pt, state = outs[0], outs[1:]
	}
	return tensors.MustCopyFlatData[float32](pt)
}

func TestSGDMomentumAndClipping(t *testing.T) {
	// Hand-computed with PyTorch's rules. g = (3, 4) has norm 5; clip 2 scales it by 2/(5+1e-6).
	// Momentum 0.9, lr 0.1: v1 = g', p1 = p0 - 0.1 g'; v2 = 1.9 g', p2 = p1 - 0.19 g' = p0 - 0.29 g'.
	s := 2 / (5 + 1e-6)
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps int
		want  []float64
	}{
		{"sgd-plain", Config{Kind: SGD, LR: 0.1}, 1, []float64{1 - 0.3, 2 - 0.4}},
		{"momentum-2-steps", Config{Kind: SGD, LR: 0.1, Momentum: 0.9}, 2, []float64{1 - 0.29*3, 2 - 0.29*4}},
		{"clip-1-step", Config{Kind: SGD, LR: 0.1, Momentum: 0.9, Clip: 2}, 1, []float64{1 - 0.1*3*s, 2 - 0.1*4*s}},
		{"clip-momentum-2-steps", Config{Kind: SGD, LR: 0.1, Momentum: 0.9, Clip: 2}, 2, []float64{1 - 0.29*3*s, 2 - 0.29*4*s}},
		{"clip-inactive", Config{Kind: SGD, LR: 0.1, Clip: 10}, 1, []float64{1 - 0.3, 2 - 0.4}},
		// Adam's first step moves every coordinate by lr (m/(1-b1) / sqrt(v/(1-b2)) = sign(g)) up to eps.
		{"adam-1-step", AdamDefaults(0.01), 1, []float64{1 - 0.01*3/(3+1e-8), 2 - 0.01*4/(4+1e-8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.cfg, []float32{1, 2}, []float32{3, 4}, tc.steps)
			for i := range got {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-6 {
					t.Errorf("param %d = %.8f, want %.8f", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAdamSecondStep(t *testing.T) {
	// Two Adam steps with gradient 2 then 2: m2 = 0.19*2... computed in float64 here.
	c := AdamDefaults(0.1)
	p := 1.0
	m, v := 0.0, 0.0
	for step := 1; step <= 2; step++ {
		g := 2.0
		m = c.Beta1*m + (1-c.Beta1)*g
		v = c.Beta2*v + (1-c.Beta2)*g*g
		mh := m / (1 - math.Pow(c.Beta1, float64(step)))
		vh := v / (1 - math.Pow(c.Beta2, float64(step)))
		p -= c.LR * mh / (math.Sqrt(vh) + c.Eps)
	}
	got := run(t, c, []float32{1}, []float32{2}, 2)
	if math.Abs(float64(got[0])-p) > 1e-6 {
		t.Errorf("after two Adam steps p = %.8f, want %.8f", got[0], p)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Kind: "rmsprop", LR: 1},
		{Kind: SGD, LR: 0},
		{Kind: SGD, LR: 1, Momentum: 1},
		{Kind: SGD, LR: 1, Clip: -1},
		{Kind: Adam, LR: 1, Beta1: 0.9, Beta2: 0.999},
	} {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) accepted a bad config", c)
		}
	}
	if err := Paper().Validate(); err != nil {
		t.Errorf("Paper() invalid: %v", err)
	}
}

// TestGlobalNorm compares GlobalNorm, whose large matrices take the matrix-vector path, with a float64
// sum of squares.
func TestGlobalNorm(t *testing.T) {
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		shapes [][]int
	}{
		{"vector", [][]int{{7}}},
		{"small-matrix", [][]int{{3, 5}}},
		{"large-matrix", [][]int{{300, 200}}},
		{"mixed", [][]int{{300, 200}, {300}, {10, 300}, {10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var args []any
			var want float64
			for _, dims := range tc.shapes {
				n := 1
				for _, d := range dims {
					n *= d
				}
				data := make([]float32, n)
				for i := range data {
					data[i] = float32(rng.NormFloat64())
					want += float64(data[i]) * float64(data[i])
				}
				args = append(args, tensors.FromFlatDataAndDimensions(data, dims...))
			}
			want = math.Sqrt(want)
			exec, err := NewExec(be, func(in []*Node) *Node { return GlobalNorm(in) })
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(outs[0].Value().(float32)); math.Abs(got-want) > 1e-5*want {
				t.Errorf("GlobalNorm = %.7g, want %.7g", got, want)
			}
		})
	}
}
