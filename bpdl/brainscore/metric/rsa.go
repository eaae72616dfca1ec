package metric

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// RDM returns the representational dissimilarity matrix of activations (images × features):
// entry (i, j) is 1 − r(i, j), where r is the Pearson correlation between the activation vectors of
// images i and j (NumPy's corrcoef over rows, as Brain-Score's RDM computes it). The diagonal is exactly
// zero. Rows of an image whose activations are all equal are NaN off the diagonal.
func RDM(activations mat.Matrix) *mat.SymDense {
	n, f := activations.Dims()
	z := mat.NewDense(n, f, denseCopy(activations))
	for i := 0; i < n; i++ {
		row := z.RawRowView(i)
		m := 0.0
		for _, v := range row {
			m += v
		}
		m /= float64(f)
		ss := 0.0
		for j := range row {
			row[j] -= m
			ss += row[j] * row[j]
		}
		norm := math.Sqrt(ss)
		for j := range row {
			row[j] /= norm // NaN for a constant row, as corrcoef gives
		}
	}
	out := mat.NewSymDense(n, nil)
	out.SymOuterK(1, z)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			r := math.Max(-1, math.Min(1, out.At(i, j)))
			out.SetSym(i, j, 1-r)
		}
		out.SetSym(i, i, 0)
	}
	return out
}

// Condensed returns the entries above the diagonal of a symmetric matrix, row by row: (0,1), (0,2), …,
// (0,n−1), (1,2), …, the order of NumPy's triu_indices(n, k=1) and SciPy's squareform.
func Condensed(m mat.Symmetric) []float64 {
	n := m.SymmetricDim()
	out := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			out = append(out, m.At(i, j))
		}
	}
	return out
}

// SquareForm is the inverse of Condensed: it builds the symmetric matrix with a zero diagonal whose
// upper triangle, row by row, is condensed (of length n(n−1)/2 for some n).
func SquareForm(condensed []float64) (*mat.SymDense, error) {
	n := int((1 + math.Sqrt(1+8*float64(len(condensed)))) / 2)
	if n*(n-1)/2 != len(condensed) || n < 2 {
		return nil, fmt.Errorf("metric: %d values are not the upper triangle of a square matrix", len(condensed))
	}
	out := mat.NewSymDense(n, nil)
	k := 0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			out.SetSym(i, j, condensed[k])
			k++
		}
	}
	return out, nil
}

// CompareRDMs returns the Spearman rank correlation between the upper triangles (above the diagonal)
// of two RDMs over the same images, Brain-Score's RDM similarity.
func CompareRDMs(a, b mat.Symmetric) (float64, error) {
	if a.SymmetricDim() != b.SymmetricDim() {
		return math.NaN(), fmt.Errorf("metric: comparing RDMs of %d and %d images", a.SymmetricDim(), b.SymmetricDim())
	}
	if a.SymmetricDim() < 3 {
		return math.NaN(), errors.New("metric: comparing RDMs needs at least 3 images")
	}
	return Spearman(Condensed(a), Condensed(b)), nil
}

// RSAResult is a representational similarity score with a bootstrap confidence interval.
type RSAResult struct {
	// Score is the Spearman correlation between the two RDMs' upper triangles.
	Score float64
	// Low and High bound the 95% percentile bootstrap interval of Score.
	Low, High float64
	// Bootstrap holds the score of each bootstrap resample (NaN where a resample had too few distinct
	// images to rank).
	Bootstrap []float64
}

// RSA compares a model RDM with a target RDM (Spearman correlation of their upper triangles) and
// bootstraps a 95% confidence interval over images: each of nBoot resamples draws n images with
// replacement (RandomState(seed).randint(0, n) draws, n at a time, so NumPy reproduces them), and
// correlates the two RDMs over all pairs of drawn positions a < b except pairs that drew the same image
// twice (their dissimilarity is the diagonal's zero, not data), as rsatoolbox's bootstrap over patterns
// does. Low and High are the 2.5th and 97.5th percentiles of the resampled scores, with NumPy's default
// linear interpolation. The result is fully determined by the inputs, nBoot and seed.
//
// Rather than listing each resample's pairs and ranking them anew (4186 pairs for 92 images, a thousand
// times), it weights each original pair (p, q) by the number of drawn position pairs that map to it,
// count(p)·count(q), and ranks with those multiplicities (ties share the average rank), which gives the
// same ρ from one sort of the pairs per matrix (equal to the direct computation within 1e-12; see
// TestRSAFastBootstrap). RDMs with NaN entries (an image whose activations are constant) are resampled
// directly.
func RSA(model, target mat.Symmetric, nBoot int, seed uint32) (*RSAResult, error) {
	score, err := CompareRDMs(model, target)
	if err != nil {
		return nil, err
	}
	if nBoot < 1 {
		return nil, fmt.Errorf("metric: RSA needs at least one bootstrap resample, got %d", nBoot)
	}
	n := model.SymmetricDim()
	a, b := Condensed(model), Condensed(target)
	res := &RSAResult{Score: score}
	if slices.ContainsFunc(a, math.IsNaN) || slices.ContainsFunc(b, math.IsNaN) {
		res.Bootstrap = resampleRDMs(model, target, nBoot, seed)
	} else {
		res.Bootstrap = weightedBootstrap(a, b, n, nBoot, seed)
	}
	res.Low = Percentile(res.Bootstrap, 2.5)
	res.High = Percentile(res.Bootstrap, 97.5)
	return res, nil
}

// resampleRDMs computes RSA's bootstrap directly: for each resample it lists the pairs of drawn
// positions and correlates their dissimilarities.
func resampleRDMs(model, target mat.Symmetric, nBoot int, seed uint32) []float64 {
	n := model.SymmetricDim()
	out := make([]float64, nBoot)
	rng := NewRandomState(seed)
	idx := make([]int, n)
	a := make([]float64, 0, n*(n-1)/2)
	b := make([]float64, 0, n*(n-1)/2)
	for k := range out {
		for i := range idx {
			idx[i] = rng.Intn(n)
		}
		a, b = a[:0], b[:0]
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if idx[i] != idx[j] {
					a = append(a, model.At(idx[i], idx[j]))
					b = append(b, target.At(idx[i], idx[j]))
				}
			}
		}
		if len(a) < 3 {
			out[k] = math.NaN()
			continue
		}
		out[k] = Spearman(a, b)
	}
	return out
}

// weightedBootstrap computes RSA's bootstrap from the condensed RDMs va and vb of n conditions (no
// NaN) by weighted ranks (see RSA).
func weightedBootstrap(va, vb []float64, n, samples int, seed uint32) []float64 {
	type pair struct{ p, q int }
	pairs := make([]pair, 0, len(va))
	for i := range n {
		for j := i + 1; j < n; j++ {
			pairs = append(pairs, pair{i, j})
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
	rng := NewRandomState(seed)
	out := make([]float64, samples)
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

// Percentile returns the q-th percentile (0 <= q <= 100) of the non-NaN values of x with NumPy's
// default linear interpolation: sorted values v₀ ≤ … ≤ v_{m−1}, position h = q/100·(m−1), result
// v_⌊h⌋ + (h − ⌊h⌋)(v_⌊h⌋₊₁ − v_⌊h⌋). NaN when there are no values.
func Percentile(x []float64, q float64) float64 {
	v := make([]float64, 0, len(x))
	for _, e := range x {
		if !math.IsNaN(e) {
			v = append(v, e)
		}
	}
	if len(v) == 0 || q < 0 || q > 100 {
		return math.NaN()
	}
	slices.Sort(v)
	h := q / 100 * float64(len(v)-1)
	lo := int(math.Floor(h))
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[lo] + (h-float64(lo))*(v[lo+1]-v[lo])
}
