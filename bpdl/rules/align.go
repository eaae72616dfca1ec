package rules

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
)

// AlignmentAngles returns, for every weight matrix, the angle in degrees between the rule's update and the
// true gradient (BP's update) on the same batch and weights: arccos(<u, g> / (|u| |g|)) over the flattened
// matrices. 0 means the rule follows the gradient exactly; below 90 it still descends the loss.
func AlignmentAngles(rule Rule, s *Step) []*Node {
	u := rule.Updates(s)
	g := BP{}.Updates(s)
	out := make([]*Node, len(u.GW))
	for l := range u.GW {
		out[l] = Angle(u.GW[l], g.GW[l])
	}
	return out
}

// Angle is the angle in degrees between two tensors of the same shape taken as vectors (90 when either is
// zero).
func Angle(a, b *Node) *Node {
	dot := ReduceAllSum(Mul(a, b))
	na := Sqrt(ReduceAllSum(Square(a)))
	nb := Sqrt(ReduceAllSum(Square(b)))
	den := Mul(na, nb)
	cos := Div(dot, MaxScalar(den, 1e-30))
	cos = ClipScalar(cos, -1, 1)
	// arccos(c) = atan2(sqrt(1 - c^2), c), which GoMLX computes directly.
	return MulScalar(Atan2(Sqrt(OneMinus(Square(cos))), cos), 180/math.Pi)
}
