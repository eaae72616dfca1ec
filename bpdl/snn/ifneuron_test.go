package snn_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.

	"github.com/bpdl/bpdl/bpdl/snn"
)

// This file is what a user's own neuron model takes: one type implementing snn.Neuron, plus one
// Register line (in registry_test.go). IF is a non-leaky integrate-and-fire neuron without a synaptic
// current: the input charges the membrane directly, and a spike resets it to 0,
//
//	v' = v + input;  z = H(v' - VTh)  (SuperSpike surrogate, sharpness Alpha);  v <- (1 - z) v'
//
// The graph engine runs it; the event-driven kernels implement LIF and LI only.
type IF struct {
	VTh   float64 // firing threshold
	Alpha float64 // sharpness of the SuperSpike surrogate
}

func (n IF) Validate() error {
	if !(n.Alpha >= 0) {
		return fmt.Errorf("IF: surrogate alpha %g, want >= 0", n.Alpha)
	}
	return nil
}

func (IF) Init(g *Graph, batch, units int) []*Node {
	return []*Node{Zeros(g, shapes(batch, units))}
}

func (n IF) GraphStep(_ float64, state []*Node, input *Node) (*Node, []*Node) {
	v := Add(state[0], input)
	z := snn.SuperSpike(AddScalar(v, -n.VTh), n.Alpha)
	return z, []*Node{Mul(OneMinus(z), v)}
}
