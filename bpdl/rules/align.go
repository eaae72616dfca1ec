package rules

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
)

// AlignmentAngles returns, for every weight matrix W_l, the angle in degrees between the rule's update for
// the step's batch and the true gradient of the net's mean loss (LossOf) for the same batch and weights,
// the matrices taken as flat vectors:
//
//	angle_l = arccos(<U_l, G_l> / (|U_l| |G_l|))
//
// 0 means the rule follows the gradient; below 90 its update still descends the loss. The angle of a zero
// matrix with anything is reported as 90. The rule's update is built anew, so rules that draw random
// numbers draw them from Step.Aux as in a training step.
func AlignmentAngles(rule Rule, s *Step) []*Node {
	u := rule.Updates(s)
	_, dLogits := LossOf(rule, s)
	g, _ := Backward(s.Fwd, dLogits, func(l int, delta *Node) *Node {
		return DotGeneral(delta, []int{1}, nil, s.W[l], []int{0}, nil)
	})
	angles := make([]*Node, len(u.GW))
	for l := range u.GW {
		angles[l] = Angle(u.GW[l], g[l])
	}
	return angles
}

// Angle returns the angle in degrees between a and b, two tensors of the same shape taken as vectors, as a
// scalar; 90 when either is zero. It uses Kahan's form 2 atan2(|â - b̂|, |â + b̂|) of arccos(â·b̂), with
// â = a/|a| and b̂ = b/|b|, which stays accurate near 0 and 180 degrees (an angle of a tensor with itself
// is exactly 0).
func Angle(a, b *Node) *Node {
	na := Sqrt(ReduceAllSum(Square(a)))
	nb := Sqrt(ReduceAllSum(Square(b)))
	const tiny = 1e-30
	ua := Div(a, MaxScalar(na, tiny))
	ub := Div(b, MaxScalar(nb, tiny))
	diff := Sqrt(ReduceAllSum(Square(Sub(ua, ub))))
	sum := Sqrt(ReduceAllSum(Square(Add(ua, ub))))
	angle := MulScalar(Atan2(diff, sum), 2*180/math.Pi)
	zero := LogicalOr(Equal(na, ZerosLike(na)), Equal(nb, ZerosLike(nb)))
	return Where(zero, Scalar(a.Graph(), angle.DType(), 90), angle)
}
