package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/nn"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randomBatch returns inputs [batch, in] in [-1, 1) and labels in [0, classes).
func randomBatch(rng *rand.Rand, batch, in, classes int) (*tensors.Tensor, *tensors.Tensor) {
	x := make([]float32, batch*in)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return tensors.FromFlatDataAndDimensions(x, batch, in), tensors.FromFlatDataAndDimensions(y, batch)
}

// ruleAndAutodiff executes rule.Updates and GoMLX's autodiff of the mean cross-entropy on the same batch
// and returns both sets of updates as flat float32 slices, W then b per layer.
func ruleAndAutodiff(t *testing.T, rule Rule, spec nn.Spec, params *nn.Params, aux []*tensors.Tensor,
	x, y *tensors.Tensor) (got, want [][]float32) {
	t.Helper()
	layers := spec.Layers()
	exec, err := NewExec(testBackend(t), func(in []*Node) []*Node {
		w, b := make([]*Node, layers), make([]*Node, layers)
		for l := 0; l < layers; l++ {
			w[l], b[l] = in[2+2*l], in[3+2*l]
		}
		s := NewStep(spec, in[0], in[1], w, b, in[2+2*layers:])
		u := rule.Updates(s)
		loss, _ := nn.CrossEntropy(s.Fwd.Logits, in[1])
		grads := Gradient(loss, append(append([]*Node{}, w...), b...)...)
		var out []*Node
		for l := 0; l < layers; l++ {
			out = append(out, u.GW[l], u.GB[l])
		}
		for l := 0; l < layers; l++ {
			out = append(out, grads[l], grads[layers+l])
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []any{x, y}
	for _, p := range params.Tensors() {
		args = append(args, p)
	}
	for _, a := range aux {
		args = append(args, a)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		v := tensors.MustCopyFlatData[float32](o)
		if i < 2*layers {
			got = append(got, v)
		} else {
			want = append(want, v)
		}
	}
	return got, want
}

// maxRelErr is max |a-b| / max(max |b|, tiny), the error relative to the largest reference entry.
func maxRelErr(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		num = math.Max(num, math.Abs(float64(a[i])-float64(b[i])))
		den = math.Max(den, math.Abs(float64(b[i])))
	}
	return num / math.Max(den, 1e-30)
}

func TestBPEqualsAutodiff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		batch int
	}{
		{"two-layer", []int{5, 7, 3}, 4},
		{"paper-shape-small", []int{48, 24, 16, 10}, 4},
		{"deep", []int{10, 9, 8, 7, 6, 5}, 16},
		{"batch-one", []int{12, 6, 4}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			spec := nn.Spec{Sizes: tc.sizes}
			params := nn.InitPyTorch(spec, rng)
			x, y := randomBatch(rng, tc.batch, tc.sizes[0], tc.sizes[len(tc.sizes)-1])
			got, want := ruleAndAutodiff(t, BP{}, spec, params, nil, x, y)
			for i := range got {
				if e := maxRelErr(got[i], want[i]); e > 1e-5 {
					t.Errorf("parameter %d: explicit BP differs from autodiff: relative error %.3g > 1e-5", i, e)
				}
			}
		})
	}
}

func TestNewUnknownRule(t *testing.T) {
	if _, err := New("nope"); err == nil {
		t.Fatal("New(\"nope\") gave no error")
	}
	for _, n := range Names() {
		r, err := New(n)
		if err != nil || r.Name() != n {
			t.Errorf("New(%q) = %v, %v", n, r, err)
		}
	}
}
