package snn

import (
	"fmt"
	"math"
)

// Validate implements Neuron: the inverse time constants must be finite and >= 0, the potentials
// finite, and the surrogate's sharpness >= 0.
func (p LIF) Validate() error {
	if err := validateDecay("LIF", p.TauSynInv, p.TauMemInv, p.VLeak); err != nil {
		return err
	}
	if !finite(p.VTh) || !finite(p.VReset) {
		return fmt.Errorf("LIF: threshold %g and reset potential %g must be finite", p.VTh, p.VReset)
	}
	if !(p.Alpha >= 0) || math.IsInf(p.Alpha, 0) {
		return fmt.Errorf("LIF: surrogate alpha %g, want >= 0", p.Alpha)
	}
	return nil
}

// Validate implements Neuron: the inverse time constants must be finite and >= 0, the leak potential
// finite.
func (p LI) Validate() error { return validateDecay("LI", p.TauSynInv, p.TauMemInv, p.VLeak) }

func validateDecay(model string, tauSynInv, tauMemInv, vLeak float64) error {
	if !(tauSynInv >= 0) || !(tauMemInv >= 0) || math.IsInf(tauSynInv, 0) || math.IsInf(tauMemInv, 0) {
		return fmt.Errorf("%s: inverse time constants %g (synaptic) and %g (membrane) must be finite and >= 0", model, tauSynInv, tauMemInv)
	}
	if !finite(vLeak) {
		return fmt.Errorf("%s: leak potential %g must be finite", model, vLeak)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// lifCoef are a LIF layer's constants in float32, the precision of the simulation: am = DT*TauMemInv and
// as = DT*TauSynInv are the fractions of the way the membrane and the synaptic current decay in a step.
type lifCoef struct {
	am, as, vleak, vth, vreset, alpha float32
}

func (p LIF) coef(dt float64) lifCoef {
	return lifCoef{
		am: float32(dt * p.TauMemInv), as: float32(dt * p.TauSynInv),
		vleak: float32(p.VLeak), vth: float32(p.VTh), vreset: float32(p.VReset), alpha: float32(p.Alpha),
	}
}

// liCoef are a leaky integrator's constants in float32 (see lifCoef).
type liCoef struct {
	am, as, vleak float32
}

func (p LI) coef(dt float64) liCoef {
	return liCoef{am: float32(dt * p.TauMemInv), as: float32(dt * p.TauSynInv), vleak: float32(p.VLeak)}
}

// Step advances one LIF neuron by one Euler step of dt seconds, as norse 0.0.6's lif_feed_forward_step:
//
//	v' = v + dt*TauMemInv*((VLeak - v) + i)      (membrane decays towards VLeak, driven by the current)
//	i' = i - dt*TauSynInv*i                      (synaptic current decays)
//	z  = H(v' - VTh)                             (spike; H(x) = 1 for x > 0, else 0)
//	vNew = (1 - z) v' + z VReset                 (reset)
//	iNew = i' + input                            (the input current jumps in)
//
// The input of a hidden layer at step t is W z_in(t) + b, its Linear layer applied to the spikes of the
// layer below at the same step; it first moves the membrane at the next step. Computed in float32.
func (p LIF) Step(dt float64, v, i, input float32) (z, vNew, iNew float32) {
	c := p.coef(dt)
	vd := c.decayV(v, i)
	if vd > c.vth {
		z, vNew = 1, c.vreset
	} else {
		vNew = vd
	}
	return z, vNew, c.decayI(i) + input
}

// Surrogate is the SuperSpike surrogate derivative (Zenke & Ganguli 2018, norse's "super" threshold)
// that replaces dH(x)/dx, zero almost everywhere, in the backward pass: 1/(Alpha |x| + 1)^2 at
// x = v' - VTh.
func (p LIF) Surrogate(x float32) float32 {
	return surrogate(float32(p.Alpha), x)
}

// Step advances one leaky integrator by one Euler step of dt seconds, as norse 0.0.6's
// li_feed_forward_step; its output is vNew:
//
//	vNew = v + dt*TauMemInv*((VLeak - v) + i)
//	iNew = i - dt*TauSynInv*i + input
func (p LI) Step(dt float64, v, i, input float32) (vNew, iNew float32) {
	c := p.coef(dt)
	return c.decayV(v, i), c.decayI(i) + input
}

func (c lifCoef) decayV(v, i float32) float32 { return v + c.am*((c.vleak-v)+i) }
func (c lifCoef) decayI(i float32) float32    { return i - c.as*i }
func (c liCoef) decayV(v, i float32) float32  { return v + c.am*((c.vleak-v)+i) }
func (c liCoef) decayI(i float32) float32     { return i - c.as*i }

func surrogate(alpha, x float32) float32 {
	d := alpha*float32(math.Abs(float64(x))) + 1
	return 1 / (d * d)
}
