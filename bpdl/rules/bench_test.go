package rules

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// BenchmarkStep measures one training step of each rule on the study's CIFAR-10 net (3072-1536-256-10),
// random data: the forward pass, the rule's updates and the optimiser step of its published settings
// (clipping included, from the factored updates as package train does), compiled as one graph whose
// outputs feed the next step, as in training. It reports examples per second. $BPDL_BENCH_GO_CONFIG, when set, configures the Go backend instead of bpdl's default
// (backend.GoDefaultOptions), for example "ops_sequential".
//
//	GOEXPERIMENT=simd go test ./bpdl/rules -run '^$' -bench Step -benchtime 3s
func BenchmarkStep(b *testing.B) {
	spec := nn.Spec{Sizes: []int{3072, 1536, 256, 10}}
	for _, name := range Names() {
		for _, batch := range []int{4, 128} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				r, _ := New(name)
				benchStep(b, r, spec, batch)
			})
		}
	}
}

func benchStep(b *testing.B, r Rule, spec nn.Spec, batch int) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := initParams(r, spec, rng)
	aux, err := r.Setup(spec, rng)
	if err != nil {
		b.Fatal(err)
	}
	opt := DefaultsOf(r).Optimizer
	params := p.Tensors()
	var ps []shapes.Shape
	for _, t := range params {
		ps = append(ps, t.Shape())
	}
	state := opt.State(ps)
	np, na := len(params), len(aux)
	be, err := backend.Open("go:" + cmp.Or(os.Getenv("BPDL_BENCH_GO_CONFIG"), backend.GoDefaultOptions))
	if err != nil {
		b.Fatal(err)
	}
	exec, err := NewExec(be, func(in []*Node) []*Node {
		layers := spec.Layers()
		w, bias := make([]*Node, layers), make([]*Node, layers)
		for l := 0; l < layers; l++ {
			w[l], bias[l] = in[2+2*l], in[3+2*l]
		}
		s := NewStep(spec, in[0], in[1], w, bias, in[2+np:2+np+na])
		u := r.Updates(s)
		newParams, newState := optim.Step(opt, in[2:2+np], u.Grads(), in[2+np+na:])
		return append(append(append(newParams, u.Aux...), newState...), u.Loss)
	})
	if err != nil {
		b.Fatal(err)
	}
	// A few batches of random data, reused in turn.
	const batches = 8
	var xs, ys []*tensors.Tensor
	for i := 0; i < batches; i++ {
		x, y := randomBatch(rng, batch, spec.Sizes[0], spec.Sizes[len(spec.Sizes)-1])
		xs, ys = append(xs, x), append(ys, y)
	}
	carry := append(append(append([]*tensors.Tensor{}, params...), aux...), state...)
	step := func(i int) {
		args := []any{xs[i%batches], ys[i%batches]}
		for _, t := range carry {
			args = append(args, t)
		}
		outs, err := exec.Exec(args...)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range carry {
			_ = t.FinalizeAll()
		}
		carry = outs[:len(outs)-1]
		_ = outs[len(outs)-1].FinalizeAll()
	}
	step(0) // compile and warm up
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
}
