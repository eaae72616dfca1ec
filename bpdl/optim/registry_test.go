package optim_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/optim"
)

// TestRegistryJSON checks that bpdl's optimisers round-trip through their JSON form, which keeps the
// layout of the study's settings (so that run fingerprints are unchanged).
func TestRegistryJSON(t *testing.T) {
	r := optim.DefaultRegistry()
	if got, want := r.Names(), []string{"sgd", "adam"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		opt  optim.Optimizer
		want string
	}{
		{optim.Study(), `{"Kind":"sgd","LR":0.001,"Momentum":0.9,"Beta1":0,"Beta2":0,"Eps":0,"Clip":2}`},
		{optim.SGD{LR: 0.1}, `{"Kind":"sgd","LR":0.1,"Momentum":0,"Beta1":0,"Beta2":0,"Eps":0,"Clip":0}`},
		{optim.Adam{LR: 1e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, Clip: 5},
			`{"Kind":"adam","LR":0.001,"Momentum":0,"Beta1":0.8,"Beta2":0.99,"Eps":0.000001,"Clip":5}`},
	} {
		b, err := r.Marshal(tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, want %s", tc.opt, b, tc.want)
		}
		got, err := r.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.opt {
			t.Errorf("Unmarshal(Marshal(%v)) = %v", tc.opt, got)
		}
	}
	// A document without Adam's betas gets torch's defaults from the constructor.
	got, err := r.Unmarshal([]byte(`{"Kind":"adam","LR":0.01}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := optim.DefaultAdam(0.01); got != want {
		t.Errorf("partial Adam = %v, want %v", got, want)
	}
	if o, err := r.New("adam"); err != nil || o != optim.DefaultAdam(1e-3) {
		t.Errorf(`New("adam") = %v, %v`, o, err)
	}
}

func TestRegistryErrors(t *testing.T) {
	r := optim.DefaultRegistry()
	for _, bad := range []string{`{"Kind":"rmsprop","LR":1}`, `{"LR":1}`, `[1]`, `{"Kind":"sgd","LR":"fast"}`, ``} {
		if o, err := r.Unmarshal([]byte(bad)); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, o)
		}
	}
	if _, err := r.Unmarshal([]byte(`{"Kind":"rmsprop"}`)); err == nil || !strings.Contains(err.Error(), "sgd, adam") {
		t.Errorf("an unknown kind's error should list the known ones: %v", err)
	}
	if _, err := r.Marshal(SignSGD{LR: 1}); err == nil {
		t.Errorf("Marshal encoded an unregistered optimiser")
	}
	if _, err := r.New("rmsprop"); err == nil {
		t.Errorf("New made an unknown optimiser")
	}
	for _, tc := range []struct {
		name string
		new  optim.Constructor
	}{
		{"", func() optim.Optimizer { return SignSGD{} }},
		{"sgd", func() optim.Optimizer { return SignSGD{} }},    // a name taken
		{"sgd2", func() optim.Optimizer { return optim.SGD{} }}, // a type taken
		{"nil", func() optim.Optimizer { return nil }},          // no optimiser
		{"none", nil}, // no constructor
		{"kinded", func() optim.Optimizer { return kinded{} }}, // registers, but cannot encode
	} {
		err := r.Register(tc.name, tc.new)
		if tc.name == "kinded" {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Marshal(kinded{}); err == nil {
				t.Errorf("Marshal encoded an optimiser with a field named Kind")
			}
			continue
		}
		if err == nil {
			t.Errorf("Register(%q) accepted a bad entry", tc.name)
		}
	}
}

// kinded is an optimiser whose JSON has a field the registry's Kind would hide.
type kinded struct {
	SignSGD
	Kind string
}

// TestRegisterOwnOptimizer registers a user's optimiser (SignSGD, signsgd_test.go) with one line, then
// round-trips it through the settings' JSON and takes the same steps with it in a graph and on the host.
func TestRegisterOwnOptimizer(t *testing.T) {
	r := optim.DefaultRegistry()
	if err := r.Register("signsgd", func() optim.Optimizer { return SignSGD{} }); err != nil {
		t.Fatal(err)
	}
	o := SignSGD{LR: 0.05, Clip: 1}
	b, err := r.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Kind":"signsgd","LR":0.05,"Clip":1}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	back, err := r.Unmarshal(b)
	if err != nil || back != o {
		t.Fatalf("Unmarshal(%s) = %v, %v, want %v", b, back, err, o)
	}
	if n := optim.DefaultRegistry().Names(); len(n) != 2 {
		t.Errorf("registering changed the default registry: %v", n)
	}

	// Three steps in a graph (optim.Step) and on the host (optim.Host) give the same parameters.
	be, err := backend.Open(backend.GoSequential)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	sizes := []int{40, 3}
	params := [][]float32{random(40), random(3)}
	host := [][]float32{slices.Clone(params[0]), slices.Clone(params[1])}
	h := optim.NewHost(back, sizes)
	exec := MustNewExec(be, func(in []*Node) []*Node {
		p, _ := optim.Step(back, in[:2], optim.DenseGrads(in[2:]), nil)
		return p
	})
	for step := 0; step < 3; step++ {
		grads := [][]float32{random(40), random(3)}
		var args []any
		for i, p := range params {
			args = append(args, tensors.FromFlatDataAndDimensions(p, sizes[i]))
		}
		for i, g := range grads {
			args = append(args, tensors.FromFlatDataAndDimensions(slices.Clone(g), sizes[i]))
		}
		outs := exec.MustExec(args...)
		for i := range params {
			params[i] = tensors.MustCopyFlatData[float32](outs[i])
		}
		h.Step(host, grads, 2)
	}
	for i := range params {
		if !slices.Equal(params[i], host[i]) {
			t.Errorf("param %d: graph %v, host %v", i, params[i], host[i])
		}
	}
}
