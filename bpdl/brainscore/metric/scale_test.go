package metric

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPredictivityScaleFree rescales the features, and separately the responses, by factors from
// 1e-300 to 1e300: PLS predictivity must not change (issue 17: features scaled by 1e100 scored 0.37
// instead of 0.87, by 1e150 or 1e-100 scored 0; responses scaled by 1e-30 scored 0).
func TestPredictivityScaleFree(t *testing.T) {
	x, y, labels := BenchData(300, 40, 12, 3)
	for i := range labels {
		labels[i] %= 8
	}
	splits, err := BrainScoreSplits(300, labels)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Predictivity(x, y, splits, BrainScorePLS())
	if err != nil {
		t.Fatal(err)
	}
	if !(want.Raw > 0.3) {
		t.Fatalf("raw %v: the planted structure should score", want.Raw)
	}
	for _, s := range []float64{1e-300, 1e-150, 1e-100, 1e-30, 3e-7, 1e30, 1e100, 1e150, 1e300} {
		for _, which := range []string{"features", "responses"} {
			xs, ys := mat.DenseCopyOf(x), mat.DenseCopyOf(y)
			if which == "features" {
				xs.Scale(s, x)
			} else {
				ys.Scale(s, y)
			}
			got, err := Predictivity(xs, ys, splits, BrainScorePLS())
			if err != nil {
				t.Fatalf("%s × %g: %v", which, s, err)
			}
			for k := range want.RawPerSplit {
				if math.Abs(got.RawPerSplit[k]-want.RawPerSplit[k]) > 1e-12 {
					t.Errorf("%s × %g: split %d raw %.15f, unscaled %.15f", which, s, k, got.RawPerSplit[k], want.RawPerSplit[k])
				}
			}
		}
	}
}

// TestPLSScaleEquivariant fits rescaled data directly: the X weights do not change, the coefficients
// scale by b/a and predictions of rescaled inputs by b.
func TestPLSScaleEquivariant(t *testing.T) {
	x, y, _ := BenchData(120, 15, 4, 9)
	xt, _, _ := BenchData(10, 15, 4, 10)
	base, err := PLS{Components: 6}.FitModel(x, y)
	if err != nil {
		t.Fatal(err)
	}
	basePred, err := base.Predict(xt)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ a, b float64 }{{1e-100, 1}, {1e150, 1}, {1, 1e-30}, {1e-200, 1e200}, {1e200, 1e-200}} {
		var xs, ys, xts mat.Dense
		xs.Scale(c.a, x)
		ys.Scale(c.b, y)
		xts.Scale(c.a, xt)
		m, err := PLS{Components: 6}.FitModel(&xs, &ys)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(m.XWeights, base.XWeights); d > 1e-9 {
			t.Errorf("a=%g b=%g: X weights differ by %.3g", c.a, c.b, d)
		}
		var coef mat.Dense
		coef.Scale(c.b/c.a, base.Coef)
		if d := maxRelDiff(m.Coef, &coef); d > 1e-9 && !math.IsInf(c.b/c.a, 0) && c.b/c.a != 0 {
			t.Errorf("a=%g b=%g: coefficients differ from b/a times the unscaled ones by %.3g", c.a, c.b, d)
		}
		pred, err := m.Predict(&xts)
		if err != nil {
			t.Fatal(err)
		}
		var want mat.Dense
		want.Scale(c.b, basePred)
		if d := maxRelDiff(pred, &want); d > 1e-9 {
			t.Errorf("a=%g b=%g: predictions differ from b times the unscaled ones by %.3g", c.a, c.b, d)
		}
	}
}

// TestConstantFeaturesAndResponses: constant features predict nothing and constant responses cannot be
// correlated, and both give the same answer, NaN (neuralfit reports it as null), whatever the
// constant; a constant feature among others changes nothing, and a constant response is predicted as
// its value.
func TestConstantFeaturesAndResponses(t *testing.T) {
	x, y, labels := BenchData(200, 10, 5, 4)
	for i := range labels {
		labels[i] %= 8
	}
	splits, err := BrainScoreSplits(200, labels)
	if err != nil {
		t.Fatal(err)
	}
	reg := PLS{Components: 5}
	constant := func(r, c int, v float64) *mat.Dense {
		m := mat.NewDense(r, c, nil)
		for i := range r {
			for j := range c {
				m.Set(i, j, v)
			}
		}
		return m
	}
	for _, v := range []float64{0, 0.1, 3, -7e5} {
		s, err := Predictivity(constant(200, 10, v), y, splits, reg)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(s.Raw) {
			t.Errorf("features all %g: raw %v, want NaN", v, s.Raw)
		}
		s, err = Predictivity(x, constant(200, 5, v), splits, reg)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(s.Raw) {
			t.Errorf("responses all %g: raw %v, want NaN", v, s.Raw)
		}
	}
	// A constant column among the features is ignored; a constant response is predicted as itself.
	withConst := mat.NewDense(200, 11, nil)
	yConst := mat.NewDense(200, 6, nil)
	for i := range 200 {
		withConst.SetRow(i, append(mat.Row(nil, i, x), 0.1))
		yConst.SetRow(i, append(mat.Row(nil, i, y), 0.3))
	}
	a, err := reg.FitModel(x, y)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.FitModel(withConst, yConst)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(b.Coef.Slice(0, 10, 0, 5), a.Coef); d > 1e-12 {
		t.Errorf("a constant feature changed the coefficients by %.3g", d)
	}
	if b.XMean[10] != 0.1 || b.YMean[5] != 0.3 {
		t.Errorf("means of the constant columns %v, %v; want their values 0.1, 0.3", b.XMean[10], b.YMean[5])
	}
	pred, err := b.Predict(withConst.Slice(0, 3, 0, 11))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if pred.At(i, 5) != 0.3 {
			t.Errorf("prediction of the constant response %v, want 0.3", pred.At(i, 5))
		}
	}
}

// TestPearsonScaleFree checks Pearson's r on data whose squares overflow or underflow.
func TestPearsonScaleFree(t *testing.T) {
	x := []float64{1, 2, 4, 3, 7, 5}
	y := []float64{2, 1, 5, 3, 8, 4}
	want := Pearson(x, y)
	for _, s := range []float64{1e-300, 1e-160, 1e160, 1e300} {
		xs, ys := make([]float64, len(x)), make([]float64, len(y))
		for i := range x {
			xs[i], ys[i] = s*x[i], y[i]/s
		}
		if got := Pearson(xs, ys); math.Abs(got-want) > 1e-14 {
			t.Errorf("scaled by %g and 1/%g: r %v, want %v", s, s, got, want)
		}
	}
	if r := Pearson([]float64{1e300, 1e300, 1e300}, []float64{1, 2, 3}); !math.IsNaN(r) {
		t.Errorf("constant vector: r %v, want NaN", r)
	}
}
