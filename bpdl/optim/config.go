package optim

import (
	"encoding/json"
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// This file keeps the optimiser API that package snn was written against, as a thin layer over the
// optimiser types, until snn takes Optimizer values (package snn's owner switches it; then this file goes).

// Kind names an optimiser.
//
// Deprecated: use the optimiser types (SGDOptimizer, AdamOptimizer) through Optimizer.
type Kind string

// The optimisers of Config.
//
// Deprecated: use SGDOptimizer and AdamOptimizer.
const (
	SGD  Kind = "sgd"
	Adam Kind = "adam"
)

// Config is an optimiser given by its Kind and every hyper-parameter any kind has. It implements
// Optimizer by delegating to the optimiser it describes (Optimizer()).
//
// Deprecated: use SGDOptimizer or AdamOptimizer.
type Config struct {
	Kind     Kind
	LR       float64
	Momentum float64 // SGD only; 0 is plain SGD
	Beta1    float64 // Adam only
	Beta2    float64 // Adam only
	Eps      float64 // Adam only
	Clip     float64 // maximum global L2 norm of the gradients; 0 disables
}

// Paper is Study as a Config.
//
// Deprecated: use Study.
func Paper() Config { return ConfigOf(Study()) }

// AdamDefaults is DefaultAdam as a Config.
//
// Deprecated: use DefaultAdam.
func AdamDefaults(lr float64) Config { return ConfigOf(DefaultAdam(lr)) }

// ConfigOf returns the Config that describes o (an optimiser of this package), or a Config of an empty
// Kind, which Validate rejects.
//
// Deprecated: for package snn's learner until snn takes Optimizer values.
func ConfigOf(o Optimizer) Config {
	switch o := o.(type) {
	case Config:
		return o
	case SGDOptimizer:
		return Config{Kind: SGD, LR: o.LR, Momentum: o.Momentum, Clip: o.Clip}
	case AdamOptimizer:
		return Config{Kind: Adam, LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, Clip: o.Clip}
	}
	return Config{}
}

// Optimizer returns the optimiser c describes, or nil for an unknown Kind.
func (c Config) Optimizer() Optimizer {
	switch c.Kind {
	case SGD:
		return SGDOptimizer{LR: c.LR, Momentum: c.Momentum, Clip: c.Clip}
	case Adam:
		return AdamOptimizer{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, Clip: c.Clip}
	}
	return nil
}

func (c Config) must() Optimizer {
	o := c.Optimizer()
	if o == nil {
		panic(fmt.Sprintf("optim: unknown optimiser %q", c.Kind))
	}
	return o
}

// Validate implements Optimizer.
func (c Config) Validate() error {
	o := c.Optimizer()
	if o == nil {
		return fmt.Errorf("optim: unknown optimiser %q (want %q or %q)", c.Kind, SGD, Adam)
	}
	return o.Validate()
}

// String implements Optimizer.
func (c Config) String() string {
	if o := c.Optimizer(); o != nil {
		return o.String()
	}
	return string(c.Kind) + clipSuffix(c.Clip)
}

// LearningRate implements Optimizer.
func (c Config) LearningRate() float64 { return c.LR }

// ClipNorm implements Optimizer.
func (c Config) ClipNorm() float64 { return c.Clip }

// WithLearningRate implements Optimizer.
func (c Config) WithLearningRate(lr float64) Optimizer { c.LR = lr; return c }

// WithClipNorm implements Optimizer.
func (c Config) WithClipNorm(max float64) Optimizer { c.Clip = max; return c }

// Slots implements Optimizer.
func (c Config) Slots() int { return c.must().Slots() }

// State implements Optimizer.
func (c Config) State(params []shapes.Shape) []*tensors.Tensor { return c.must().State(params) }

// Apply implements Optimizer.
func (c Config) Apply(params, grads, state []*Node) (newParams, newState []*Node) {
	return c.must().Apply(params, grads, state)
}

// Span implements Optimizer.
func (c Config) Span(step int, coef float32) SpanFunc { return c.must().Span(step, coef) }

// Step is Step(c, params, DenseGrads(grads), state): one step, clipping included.
func (c Config) Step(params, grads, state []*Node) (newParams, newState []*Node) {
	return Step(c, params, DenseGrads(grads), state)
}

// document is the JSON form of an optimiser: its kind and every hyper-parameter any kind has, the layout
// Config had, so that settings encoded before the optimiser types (and the run fingerprints made from
// them) read and hash the same.
type document struct {
	Kind     Kind
	LR       float64
	Momentum float64
	Beta1    float64
	Beta2    float64
	Eps      float64
	Clip     float64
}

// MarshalOptimizer encodes o, an optimiser of this package, as JSON:
// {"Kind":"sgd","LR":...,"Momentum":...,"Beta1":0,"Beta2":0,"Eps":0,"Clip":...}.
func MarshalOptimizer(o Optimizer) ([]byte, error) {
	c := ConfigOf(o)
	if c.Kind == "" {
		return nil, fmt.Errorf("optim: cannot encode optimiser %T", o)
	}
	return json.Marshal(document(c))
}

// UnmarshalOptimizer decodes what MarshalOptimizer encodes.
func UnmarshalOptimizer(data []byte) (Optimizer, error) {
	var d document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("optim: %w", err)
	}
	o := Config(d).Optimizer()
	if o == nil {
		return nil, fmt.Errorf("optim: unknown optimiser %q (want %q or %q)", d.Kind, SGD, Adam)
	}
	return o, nil
}
