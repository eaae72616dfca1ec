package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// trainSteps builds rule's MLP (the CPU fast path, or the step graph when graph is set), takes steps
// training steps on batches of the given size, and returns the losses and the final state.
func trainSteps(t *testing.T, rule string, spec nn.Spec, batch, steps int, graph bool) ([]float64, [][]float32) {
	t.Helper()
	var o Overrides
	if r, ok := strings.CutSuffix(rule, "+clip"); ok {
		// A clipping norm small enough that every step clips.
		rule, o = r, Overrides{Clip: 1e-3, ClipSet: true}
	}
	l, err := NewMLP(testBackend(t), mustRule(t, rule), Options{Spec: spec, Seed: 3, GraphStep: graph, Override: o, cpuStep: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := l; (m.fast != nil) == graph {
		t.Fatalf("%s: fast path %v with GraphStep %v", rule, m.fast != nil, graph)
	}
	if hostTailRules[rule] && !graph && l.fast.host == nil {
		t.Fatalf("%s: the fast path does not take the rule's math on the host", rule)
	}
	set := toySet(4, batch*steps, spec.Sizes[0], spec.Sizes[len(spec.Sizes)-1])
	var losses []float64
	for s := 0; s < steps; s++ {
		idx := make([]int, batch)
		for i := range idx {
			idx[i] = s*batch + i
		}
		x, y := batchTensors(set, idx)
		loss, err := l.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	if _, ok := l.rule.(rules.OwnTrainer); ok && !graph && l.fast.own == nil {
		t.Fatalf("%s: the fast path did not take the rule's own step", rule)
	}
	return losses, stateValues(t, l)
}

// TestCPUStepEqualsGraph checks that the CPU fast path (cpuStep) trains every rule as the step graph does:
// after several steps the losses, weights, rules' own tensors and optimiser state agree up to float32
// rounding of the products, which the two paths sum in different orders: within 1e-4 of each tensor's
// largest value (the differences measured are ~2e-7 with SGD, up to 3e-5 with Adam). DTP gets 1e-3: its
// first layer's error is the difference between an activation and its target, h - (g(t) - g(h) + h),
// which cancels to a few digits, so rounding differences in h come back much larger (measured up to
// 2.3e-4 on the first layer's biases, which start at zero). Batches of 4 and 5 take the kernels' dot-product path,
// 20 the register tiles; 3 layers exercise the first, middle and last layers' updates.
func TestCPUStepEqualsGraph(t *testing.T) {
	spec := nn.NewSpec(40, []int{24, 16}, 5)
	const steps = 6
	for _, rule := range []string{"bp", "bp+clip", "fa", "fa-clamp", "dfa", "dfa-raw", "dtp", "dtp-tuned", "dtp-tuned+clip"} {
		for _, batch := range []int{4, 5, 20} {
			t.Run(fmt.Sprintf("%s/batch=%d", rule, batch), func(t *testing.T) {
				lossF, fast := trainSteps(t, rule, spec, batch, steps, false)
				lossG, graph := trainSteps(t, rule, spec, batch, steps, true)
				if r, ok := strings.CutSuffix(rule, "+clip"); ok || testRules[rule] != nil {
					// The clipping (the clamp, the normalisation) must bite, or this case would
					// test nothing more.
					if !ok {
						r, _, _ = strings.Cut(rule, "-")
					}
					_, unclipped := trainSteps(t, r, spec, batch, steps, true)
					var change float64
					for i := range graph {
						for j := range graph[i] {
							change = math.Max(change, math.Abs(float64(graph[i][j]-unclipped[i][j])))
						}
					}
					if change == 0 {
						t.Fatalf("%s changes nothing against %s", rule, r)
					}
				}
				for s := range lossF {
					if math.Abs(lossF[s]-lossG[s]) > 1e-5*(1+math.Abs(lossG[s])) {
						t.Errorf("step %d: loss %.7g on the fast path, %.7g in the graph", s+1, lossF[s], lossG[s])
					}
				}
				if len(fast) != len(graph) {
					t.Fatalf("%d state tensors on the fast path, %d in the graph", len(fast), len(graph))
				}
				tol := 1e-4
				if rule == "dtp" {
					tol = 1e-3
				}
				var worst float64
				for i := range graph {
					var scale float64
					for _, v := range graph[i] {
						scale = math.Max(scale, math.Abs(float64(v)))
					}
					for j := range graph[i] {
						d := math.Abs(float64(fast[i][j]-graph[i][j])) / (scale + 1e-30)
						if !(d <= tol) {
							t.Fatalf("state tensor %d[%d] = %.8g on the fast path, %.8g in the graph (largest |value| %.3g)",
								i, j, fast[i][j], graph[i][j], scale)
						}
						worst = math.Max(worst, d)
					}
				}
				t.Logf("largest difference relative to the tensor's largest value: %.2g", worst)
			})
		}
	}
}

// hostTailRules are the rules (by their names in the tests) whose math the fast path takes on the host.
var hostTailRules = map[string]bool{"bp": true, "fa": true, "dfa": true, "fa-clamp": true, "dfa-raw": true, "dtp": true, "dtp-tuned": true}

// testRules are rule variants the fast path's tests use besides the registry's: FA with a clamp that
// binds, DFA without its normalisation.
var testRules = map[string]rules.Rule{
	"fa-clamp": rules.FA{Clamp: 2e-3},
	"dfa-raw":  rules.DFA{FeedbackBound: 1},
}

// mustRule returns the named rule (the registry's, or one of testRules).
func mustRule(t *testing.T, name string) rules.Rule {
	t.Helper()
	if r, ok := testRules[name]; ok {
		return r
	}
	r, err := rules.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCPUStepWorkers checks that the fast path's results do not depend on the number of threads: the same
// bits with GOMAXPROCS 1, 2 and 3, for BP (batches of 4 and 33) and DTP (the host tail splits its
// element-wise passes and the noise's draws between workers from 4096 values).
func TestCPUStepWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		rule  string
		spec  nn.Spec
		batch int
	}{
		{"bp", nn.NewSpec(70, []int{40, 9}, 4), 4},
		{"bp", nn.NewSpec(70, []int{40, 9}, 4), 33},
		{"dtp", nn.NewSpec(50, []int{200, 9}, 4), 64},
		{"dtp-tuned", nn.NewSpec(50, []int{200, 9}, 4), 64},
	} {
		var ref [][]float32
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			_, st := trainSteps(t, tc.rule, tc.spec, tc.batch, 3, false)
			if ref == nil {
				ref = st
				continue
			}
			for i := range ref {
				for j := range ref[i] {
					if math.Float32bits(st[i][j]) != math.Float32bits(ref[i][j]) {
						t.Fatalf("%s, batch %d: GOMAXPROCS %d changes state tensor %d[%d]: %g vs %g", tc.rule, tc.batch, procs, i, j, st[i][j], ref[i][j])
					}
				}
			}
		}
	}
}

// TestCPUStepCheckpoint checks that the fast path's state round-trips through State and SetState: a
// learner restored from another's state takes the same next step, even after the tensors State handed
// out were moved to the host.
func TestCPUStepCheckpoint(t *testing.T) {
	spec := nn.NewSpec(30, []int{20, 10}, 3)
	be := testBackend(t)
	for _, rule := range []string{"bp", "dtp-tuned"} {
		mk := func() Learner {
			l, err := NewMLP(be, mustRule(t, rule), Options{Spec: spec, Seed: 9, cpuStep: true})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		set := toySet(5, 16, 30, 3)
		x, y := batchTensors(set, []int{0, 1, 2, 3, 4, 5, 6, 7})
		a := mk()
		if _, err := a.Step(x, y); err != nil {
			t.Fatal(err)
		}
		saved, err := cloneState(a)
		if err != nil {
			t.Fatal(err)
		}
		b := mk()
		if err := b.SetState(saved); err != nil {
			t.Fatal(err)
		}
		x2, y2 := batchTensors(set, []int{8, 9, 10, 11, 12, 13, 14, 15})
		// Moving what State hands out to the host (as a checkpoint writer may) must not detach the
		// learner's shared tensors from its kernels.
		if st, err := b.State(); err == nil {
			for _, t := range st {
				_ = t.ToLocal()
			}
		}
		for _, l := range []Learner{a, b} {
			if _, err := l.Step(x2, y2); err != nil {
				t.Fatal(err)
			}
		}
		sa, sb := stateValues(t, a), stateValues(t, b)
		for i := range sa {
			for j := range sa[i] {
				if sa[i][j] != sb[i][j] {
					t.Fatalf("%s: restored learner differs at state %d[%d]", rule, i, j)
				}
			}
		}
	}
}

// TestCPUStepAfterPretraining checks that DTP's feedback-only pretraining steps (a graph, which replaces
// the feedback mappings) and the fast path's training steps (which train them on the host) follow each
// other as on the step graph's path.
func TestCPUStepAfterPretraining(t *testing.T) {
	spec := nn.NewSpec(30, []int{20, 10}, 3)
	be := testBackend(t)
	set := toySet(6, 40, 30, 3)
	run := func(graph bool) [][]float32 {
		l, err := NewMLP(be, mustRule(t, "dtp"), Options{Spec: spec, Seed: 2, GraphStep: graph, cpuStep: true})
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < 5; s++ {
			idx := []int{4 * s, 4*s + 1, 4*s + 2, 4*s + 3}
			x, y := batchTensors(set, idx)
			if s < 2 {
				_, err = l.PretrainStep(x, y)
			} else {
				_, err = l.Step(x, y)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return stateValues(t, l)
	}
	fast, graph := run(false), run(true)
	for i := range graph {
		var scale float64
		for _, v := range graph[i] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for j := range graph[i] {
			if d := math.Abs(float64(fast[i][j] - graph[i][j])); !(d <= 1e-3*scale) {
				t.Fatalf("state tensor %d[%d] = %g on the fast path, %g in the graph", i, j, fast[i][j], graph[i][j])
			}
		}
	}
}

// TestHostNormal checks that hostNormal draws GoMLX's RandomNormal on the go backend bit for bit (DTP's
// reconstruction noise on the host must be the graph's), and leaves the random-number state where the
// graph leaves it: draws in turn, of even and odd numbers of values, from a seeded state, the last split
// between three workers.
func TestHostNormal(t *testing.T) {
	be := testBackend(t)
	sizes := []int{4 * 1536, 3 * 85, 40001}
	exec, err := NewExec(be, func(in []*Node) []*Node {
		rng := in[0]
		var out []*Node
		for _, n := range sizes {
			var v *Node
			rng, v = RandomNormal(rng, shapes.Make(dtypes.Float32, n))
			out = append(out, v)
		}
		return append(out, rng)
	})
	if err != nil {
		t.Fatal(err)
	}
	seed := []uint64{0x9e3779b97f4a7c15, 0x243f6a8885a308d3, 7}
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(append([]uint64{}, seed...), 3))
	if err != nil {
		t.Fatal(err)
	}
	rng := [2]uint64{seed[0], seed[1]}
	for i, n := range sizes {
		got, u := make([]float32, n), make([]float32, n)
		hostNormal(got, u, &rng, 1+i%3) // workers split the draws: the values must not change
		want := tensors.MustCopyFlatData[float32](outs[i])
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("draw %d, value %d: %g on the host, %g in the graph", i, j, got[j], want[j])
			}
		}
	}
	state := tensors.MustCopyFlatData[uint64](outs[len(sizes)])
	if state[0] != rng[0] || state[1] != rng[1] {
		t.Fatalf("state after the draws: %x on the host, %x in the graph", rng, state[:2])
	}
}

// TestBoxMuller checks boxMuller's vector loop (boxMullerVec) against the portable one, bit for bit, on a
// million draws of the uniforms hostUniform gives and on edge values: zero, the smallest float32, values
// next to sqrt(2)/2 and 1 (log's reduction), and the octant boundaries of cos(2π u2).
func TestBoxMuller(t *testing.T) {
	n := 1 << 20
	u1, u2 := make([]float32, n), make([]float32, n)
	rng := hostUniform(u1, [2]uint64{3, 4}, 2)
	hostUniform(u2, rng, 2)
	edges := []float32{0, math.SmallestNonzeroFloat32, 1.0 / (1 << 32), 0.5, math.Nextafter32(1, 0), 0.25, 0.125, 0.375, 0.625, 0.875, 0.75}
	for _, v := range []float32{float32(math.Sqrt2 / 2), 0.5, 1} {
		edges = append(edges, math.Nextafter32(v, 0), v, math.Nextafter32(v, 2))
	}
	for i, e := range edges {
		for j := range edges {
			u1[16*i+j], u2[16*j+i] = min(e, math.Nextafter32(1, 0)), min(edges[j], math.Nextafter32(1, 0))
		}
	}
	got := make([]float32, n)
	if done := boxMullerVec(got, u1, u2); done == 0 {
		t.Skip("no vector loop on this machine or build")
	}
	const twoPi = float32(2 * math.Pi)
	for i := range got {
		a := max(u1[i], math.SmallestNonzeroFloat32)
		want := float32(math.Sqrt(float64(float32(math.Log(float64(a)))*-2))) * float32(math.Cos(float64(u2[i]*twoPi)))
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("u1 %g, u2 %g: %g from the vector loop, %g from math.Log and math.Cos", u1[i], u2[i], got[i], want)
		}
	}
}

// TestPCGJump checks pcg and pcgJump against math/rand/v2's PCG stepped draw by draw.
func TestPCGJump(t *testing.T) {
	s := [2]uint64{0x0123456789abcdef, 0xfedcba9876543210}
	p, own := rand.NewPCG(s[0], s[1]), pcg(s)
	for n := uint64(0); n <= 300; n++ {
		j := pcgJump(s, n)
		q := rand.NewPCG(j[0], j[1])
		a, b, c := p.Uint64(), q.Uint64(), own.uint64()
		if a != b || a != c {
			t.Fatalf("draw %d: rand.PCG %x, jumped there %x, pcg %x", n, a, b, c)
		}
	}
}
