package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
)

func TestFAWithTransportedWeightsIsBP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		batch int
	}{
		{"two-layer", []int{5, 7, 3}, 4},
		{"paper-shape-small", []int{48, 24, 16, 10}, 4},
		{"deep", []int{10, 9, 8, 7, 6, 5}, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			spec := nn.Spec{Sizes: tc.sizes}
			params := nn.InitPyTorch(spec, rng)
			x, y := randomBatch(rng, tc.batch, tc.sizes[0], tc.sizes[len(tc.sizes)-1])
			aux := params.W[1:] // B_l = W_l
			n := 2 * spec.Layers()
			outs := execute(t, withStep(spec, func(s *Step) []*Node {
				fa := updateNodes(FA{}.Updates(s))[:n]
				bp := updateNodes(BP{}.Updates(NewStep(spec, s.X, s.Labels, s.W, s.B, nil)))[:n]
				return append(fa, bp...)
			}), stepArgs(x, y, params, aux)...)
			for i := 0; i < n; i++ {
				if e := maxRelErr(flat32(outs[i]), flat32(outs[n+i])); e > 1e-6 {
					t.Errorf("parameter %d: FA with B = W and no clamp differs from BP: relative error %.3g > 1e-6", i, e)
				}
			}
		})
	}
}

// TestFAClampHandComputed checks the clamp's place (on delta B, before ReLU') against a float64 computation.
func TestFAClampHandComputed(t *testing.T) {
	for _, clamp := range []float64{0.5, 0.05, 0} {
		rng := rand.New(rand.NewPCG(5, 6))
		spec := nn.Spec{Sizes: []int{6, 5, 4, 3}}
		params := nn.InitPyTorch(spec, rng)
		fa := FA{Clamp: clamp, FeedbackSlope: 0}
		aux, err := fa.Setup(spec, rng)
		if err != nil {
			t.Fatal(err)
		}
		x, y := randomBatch(rng, 5, 6, 3)
		// Large inputs so that some of the signal exceeds the clamp.
		xs := flat32(x)
		for i := range xs {
			xs[i] *= 40
		}
		x = tensors.FromFlatDataAndDimensions(xs, 5, 6)
		outs := execute(t, withStep(spec, func(s *Step) []*Node { return updateNodes(fa.Updates(s)) }),
			stepArgs(x, y, params, aux)...)

		// By hand.
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
		delta := crossEntropyGrad(pre[layers-1], tensors.MustCopyFlatData[int32](y))
		clipped := 0
		for l := layers - 1; l >= 0; l-- {
			gw, gb := tMul(delta, h[l]), colSums(delta)
			if e := maxRelErr(flat32(outs[2*l]), gw.f32()); e > 1e-5 {
				t.Errorf("clamp %g: W%d: relative error %.3g > 1e-5", clamp, l, e)
			}
			if e := maxRelErr(flat32(outs[2*l+1]), gb.f32()); e > 1e-5 {
				t.Errorf("clamp %g: b%d: relative error %.3g > 1e-5", clamp, l, e)
			}
			if l == 0 {
				break
			}
			b := toMat(aux[l-1]) // [out_l, in_l]
			sig := newMat(delta.r, b.c)
			for i := 0; i < delta.r; i++ {
				for j := 0; j < b.c; j++ {
					var s float64
					for k := 0; k < delta.c; k++ {
						s += delta.at(i, k) * b.at(k, j)
					}
					if clamp > 0 && math.Abs(s) > clamp {
						s = math.Copysign(clamp, s)
						clipped++
					}
					if pre[l-1].at(i, j) <= 0 {
						s = 0
					}
					sig.set(i, j, s)
				}
			}
			delta = sig
		}
		if clamp == 0.05 && clipped == 0 {
			t.Errorf("clamp %g: the test case clipped nothing; make the inputs larger", clamp)
		}
	}
}

func TestFASetup(t *testing.T) {
	spec := nn.Spec{Sizes: []int{30, 20, 10, 4}}
	aux, err := NewFA().Setup(spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(aux) != spec.Layers()-1 {
		t.Fatalf("got %d feedback matrices, want %d (layers 2..L)", len(aux), spec.Layers()-1)
	}
	for i, b := range aux {
		out, in := spec.Sizes[i+2], spec.Sizes[i+1]
		if d := b.Shape().Dimensions; d[0] != out || d[1] != in {
			t.Errorf("B_%d has shape %v, want [%d %d]", i+2, d, out, in)
		}
		bound := math.Sqrt(6 / float64(in))
		var maxAbs float64
		for _, v := range flat32(b) {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		if maxAbs > bound || maxAbs < 0.8*bound {
			t.Errorf("B_%d: max |entry| %g, want in [0.8, 1] x kaiming bound %g", i+2, maxAbs, bound)
		}
	}
}
