package snn

import (
	"fmt"
	"math"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// LIF holds the parameters of norse's feed-forward leaky integrate-and-fire neuron (norse 0.0.6
// LIFParameters), in norse's units: inverse time constants in 1/s for a time step in seconds.
type LIF struct {
	TauSynInv float64 // inverse synaptic time constant 1/tau_syn
	TauMemInv float64 // inverse membrane time constant 1/tau_mem
	VLeak     float64 // leak potential, also the initial membrane potential
	VTh       float64 // firing threshold
	VReset    float64 // potential after a spike
	// Alpha is the sharpness of the SuperSpike surrogate gradient, dz/dv = 1/(Alpha |v - VTh| + 1)^2.
	Alpha float64
}

// StudyLIF returns the neuron the study used: norse's defaults (tau_syn_inv 200, tau_mem_inv 100,
// v_leak 0, v_reset 0, SuperSpike with alpha 100) with the threshold lowered from 1 to 0.4.
func StudyLIF() LIF {
	return LIF{TauSynInv: 200, TauMemInv: 100, VLeak: 0, VTh: 0.4, VReset: 0, Alpha: 100}
}

// LI holds the parameters of norse's leaky integrator (norse 0.0.6 LIParameters), the non-spiking
// readout.
type LI struct {
	TauSynInv float64 // inverse synaptic time constant 1/tau_syn
	TauMemInv float64 // inverse membrane time constant 1/tau_mem
	VLeak     float64 // leak potential, also the initial membrane potential
}

// StudyLI returns norse's default leaky integrator, which the study used: tau_syn_inv 200, tau_mem_inv
// 100, v_leak 0.
func StudyLI() LI { return LI{TauSynInv: 200, TauMemInv: 100, VLeak: 0} }

// Decode says how the readout voltages of the T time steps become logits.
type Decode string

// The decoders.
const (
	// DecodeMax takes the largest voltage over time, logit_k = max_t v_k(t), as the study did.
	DecodeMax Decode = "max"
	// DecodeMean takes the mean voltage over time, logit_k = (1/T) sum_t v_k(t).
	DecodeMean Decode = "mean"
)

// Config is a spiking net and its training settings. Study returns the study's values; every field is
// an option.
type Config struct {
	// Steps is the number of simulated time steps T per example.
	Steps int
	// DT is the time step in seconds (the study's 1e-3: 1 ms), the unit of norse's inverse time constants.
	DT float64
	// FMax is the firing rate in Hz of an input unit whose normalised pixel is 1: unit j fires at a step
	// when u < FMax*DT*x_j, u ~ U[0, 1).
	FMax float64
	// Hidden are the widths of the spiking hidden layers.
	Hidden []int
	// Neuron is the hidden layers' neuron model, Readout the output layer's: the study's are LIF and LI,
	// the models the event-driven kernels implement; any other model (see Models) runs on the graph
	// engine.
	Neuron  Neuron
	Readout Neuron
	// Decode turns readout voltages into logits.
	Decode Decode
	// InitScale multiplies the initial weights and biases, drawn as torch.nn.Linear's default
	// (nn.InitPyTorch); 1 keeps them.
	InitScale float64
	// Optimizer, Batch and Epochs are the training settings; the optimiser clips the gradients itself.
	Optimizer optim.Optimizer
	Batch     int
	Epochs    int
	// Workers is the number of goroutines a step uses; 0 means runtime.GOMAXPROCS(0). Results do not
	// depend on it.
	Workers int
}

// Study returns the study's spiking net: Poisson input at up to 20 Hz over 100 steps of 1 ms, two LIF
// layers of 1536 and 256 neurons (StudyLIF), a leaky-integrator readout (StudyLI) decoded by its maximum
// over time, PyTorch's default initialisation, and the study's SGD (optim.Study: lr 1e-3, momentum 0.9,
// clipping at 2.0) with batches of 4 for 25 epochs.
//
// With these settings the net is silent: no hidden neuron ever reaches the threshold, the output is the
// same for every input and the net does not learn (see the package documentation).
func Study() Config {
	return Config{
		Steps:     100,
		DT:        1e-3,
		FMax:      20,
		Hidden:    append([]int(nil), nn.StudyHidden...),
		Neuron:    StudyLIF(),
		Readout:   StudyLI(),
		Decode:    DecodeMax,
		InitScale: 1,
		Optimizer: optim.Study(),
		Batch:     4,
		Epochs:    25,
	}
}

// Validate checks a configuration.
func (c Config) Validate() error {
	if c.Steps <= 0 {
		return fmt.Errorf("snn: %d time steps, want > 0", c.Steps)
	}
	if !(c.DT > 0) || math.IsInf(c.DT, 0) {
		return fmt.Errorf("snn: time step %g, want > 0", c.DT)
	}
	if c.FMax < 0 || math.IsNaN(c.FMax) || math.IsInf(c.FMax, 0) {
		return fmt.Errorf("snn: input rate %g Hz, want >= 0", c.FMax)
	}
	if len(c.Hidden) == 0 {
		return fmt.Errorf("snn: no hidden layer")
	}
	for _, h := range c.Hidden {
		if h <= 0 {
			return fmt.Errorf("snn: hidden widths %v, want > 0", c.Hidden)
		}
	}
	if c.Neuron == nil || c.Readout == nil {
		return fmt.Errorf("snn: no neuron model (hidden %v, readout %v)", c.Neuron, c.Readout)
	}
	if err := c.Neuron.Validate(); err != nil {
		return fmt.Errorf("snn: hidden layers: %w", err)
	}
	if err := c.Readout.Validate(); err != nil {
		return fmt.Errorf("snn: readout: %w", err)
	}
	switch c.Decode {
	case DecodeMax, DecodeMean:
	default:
		return fmt.Errorf("snn: unknown decoder %q (want %q or %q)", c.Decode, DecodeMax, DecodeMean)
	}
	if !(c.InitScale > 0) || math.IsInf(c.InitScale, 0) {
		return fmt.Errorf("snn: initial weight scale %g, want > 0", c.InitScale)
	}
	if c.Batch <= 0 || c.Epochs < 0 {
		return fmt.Errorf("snn: batch %d and epochs %d, want > 0 and >= 0", c.Batch, c.Epochs)
	}
	if c.Workers < 0 {
		return fmt.Errorf("snn: %d workers, want >= 0", c.Workers)
	}
	if c.Optimizer == nil {
		return fmt.Errorf("snn: no optimiser")
	}
	return c.Optimizer.Validate()
}

// kernelModels returns cfg's neuron models as the LIF and LI that the event-driven kernels implement,
// and whether they are those.
func (c Config) kernelModels() (LIF, LI, bool) {
	lif, ok := c.Neuron.(LIF)
	li, ok2 := c.Readout.(LI)
	return lif, li, ok && ok2
}

// Tuned returns the study's net with three changes that make it learn; the neuron, the surrogate, the
// architecture, the initialisation and the 100 steps of 1 ms are the study's:
//
//   - FMax 300 Hz instead of 20: the inputs carry 15 times more spikes, enough to drive the hidden layers
//     across the threshold. (1000 Hz learns no better and costs three times the input work.)
//   - Adam (lr 1e-3, PyTorch's defaults), batches of 32, no clipping, instead of SGD with momentum on
//     batches of 4 clipped at 2: the surrogate gradients reaching the first layers are tiny (1/(100 |x| +
//     1)^2 away from the threshold) and Adam's per-weight scaling makes them count.
//   - DecodeMean instead of DecodeMax: the logits are the readout's mean potential over the 100 steps.
//     The maximum passes gradient through one step per class, and since the readout starts at 0 it floors
//     every logit at 0; the mean passes gradient through every step.
//
// Adam and the mean decoder do most of the work: together they even revive the 20 Hz input. The ablation
// that chose these changes (ablation_test.go) and its validation accuracies are in docs/snn.md.
func Tuned() Config {
	c := Study()
	c.FMax = 300
	c.Optimizer = optim.DefaultAdam(1e-3)
	c.Batch = 32
	c.Decode = DecodeMean
	return c
}
