package rules

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// execute compiles fn once, runs it on args and returns its outputs.
func execute(t testing.TB, fn func(in []*Node) []*Node, args ...any) []*tensors.Tensor {
	t.Helper()
	exec, err := NewExec(testBackend(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range args {
		// Each call has its own backend: bring tensors used by an earlier one back to the host.
		if tt, ok := a.(*tensors.Tensor); ok {
			if err := tt.ToLocal(); err != nil {
				t.Fatal(err)
			}
		}
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// stepArgs lays out a step's inputs as withStep expects them: x, y, W0, B0, W1, B1, ..., aux...
func stepArgs(x, y *tensors.Tensor, params *nn.Params, aux []*tensors.Tensor) []any {
	args := []any{x, y}
	for _, p := range params.Tensors() {
		args = append(args, p)
	}
	for _, a := range aux {
		args = append(args, a)
	}
	return args
}

// withStep wraps a function of a Step into a graph function of the inputs laid out by stepArgs.
func withStep(spec nn.Spec, fn func(s *Step) []*Node) func(in []*Node) []*Node {
	layers := spec.Layers()
	return func(in []*Node) []*Node {
		w, b := make([]*Node, layers), make([]*Node, layers)
		for l := 0; l < layers; l++ {
			w[l], b[l] = in[2+2*l], in[3+2*l]
		}
		return fn(NewStep(spec, in[0], in[1], w, b, in[2+2*layers:]))
	}
}

// updateNodes lists an update's outputs: GW, GB per layer, then the loss, then Aux.
func updateNodes(u *Update) []*Node {
	var out []*Node
	for l := range u.GW {
		out = append(out, u.GW[l], u.GB[l])
	}
	out = append(out, u.Loss)
	return append(out, u.Aux...)
}

func flat32(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

// mat is a row-major float64 matrix for hand computations.
type mat struct {
	r, c int
	v    []float64
}

func newMat(r, c int) mat { return mat{r, c, make([]float64, r*c)} }

func (m mat) at(i, j int) float64     { return m.v[i*m.c+j] }
func (m mat) set(i, j int, x float64) { m.v[i*m.c+j] = x }

// toMat reads a float32 tensor of rank 1 (as a row) or 2 as a mat.
func toMat(t *tensors.Tensor) mat {
	d := t.Shape().Dimensions
	v := flat32(t)
	m := mat{1, d[0], make([]float64, len(v))}
	if len(d) == 2 {
		m.r, m.c = d[0], d[1]
	}
	for i, x := range v {
		m.v[i] = float64(x)
	}
	return m
}

// mul returns a b^T for a [n, k] and b [m, k] (weights are stored [out, in]).
func mulT(a, b mat) mat {
	out := newMat(a.r, b.r)
	for i := 0; i < a.r; i++ {
		for j := 0; j < b.r; j++ {
			var s float64
			for k := 0; k < a.c; k++ {
				s += a.at(i, k) * b.at(j, k)
			}
			out.set(i, j, s)
		}
	}
	return out
}

// tMul returns a^T b for a [n, k] and b [n, m].
func tMul(a, b mat) mat {
	out := newMat(a.c, b.c)
	for i := 0; i < a.c; i++ {
		for j := 0; j < b.c; j++ {
			var s float64
			for k := 0; k < a.r; k++ {
				s += a.at(k, i) * b.at(k, j)
			}
			out.set(i, j, s)
		}
	}
	return out
}

// addRow returns m with the row vector b added to every row.
func addRow(m, b mat) mat {
	out := newMat(m.r, m.c)
	for i := 0; i < m.r; i++ {
		for j := 0; j < m.c; j++ {
			out.set(i, j, m.at(i, j)+b.v[j])
		}
	}
	return out
}

// colSums returns the sums of m's columns as a row.
func colSums(m mat) mat {
	out := newMat(1, m.c)
	for i := 0; i < m.r; i++ {
		for j := 0; j < m.c; j++ {
			out.v[j] += m.at(i, j)
		}
	}
	return out
}

// crossEntropyGrad returns (softmax(z) - onehot(y)) / B.
func crossEntropyGrad(z mat, y []int32) mat {
	out := newMat(z.r, z.c)
	for i := 0; i < z.r; i++ {
		mx := math.Inf(-1)
		for j := 0; j < z.c; j++ {
			mx = math.Max(mx, z.at(i, j))
		}
		var sum float64
		for j := 0; j < z.c; j++ {
			sum += math.Exp(z.at(i, j) - mx)
		}
		for j := 0; j < z.c; j++ {
			p := math.Exp(z.at(i, j)-mx) / sum
			if int32(j) == y[i] {
				p--
			}
			out.set(i, j, p/float64(z.r))
		}
	}
	return out
}

// f32 converts a mat's values to float32.
func (m mat) f32() []float32 {
	out := make([]float32, len(m.v))
	for i, x := range m.v {
		out[i] = float32(x)
	}
	return out
}

// tensorOf returns a float32 tensor [r, c] (or [c] when vector is set) of the given values.
func tensorOf(vector bool, r, c int, v ...float64) *tensors.Tensor {
	data := make([]float32, len(v))
	for i, x := range v {
		data[i] = float32(x)
	}
	if vector {
		return tensors.FromFlatDataAndDimensions(data, c)
	}
	return tensors.FromFlatDataAndDimensions(data, r, c)
}
