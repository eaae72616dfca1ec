package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// bits returns a tensor's values as raw bits, for bit-exact comparisons.
func bits(t *tensors.Tensor) []uint64 {
	switch t.DType() {
	case dtypes.Float32:
		v := flat32(t)
		out := make([]uint64, len(v))
		for i, x := range v {
			out[i] = uint64(math.Float32bits(x))
		}
		return out
	case dtypes.Uint64:
		return tensors.MustCopyFlatData[uint64](t)
	}
	panic("bits: unsupported dtype " + t.DType().String())
}

// initParams draws a net's forward parameters for rule r as package train does: with the rule's own
// InitParams when it has one (DTP), else PyTorch's default.
func initParams(r Rule, spec nn.Spec, rng *rand.Rand) *nn.Params {
	if in, ok := r.(interface {
		InitParams(nn.Spec, *rand.Rand) *nn.Params
	}); ok {
		return in.InitParams(spec, rng)
	}
	return nn.InitPyTorch(spec, rng)
}

// setupRule draws a rule's initial parameters and own tensors from a seed, as the training loop does.
func setupRule(t *testing.T, r Rule, spec nn.Spec, seed uint64) (*nn.Params, []*tensors.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	p := initParams(r, spec, rng)
	aux, err := r.Setup(spec, rng)
	if err != nil {
		t.Fatal(err)
	}
	return p, aux
}

// TestDeterminism: for every rule, two setups from the same seed and two executions of its step give
// bit-identical parameters, updates, losses and own tensors.
func TestDeterminism(t *testing.T) {
	spec := nn.Spec{Sizes: []int{64, 48, 32, 10}}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			r, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			var runs [2][]*tensors.Tensor
			for i := range runs {
				p, aux := setupRule(t, r, spec, 42)
				x, y := randomBatch(rand.New(rand.NewPCG(7, 7)), 8, 64, 10)
				outs := execute(t, withStep(spec, func(s *Step) []*Node { return updateNodes(r.Updates(s)) }),
					stepArgs(x, y, p, aux)...)
				runs[i] = append(append(p.Tensors(), aux...), outs...)
			}
			for k := range runs[0] {
				a, b := bits(runs[0][k]), bits(runs[1][k])
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("tensor %d differs between runs at %d: %x != %x", k, i, a[i], b[i])
					}
				}
			}
		})
	}
}
