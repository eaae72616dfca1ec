package nb

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// The matrix helpers below let a notebook write a learning rule's equations by hand, in float64 on the
// host, one line per equation: each takes gonum matrices (rows are examples, as in bpdl) and returns a new
// *mat.Dense, leaving its arguments unchanged. Biases are 1 × n rows. gonum does the products; the rest is
// element-wise.

// Mul returns the matrix product a b (use x.T() for a transpose).
func Mul(a, b mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Mul(a, b)
	return &m
}

// Add returns a + b.
func Add(a, b mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Add(a, b)
	return &m
}

// Sub returns a - b.
func Sub(a, b mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Sub(a, b)
	return &m
}

// Scale returns s a.
func Scale(s float64, a mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Scale(s, a)
	return &m
}

// Hadamard returns the element-wise product a ⊙ b.
func Hadamard(a, b mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.MulElem(a, b)
	return &m
}

// Apply returns f applied to every element of a.
func Apply(f func(float64) float64, a mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Apply(func(_, _ int, v float64) float64 { return f(v) }, a)
	return &m
}

// Linear returns the pre-activation of a dense layer, h Wᵀ + b for inputs h [B, in], weights w [out, in]
// and bias b [1, out] (added to every row).
func Linear(h, w, b mat.Matrix) *mat.Dense {
	a := Mul(h, w.T())
	rows, cols := a.Dims()
	for i := range rows {
		for j := range cols {
			a.Set(i, j, a.At(i, j)+b.At(0, j))
		}
	}
	return a
}

// ReLU returns max(a, 0) element-wise.
func ReLU(a mat.Matrix) *mat.Dense { return Apply(func(v float64) float64 { return max(v, 0) }, a) }

// ReLUDerivative returns ReLU'(a): 1 where a > 0, else 0 (PyTorch's convention at 0, as bpdl's
// nn.ReluDerivative).
func ReLUDerivative(a mat.Matrix) *mat.Dense {
	return Apply(func(v float64) float64 {
		if v > 0 {
			return 1
		}
		return 0
	}, a)
}

// Clamp returns a with every element limited to [lo, hi].
func Clamp(a mat.Matrix, lo, hi float64) *mat.Dense {
	return Apply(func(v float64) float64 { return min(max(v, lo), hi) }, a)
}

// Softmax returns the softmax of every row of a.
func Softmax(a mat.Matrix) *mat.Dense {
	rows, cols := a.Dims()
	m := mat.NewDense(rows, cols, nil)
	for i := range rows {
		row := mat.Row(nil, i, a)
		top := floats.Max(row)
		sum := 0.0
		for j, v := range row {
			row[j] = math.Exp(v - top)
			sum += row[j]
		}
		floats.Scale(1/sum, row)
		m.SetRow(i, row)
	}
	return m
}

// OneHot returns the [len(labels), classes] matrix with a 1 in each row at its label.
func OneHot(labels []int, classes int) *mat.Dense {
	m := mat.NewDense(len(labels), classes, nil)
	for i, y := range labels {
		m.Set(i, y, 1)
	}
	return m
}

// CrossEntropy returns the mean softmax cross-entropy of the rows of logits against labels:
// -(1/B) Σ_b log softmax(z_b)[y_b].
func CrossEntropy(logits mat.Matrix, labels []int) float64 {
	p := Softmax(logits)
	sum := 0.0
	for i, y := range labels {
		sum -= math.Log(p.At(i, y))
	}
	return sum / float64(len(labels))
}

// SumRows returns the sum of a's rows, a 1 × cols row: a bias's update from its layer's error.
func SumRows(a mat.Matrix) *mat.Dense {
	rows, cols := a.Dims()
	m := mat.NewDense(1, cols, nil)
	for i := range rows {
		for j := range cols {
			m.Set(0, j, m.At(0, j)+a.At(i, j))
		}
	}
	return m
}

// Columns returns a copy of the first n columns of a.
func Columns(a mat.Matrix, n int) *mat.Dense {
	rows, _ := a.Dims()
	m := mat.NewDense(rows, n, nil)
	for i := range rows {
		for j := range n {
			m.Set(i, j, a.At(i, j))
		}
	}
	return m
}

// MaxAbs returns the largest absolute value in a.
func MaxAbs(a mat.Matrix) float64 {
	rows, cols := a.Dims()
	top := 0.0
	for i := range rows {
		for j := range cols {
			top = max(top, math.Abs(a.At(i, j)))
		}
	}
	return top
}

// MaxDiff returns the largest absolute difference between a and b, which must have the same shape.
func MaxDiff(a, b mat.Matrix) float64 { return MaxAbs(Sub(a, b)) }

// Angle returns the angle in degrees between a and b taken as vectors (90 when either is zero), as
// 2 atan2(|â - b̂|, |â + b̂|) on the unit vectors â, b̂: the same angle as arccos(<a, b> / (|a| |b|)), exact
// near 0 and 180 degrees too (bpdl's rules.Angle computes it so).
func Angle(a, b mat.Matrix) float64 {
	na, nb := mat.Norm(a, 2), mat.Norm(b, 2) // Frobenius norms
	if na == 0 || nb == 0 {
		return 90
	}
	ua, ub := Scale(1/na, a), Scale(1/nb, b)
	return 2 * math.Atan2(mat.Norm(Sub(ua, ub), 2), mat.Norm(Add(ua, ub), 2)) * 180 / math.Pi
}
