package train

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/rules"
)

// chunkRun is a toy run of rule (a "+clip" suffix: with a clipping norm of 1e-3, which bites every step)
// on the MLP's step graph (graph) or its CPU fast path, with stepsPerCall steps per call. The training set
// has 203 examples: with batches of 8, 25 whole mini-batches and a short one of 3. Probes after global
// steps 10 and 30 end chunks in the first and the second epoch.
func chunkRun(t *testing.T, rule string, graph bool, stepsPerCall int, resident bool) Run {
	t.Helper()
	o := Overrides{Epochs: 2, Batch: 8}
	if r, ok := strings.CutSuffix(rule, "+clip"); ok {
		rule, o.Clip, o.ClipSet = r, 1e-3, true
	}
	spec := nn.NewSpec(12, []int{16, 8}, 3)
	m, err := NewMLP(testBackend(t), mustRule(t, rule), Options{Spec: spec, Seed: 11, Override: o, GraphStep: graph, cpuStep: true})
	if err != nil {
		t.Fatal(err)
	}
	if !resident {
		m.maxResident = 0
	}
	return Run{Dataset: "toy", Learner: m, Seed: 11, Train: toySet(1, 203, 12, 3), Test: toySet(2, 50, 12, 3),
		ProbeSize: 16, ProbeSteps: []int{10, 30}, StepsPerCall: stepsPerCall}
}

// sameBits fails unless two runs' results (losses, probes, accuracies) and final states are the same bits.
func sameBits(t *testing.T, what string, want, got *Result, wantState, gotState [][]float32) {
	t.Helper()
	if len(got.History) != len(want.History) {
		t.Fatalf("%s: %d history points, want %d", what, len(got.History), len(want.History))
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
	}
	for i, p := range want.History {
		q := got.History[i]
		if p.Phase != q.Phase || p.Step != q.Step || p.Examples != q.Examples || !same(p.Epoch, q.Epoch) ||
			!same(p.TrainLoss, q.TrainLoss) || !same(p.TestAccuracy, q.TestAccuracy) || len(p.Metrics) != len(q.Metrics) {
			t.Fatalf("%s: history point %d is %+v, want %+v", what, i, q, p)
		}
		for j, m := range p.Metrics {
			if !same(m.Value, q.Metrics[j].Value) {
				t.Fatalf("%s: point %d (%s step %d) metric %d = %v, want %v", what, i, p.Phase, p.Step, j, q.Metrics[j].Value, m.Value)
			}
		}
	}
	if len(gotState) != len(wantState) {
		t.Fatalf("%s: %d state tensors, want %d", what, len(gotState), len(wantState))
	}
	for i := range wantState {
		for j := range wantState[i] {
			if math.Float32bits(gotState[i][j]) != math.Float32bits(wantState[i][j]) {
				t.Fatalf("%s: state tensor %d[%d] = %v, want %v", what, i, j, gotState[i][j], wantState[i][j])
			}
		}
	}
}

// TestChunkEqualsSteps checks that training in chunks (a GoMLX While loop of the step graph's math, the
// mini-batches gathered in the graph from the training set on the device) gives the same bits as one
// step graph per mini-batch, for every MLP rule: losses, probes (including those that end a chunk early),
// accuracies and the final weights, rule tensors (DTP's feedback mappings and random-number state) and
// optimiser state. DTP's run includes its feedback-only epoch (chunked too); clipping is checked with a
// norm that bites every step. Chunks of 7 do not divide the epoch's 25 whole mini-batches, and the epoch
// ends in a short one; chunks of 64 are longer than the epoch; the training set also goes a chunk at a
// time instead of staying resident; and the chunk unrolled (BenchmarkChunk's comparison) gives the same
// bits too.
func TestChunkEqualsSteps(t *testing.T) {
	for _, rule := range []string{"bp", "bp+clip", "fa", "dfa", "dtp", "dtp-tuned", "dtp-tuned+clip"} {
		t.Run(rule, func(t *testing.T) {
			one := chunkRun(t, rule, true, 1, true)
			want, err := Train(context.Background(), one)
			if err != nil {
				t.Fatal(err)
			}
			if n := one.Learner.(*MLP).chunk; n != nil {
				t.Fatal("one step per call ran the chunk graph")
			}
			wantState := stateValues(t, one.Learner)
			for _, tc := range []struct {
				k                  int
				resident, unrolled bool
			}{{7, true, false}, {64, true, false}, {7, false, false}, {7, true, true}} {
				r := chunkRun(t, rule, true, tc.k, tc.resident)
				m := r.Learner.(*MLP)
				m.unrolled = tc.unrolled
				got, err := Train(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				if m.chunk == nil {
					t.Fatalf("%d steps per call did not run the chunk graph", tc.k)
				}
				if m.data != nil {
					t.Error("the run did not release the training set it kept on the device")
				}
				sameBits(t, fmt.Sprintf("%d steps per call (resident %v, unrolled %v)", tc.k, tc.resident, tc.unrolled), want, got, wantState, stateValues(t, r.Learner))
			}
		})
	}
}

// TestChunkOnFastPath checks that on the CPU fast path a run with chunks takes the same steps as one
// without (StepChunk takes them one by one there).
func TestChunkOnFastPath(t *testing.T) {
	for _, rule := range []string{"bp", "dtp"} {
		one := chunkRun(t, rule, false, 1, true)
		want, err := Train(context.Background(), one)
		if err != nil {
			t.Fatal(err)
		}
		r := chunkRun(t, rule, false, 7, true)
		got, err := Train(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Learner.(*MLP).fast == nil || r.Learner.(*MLP).chunk != nil {
			t.Fatalf("%s: the run left the fast path", rule)
		}
		sameBits(t, rule+" on the fast path", want, got, stateValues(t, one.Learner), stateValues(t, r.Learner))
	}
}

// TestChunkDefaults checks the default chunk length on the go backend (1: the fast path takes each step)
// and that a negative one is refused.
func TestChunkDefaults(t *testing.T) {
	r := chunkRun(t, "bp", true, 0, true)
	if got := stepsPerCall(r.Learner, 0); got != 1 {
		t.Errorf("default steps per call on the go backend: %d, want 1", got)
	}
	r.StepsPerCall = -1
	if _, err := Train(context.Background(), r); err == nil || !strings.Contains(err.Error(), "steps per call") {
		t.Errorf("-1 steps per call: err = %v, want an error naming them", err)
	}
	if _, err := r.Learner.(Chunker).StepChunk(r.Train, []int{0, 1, 2}, 2, false); err == nil {
		t.Error("a chunk of 3 examples in mini-batches of 2 was accepted")
	}
	if _, err := r.Learner.(Chunker).StepChunk(r.Train, []int{0, 203}, 2, false); err == nil {
		t.Error("a chunk naming example 203 of 203 was accepted")
	}
}

// TestChunkNonFiniteLossStops checks that a loss that becomes NaN inside a chunk stops the run naming the
// same step as single steps do.
func TestChunkNonFiniteLossStops(t *testing.T) {
	var msgs []string
	for _, k := range []int{1, 7} {
		r := chunkRun(t, "bp", true, k, true)
		m := r.Learner.(*MLP)
		big, err := NewMLP(testBackend(t), mustRule(t, "bp"), Options{Spec: m.spec, Seed: 11, GraphStep: true,
			Override: Overrides{Epochs: 2, Batch: 8, LR: 1e30, Clip: 0, ClipSet: true}})
		if err != nil {
			t.Fatal(err)
		}
		r.Learner = big
		_, err = Train(context.Background(), r)
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("%d steps per call: err = %v, want ErrNonFinite", k, err)
		}
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] {
		t.Errorf("the error differs with chunks:\n%s\n%s", msgs[1], msgs[0])
	}
}

// TestChunkResume checks that a chunked run resumed from its checkpoint ends as an uninterrupted one with
// single steps, for DTP (pretraining epoch, random-number state).
func TestChunkResume(t *testing.T) {
	full := chunkRun(t, "dtp", true, 1, true)
	want, err := Train(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	part := chunkRun(t, "dtp", true, 7, true)
	part.Checkpoint, part.Fingerprint = ck, "fp"
	ctx, cancel := context.WithCancel(context.Background())
	// Stop the run in its second training epoch: after the probe at step 30.
	var progress bytes.Buffer
	part.Progress = &cancelAfter{w: &progress, after: "epoch 2/2", cancel: cancel}
	if _, err := Train(ctx, part); err == nil {
		t.Fatal("the cancelled run finished")
	}
	rest := chunkRun(t, "dtp", true, 7, true)
	rest.Checkpoint, rest.Fingerprint = ck, "fp"
	got, err := Train(context.Background(), rest)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Resumed {
		t.Fatal("the run did not resume")
	}
	sameBits(t, "resumed with chunks", want, got, stateValues(t, full.Learner), stateValues(t, rest.Learner))
}

// cancelAfter cancels a context once a progress line containing after is written.
type cancelAfter struct {
	w      *bytes.Buffer
	after  string
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.after) {
		c.cancel()
	}
	return c.w.Write(p)
}

// BenchmarkChunk measures training in chunks against single steps, on the study's CIFAR-10 and MNIST
// shapes with random data: every MLP rule at its batch of 4 (dtp-tuned at 128), with one step per call
// (K=1, the batch copied to the device each step, as Step does) and K steps per call, as a While loop
// ("K=100-while", what StepChunk runs) and unrolled ("K=100-unrolled", for comparison), the training set
// resident on the device. Each iteration is one call; it reports examples per second and the first call's
// seconds (compilation included). On the go backend it runs the step graph (Options.GraphStep), which is
// what chunks would replace there. $BPDL_BENCH_BACKEND chooses the backend, as for BenchmarkMLPStep;
// bench/chunk_gpu.sh runs it on a GPU:
//
//	BPDL_BENCH_BACKEND=xla:/path/to/xla_cuda_plugin.so go test ./bpdl/train -run '^$' -bench 'Chunk/cifar10/bp/batch=4/K=(1|100-while)$' -benchtime 3s
func BenchmarkChunk(b *testing.B) {
	be, err := backend.Open(cmp.Or(os.Getenv("BPDL_BENCH_BACKEND"), "go"))
	if err != nil {
		b.Fatal(err)
	}
	for _, sh := range []struct {
		name   string
		inputs int
	}{{"cifar10", 3072}, {"mnist", 784}} {
		spec := nn.NewSpec(sh.inputs, nn.StudyHidden, 10)
		for _, rule := range []string{"bp", "fa", "dfa", "dtp", "dtp-tuned"} {
			batch := 4
			if rule == "dtp-tuned" {
				batch = 128
			}
			for _, k := range []int{1, 10, DefaultStepsPerCall} {
				for _, unrolled := range []bool{false, true} {
					if k == 1 && unrolled {
						continue
					}
					name := fmt.Sprintf("%s/%s/batch=%d/K=%d", sh.name, rule, batch, k)
					if k > 1 {
						name += map[bool]string{false: "-while", true: "-unrolled"}[unrolled]
					}
					benchChunk(b, be, spec, name, rule, batch, k, unrolled)
				}
			}
		}
	}
}

// benchChunk is one sub-benchmark of BenchmarkChunk.
func benchChunk(b *testing.B, be compute.Backend, spec nn.Spec, name, rule string, batch, k int, unrolled bool) {
	b.Run(name, func(b *testing.B) {
		l, err := NewMLP(be, mustRuleB(b, rule), Options{Spec: spec, Seed: 1, GraphStep: true, Override: Overrides{Batch: batch}})
		if err != nil {
			b.Fatal(err)
		}
		l.unrolled = unrolled
		set := toySet(1, 1024, spec.Sizes[0], 10)
		// Eight orders of the examples, each long enough for a chunk, taken in turn.
		orders := make([][]int, 8)
		for i := range orders {
			for e := 0; len(orders[i]) < k*batch; e++ {
				orders[i] = append(orders[i], Order(uint64(i), e, set.N)...)
			}
			orders[i] = orders[i][:k*batch]
		}
		var call func(i int) error
		if k == 1 {
			call = func(i int) error {
				x, y := batchTensors(set, orders[i%8])
				_, err := l.Step(x, y)
				return err
			}
		} else {
			call = func(i int) error {
				_, err := l.StepChunk(set, orders[i%8], batch, false)
				return err
			}
		}
		start := time.Now()
		if err := call(0); err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := call(i + 1); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*k*batch)/b.Elapsed().Seconds(), "examples/s")
		b.ReportMetric(first.Seconds(), "first-call-s")
		l.ReleaseData()
	})
}

// mustRuleB is mustRule for benchmarks.
func mustRuleB(b *testing.B, name string) rules.Rule {
	b.Helper()
	r, err := rules.New(name)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// TestChunkProgressAndCalibrate checks that a chunked run reports its progress (the closing line of each
// epoch: examples and mean loss as with single steps) and that calibrating in chunks changes nothing.
func TestChunkProgressAndCalibrate(t *testing.T) {
	closing := func(k int) []string {
		r := chunkRun(t, "bp", true, k, true)
		var out bytes.Buffer
		r.Progress = &out
		if _, err := Train(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "100%") {
				// Without the speed.
				lines = append(lines, l[:strings.LastIndex(l, ",")])
			}
		}
		return lines
	}
	want, got := closing(1), closing(7)
	if len(want) != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("closing progress lines with chunks:\n%s\nwith single steps:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	r := chunkRun(t, "dtp-tuned", true, 0, true)
	before := stateValues(t, r.Learner)
	rate, err := CalibrateChunks(r.Learner, r.Train, time.Millisecond, 5)
	if err != nil || !(rate > 0) {
		t.Fatalf("CalibrateChunks: %v examples/s, %v", rate, err)
	}
	m := r.Learner.(*MLP)
	if m.chunk == nil || m.data != nil {
		t.Errorf("calibrating did not run the chunk graph (%v) or kept its data (%v)", m.chunk != nil, m.data != nil)
	}
	sameBits(t, "after calibrating", &Result{}, &Result{}, before, stateValues(t, r.Learner))
	if _, err := CalibrateChunks(r.Learner, r.Train, time.Millisecond, -1); err == nil {
		t.Error("-1 steps per call: no error")
	}
}

// TestChunkOnBackend trains BP and DTP (with its feedback-only epoch) on the study's CIFAR-10 net, 400
// random examples, one epoch at batch 4, with one step per call and with DefaultStepsPerCall, on the
// backend $BPDL_BENCH_BACKEND names (skipped when it is unset), and reports whether the two end in the
// same bits; it fails when they differ by more than 1e-3 of a tensor's largest value, or at all on the go
// backend. It is how to check what holds on XLA (bench/chunk_gpu.sh runs it on a GPU).
func TestChunkOnBackend(t *testing.T) {
	config := os.Getenv("BPDL_BENCH_BACKEND")
	if config == "" {
		t.Skip("BPDL_BENCH_BACKEND is not set")
	}
	be, err := backend.Open(config)
	if err != nil {
		t.Fatal(err)
	}
	spec := nn.NewSpec(3072, nn.StudyHidden, 10)
	set := toySet(3, 400, 3072, 10)
	for _, rule := range []string{"bp", "dtp"} {
		var states [][][]float32
		var results []*Result
		for _, k := range []int{1, DefaultStepsPerCall} {
			m, err := NewMLP(be, mustRule(t, rule), Options{Spec: spec, Seed: 5, GraphStep: true, Override: Overrides{Epochs: 1, Batch: 4}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Train(context.Background(), Run{Dataset: "random", Learner: m, Seed: 5, Train: set, Test: set, StepsPerCall: k})
			if err != nil {
				t.Fatal(err)
			}
			states, results = append(states, stateValues(t, m)), append(results, res)
		}
		var worst float64
		identical := true
		for i := range states[0] {
			var scale float64
			for _, v := range states[0][i] {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for j, v := range states[0][i] {
				w := states[1][i][j]
				identical = identical && math.Float32bits(v) == math.Float32bits(w)
				worst = math.Max(worst, math.Abs(float64(v-w))/(scale+1e-30))
			}
		}
		t.Logf("%s on %s: %d steps per call vs 1: identical bits %v, largest difference %.3g of a tensor's largest value; test accuracy %.4f vs %.4f",
			rule, be.Name(), DefaultStepsPerCall, identical, worst, results[1].TestAccuracy, results[0].TestAccuracy)
		if !(worst <= 1e-3) || (be.Name() == goBackendName && !identical) {
			t.Errorf("%s: chunks end %.3g away from single steps (identical bits: %v)", rule, worst, identical)
		}
	}
}
