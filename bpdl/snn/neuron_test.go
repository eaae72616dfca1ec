package snn

import (
	"math"
	"testing"
)

// chargeCurve is the closed form of the membrane of a neuron at rest (v = i = 0, VLeak = 0) driven by a
// constant input current I from step 0, before any spike: with a = 1 - am and c = 1 - as,
//
//	i(t) = I (1 - c^(t+1)) / as                          (current after step t)
//	v'(t) = (I/as) (1 - a^t - am c (a^t - c^t)/(a - c))   (potential of step t, before reset)
func chargeCurve(am, as, input float64, t int) (v, i float64) {
	a, c := 1-am, 1-as
	ft := float64(t)
	i = input * (1 - math.Pow(c, ft+1)) / as
	v = input / as * (1 - math.Pow(a, ft) - am*c*(math.Pow(a, ft)-math.Pow(c, ft))/(a-c))
	return v, i
}

func TestLIFConstantCurrent(t *testing.T) {
	p := StudyLIF()
	const dt = 1e-3
	am, as := dt*p.TauMemInv, dt*p.TauSynInv
	for _, tc := range []struct {
		name  string
		input float64
	}{
		{"below threshold forever", 0.079}, // steady state I/as = 0.395 < 0.4
		{"just above", 0.0801},
		{"strong", 0.3},
		{"very strong", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The first step at which the closed form crosses the threshold.
			want := -1
			for s := 0; s < 1000; s++ {
				if v, _ := chargeCurve(am, as, tc.input, s); v > p.VTh {
					want = s
					break
				}
			}
			var v, i float32 = float32(p.VLeak), 0
			for s := 0; s < 1000; s++ {
				vd := p.coef(dt).decayV(v, i)
				cv, ci := chargeCurve(am, as, tc.input, s)
				z, vn, in := p.Step(dt, v, i, float32(tc.input))
				if s <= want || want < 0 {
					if math.Abs(float64(vd)-cv) > 1e-5*math.Max(1, math.Abs(cv)) {
						t.Fatalf("step %d: v' = %v, closed form %v", s, vd, cv)
					}
					if math.Abs(float64(in)-ci) > 1e-5*math.Max(1, math.Abs(ci)) {
						t.Fatalf("step %d: i = %v, closed form %v", s, in, ci)
					}
				}
				switch {
				case s == want:
					if z != 1 || vn != float32(p.VReset) {
						t.Fatalf("step %d: z = %v, v = %v; want a spike and the reset potential %v", s, z, vn, p.VReset)
					}
				case want < 0 || s < want:
					if z != 0 || vn != vd {
						t.Fatalf("step %d: z = %v, v = %v; want no spike and v = v' = %v", s, z, vn, vd)
					}
				}
				if s == want {
					break
				}
				v, i = vn, in
			}
			if tc.input < 0.08 && want >= 0 {
				t.Fatalf("closed form crosses at step %d below the threshold's steady state", want)
			}
		})
	}
}

func TestLIFThresholdAndReset(t *testing.T) {
	// Dyadic values, so that v' = VTh exactly in the first case.
	p := LIF{TauSynInv: 200, TauMemInv: 100, VLeak: 0.125, VTh: 0.5, VReset: -0.25, Alpha: 100}
	const dt = 1e-3
	for _, tc := range []struct {
		name         string
		v, i         float32
		wantVPre     float32 // v' = v + 0.1 ((0.125 - v) + i)
		wantZ, wantV float32 // spike and potential after the step
	}{
		// v' == VTh is not above the threshold: H(0) = 0 as norse's heaviside.
		{"at threshold", 0.5, 0.375, 0.5, 0, 0.5},
		{"above", 0.75, 0, 0.6875, 1, -0.25},
		{"below", 0.25, 0, 0.2375, 0, 0.2375},
		{"leak pulls up", -0.25, 0, -0.2125, 0, -0.2125},
		{"current pushes over", 0.45, 1, 0.5175, 1, -0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, v, i := p.Step(dt, tc.v, tc.i, 0.5)
			if vd := p.coef(dt).decayV(tc.v, tc.i); math.Abs(float64(vd-tc.wantVPre)) > 1e-6 {
				t.Errorf("v' = %v, want %v", vd, tc.wantVPre)
			}
			if z != tc.wantZ || math.Abs(float64(v-tc.wantV)) > 1e-6 {
				t.Errorf("z, v = %v, %v; want %v, %v", z, v, tc.wantZ, tc.wantV)
			}
			if wantI := tc.i - 0.2*tc.i + 0.5; math.Abs(float64(i-wantI)) > 1e-6 {
				t.Errorf("i = %v, want %v (decay by DT*TauSynInv = 0.2, plus the input)", i, wantI)
			}
		})
	}
}

func TestLIIntegrates(t *testing.T) {
	p := StudyLI()
	const dt = 1e-3
	am, as := dt*p.TauMemInv, dt*p.TauSynInv
	for _, input := range []float64{0.05, -0.3, 1} {
		var v, i float32
		for s := 0; s < 200; s++ {
			vn, in := p.Step(dt, v, i, float32(input))
			cv, ci := chargeCurve(am, as, input, s)
			if math.Abs(float64(vn)-cv) > 1e-5 || math.Abs(float64(in)-ci) > 1e-5 {
				t.Fatalf("input %v, step %d: v, i = %v, %v; closed form %v, %v", input, s, vn, in, cv, ci)
			}
			v, i = vn, in
		}
		// The readout settles at the steady state input/as and never resets.
		if want := input / as; math.Abs(float64(v)-want) > 1e-4*math.Abs(want) {
			t.Errorf("input %v: v after 200 steps = %v, steady state %v", input, v, want)
		}
	}
	// A unit pulse at step 0: the impulse response v(t) = am (a^t - c^t)/(a - c), a = 1 - am, c = 1 - as,
	// rises to about 0.27 at step 6 and decays back to the leak potential.
	var v, i float32
	for s := 0; s < 300; s++ {
		in := float32(0)
		if s == 0 {
			in = 1
		}
		v, i = p.Step(dt, v, i, in)
		a, c := 1-am, 1-as
		if want := am * (math.Pow(a, float64(s)) - math.Pow(c, float64(s))) / (a - c); math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("pulse, step %d: v = %v, impulse response %v", s, v, want)
		}
	}
}

func TestSurrogate(t *testing.T) {
	p := StudyLIF()
	for _, tc := range []struct {
		x, want float32
	}{
		{0, 1},
		{0.01, 0.25}, // 1/(100*0.01 + 1)^2
		{-0.01, 0.25},
		{0.1, 1.0 / 121},
		{-0.4, 1.0 / 1681}, // the study's silent neuron at rest: v' - v_th = -0.4
		{1, 1.0 / 10201},
	} {
		if got := p.Surrogate(tc.x); math.Abs(float64(got-tc.want)) > 1e-7*math.Max(1, float64(tc.want)) {
			t.Errorf("Surrogate(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}
