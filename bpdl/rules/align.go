package rules

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
)

// AlignmentAngles returns, for every weight matrix, the angle in degrees between the rule's update and the
// true gradient of the net's mean loss (LossOf: BP's update, through the rule's output nonlinearity if it
// has one) on the same batch and weights: arccos(<u, g> / (|u| |g|)) over the flattened matrices. 0 means
// the rule follows the gradient exactly; below 90 it still descends the loss. Rules that draw random
// numbers draw them from Step.Aux as in a training step.
func AlignmentAngles(rule Rule, s *Step) []*Node {
	u := rule.Updates(s)
	_, dLogits := LossOf(rule, s)
	g, _ := Backward(s.Fwd, dLogits, func(l int, delta *Node) *Node {
		return DotGeneral(delta, []int{1}, nil, s.W[l], []int{0}, nil)
	})
	out := make([]*Node, len(u.GW))
	for l := range u.GW {
		out[l] = Angle(u.GW[l], g[l])
	}
	return out
}

// Angle is the angle in degrees between two tensors of the same shape taken as vectors (90 when either is
// zero). It uses 2 atan2(|â - b̂|, |â + b̂|) on the unit vectors â, b̂, which is exact near 0 and 180 degrees,
// where arccos of the cosine loses half the digits.
func Angle(a, b *Node) *Node {
	unit := func(x *Node) *Node {
		return Div(x, MaxScalar(Sqrt(ReduceAllSum(Square(x))), 1e-30))
	}
	ua, ub := unit(a), unit(b)
	diff := Sqrt(ReduceAllSum(Square(Sub(ua, ub))))
	sum := Sqrt(ReduceAllSum(Square(Add(ua, ub))))
	return MulScalar(Atan2(diff, sum), 2*180/math.Pi)
}
