package backend

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
)

// independentProducts executes, rounds times, a graph of n independent [size, size] matrix products, all
// ready at once, on the backend opened from config, and fails when a round does not finish in time.
func independentProducts(t *testing.T, config string, n, size, rounds int, limit time.Duration) {
	t.Helper()
	b, err := Open(config)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	exec, err := NewExec(b, func(in []*Node) []*Node {
		out := make([]*Node, n)
		for k := range out {
			a := AddScalar(in[0], float64(k))
			out[k] = ReduceAllSum(Dot(a, in[1]).Product())
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, size*size)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	xt := tensors.FromFlatDataAndDimensions(x, size, size)
	for r := 0; r < rounds; r++ {
		done := make(chan error, 1)
		go func() {
			_, err := exec.Exec(xt, xt)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(limit):
			t.Fatalf("%s: round %d of %d independent %dx%d products did not finish in %v (deadlock)", config, r, n, size, size, limit)
		}
	}
}

// TestGoBackendPoolDeadlock runs graphs of many independent matrix products, all ready at once, on the
// default Go backend: with GoMLX's own default pool (config "go:") the 16-product graph deadlocked here in
// its second or third round (see GoDefaultOptions); bpdl's default must never hang.
func TestGoBackendPoolDeadlock(t *testing.T) {
	for _, tc := range []struct{ n, size, rounds int }{
		{2, 256, 20}, {8, 256, 20}, {16, 256, 30}, {64, 128, 10}, {16, 512, 5},
	} {
		t.Run(fmt.Sprintf("%dx%d^2", tc.n, tc.size), func(t *testing.T) {
			independentProducts(t, Default, tc.n, tc.size, tc.rounds, time.Minute)
		})
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		config string
		ok     bool
	}{
		{"go", true}, {"go:ops_sequential", true}, {"go:no_such_option", false}, {"tpu", false},
	} {
		b, err := Open(tc.config)
		if (err == nil) != tc.ok {
			t.Errorf("Open(%q): error %v, want ok=%v", tc.config, err, tc.ok)
		}
		if err == nil {
			b.Finalize()
		}
	}
}

// TestDefaultPoolQuiet checks that the default Go backend gets its unlimited pool (GoMLX's description
// reports the pool's parallelism) without GoMLX's line on standard output, which would corrupt the
// output of a program such as reproduce -plan -json.
func TestDefaultPoolQuiet(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	b, err := Open(Default)
	os.Stdout = saved
	w.Close()
	printed, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !strings.Contains(b.Description(), "parallelism=-1") {
		t.Errorf("default backend %q: want an unlimited pool (parallelism=-1)", b.Description())
	}
	if len(printed) != 0 {
		t.Errorf("opening the default backend printed %q on standard output", printed)
	}
}
