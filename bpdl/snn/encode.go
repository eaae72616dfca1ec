package snn

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// events lists the units that fired at each time step of a batch, as compressed rows: the batch's rows
// are r = t*batch + b for step t and example b, and the units of row r are idx[ptr[r]:ptr[r+1]], in
// increasing order.
type events struct {
	ptr []int32 // rows+1 offsets into idx
	idx []int32
}

// reset empties e before rows are appended with endRow.
func (e *events) reset() {
	e.ptr = append(e.ptr[:0], 0)
	e.idx = e.idx[:0]
}

// endRow closes the row whose units were appended to idx since the previous call.
func (e *events) endRow() { e.ptr = append(e.ptr, int32(len(e.idx))) }

// row returns the units of row r.
func (e *events) row(r int) []int32 { return e.idx[e.ptr[r]:e.ptr[r+1]] }

// count is the number of events.
func (e *events) count() int { return len(e.idx) }

// spikes are the events of a layer kept as parts over increasing ranges of units (one per worker that
// produced them); for a row, the parts in order list the units in increasing order.
type spikes []*events

func (s spikes) count() int {
	n := 0
	for _, e := range s {
		n += e.count()
	}
	return n
}

// The random streams of the input encoder: one for training steps, one for evaluations (Logits, Probe,
// Activity), each counted separately so that evaluating does not change what training sees.
const (
	streamTrain  uint64 = 1
	streamEval   uint64 = 2
	streamRaster uint64 = 3 // Raster's, used with call 0 only: a raster does not depend on earlier calls
)

// exampleRNG returns the random stream of example b of the call-th use of a stream by a net seeded with
// seed: ChaCha8 keyed by the four numbers, so every example's spike train is independent of the others
// and of how the work is split.
func exampleRNG(seed, stream, call uint64, b int) *rand.Rand {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], stream)
	binary.LittleEndian.PutUint64(key[16:], call)
	binary.LittleEndian.PutUint64(key[24:], uint64(b))
	return rand.New(rand.NewChaCha8(key))
}

// poissonEncoder draws input spike trains; its buffers are reused between batches. workers goroutines
// (one when 0) encode the examples concurrently; the spikes do not depend on it.
type poissonEncoder struct {
	workers int
	counts  []int32
	pairs   [][]rowUnit // per example: its spikes, unit by unit, each unit's in time order
}

type rowUnit struct{ r, j int32 }

// encode draws the spike trains of a batch of inputs x [batch, dim] over steps time steps into dst: unit
// j of example b fires at step t when u < q*x[b, j] with u ~ U[0, 1) independent for every (b, j, t),
// q = FMax*DT (norse's poisson_encode). Units with x <= 0 never fire; units with q*x >= 1 fire at every
// step. rng(b) is example b's random stream.
//
// The draws are made by sampling the gaps between a unit's spikes, which are geometric with success
// probability p = q*x: the next spike comes 1 + floor(log(u)/log(1-p)) steps after the previous one,
// u ~ U(0, 1]. This gives the same distribution as one uniform number per step with about one draw per
// spike instead of one per step.
//
// Every row r = t*batch + b belongs to one example, so the examples are drawn, counted and placed
// concurrently without sharing anything; within a row the units come in increasing order.
func (enc *poissonEncoder) encode(dst *events, x []float32, batch, dim, steps int, q float32, rng func(b int) *rand.Rand) {
	rows := steps * batch
	enc.counts = resize(enc.counts, rows)
	clear(enc.counts)
	if cap(enc.pairs) < batch {
		enc.pairs = append(enc.pairs[:cap(enc.pairs)], make([][]rowUnit, batch-cap(enc.pairs))...)
	}
	enc.pairs = enc.pairs[:batch]
	workers := max(1, enc.workers)
	forEach(batch, workers, func(_, b int) {
		enc.pairs[b] = enc.drawExample(enc.pairs[b][:0], x[b*dim:(b+1)*dim], b, batch, steps, q, rng)
	})
	// Counting sort by row.
	dst.ptr = resize(dst.ptr, rows+1)
	dst.ptr[0] = 0
	for r := 0; r < rows; r++ {
		dst.ptr[r+1] = dst.ptr[r] + enc.counts[r]
	}
	dst.idx = resize(dst.idx, int(dst.ptr[rows]))
	next := enc.counts // reused as the next free slot of each row
	copy(next, dst.ptr[:rows])
	forEach(batch, workers, func(_, b int) {
		for _, p := range enc.pairs[b] {
			dst.idx[next[p.r]] = p.j
			next[p.r]++
		}
	})
}

// drawExample appends to pairs the spikes of example b of a batch, x its inputs, unit by unit, and counts
// them in enc.counts (whose rows t*batch + b belong to this example alone).
func (enc *poissonEncoder) drawExample(pairs []rowUnit, x []float32, b, batch, steps int, q float32, rng func(b int) *rand.Rand) []rowUnit {
	counts := enc.counts
	var r *rand.Rand
	for j, xj := range x {
		p := q * xj
		if !(p > 0) {
			continue
		}
		if p >= 1 {
			for t := 0; t < steps; t++ {
				row := int32(t*batch + b)
				counts[row]++
				pairs = append(pairs, rowUnit{row, int32(j)})
			}
			continue
		}
		if r == nil {
			r = rng(b)
		}
		lg := math.Log1p(-float64(p))
		for t := -1; ; {
			gap := math.Floor(math.Log(1-r.Float64()) / lg)
			if gap >= float64(steps-1-t) {
				break
			}
			t += 1 + int(gap)
			row := int32(t*batch + b)
			counts[row]++
			pairs = append(pairs, rowUnit{row, int32(j)})
		}
	}
	return pairs
}

// resize returns s with length n, reusing its storage when it is large enough. The contents are not
// cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
