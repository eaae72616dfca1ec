package snn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/optim"
)

// randomEvents returns sparse random spikes of rows x units, each unit firing with probability p.
func randomEvents(seed uint64, rows, units int, p float64) *events {
	r := rand.New(rand.NewPCG(seed, 9))
	e := &events{}
	e.reset()
	for row := 0; row < rows; row++ {
		for j := 0; j < units; j++ {
			if r.Float64() < p {
				e.idx = append(e.idx, int32(j))
			}
		}
		e.endRow()
	}
	return e
}

func TestEventDrivenLayerMatchesDense(t *testing.T) {
	backend := testBackend(t)
	for _, tc := range []struct {
		name                string
		rows, inputs, units int
		p                   float64
	}{
		{"mnist-like 20 Hz", 400, 784, 96, 0.003},
		{"dense-ish 1000 Hz", 200, 784, 96, 0.1},
		{"odd widths", 60, 37, 21, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Study()
			cfg.Hidden = []int{tc.units}
			n, err := New(cfg, tc.inputs, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			in := spikes{randomEvents(2, tc.rows, tc.inputs, tc.p)}
			dense := denseSpikes(in, tc.rows, 1, tc.inputs)
			// Forward: the currents of every row, event-driven and as one dense product.
			got := make([]float32, tc.rows*tc.units)
			lo := tc.units / 3 // a range of units, as one worker sees it
			for r := 0; r < tc.rows; r++ {
				n.current(got[r*tc.units:r*tc.units+lo], 0, in, r, 0, lo)
				n.current(got[r*tc.units+lo:(r+1)*tc.units], 0, in, r, lo, tc.units)
			}
			// Backward: dL/dW = sum_r g(r)^T x(r) for random current gradients g.
			g := make([]float32, tc.rows*tc.units)
			rng := rand.New(rand.NewPCG(3, 3))
			for k := range g {
				g[k] = float32(rng.NormFloat64())
			}
			gw := make([]float32, tc.inputs*tc.units)
			for r := 0; r < tc.rows; r++ {
				addOuter(gw, tc.units, 0, in, r, g[r*tc.units:r*tc.units+lo])
				addOuter(gw, tc.units, lo, in, r, g[r*tc.units+lo:(r+1)*tc.units])
			}
			w := mustState(t, n)[0:2]
			exec := MustNewExec(backend, func(x, w, b, g *Node) (*Node, *Node) {
				x = Reshape(x, tc.rows, tc.inputs)
				cur := Add(DotGeneral(x, []int{1}, nil, w, []int{1}, nil), ExpandAxes(b, 0))
				return cur, DotGeneral(g, []int{0}, nil, x, []int{0}, nil) // [units, inputs]
			})
			outs := exec.MustExec(dense, w[0], w[1], tensors.FromFlatDataAndDimensions(g, tc.rows, tc.units))
			assertClose(t, "currents", got, tensors.MustCopyFlatData[float32](outs[0]), 1e-5)
			assertClose(t, "dL/dW", toTorch(gw, tc.units, tc.inputs), tensors.MustCopyFlatData[float32](outs[1]), 1e-5)
		})
	}
}

func TestKernelsMatchPortable(t *testing.T) {
	t.Logf("kernels: %s", Kernels())
	r := rand.New(rand.NewPCG(4, 4))
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for k := range v {
			v[k] = float32(scale * r.NormFloat64())
		}
		return v
	}
	c := StudyLIF().coef(1e-3)
	for _, n := range []int{1, 7, 8, 31, 96, 1536} {
		// Elementwise kernels: identical results.
		v, i, cur := vec(n, 0.5), vec(n, 1), vec(n, 0.3)
		v2, i2 := slices.Clone(v), slices.Clone(i)
		vd, vd2 := make([]float32, n), make([]float32, n)
		lifForward(c, v, i, cur, vd)
		lifForwardGo(c, v2, i2, cur, vd2)
		if !slices.Equal(v, v2) || !slices.Equal(i, i2) || !slices.Equal(vd, vd2) {
			t.Errorf("n=%d: lifForward differs from the portable kernel", n)
		}
		if a, b := spikesAbove(nil, vd, c.vth, 5), spikesAboveGo(nil, vd, c.vth, 5); !slices.Equal(a, b) {
			t.Errorf("n=%d: spikesAbove %v, portable %v", n, a, b)
		}
		gz, gv, gi := vec(n, 1), vec(n, 1), vec(n, 1)
		gv2, gi2 := slices.Clone(gv), slices.Clone(gi)
		lifBackward(c, vd, gz, gv, gi)
		lifBackwardGo(c, vd, gz, gv2, gi2)
		if !slices.Equal(gv, gv2) || !slices.Equal(gi, gi2) {
			t.Errorf("n=%d: lifBackward differs from the portable kernel", n)
		}
		dst, src := vec(n, 1), vec(n, 1)
		dst2 := slices.Clone(dst)
		addTo(dst, src)
		addToGo(dst2, src)
		if !slices.Equal(dst, dst2) {
			t.Errorf("n=%d: addTo differs from the portable kernel", n)
		}
	}
	// Sums of weight rows: identical results.
	for _, width := range []int{5, 64, 100, 128, 200} {
		const rows, stride, lo = 50, 300, 17
		w := vec(rows*stride, 1)
		idx := []int32{3, 3, 0, 49, 20, 7}
		dst, src := vec(width, 1), vec(width, 1)
		dst2 := slices.Clone(dst)
		addRows(dst, w, stride, lo, idx)
		addRowsGo(dst2, w, stride, lo, idx)
		if !slices.Equal(dst, dst2) {
			t.Errorf("width %d: addRows differs from the portable kernel", width)
		}
		w2 := slices.Clone(w)
		addToRows(w, stride, lo, idx, src)
		addToRowsGo(w2, stride, lo, idx, src)
		if !slices.Equal(w, w2) {
			t.Errorf("width %d: addToRows differs from the portable kernel", width)
		}
	}
	// mulRows: equal up to rounding, and every element the same whatever block it falls in.
	for _, sz := range [][3]int{{9, 256, 37}, {4, 10, 6}, {3, 5, 2}, {13, 33, 70}, {8, 256, 128}} {
		m, k, nb := sz[0], sz[1], sz[2]
		a, b := vec(m*k, 1), vec(k*nb, 1)
		got, want := make([]float32, m*nb), make([]float32, m*nb)
		mulRows(got, nb, a, m, k, b, nb, 0, nb)
		mulRowsGo(want, nb, a, m, k, b, nb, 0, nb)
		assertClose(t, "mulRows", got, want, 1e-6)
		// The same products computed in two column ranges and row by row.
		split := make([]float32, m*nb)
		for row := 0; row < m; row++ {
			mulRows(split[row*nb:], nb, a[row*k:], 1, k, b, nb, 0, nb/2)
			mulRows(split[row*nb:], nb, a[row*k:], 1, k, b, nb, nb/2, nb)
		}
		if !slices.Equal(got, split) {
			t.Errorf("mulRows %v: results depend on the blocking", sz)
		}
	}
}

// trainSome trains a tiny net for a few steps and returns it.
func trainSome(t *testing.T, cfg Config, seed uint64, steps int) *Net {
	t.Helper()
	n, err := New(cfg, 12, 3, seed)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < steps; s++ {
		x, y := randomBatch(uint64(100+s), 4, 12, 3)
		if _, err := n.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// mustState is n.State, failing the test on an error.
func mustState(t testing.TB, n *Net) []*tensors.Tensor {
	t.Helper()
	s, err := n.State()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stateValues is n's state as values: float32 tensors as they are, the int64 counters one by one.
func stateValues(t testing.TB, n *Net) [][]float32 { return valuesOf(mustState(t, n)) }

func sameState(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if len(a[k]) != len(b[k]) {
			return false
		}
		for q := range a[k] {
			if math.Float32bits(a[k][q]) != math.Float32bits(b[k][q]) {
				return false
			}
		}
	}
	return true
}

func TestDeterminism(t *testing.T) {
	for _, opt := range []optim.Optimizer{optim.Study(), optim.DefaultAdam(1e-3)} {
		cfg := tinyConfig(DecodeMax, 100)
		cfg.Steps = 20
		cfg.Optimizer = opt
		ref := stateValues(t, trainSome(t, cfg, 1, 5))
		if !sameState(ref, stateValues(t, trainSome(t, cfg, 1, 5))) {
			t.Errorf("%s: the same seed gave different states", opt)
		}
		if sameState(ref, stateValues(t, trainSome(t, cfg, 2, 5))) {
			t.Errorf("%s: another seed gave the same state", opt)
		}
	}
}

// TestWorkersDoNotChangeResults: 1, 2, 3 and 8 workers, or GOMAXPROCS of them, train to the same bits,
// on a net whose layers are cut into blocks of different widths for different worker counts (blockWidth)
// and whose backward product is split by rows when workers outnumber blocks.
func TestWorkersDoNotChangeResults(t *testing.T) {
	for _, opt := range []optim.Optimizer{optim.Study(), optim.DefaultAdam(1e-3)} {
		cfg := tinyConfig(DecodeMean, 20)
		cfg.Steps = 15
		cfg.Hidden = []int{300, 130}
		cfg.InitScale = 2
		cfg.Optimizer = opt
		train := func(workers int) (*Net, [][]float32) {
			cfg := cfg
			cfg.Workers = workers
			n, err := New(cfg, 40, 3, 1)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < 3; s++ {
				x, y := randomBatch(uint64(100+s), microBatch+5, 40, 3) // two micro-batches
				if _, err := n.Step(x, y); err != nil {
					t.Fatal(err)
				}
			}
			return n, stateValues(t, n)
		}
		one, ref := train(1)
		if one.ws.spk[0].count() == 0 || one.ws.spk[1].count() == 0 {
			t.Fatalf("%s: a hidden layer is silent: the test needs spikes", opt)
		}
		for _, workers := range []int{2, 3, 8, 0} {
			n, got := train(workers)
			if !sameState(ref, got) {
				t.Errorf("%s: %d workers (blocks %v) gave another state than one (blocks %v)", opt, workers, n.blocks, one.blocks)
			}
		}
	}
}

func TestStateResumesExactly(t *testing.T) {
	for _, opt := range []optim.Optimizer{optim.Study(), optim.DefaultAdam(1e-3)} {
		cfg := tinyConfig(DecodeMax, 100)
		cfg.Steps = 20
		cfg.Optimizer = opt
		full := trainSome(t, cfg, 1, 6)
		part := trainSome(t, cfg, 1, 3)
		// An evaluation between steps uses its own stream: training is unchanged by it.
		x, _ := randomBatch(7, 5, 12, 3)
		if _, err := part.Logits(x, 5); err != nil {
			t.Fatal(err)
		}
		resumed, err := New(cfg, 12, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := resumed.SetState(mustState(t, part)); err != nil {
			t.Fatal(err)
		}
		for s := 3; s < 6; s++ {
			x, y := randomBatch(uint64(100+s), 4, 12, 3)
			if _, err := resumed.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		a, b := stateValues(t, full), stateValues(t, resumed)
		// The evaluation counter differs (one evaluation); everything else is identical.
		if !sameState(a[:len(a)-1], b[:len(b)-1]) {
			t.Errorf("%s: resumed training differs from uninterrupted training", opt)
		}
	}
}
