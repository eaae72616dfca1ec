package train

import (
	"strconv"
	"testing"

	"github.com/bpdl/bpdl/bpdl/nn"
)

// BenchmarkMLPStep measures one BP training step (forward, explicit backward, clipping, SGD momentum) on
// the study's CIFAR-10 shapes, in examples per second.
func BenchmarkMLPStep(b *testing.B) {
	for _, batch := range []int{4, 128} {
		b.Run("bp/batch="+strconv.Itoa(batch), func(b *testing.B) {
			spec := nn.NewSpec(3072, nn.StudyHidden, 10)
			l, err := DefaultRegistry().New("bp", testBackend(b), Options{Spec: spec, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			set := toySet(1, batch, 3072, 10)
			idx := make([]int, batch)
			for i := range idx {
				idx[i] = i
			}
			x, y := batchTensors(set, idx)
			if _, err := l.Step(x, y); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Step(x, y); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
