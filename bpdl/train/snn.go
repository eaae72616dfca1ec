package train

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/snn"
)

// SNN is the spiking net of package snn as a Learner, on either of its engines: the event-driven CPU
// kernels or the graph engine on the GoMLX backend the other learners use (opts.SNNImpl).
type SNN struct {
	name     string
	net      *snn.Net
	settings Settings
	impl     snn.Impl // as configured (Options.SNNImpl), before it is resolved for the backend
}

// NewSNN builds the spiking net cfg for opts.Spec (its input size, hidden widths and classes), with its
// weights and spike trains drawn from opts.Seed and its training settings changed by opts.Override, on
// the engine opts.SNNImpl means for backend b (snn.Impl.Resolve: by default the kernels on the go
// backend, the graph engine on b elsewhere).
func NewSNN(name string, cfg snn.Config, b compute.Backend, opts Options) (*SNN, error) {
	if err := opts.Spec.Validate(); err != nil {
		return nil, err
	}
	sizes := opts.Spec.Sizes
	if len(sizes) < 3 {
		return nil, fmt.Errorf("%s: the spiking net needs a hidden layer, got sizes %v", name, sizes)
	}
	s := opts.Override.Apply(Settings{Optimizer: cfg.Optimizer, Batch: cfg.Batch, Epochs: cfg.Epochs})
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg.Optimizer, cfg.Batch, cfg.Epochs = s.Optimizer, s.Batch, s.Epochs
	cfg.Hidden = append([]int(nil), sizes[1:len(sizes)-1]...)
	net, err := snn.NewOn(b, opts.SNNImpl, cfg, sizes[0], sizes[len(sizes)-1], opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &SNN{name: name, net: net, settings: s, impl: opts.SNNImpl}, nil
}

// Net returns the spiking net.
func (s *SNN) Net() *snn.Net { return s.net }

// Name implements Learner.
func (s *SNN) Name() string { return s.name }

// Engine implements Engine: the spiking net's engine, "kernels" or "graph" (snn.Impl).
func (s *SNN) Engine() string { return string(s.net.Impl()) }

// EngineOn implements Engine: the engine the configured snn.Impl means on that backend.
func (s *SNN) EngineOn(backend string) string { return string(s.impl.ResolveName(backend)) }

// Settings implements Learner.
func (s *SNN) Settings() Settings { return s.settings }

// PretrainStep implements Learner: the spiking net has no pretraining phase.
func (s *SNN) PretrainStep(x, y *tensors.Tensor) (float64, error) {
	return 0, fmt.Errorf("%s has no pretraining phase", s.name)
}

// flat calls f with the values of x [batch, dim] and the labels y (nil when y is).
func flat(x, y *tensors.Tensor, f func(x []float32, y []int32, batch int) error) error {
	batch := x.Shape().Dimensions[0]
	var ferr error
	err := tensors.ConstFlatData(x, func(xs []float32) {
		if y == nil {
			ferr = f(xs, nil, batch)
			return
		}
		if err := tensors.ConstFlatData(y, func(ys []int32) { ferr = f(xs, ys, batch) }); err != nil {
			ferr = err
		}
	})
	if err != nil {
		return err
	}
	return ferr
}

// Step implements Learner.
func (s *SNN) Step(x, y *tensors.Tensor) (float64, error) {
	var loss float64
	err := flat(x, y, func(xs []float32, ys []int32, _ int) error {
		var err error
		loss, err = s.net.Step(xs, ys)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s training step: %w", s.name, err)
	}
	return loss, nil
}

// Logits implements Learner.
func (s *SNN) Logits(x *tensors.Tensor) (*tensors.Tensor, error) {
	var out *tensors.Tensor
	err := flat(x, nil, func(xs []float32, _ []int32, batch int) error {
		logits, err := s.net.Logits(xs, batch)
		if err == nil {
			out = tensors.FromFlatDataAndDimensions(logits, batch, len(logits)/batch)
		}
		return err
	})
	return out, err
}

// Probe implements Learner: the probe batch's loss and accuracy, and for the input and each hidden
// layer ("input", "hidden1", ...) its spike count over the batch's T steps and its rate (spikes per unit
// per step; the study's silent net shows spikes_hidden1 = 0).
func (s *SNN) Probe(x, y *tensors.Tensor) ([]diag.Metric, error) {
	var p *snn.Probe
	err := flat(x, y, func(xs []float32, ys []int32, _ int) error {
		var err error
		p, err = s.net.Probe(xs, ys)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s probe: %w", s.name, err)
	}
	metrics := []diag.Metric{{Kind: diag.Loss, Value: p.Loss}, {Kind: diag.Accuracy, Value: p.Accuracy}}
	for l := range p.Spikes {
		metrics = append(metrics,
			diag.Metric{Kind: diag.Spikes, Layer: l, Value: float64(p.Spikes[l])},
			diag.Metric{Kind: diag.SpikeRate, Layer: l, Value: p.Rates[l]})
	}
	return metrics, nil
}

// Layers implements Learner: for the hidden layers ("fc1", "fc2", ...) the input current W x(t) + b of
// each unit averaged over the T steps (the Linear layer's output, what the study's hooks saw), or with
// postReLU set the units' firing rates (spikes per step), for each example.
func (s *SNN) Layers(x *tensors.Tensor, postReLU bool) ([]Layer, error) {
	var res []Layer
	err := flat(x, nil, func(xs []float32, _ []int32, batch int) error {
		rates, currents, err := s.net.Activity(xs, batch)
		if err != nil {
			return err
		}
		sel := currents
		if postReLU {
			sel = rates
		}
		for l, d := range sel {
			res = append(res, Layer{Name: fmt.Sprintf("fc%d", l+1), Rows: batch, Cols: len(d) / batch, Data: d})
		}
		return nil
	})
	return res, err
}

// State implements Learner (see snn.Net.State).
func (s *SNN) State() ([]*tensors.Tensor, error) { return s.net.State() }

// SetState implements Learner.
func (s *SNN) SetState(ts []*tensors.Tensor) error {
	if err := s.net.SetState(ts); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
