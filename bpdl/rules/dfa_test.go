package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// TestDFAHandComputed compares DFA's updates with a float64 computation of Nøkland's rule as LightOn's
// library applies it: the output error projected by F / sqrt(N), cut to each hidden layer's width, times
// ReLU' after the layer.
func TestDFAHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sizes     []int
		batch     int
		normalize bool
	}{
		{"two-layer", []int{5, 7, 3}, 4, true},
		{"two-layer-unnormalised", []int{5, 7, 3}, 4, false},
		{"narrowing-hidden", []int{6, 8, 5, 3}, 3, true},
		{"widening-hidden", []int{6, 4, 9, 2}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			spec := nn.Spec{Sizes: tc.sizes}
			params := nn.InitPyTorch(spec, rng)
			dfa := DFA{Normalize: tc.normalize, FeedbackBound: 1}
			aux, err := dfa.Setup(spec, rng)
			if err != nil {
				t.Fatal(err)
			}
			x, y := randomBatch(rng, tc.batch, tc.sizes[0], tc.sizes[len(tc.sizes)-1])
			outs := execute(t, withStep(spec, func(s *Step) []*Node { return updateNodes(dfa.Updates(s)) }),
				stepArgs(x, y, params, aux)...)

			layers := spec.Layers()
			h := []mat{toMat(x)}
			var pre []mat
			for l := 0; l < layers; l++ {
				a := addRow(mulT(h[l], toMat(params.W[l])), toMat(params.B[l]))
				pre = append(pre, a)
				out := newMat(a.r, a.c)
				for i := range a.v {
					out.v[i] = a.v[i]
					if l < layers-1 {
						out.v[i] = math.Max(a.v[i], 0)
					}
				}
				h = append(h, out)
			}
			e := crossEntropyGrad(pre[layers-1], tensors.MustCopyFlatData[int32](y))
			f := toMat(aux[0])
			if want := widest(spec); f.c != want || f.r != tc.sizes[len(tc.sizes)-1] {
				t.Fatalf("F is [%d %d], want [%d %d]", f.r, f.c, tc.sizes[len(tc.sizes)-1], want)
			}
			norm := 1.0
			if tc.normalize {
				norm = 1 / math.Sqrt(float64(f.c))
			}
			for l := 0; l < layers; l++ {
				delta := e
				if l < layers-1 {
					n := tc.sizes[l+1]
					delta = newMat(e.r, n)
					for i := 0; i < e.r; i++ {
						for j := 0; j < n; j++ {
							var s float64
							for k := 0; k < e.c; k++ {
								s += e.at(i, k) * f.at(k, j)
							}
							if pre[l].at(i, j) > 0 {
								delta.set(i, j, s*norm)
							}
						}
					}
				}
				gw, gb := tMul(delta, h[l]), colSums(delta)
				if err := maxRelErr(flat32(outs[2*l]), gw.f32()); err > 1e-5 {
					t.Errorf("W%d: relative error %.3g > 1e-5", l, err)
				}
				if err := maxRelErr(flat32(outs[2*l+1]), gb.f32()); err > 1e-5 {
					t.Errorf("b%d: relative error %.3g > 1e-5", l, err)
				}
			}
		})
	}
}

func TestDFASetupRange(t *testing.T) {
	aux, err := NewDFA().Setup(nn.Spec{Sizes: []int{20, 300, 50, 10}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range flat32(aux[0]) {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	if lo < -1 || hi >= 1 || lo > -0.95 || hi < 0.95 {
		t.Errorf("F spans [%g, %g], want about [-1, 1)", lo, hi)
	}
}
