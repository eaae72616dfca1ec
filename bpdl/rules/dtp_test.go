package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
	"github.com/bpdl/bpdl/bpdl/pack"
)

// inverse2 returns the inverse of a 2x2 matrix.
func inverse2(m mat) mat {
	det := m.at(0, 0)*m.at(1, 1) - m.at(0, 1)*m.at(1, 0)
	return mat{2, 2, []float64{m.at(1, 1) / det, -m.at(0, 1) / det, -m.at(1, 0) / det, m.at(0, 0) / det}}
}

// TestDTPTargetsThroughExactInverse sets each feedback mapping to the exact inverse of its layer (square,
// invertible layers, linear feedback, every pre-activation positive so that ReLU is the identity) and checks
// that the difference correction cancels: t_{i-1} = f_i^{-1}(t_i), computed by hand.
func TestDTPTargetsThroughExactInverse(t *testing.T) {
	spec := nn.Spec{Sizes: []int{2, 2, 2, 2}}
	w := []mat{
		{2, 2, []float64{1.0, 0.5, 0.3, 1.2}},
		{2, 2, []float64{2, 1, 1, 3}},
		{2, 2, []float64{1.5, -0.5, 0.4, 1.1}},
	}
	b := []mat{{1, 2, []float64{0.1, 0.2}}, {1, 2, []float64{0.5, -0.5}}, {1, 2, []float64{0, 0.3}}}
	x := mat{2, 2, []float64{1, 2, 0.5, 0.3}}
	labels := []int32{1, 0}
	params := &nn.Params{}
	for l := range w {
		params.W = append(params.W, tensorOf(false, 2, 2, w[l].v...))
		params.B = append(params.B, tensorOf(true, 1, 2, b[l].v...))
	}
	// Q_i = W_i^{-1}, d_i = -W_i^{-1} b_i, so that g_i(h) = W_i^{-1} (h - b_i) = f_i^{-1}(h).
	var fb []*tensors.Tensor
	for l := 1; l < 3; l++ {
		inv := inverse2(w[l])
		d := mulT(b[l], inv) // b inv^T, a row: (inv b)^T
		fb = append(fb, tensorOf(false, 2, 2, inv.v...), tensorOf(true, 1, 2, -d.v[0], -d.v[1]))
	}
	dtp := NewDTP()
	dtp.FeedbackActivation = ActLinear
	dtp.OutputReLU = false
	dtp.TargetStep = 0.3
	outs := execute(t, withStep(spec, func(s *Step) []*Node {
		targets, _ := dtp.Targets(s, []Mapping[*Node]{{Q: s.Aux[0], D: s.Aux[1]}, {Q: s.Aux[2], D: s.Aux[3]}})
		return targets
	}), stepArgs(tensorOf(false, 2, 2, x.v...), tensors.FromFlatDataAndDimensions(labels, 2), params, fb)...)

	// By hand: forward, output target, then the exact inverses.
	h := []mat{x}
	for l := 0; l < 3; l++ {
		a := addRow(mulT(h[l], w[l]), b[l])
		for _, v := range a.v {
			if l < 2 && v <= 0 {
				t.Fatalf("layer %d has a non-positive pre-activation %g; the case is meant to keep ReLU linear", l, v)
			}
		}
		h = append(h, a)
	}
	grad := crossEntropyGrad(h[3], labels)
	want := make([]mat, 3)
	want[2] = newMat(2, 2)
	for i := range want[2].v {
		want[2].v[i] = h[3].v[i] - dtp.TargetStep*grad.v[i]
	}
	for l := 2; l > 0; l-- {
		inv := inverse2(w[l])
		shifted := newMat(2, 2)
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				shifted.set(i, j, want[l].at(i, j)-b[l].v[j])
			}
		}
		want[l-1] = mulT(shifted, inv)
		for _, v := range want[l-1].v {
			if v <= 0 {
				t.Fatalf("target of layer %d has an entry %g <= 0, outside ReLU's invertible range", l-1, v)
			}
		}
	}
	for l := range want {
		if e := maxRelErr(flat32(outs[l]), want[l].f32()); e > 1e-5 {
			t.Errorf("target of layer %d: got %v, want %v (relative error %.3g)", l, flat32(outs[l]), want[l].v, e)
		}
	}
}

// dtpCase is a small net with DTP's initialisation, feedback weights and a random batch.
func dtpCase(t *testing.T, dtp DTP, sizes []int, batch int, seed uint64) (nn.Spec, *nn.Params, []*tensors.Tensor, *tensors.Tensor, *tensors.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	spec := nn.Spec{Sizes: sizes}
	params := dtp.InitParams(spec, rng)
	// Non-zero biases, so that the test exercises them.
	for l := range params.B {
		params.B[l] = nn.Uniform(rng, 0.1, sizes[l+1], 0)
	}
	aux, err := dtp.Setup(spec, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Non-zero feedback biases too: with zero ones, a dead output row gives pre-activations exactly 0,
	// where ReLU' is a convention (0 here and in PyTorch, not in GoMLX's autodiff).
	for l := 1; l < spec.Layers(); l++ {
		aux[2*l] = nn.Uniform(rng, 0.1, sizes[l], 0)
	}
	x, y := randomBatch(rng, batch, sizes[0], sizes[len(sizes)-1])
	return spec, params, aux, x, y
}

// TestDTPNoErrorNoUpdate: with a zero target step every target equals the layer's activation exactly, and
// every forward update is exactly zero.
func TestDTPNoErrorNoUpdate(t *testing.T) {
	for _, dtp := range []DTP{NewDTP(), NewDTPTuned()} {
		spec, params, aux, x, y := dtpCase(t, dtp, []int{12, 10, 8, 5}, 6, 1)
		dtp.TargetStep = 0
		layers := spec.Layers()
		outs := execute(t, withStep(spec, func(s *Step) []*Node {
			targets, _ := dtp.Targets(s, dtp.feedback(s).Mappings)
			out := append(targets, dtp.outputs(s)...)
			return append(out, updateNodes(dtp.Updates(s))[:2*layers]...)
		}), stepArgs(x, y, params, aux)...)
		for l := 0; l < layers; l++ {
			got, h := flat32(outs[l]), flat32(outs[layers+l])
			for i := range got {
				if got[i] != h[i] {
					t.Fatalf("%s: layer %d target[%d] = %g, want exactly h = %g", dtp.Name(), l, i, got[i], h[i])
				}
			}
		}
		for i, o := range outs[2*layers:] {
			for _, v := range flat32(o) {
				if v != 0 {
					t.Fatalf("%s: update %d has a non-zero entry %g", dtp.Name(), i, v)
				}
			}
		}
	}
}

// TestDTPForwardUpdatesAreLocalGradients checks the forward updates against autodiff of the local loss
// (1/B) sum_b ||h_i - t_i||^2 with the targets held fixed, and LossOf's gradient against autodiff of the
// net's loss.
func TestDTPForwardUpdatesAreLocalGradients(t *testing.T) {
	for _, dtp := range []DTP{NewDTP(), NewDTPTuned()} {
		spec, params, aux, x, y := dtpCase(t, dtp, []int{12, 10, 8, 5}, 6, 2)
		layers := spec.Layers()
		outs := execute(t, withStep(spec, func(s *Step) []*Node {
			targets, _ := dtp.Targets(s, dtp.feedback(s).Mappings)
			h := dtp.outputs(s)
			batch := float64(x.Shape().Dimensions[0])
			var out []*Node
			out = append(out, updateNodes(dtp.Updates(s))[:2*layers]...)
			for l := 0; l < layers; l++ {
				local := DivScalar(ReduceAllSum(Square(Sub(h[l], StopGradient(targets[l])))), batch)
				out = append(out, Gradient(local, s.W[l], s.B[l])...)
			}
			loss, dLogits := LossOf(dtp, s)
			out = append(out, dLogits, Gradient(loss, s.Fwd.Logits)[0])
			return out
		}), stepArgs(x, y, params, aux)...)
		for i := 0; i < 2*layers; i++ {
			if e := maxRelErr(flat32(outs[i]), flat32(outs[2*layers+i])); e > 1e-5 {
				t.Errorf("%s: parameter %d: update differs from the local loss's gradient: relative error %.3g", dtp.Name(), i, e)
			}
		}
		if e := maxRelErr(flat32(outs[4*layers]), flat32(outs[4*layers+1])); e > 1e-5 {
			t.Errorf("%s: LossOf's gradient differs from autodiff: relative error %.3g", dtp.Name(), e)
		}
	}
}

// TestDTPFeedbackGradients checks the explicit reconstruction-loss gradients against autodiff.
func TestDTPFeedbackGradients(t *testing.T) {
	for _, act := range []Activation{ActReLU, ActTanh, ActLinear} {
		for _, outReLU := range []bool{true, false} {
			dtp := NewDTP()
			dtp.FeedbackActivation, dtp.OutputReLU = act, outReLU
			spec, params, aux, x, y := dtpCase(t, dtp, []int{12, 10, 8, 5}, 6, 3)
			outs := execute(t, withStep(spec, func(s *Step) []*Node {
				aux := dtp.feedback(s)
				rng := aux.RNG
				var out []*Node
				for l := 1; l < spec.Layers(); l++ {
					var loss, dq, db *Node
					g := aux.Mappings[l-1]
					rng, loss, dq, db = dtp.reconstruct(s, l, rng, g)
					out = append(out, dq, db)
					out = append(out, Gradient(loss, g.Q, g.D)...)
				}
				return out
			}), stepArgs(x, y, params, aux)...)
			for i := 0; i < len(outs); i += 4 {
				for k := 0; k < 2; k++ {
					if e := maxRelErr(flat32(outs[i+k]), flat32(outs[i+2+k])); e > 1e-5 {
						t.Errorf("%s output-relu=%v: feedback layer %d param %d: relative error %.3g vs autodiff",
							act, outReLU, i/4+2, k, e)
					}
				}
			}
		}
	}
}

// TestDTPReconstructionLossDecreases trains only the feedback mappings on synthetic data and checks that
// their reconstruction losses fall.
func TestDTPReconstructionLossDecreases(t *testing.T) {
	for _, dtp := range []DTP{NewDTP(), NewDTPTuned()} {
		if _, ok := dtp.Feedback.(optim.SGD); ok {
			dtp.Feedback = dtp.Feedback.WithLearningRate(0.01) // the study's 1e-4 needs an epoch of CIFAR-10; a faster test
		}
		spec, params, aux, _, _ := dtpCase(t, dtp, []int{20, 16, 12, 10}, 8, 4)
		rng := rand.New(rand.NewPCG(10, 11))
		exec, err := NewExec(testBackend(t), withStep(spec, func(s *Step) []*Node {
			u := dtp.Pretrain(s)
			return append([]*Node{u.Loss}, u.Aux...)
		}))
		if err != nil {
			t.Fatal(err)
		}
		const steps, window = 300, 20
		var first, last float64
		for i := 0; i < steps; i++ {
			x, y := randomBatch(rng, 8, 20, 10)
			outs, err := exec.Exec(stepArgs(x, y, params, aux)...)
			if err != nil {
				t.Fatal(err)
			}
			loss := float64(outs[0].Value().(float32))
			if i < window {
				first += loss / window
			}
			if i >= steps-window {
				last += loss / window
			}
			aux = outs[1:]
		}
		if !(last < 0.7*first) {
			t.Errorf("%s: mean reconstruction loss went from %.4g (first %d steps) to %.4g (last %d), want a fall of 30%%",
				dtp.Name(), first, window, last, window)
		}
		t.Logf("%s: reconstruction loss %.4g -> %.4g", dtp.Name(), first, last)
	}
}

func TestDTPInitAndSetup(t *testing.T) {
	spec := nn.Spec{Sizes: []int{30, 20, 10, 4}}
	for _, dtp := range []DTP{NewDTP(), NewDTPTuned()} {
		rng := rand.New(rand.NewPCG(1, 1))
		p := dtp.InitParams(spec, rng)
		for l := range p.W {
			in, out := spec.Sizes[l], spec.Sizes[l+1]
			bound := math.Sqrt(6 / float64(in+out))
			var maxAbs, sumSq float64
			w := flat32(p.W[l])
			for _, v := range w {
				maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
				sumSq += float64(v) * float64(v)
			}
			std := math.Sqrt(sumSq / float64(len(w)))
			switch dtp.Init {
			case XavierUniform:
				if maxAbs > bound || maxAbs < 0.8*bound {
					t.Errorf("%s W%d: max |w| %g, want about the Xavier bound %g", dtp.Name(), l, maxAbs, bound)
				}
			case XavierNormal:
				if want := math.Sqrt(2 / float64(in+out)); math.Abs(std-want) > 0.2*want {
					t.Errorf("%s W%d: std %g, want about %g", dtp.Name(), l, std, want)
				}
			}
			for _, v := range flat32(p.B[l]) {
				if v != 0 {
					t.Fatalf("%s b%d: non-zero initial bias %g", dtp.Name(), l, v)
				}
			}
		}
		aux, err := dtp.Setup(spec, rng)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := 1 + 2*(spec.Layers()-1)
		if _, ok := dtp.Feedback.(optim.Adam); ok {
			wantLen += 2*2*(spec.Layers()-1) + 1
		}
		if len(aux) != wantLen {
			t.Fatalf("%s: %d aux tensors, want %d", dtp.Name(), len(aux), wantLen)
		}
		named := dtpAux[*tensors.Tensor]{Mappings: make([]Mapping[*tensors.Tensor], spec.Layers()-1),
			Opt: make([]*tensors.Tensor, wantLen-1-2*(spec.Layers()-1))}
		pack.MustUnflatten(&named, aux)
		for l := 1; l < spec.Layers(); l++ {
			q, d := named.Mappings[l-1].Q.Shape().Dimensions, named.Mappings[l-1].D.Shape().Dimensions
			if q[0] != spec.Sizes[l] || q[1] != spec.Sizes[l+1] || d[0] != spec.Sizes[l] {
				t.Errorf("%s: feedback of layer %d has Q %v and d %v, want [%d %d] and [%d]",
					dtp.Name(), l+1, q, d, spec.Sizes[l], spec.Sizes[l+1], spec.Sizes[l])
			}
		}
	}
}

// TestDTPUpdatesOwn checks UpdatesOwn against Updates: the same forward deltas and random-number state,
// bit for bit, the trained tensors left unchanged, and the feedback optimiser's step on its factored
// gradients (optim.Step) giving the feedback mappings that Updates gives.
func TestDTPUpdatesOwn(t *testing.T) {
	for _, dtp := range []DTP{NewDTP(), NewDTPTuned()} {
		spec, params, aux, x, y := dtpCase(t, dtp, []int{12, 10, 8, 5}, 6, 4)
		layers := spec.Layers()
		var own *OwnStep
		outs := execute(t, withStep(spec, func(s *Step) []*Node {
			u := dtp.Updates(s)
			uo, o := dtp.UpdatesOwn(s)
			own = o
			var params, state []*Node
			var grads []optim.Grad
			for _, l := range o.Layers {
				params = append(params, uo.Aux[l.W], uo.Aux[l.B])
				w, b := optim.LayerGrads(l.D, l.H)
				grads = append(grads, w, b)
			}
			for _, i := range o.State {
				state = append(state, uo.Aux[i])
			}
			stepped, _ := optim.Step(o.Optimizer, params, grads, state)
			out := append(append([]*Node{}, u.Deltas...), uo.Deltas...)
			out = append(append(out, u.Aux...), uo.Aux...)
			return append(out, stepped...)
		}), stepArgs(x, y, params, aux)...)
		na := len(aux)
		for l := 0; l < layers; l++ {
			if e := maxRelErr(flat32(outs[l]), flat32(outs[layers+l])); e != 0 {
				t.Errorf("%s: layer %d's deltas differ: %g", dtp.Name(), l, e)
			}
		}
		graph, deferred := outs[2*layers:2*layers+na], outs[2*layers+na:2*layers+2*na]
		a, b := bits(graph[0]), bits(deferred[0])
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: the random-number states differ at %d", dtp.Name(), i)
			}
		}
		trained := map[int]bool{}
		for _, i := range own.State {
			trained[i] = true
		}
		for k, l := range own.Layers {
			trained[l.W], trained[l.B] = true, true
			for j, pos := range []int{l.W, l.B} {
				if e := maxRelErr(flat32(deferred[pos]), flat32(aux[pos])); e != 0 {
					t.Errorf("%s: UpdatesOwn changed trained tensor %d", dtp.Name(), pos)
				}
				stepped := outs[2*layers+2*na+2*k+j]
				if e := maxRelErr(flat32(stepped), flat32(graph[pos])); e > 1e-5 {
					t.Errorf("%s: feedback tensor %d: the deferred step differs from Updates' by %.3g", dtp.Name(), pos, e)
				}
			}
		}
		if len(trained) != na-1 {
			t.Errorf("%s: OwnStep names %d of the %d rule tensors after the random-number state", dtp.Name(), len(trained), na-1)
		}
	}
}
