package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
)

// TestGlobalNorm compares GlobalNorm, whose large matrices take the matrix-vector path, with a float64
// sum of squares.
func TestGlobalNorm(t *testing.T) {
	backend, err := gobackend.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		shapes [][]int
	}{
		{"vector", [][]int{{7}}},
		{"small-matrix", [][]int{{3, 5}}},
		{"large-matrix", [][]int{{300, 200}}},
		{"mixed", [][]int{{300, 200}, {300}, {10, 300}, {10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var args []any
			var want float64
			for _, dims := range tc.shapes {
				n := 1
				for _, d := range dims {
					n *= d
				}
				data := make([]float32, n)
				for i := range data {
					data[i] = float32(rng.NormFloat64())
					want += float64(data[i]) * float64(data[i])
				}
				args = append(args, tensors.FromFlatDataAndDimensions(data, dims...))
			}
			want = math.Sqrt(want)
			exec, err := NewExec(backend, func(in []*Node) *Node { return GlobalNorm(in) })
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(outs[0].Value().(float32)); math.Abs(got-want) > 1e-5*want {
				t.Errorf("GlobalNorm = %.7g, want %.7g", got, want)
			}
		})
	}
}
