package benchmark

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
)

// correlationRDM returns the representational dissimilarity matrix of the rows of x (conditions ×
// features): 1 − Pearson r between every two rows across features (rsatoolbox's calc_rdm with
// method="correlation"), n × n in row-major order. Pairs involving a constant row are NaN.
func correlationRDM(x mat.Matrix) []float64 {
	n, p := x.Dims()
	// Centre and normalise each row once; r is then a dot product.
	z := make([]float64, n*p)
	ok := make([]bool, n)
	row := make([]float64, p)
	for i := range n {
		mat.Row(row, i, x)
		m := 0.0
		for _, v := range row {
			m += v
		}
		m /= float64(p)
		ss := 0.0
		zi := z[i*p : (i+1)*p]
		for j, v := range row {
			zi[j] = v - m
			ss += zi[j] * zi[j]
		}
		if ss > 0 && !math.IsNaN(ss) {
			s := math.Sqrt(ss)
			for j := range zi {
				zi[j] /= s
			}
			ok[i] = true
		}
	}
	zd := mat.NewDense(n, p, z)
	var g mat.Dense
	g.Mul(zd, zd.T())
	rdm := make([]float64, n*n)
	for i := range n {
		for j := range n {
			switch {
			case i == j:
				rdm[i*n+j] = 0
			case !ok[i] || !ok[j]:
				rdm[i*n+j] = math.NaN()
			default:
				r := math.Max(-1, math.Min(1, g.At(i, j)))
				rdm[i*n+j] = 1 - r
			}
		}
	}
	return rdm
}

// rsaCompare returns Spearman's ρ between the upper triangles (i < j) of two n × n dissimilarity
// matrices (rsatoolbox's compare with method="spearman"); NaN when either holds a NaN there.
func rsaCompare(a, b []float64, n int) float64 {
	var x, y []float64
	for i := range n {
		for j := i + 1; j < n; j++ {
			x = append(x, a[i*n+j])
			y = append(y, b[i*n+j])
		}
	}
	return metric.Spearman(x, y)
}

// rsaBootstrap draws samples bootstrap resamples of the n conditions (with replacement, from a
// NumPy-compatible generator seeded with seed: n draws of randint(0, n) per resample) and returns ρ for
// each: the Spearman correlation over the pairs of sampled positions whose conditions differ, so a
// condition drawn twice counts twice and the zero dissimilarity of a condition with its own copy is
// left out, as rsatoolbox's bootstrap over patterns does.
//
// Rather than listing the resampled pairs, it weights each original pair (p, q) by the number of sampled
// position pairs that map to it, count(p)·count(q), and ranks with those multiplicities (ties share the
// average rank), which gives the same ρ from one sort of the pairs per matrix.
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

// percentile returns the q-th percentile (0 ≤ q ≤ 100) of the non-NaN values with linear interpolation
// between order statistics, as numpy.nanpercentile's default does; NaN when there are none.
func percentile(v []float64, q float64) float64 {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// checkSquare checks that an RDM has n × n entries.
func checkSquare(name string, rdm []float64, n int) error {
	if len(rdm) != n*n {
		return fmt.Errorf("benchmark: %s RDM has %d entries, want %d×%d", name, len(rdm), n, n)
	}
	return nil
}
