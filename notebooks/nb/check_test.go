package nb

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/study"
	"github.com/bpdl/bpdl/bpdl/train"
)

func dense(rows, cols int, v ...float64) *mat.Dense { return mat.NewDense(rows, cols, v) }

func TestMatrixHelpers(t *testing.T) {
	x := dense(2, 3, 1, -2, 3, 0, 0.5, -1)
	w := dense(2, 3, 1, 0, 1, -1, 1, 0)
	b := dense(1, 2, 0.5, -0.5)
	for _, tc := range []struct {
		name      string
		got, want *mat.Dense
	}{
		{"Mul", Mul(x, w.T()), dense(2, 2, 4, -3, -1, 0.5)},
		{"Linear", Linear(x, w, b), dense(2, 2, 4.5, -3.5, -0.5, 0)},
		{"Add", Add(x, x), dense(2, 3, 2, -4, 6, 0, 1, -2)},
		{"Sub", Sub(x, x), dense(2, 3, 0, 0, 0, 0, 0, 0)},
		{"Scale", Scale(-2, b), dense(1, 2, -1, 1)},
		{"Hadamard", Hadamard(x, w), dense(2, 3, 1, 0, 3, 0, 0.5, 0)},
		{"ReLU", ReLU(x), dense(2, 3, 1, 0, 3, 0, 0.5, 0)},
		{"ReLUDerivative", ReLUDerivative(x), dense(2, 3, 1, 0, 1, 0, 1, 0)}, // 0 at 0, as PyTorch
		{"Clamp", Clamp(x, -1, 0.75), dense(2, 3, 0.75, -1, 0.75, 0, 0.5, -1)},
		{"OneHot", OneHot([]int{2, 0}, 3), dense(2, 3, 0, 0, 1, 1, 0, 0)},
		{"SumRows", SumRows(x), dense(1, 3, 1, -1.5, 2)},
		{"Columns", Columns(x, 2), dense(2, 2, 1, -2, 0, 0.5)},
		{"Apply", Apply(math.Abs, x), dense(2, 3, 1, 2, 3, 0, 0.5, 1)},
		{"Softmax", Softmax(dense(1, 2, 0, math.Log(3))), dense(1, 2, 0.25, 0.75)},
	} {
		if !mat.EqualApprox(tc.got, tc.want, 1e-12) {
			t.Errorf("%s = %v, want %v", tc.name, mat.Formatted(tc.got), mat.Formatted(tc.want))
		}
	}
	if got := CrossEntropy(dense(2, 4, 0, 0, 0, 0, 1, 2, 3, 4), []int{1, 3}); math.Abs(got-(math.Log(4)+math.Log(1+math.Exp(-1)+math.Exp(-2)+math.Exp(-3)))/2) > 1e-12 {
		t.Errorf("CrossEntropy = %v", got)
	}
	if got := MaxAbs(x); got != 3 {
		t.Errorf("MaxAbs = %v, want 3", got)
	}
	if got := MaxDiff(x, ReLU(x)); got != 2 {
		t.Errorf("MaxDiff = %v, want 2", got)
	}
	for _, tc := range []struct {
		a, b *mat.Dense
		want float64
	}{
		{dense(1, 2, 1, 0), dense(1, 2, 0, 3), 90},
		{dense(1, 2, 1, 1), dense(1, 2, 2, 2), 0},
		{dense(1, 2, 1, 1), dense(1, 2, -1, -1), 180},
		{dense(1, 2, 1, 0), dense(1, 2, 1, 1), 45},
		{dense(1, 2, 0, 0), dense(1, 2, 1, 1), 90},
	} {
		if got := Angle(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Angle(%v, %v) = %v, want %v", tc.a.RawMatrix().Data, tc.b.RawMatrix().Data, got, tc.want)
		}
	}
}

// handBackward computes the updates of BP (feedback nil) or FA (feedback[l-2] is B_l, signals clamped to
// ±clamp) by hand for a check's net, as notebooks 01 and 02 do.
func handBackward(c *Check, feedback []*mat.Dense, clamp float64) (gW, gb []*mat.Dense) {
	L, B := len(c.W), float64(len(c.Y))
	a, h := make([]*mat.Dense, L+1), make([]*mat.Dense, L+1)
	h[0] = c.X
	for l := 1; l <= L; l++ {
		a[l] = Linear(h[l-1], c.W[l-1], c.B[l-1])
		h[l] = a[l]
		if l < L {
			h[l] = ReLU(a[l])
		}
	}
	_, classes := a[L].Dims()
	gW, gb = make([]*mat.Dense, L), make([]*mat.Dense, L)
	delta := Scale(1/B, Sub(Softmax(a[L]), OneHot(c.Y, classes)))
	for l := L; l >= 1; l-- {
		gW[l-1], gb[l-1] = Mul(delta.T(), h[l-1]), SumRows(delta)
		if l > 1 {
			if feedback == nil {
				delta = Hadamard(Mul(delta, c.W[l-1]), ReLUDerivative(a[l-1]))
			} else {
				delta = Hadamard(Clamp(Mul(delta, feedback[l-2]), -clamp, clamp), ReLUDerivative(a[l-1]))
			}
		}
	}
	return gW, gb
}

func TestCheckAgainstLibrary(t *testing.T) {
	for _, rule := range []string{"bp", "fa"} {
		c, err := NewCheck(rule, []int{24, 12}, 4, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Spec.String(); got != "784-24-12-10" {
			t.Fatalf("%s: spec %s", rule, got)
		}
		var feedback []*mat.Dense
		if rule == "fa" {
			feedback = c.Aux
			if len(feedback) != 2 {
				t.Fatalf("fa: %d feedback matrices, want 2", len(feedback))
			}
		}
		gW, gb := handBackward(c, feedback, 0.5)
		lib, err := c.Library()
		if err != nil {
			t.Fatal(err)
		}
		for l := range gW {
			if d := MaxDiff(gW[l], lib.GW[l]) / MaxAbs(gW[l]); !(d < 1e-5) {
				t.Errorf("%s: W%d: hand and library differ by %.2g of the largest entry", rule, l+1, d)
			}
			if d := MaxDiff(gb[l], lib.GB[l]) / MaxAbs(gb[l]); !(d < 1e-5) {
				t.Errorf("%s: b%d: hand and library differ by %.2g of the largest entry", rule, l+1, d)
			}
			wantAngle := Angle(gW[l], lib.Gradient[l])
			if math.Abs(lib.Angles[l]-wantAngle) > 0.05 {
				t.Errorf("%s: W%d: library angle %.3f, by hand %.3f", rule, l+1, lib.Angles[l], wantAngle)
			}
		}
		if rule == "bp" {
			for l := range gW {
				if d := MaxDiff(gW[l], lib.Gradient[l]) / MaxAbs(gW[l]); !(d < 1e-5) {
					t.Errorf("bp: W%d: hand and autodiff differ by %.2g", l+1, d)
				}
			}
		} else if lib.Angles[0] < 10 {
			t.Errorf("fa: first layer's angle %.2f: random feedback should not follow the gradient", lib.Angles[0])
		}
		if h := CrossEntropy(Linear(ReLU(Linear(ReLU(Linear(c.X, c.W[0], c.B[0])), c.W[1], c.B[1])), c.W[2], c.B[2]), c.Y); math.Abs(h-lib.Loss) > 1e-5 {
			t.Errorf("%s: loss by hand %v, library %v", rule, h, lib.Loss)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	if _, err := NewCheck("no-such-rule", []int{8}, 4, 1); err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Errorf("unknown rule: err = %v", err)
	}
	if _, err := NewCheck("bp", []int{8}, 0, 1); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("batch 0: err = %v", err)
	}
	if _, err := NewCheck("bp", []int{0}, 4, 1); err == nil {
		t.Error("a hidden layer of width 0: no error")
	}
}

func TestProbeSteps(t *testing.T) {
	for _, tc := range []struct {
		every, batch, epochs, n int
		want                    string
	}{
		{400, 4, 2, 1000, "[100 200 300 400]"}, // 250 steps per epoch: 250 and 500 are epoch ends
		{100, 4, 1, 400, "[25 50 75]"},
		{1, 128, 1, 300, "[1 2]"}, // at least every step; step 3 ends the epoch
		{1000, 4, 1, 100, "[]"},
	} {
		if got := fmt.Sprint(probeSteps(tc.every, tc.batch, tc.epochs, tc.n)); got != tc.want {
			t.Errorf("probeSteps(%d, %d, %d, %d) = %s, want %s", tc.every, tc.batch, tc.epochs, tc.n, got, tc.want)
		}
	}
}

func TestTrainAndReport(t *testing.T) {
	d, err := MNIST(40, 20)
	if err != nil {
		t.Skipf("MNIST not in the module cache: %v", err)
	}
	if d.Train.N != 40 || d.Test.N != 20 || d.Head(8).Train.N != 8 {
		t.Fatalf("MNIST(40, 20): %d training, %d test images", d.Train.N, d.Test.N)
	}
	var log strings.Builder
	run, err := Train(&log, "bp", train.Overrides{Epochs: 1}, d, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(log.String(), "bp: net 784-1536-256-10, ") || !strings.Contains(log.String(), "mnist/bp epoch 1:") {
		t.Errorf("log:\n%s", log.String())
	}
	rep := run.Report()
	if !strings.Contains(rep, "final test accuracy: ") || !strings.Contains(rep, "(bp, first 40 MNIST training images, epochs 1, first 20 test images, seed 42)") ||
		!strings.Contains(rep, "\ntiming: ") {
		t.Errorf("report:\n%s", rep)
	}
	if _, err := MNIST(0, 10); err == nil {
		t.Error("MNIST(0, 10): no error")
	}
	if _, err := Train(&log, "no-such-rule", train.Overrides{}, d, 20); err == nil {
		t.Error("unknown rule: no error")
	}
}

func TestBrainData(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(study.BrainDataEnvVar, dir)
	if got, err := BrainData(); err != nil || got != dir {
		t.Errorf("with $%s: BrainData() = %q, %v", study.BrainDataEnvVar, got, err)
	}
	t.Setenv(study.BrainDataEnvVar, "")
	root, _ := Root()
	shared := filepath.Join(root, SharedData)
	got, err := BrainData()
	if _, statErr := os.Stat(shared); statErr == nil {
		if err != nil || got != filepath.Clean(shared) {
			t.Errorf("with %s present: BrainData() = %q, %v", shared, got, err)
		}
	} else if err == nil || got != "" || !strings.Contains(err.Error(), "reproduce benchmarks -fetch") {
		t.Errorf("without brain data: BrainData() = %q, %v", got, err)
	}
}

func TestWorkDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("GONB_TMP_DIR", base)
	d, err := WorkDir("study")
	if err != nil || d != filepath.Join(base, "study") {
		t.Fatalf("WorkDir = %q, %v", d, err)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Errorf("WorkDir did not create %s", d)
	}
}

func TestScores(t *testing.T) {
	n := math.NaN()
	s := Scores([]report.Score{
		{Benchmark: "rsa92.macaque-IT", Region: "IT", Layer: "fc1", Raw: 0.07123, Error: 0.05, Ceiling: n, CeiledRC2: n, CeiledR2C: n, Status: "ok"},
		{Benchmark: "cowley2023.V4-pls", Region: "V4", Layer: "fc2", Raw: 0.25, Error: 0.0044, Ceiling: 0.76, CeiledRC2: 0.108, CeiledR2C: 0.082, Status: "ok"},
		{Benchmark: "MajajHong2015public.IT-pls", Region: "IT", Raw: n, Error: n, Ceiling: n, CeiledRC2: n, CeiledR2C: n, Status: "data not present"},
	})
	for _, want := range []string{
		"rsa92.macaque-IT           IT       fc1      0.0712 ± 0.0500        -        -        -  ok\n",
		"cowley2023.V4-pls          V4       fc2      0.2500 ± 0.0044   0.7600   0.1080   0.0820  ok\n",
		"MajajHong2015public.IT-pls IT                              -        -        -        -  data not present\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Scores lacks %q:\n%s", want, s)
		}
	}
}
