package optim

import (
	"math"
	"testing"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
)

// TestHostEqualsGraph checks that Host.Step gives the parameters and state that Step in a graph gives,
// step after step: bit for bit without clipping, and within float32 rounding of the clipping factor
// (taken in float64 on the host) with it.
func TestHostEqualsGraph(t *testing.T) {
	sizes := []int{1000, 37, HostChunk + 77}
	for _, tc := range []struct {
		opt   Optimizer
		exact bool
	}{
		{SGD{LR: 0.1}, true},
		{SGD{LR: 0.05, Momentum: 0.9}, true},
		{Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, true},
		{Study(), false},
		{Adam{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, Clip: 3}, false},
	} {
		t.Run(tc.opt.String(), func(t *testing.T) {
			const steps = 3
			ps, gs := randomVectors(1, sizes), randomVectors(2, sizes)
			want, wantState := graphSteps(t, tc.opt, ps, gs, steps)
			h := NewHost(tc.opt, sizes)
			got := randomVectors(1, sizes)
			for s := 0; s < steps; s++ {
				h.Step(got, gs, 3)
			}
			var pshapes []shapes.Shape
			for _, n := range sizes {
				pshapes = append(pshapes, shapes.Make(tensors.FromFlatDataAndDimensions([]float32{0}).DType(), n))
			}
			gotState := h.Tensors(pshapes)
			if len(gotState) != len(wantState) {
				t.Fatalf("host state has %d tensors, graph %d", len(gotState), len(wantState))
			}
			tol := 0.0
			if !tc.exact {
				tol = 1e-6
			}
			compare := func(what string, g, w []float32) {
				t.Helper()
				for i := range w {
					if d := math.Abs(float64(g[i] - w[i])); d > tol*(1+math.Abs(float64(w[i]))) || math.IsNaN(d) {
						t.Fatalf("%s[%d] = %.9g on the host, %.9g in the graph", what, i, g[i], w[i])
					}
				}
			}
			for i := range want {
				compare("param", got[i], want[i])
			}
			for i := range wantState {
				compare("state", tensors.MustCopyFlatData[float32](gotState[i]), tensors.MustCopyFlatData[float32](wantState[i]))
			}
		})
	}
}

// TestHostWorkers checks that the number of workers changes nothing, and that SetTensors restores what
// Tensors saved.
func TestHostWorkers(t *testing.T) {
	sizes := []int{3*HostChunk + 5, 100}
	for _, o := range []Optimizer{Study(), Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}} {
		gs := randomVectors(2, sizes)
		var results [][][]float32
		for _, workers := range []int{1, 2, 5} {
			h := NewHost(o, sizes)
			ps := randomVectors(1, sizes)
			h.Step(ps, gs, workers)
			h.Step(ps, gs, workers)
			results = append(results, ps)
		}
		for w := 1; w < len(results); w++ {
			for i := range results[0] {
				for j := range results[0][i] {
					if results[w][i][j] != results[0][i][j] {
						t.Fatalf("%v: workers change param %d[%d]: %g vs %g", o, i, j, results[w][i][j], results[0][i][j])
					}
				}
			}
		}
		h := NewHost(o, sizes)
		ps := randomVectors(1, sizes)
		h.Step(ps, gs, 2)
		pshapes := []shapes.Shape{shapes.Make(tensors.FromScalar(float32(0)).DType(), sizes[0]), shapes.Make(tensors.FromScalar(float32(0)).DType(), sizes[1])}
		h2 := NewHost(o, sizes)
		if err := h2.SetTensors(h.Tensors(pshapes)); err != nil {
			t.Fatal(err)
		}
		ps2 := append([][]float32{}, append([]float32{}, ps[0]...), append([]float32{}, ps[1]...))
		h.Step(ps, gs, 2)
		h2.Step(ps2, gs, 2)
		for i := range ps {
			for j := range ps[i] {
				if ps[i][j] != ps2[i][j] {
					t.Fatalf("%v: restored state steps differently at %d[%d]", o, i, j)
				}
			}
		}
		if err := h2.SetTensors(h.Tensors(pshapes)[:1]); err == nil {
			t.Errorf("SetTensors accepted too few tensors")
		}
	}
}

// TestHostZeroGrads checks that ZeroGrads clears the gradients and that HostNorm is the float64 norm.
func TestHostZeroGrads(t *testing.T) {
	sizes := []int{HostChunk + 3}
	gs := randomVectors(2, sizes)
	var want float64
	for _, v := range gs[0] {
		want += float64(v) * float64(v)
	}
	if got := HostNorm(gs, 2); math.Abs(got-math.Sqrt(want)) > 1e-12*math.Sqrt(want) {
		t.Errorf("HostNorm = %g, want %g", got, math.Sqrt(want))
	}
	h := NewHost(Study(), sizes)
	h.ZeroGrads = true
	h.Step(randomVectors(1, sizes), gs, 2)
	for i, v := range gs[0] {
		if v != 0 {
			t.Fatalf("gradient %d = %g after a step with ZeroGrads", i, v)
		}
	}
}

// TestHostFactoredNorm checks HostFactoredNorm, given Gram matrices, against Norm of the same factored
// gradients in a graph.
func TestHostFactoredNorm(t *testing.T) {
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	batch, sizes := 6, []int{9, 7, 4}
	var args []any
	var dd, hh [][]float32
	for l := 0; l+1 < len(sizes); l++ {
		fs := randomVectors(uint64(10+l), []int{batch * sizes[l+1], batch * sizes[l]})
		d, h := fs[0], fs[1]
		args = append(args, tensors.FromFlatDataAndDimensions(d, batch, sizes[l+1]), tensors.FromFlatDataAndDimensions(h, batch, sizes[l]))
		gram := func(x []float32, n int) []float32 {
			g := make([]float32, batch*batch)
			for i := 0; i < batch; i++ {
				for j := 0; j < batch; j++ {
					var s float64
					for k := 0; k < n; k++ {
						s += float64(x[i*n+k]) * float64(x[j*n+k])
					}
					g[i*batch+j] = float32(s)
				}
			}
			return g
		}
		dd, hh = append(dd, gram(d, sizes[l+1])), append(hh, gram(h, sizes[l]))
	}
	exec, err := NewExec(be, func(in []*Node) *Node {
		var grads []Grad
		for l := 0; l < len(in); l += 2 {
			w, b := LayerGrads(in[l], in[l+1])
			grads = append(grads, w, b)
		}
		return Norm(grads)
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(outs[0].Value().(float32))
	if got := HostFactoredNorm(dd, hh); math.Abs(got-want) > 1e-5*want {
		t.Errorf("HostFactoredNorm = %.7g, Norm in a graph = %.7g", got, want)
	}
}
