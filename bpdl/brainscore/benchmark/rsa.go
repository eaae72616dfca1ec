package benchmark

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
)

// rsaBootstrap returns the bootstrap resamples of metric.RSA, computed faster: samples resamples of the
// n conditions (with replacement, from a NumPy-compatible generator seeded with seed: n draws of
// randint(0, n) per resample), and for each the Spearman ρ over the pairs of sampled positions whose
// conditions differ, so a condition drawn twice counts twice and the zero dissimilarity of a condition
// with its own copy is left out (as rsatoolbox's bootstrap over patterns does).
//
// Rather than listing the resampled pairs and ranking them anew (4186 pairs for 92 images, a
// thousand times per layer), it weights each original pair (p, q) by the number of sampled position
// pairs that map to it, count(p)·count(q), and ranks with those multiplicities (ties share the average
// rank), which gives the same ρ from one sort of the pairs per matrix. a and b are n × n row-major.
func rsaBootstrap(a, b []float64, n, samples int, seed uint32) []float64 {
	type pair struct{ p, q int }
	var pairs []pair
	for i := range n {
		for j := i + 1; j < n; j++ {
			pairs = append(pairs, pair{i, j})
		}
	}
	out := make([]float64, samples)
	va := make([]float64, len(pairs))
	vb := make([]float64, len(pairs))
	for k, pq := range pairs {
		va[k], vb[k] = a[pq.p*n+pq.q], b[pq.p*n+pq.q]
		if math.IsNaN(va[k]) || math.IsNaN(vb[k]) {
			for s := range out {
				out[s] = math.NaN()
			}
			return out
		}
	}
	byValue := func(v []float64) []int {
		o := make([]int, len(v))
		for i := range o {
			o[i] = i
		}
		slices.SortFunc(o, func(x, y int) int { return cmp.Compare(v[x], v[y]) })
		return o
	}
	orderA, orderB := byValue(va), byValue(vb)
	rng := metric.NewRandomState(seed)
	count := make([]float64, n)
	w := make([]float64, len(pairs))
	ra := make([]float64, len(pairs))
	rb := make([]float64, len(pairs))
	for s := range out {
		clear(count)
		for range n {
			count[rng.Intn(n)]++
		}
		total := 0.0
		for k, pq := range pairs {
			w[k] = count[pq.p] * count[pq.q]
			total += w[k]
		}
		weightedRanks(ra, va, orderA, w)
		weightedRanks(rb, vb, orderB, w)
		// Weighted Pearson correlation of the ranks; both have mean (total+1)/2.
		mean := (total + 1) / 2
		var sab, saa, sbb float64
		for k, wk := range w {
			if wk == 0 {
				continue
			}
			da, db := ra[k]-mean, rb[k]-mean
			sab += wk * da * db
			saa += wk * da * da
			sbb += wk * db * db
		}
		if saa == 0 || sbb == 0 {
			out[s] = math.NaN()
			continue
		}
		out[s] = math.Max(-1, math.Min(1, sab/math.Sqrt(saa*sbb)))
	}
	return out
}

// weightedRanks sets rank[k] to the average 1-based rank of item k among the items counted w times each
// (items of weight 0 take no ranks), order listing the items by ascending value v.
func weightedRanks(rank, v []float64, order []int, w []float64) {
	done := 0.0
	for i := 0; i < len(order); {
		j, sum := i, 0.0
		for j < len(order) && v[order[j]] == v[order[i]] {
			sum += w[order[j]]
			j++
		}
		avg := done + (sum+1)/2
		for _, k := range order[i:j] {
			rank[k] = avg
		}
		done += sum
		i = j
	}
}

// checkSquare checks that an RDM has n × n entries.
func checkSquare(name string, rdm []float64, n int) error {
	if len(rdm) != n*n {
		return fmt.Errorf("benchmark: %s RDM has %d entries, want %d×%d", name, len(rdm), n, n)
	}
	return nil
}
