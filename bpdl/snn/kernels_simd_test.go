//go:build goexperiment.simd && amd64

package snn

import (
	"slices"
	"testing"
)

func TestMulRowsSameOnAVX2AndAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	for _, sz := range [][3]int{{9, 256, 37}, {4, 10, 6}, {13, 33, 70}, {8, 256, 128}} {
		m, k, n := sz[0], sz[1], sz[2]
		a, _ := randomBatch(1, m, k, 2)
		b, _ := randomBatch(2, k, n, 2)
		x, y := make([]float32, m*n), make([]float32, m*n)
		mulRows512(x, n, a, m, k, b, n, 0, n)
		mulRows256(y, n, a, m, k, b, n, 0, n)
		if !slices.Equal(x, y) {
			t.Errorf("%v: AVX-512 and AVX2 products differ", sz)
		}
	}
}
