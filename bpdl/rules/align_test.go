package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

func TestAngle(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float32
		want float64
	}{
		{"same", []float32{1, 2, 3}, []float32{1, 2, 3}, 0},
		{"scaled", []float32{1, 2, 3}, []float32{2, 4, 6}, 0},
		{"orthogonal", []float32{1, 0, 0}, []float32{0, 5, 0}, 90},
		{"diagonal", []float32{1, 0, 0}, []float32{1, 1, 0}, 45},
		{"opposite", []float32{1, -2, 0}, []float32{-1, 2, 0}, 180},
		{"zero", []float32{0, 0, 0}, []float32{1, 2, 3}, 90},
		{"tiny", []float32{1e-20, 0, 0}, []float32{1e-20, 1e-20, 0}, 45},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs := execute(t, func(in []*Node) []*Node { return []*Node{Angle(in[0], in[1])} },
				tensors.FromFlatDataAndDimensions(tc.a, len(tc.a)), tensors.FromFlatDataAndDimensions(tc.b, len(tc.b)))
			got := float64(outs[0].Value().(float32))
			if math.Abs(got-tc.want) > 1e-4 {
				t.Errorf("Angle(%v, %v) = %g degrees, want %g", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// TestAlignmentAngles: BP's update is at 0 degrees from the gradient, and so is FA's with B = W and no clamp;
// FA's with random feedback is not.
func TestAlignmentAngles(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	spec := nn.Spec{Sizes: []int{20, 16, 12, 10}}
	params := nn.InitPyTorch(spec, rng)
	x, y := randomBatch(rng, 8, 20, 10)
	randomB, err := NewFA().Setup(spec, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rule Rule
		aux  []*tensors.Tensor
		zero bool
	}{
		{"bp", BP{}, nil, true},
		{"fa-transported", FA{}, params.W[1:], true},
		{"fa-random", NewFA(), randomB, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs := execute(t, withStep(spec, func(s *Step) []*Node { return AlignmentAngles(tc.rule, s) }),
				stepArgs(x, y, params, tc.aux)...)
			if len(outs) != spec.Layers() {
				t.Fatalf("%d angles, want one per layer (%d)", len(outs), spec.Layers())
			}
			for l, o := range outs {
				a := float64(o.Value().(float32))
				switch {
				case tc.zero && a > 1e-3:
					t.Errorf("W%d: angle %g degrees, want 0", l+1, a)
				case !tc.zero && l < spec.Layers()-1 && a < 1:
					t.Errorf("W%d: angle %g degrees with random feedback, want clearly > 0", l+1, a)
				case !tc.zero && l == spec.Layers()-1 && a > 1e-3:
					t.Errorf("output layer: angle %g degrees, want 0 (FA's output layer gets the true gradient)", a)
				}
			}
		})
	}
}
