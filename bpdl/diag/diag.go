// Package diag is the vocabulary of the diagnostics measured on a fixed probe batch while a net trains:
// what each measures, for which layer, and the column name it has in the report's history.csv. Learners
// produce Metrics (package train), the report draws them (package report); neither parses names back.
package diag

import "fmt"

// Kind is what a diagnostic measures.
type Kind string

// The kinds of diagnostics. Layer numbering depends on the kind (see Metric.Label).
const (
	// Loss is the probe batch's mean loss (whole net).
	Loss Kind = "probe_loss"
	// Accuracy is the fraction of the probe batch classified correctly (whole net).
	Accuracy Kind = "probe_accuracy"
	// Angle is the angle, in degrees, between a rule's update of weight matrix Layer (1-based) and the true
	// gradient of the loss: 0° for backprop, near 90° for a random direction.
	Angle Kind = "angle"
	// Spikes is the number of spikes spiking layer Layer (0 the input, then the hidden layers) emits over the
	// probe batch's time steps.
	Spikes Kind = "spikes"
	// SpikeRate is the spikes of spiking layer Layer per unit per time step.
	SpikeRate Kind = "spike_rate"
	// Reconstruction is the squared error with which DTP's feedback mapping of forward layer Layer (1-based;
	// from 2, the first has none) reconstructs that layer's input.
	Reconstruction Kind = "recon_loss"
)

// Metric is one diagnostic value.
type Metric struct {
	Kind  Kind
	Layer int // the layer it concerns (see Kind); 0 for whole-net kinds
	Value float64
}

// Label names the metric's layer as the report shows it: "W1" for an angle (the weight matrix), "input",
// "hidden1", ... for a spiking layer (SpikingLayer), "l2" for a reconstruction loss, "" for whole-net kinds.
func (m Metric) Label() string {
	switch m.Kind {
	case Angle:
		return fmt.Sprintf("W%d", m.Layer)
	case Spikes, SpikeRate:
		return SpikingLayer(m.Layer)
	case Reconstruction:
		return fmt.Sprintf("l%d", m.Layer)
	}
	return ""
}

// Name is the metric's column name in history.csv: the kind, then "_" and the label when it has one
// ("probe_loss", "angle_W1", "spike_rate_hidden1", "recon_loss_l2").
func (m Metric) Name() string {
	if l := m.Label(); l != "" {
		return string(m.Kind) + "_" + l
	}
	return string(m.Kind)
}

// SpikingLayer names layer l of a spiking net: "input" for 0, then "hidden1", "hidden2", ...
func SpikingLayer(l int) string {
	if l == 0 {
		return "input"
	}
	return fmt.Sprintf("hidden%d", l)
}
