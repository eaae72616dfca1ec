package metric

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Score is a cross-validated neural predictivity score with its ceiling.
type Score struct {
	// Raw is the mean over splits of RawPerSplit (ignoring NaN splits).
	Raw float64
	// RawPerSplit is, for each split, the median over neuroids of the Pearson r between predicted and
	// recorded responses on the split's test images.
	RawPerSplit []float64
	// NeuroidR holds, for each split, the Pearson r of every neuroid (NaN for a constant neuroid).
	NeuroidR [][]float64
	// Error is the standard error of Raw over splits as Brain-Score reports it: std(RawPerSplit) / √splits
	// with the population (ddof = 0) standard deviation.
	Error float64
	// Ceiling is the split-half consistency of the responses (NaN until SetCeiling is called).
	Ceiling float64
	// CeilingPerHalf is the ceiling of each half assignment.
	CeilingPerHalf []float64
	// CeiledRC2 is (Raw / Ceiling)², the ceiled score of the 2021 Brain-Score code the study used.
	CeiledRC2 float64
	// CeiledR2C is Raw² / Ceiling, the ceiled score of today's Brain-Score (explained variance over the
	// ceiling's).
	CeiledR2C float64
}

// CeiledRC2 returns (raw / ceiling)², the ceiled score of the 2021 Brain-Score code.
func CeiledRC2(raw, ceiling float64) float64 {
	r := raw / ceiling
	return r * r
}

// CeiledR2C returns raw² / ceiling, the ceiled score of today's Brain-Score.
func CeiledR2C(raw, ceiling float64) float64 {
	return raw * raw / ceiling
}

// SetCeiling records a ceiling and the two ceiled forms of the raw score.
func (s *Score) SetCeiling(c *Ceiling) {
	s.Ceiling = c.Value
	s.CeilingPerHalf = c.PerHalf
	s.CeiledRC2 = CeiledRC2(s.Raw, c.Value)
	s.CeiledR2C = CeiledR2C(s.Raw, c.Value)
}

// Predictivity scores how well features (images × features) predict responses (images × neuroids) the
// way Brain-Score's neural predictivity metric does: for each split, fit reg on the training images,
// predict the test images, correlate prediction and response per neuroid (Pearson r over test images)
// and take the median over neuroids; the score is the mean over splits and its error the standard error
// over splits. The ceiling fields are NaN until Score.SetCeiling is called.
//
// Splits run concurrently, up to GOMAXPROCS at a time; each holds a copy of its training rows.
func Predictivity(features, responses mat.Matrix, splits []Split, reg PLS) (*Score, error) {
	n, p := features.Dims()
	nr, q := responses.Dims()
	if n != nr {
		return nil, fmt.Errorf("metric: predictivity: features have %d images (rows) but responses have %d", n, nr)
	}
	if len(splits) == 0 {
		return nil, fmt.Errorf("metric: predictivity: no splits")
	}
	if err := CheckSplits(splits, n); err != nil {
		return nil, fmt.Errorf("metric: predictivity: %w", err)
	}
	if _, _, _, err := reg.params(p); err != nil {
		return nil, fmt.Errorf("metric: predictivity: %w", err)
	}
	x := rowMajor(features)
	y := rowMajor(responses)
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric: predictivity: features contain NaN or infinity")
		}
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric: predictivity: responses contain NaN or infinity")
		}
	}
	cp := newCrossProducts(x, y, n, p, q)

	s := &Score{
		RawPerSplit: make([]float64, len(splits)),
		NeuroidR:    make([][]float64, len(splits)),
		Ceiling:     math.NaN(), CeiledRC2: math.NaN(), CeiledR2C: math.NaN(),
	}
	errs := make([]error, len(splits))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(splits)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				rs, err := scoreSplit(x, y, p, q, cp, splits[k], reg)
				if err != nil {
					errs[k] = fmt.Errorf("metric: predictivity: split %d: %w", k, err)
					continue
				}
				s.NeuroidR[k] = rs
				s.RawPerSplit[k] = Median(rs)
			}
		}()
	}
	for k := range splits {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	s.Raw = Mean(s.RawPerSplit)
	s.Error = StdErr(s.RawPerSplit)
	return s, nil
}

// rowMajor returns the elements of m in row-major order, sharing the backing array of a dense matrix
// whose rows are contiguous.
func rowMajor(m mat.Matrix) []float64 {
	r, c := m.Dims()
	if d, ok := m.(mat.RawMatrixer); ok {
		raw := d.RawMatrix()
		if raw.Stride == c {
			return raw.Data[:r*c]
		}
	}
	return denseCopy(m)
}

// gatherRows copies the listed rows of the row-major matrix a (c columns) into a new slice.
func gatherRows(a []float64, c int, rows []int) []float64 {
	out := make([]float64, len(rows)*c)
	for i, r := range rows {
		copy(out[i*c:(i+1)*c], a[r*c:(r+1)*c])
	}
	return out
}

// crossProducts holds, for all images, the column means of features and responses and the products
// of the centred matrices, XcᵀYc (p×q) and YcᵀYc (q×q). Each split's training products follow from them
// by removing the test images and re-centring (see splitProducts), which costs a tenth of forming them
// from the training rows.
type crossProducts struct {
	xMean, yMean []float64
	cov, gram    []float64
}

func newCrossProducts(x, y []float64, n, p, q int) *crossProducts {
	bl := blas64.Implementation()
	xc := append([]float64(nil), x...)
	yc := append([]float64(nil), y...)
	cp := &crossProducts{xMean: centre(xc, n, p), yMean: centre(yc, n, q),
		cov: make([]float64, p*q), gram: make([]float64, q*q)}
	bl.Dgemm(blas.Trans, blas.NoTrans, p, q, n, 1, xc, p, yc, q, 0, cp.cov, q)
	bl.Dgemm(blas.Trans, blas.NoTrans, q, q, n, 1, yc, q, yc, q, 0, cp.gram, q)
	return cp
}

// splitProducts returns the training images' centred products (XₜᵣᵀYₜᵣ and YₜᵣᵀYₜᵣ, centred on the
// training means xTrMean, yTrMean) from the all-image ones. With m the all-image means and d the
// difference of the training and all-image means,
//
//	Σ_train (x − x̄ₜᵣ)(y − ȳₜᵣ)ᵀ = [Σ_all − Σ_test] (x − m_x)(y − m_y)ᵀ − nₜᵣ dₓ d_yᵀ,
//
// because the cross terms vanish over the training images. d is small, so nothing cancels badly.
func (cp *crossProducts) splitProducts(x, y []float64, p, q int, test []int, nTrain int, xTrMean, yTrMean []float64) (cov, gram []float64) {
	bl := blas64.Implementation()
	nt := len(test)
	xt := gatherRows(x, p, test)
	yt := gatherRows(y, q, test)
	for i := 0; i < nt; i++ {
		subtract(xt[i*p:(i+1)*p], cp.xMean)
		subtract(yt[i*q:(i+1)*q], cp.yMean)
	}
	cov = append([]float64(nil), cp.cov...)
	gram = append([]float64(nil), cp.gram...)
	bl.Dgemm(blas.Trans, blas.NoTrans, p, q, nt, -1, xt, p, yt, q, 1, cov, q)
	bl.Dgemm(blas.Trans, blas.NoTrans, q, q, nt, -1, yt, q, yt, q, 1, gram, q)
	dx := append([]float64(nil), xTrMean...)
	dy := append([]float64(nil), yTrMean...)
	subtract(dx, cp.xMean)
	subtract(dy, cp.yMean)
	bl.Dger(p, q, -float64(nTrain), dx, 1, dy, 1, cov, q)
	bl.Dger(q, q, -float64(nTrain), dy, 1, dy, 1, gram, q)
	return cov, gram
}

// subtract sets a[i] -= b[i].
func subtract(a, b []float64) {
	for i := range a {
		a[i] -= b[i]
	}
}

// scoreSplit fits on the split's training rows and returns the per-neuroid Pearson r on its test rows.
func scoreSplit(x, y []float64, p, q int, cp *crossProducts, sp Split, reg PLS) ([]float64, error) {
	nTr := len(sp.Train)
	xs := gatherRows(x, p, sp.Train)
	ys := gatherRows(y, q, sp.Train)
	if err := reg.check(xs, ys, nTr, p, q); err != nil {
		return nil, err
	}
	xMean := centre(xs, nTr, p)
	yMean := centre(ys, nTr, q)
	cov, gram := cp.splitProducts(x, y, p, q, sp.Test, nTr, xMean, yMean)
	m, err := reg.fitCentred(xs, ys, xMean, yMean, cov, gram, nTr, p, q)
	if err != nil {
		return nil, err
	}
	xs, ys, cov, gram = nil, nil, nil, nil
	nt := len(sp.Test)
	xt := gatherRows(x, p, sp.Test)
	for i := 0; i < nt; i++ {
		subtract(xt[i*p:(i+1)*p], m.XMean)
	}
	pred := make([]float64, nt*q)
	coef := m.Coef.RawMatrix()
	blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, nt, q, p, 1, xt, p, coef.Data, coef.Stride, 0, pred, q)
	for i := 0; i < nt; i++ {
		row := pred[i*q : (i+1)*q]
		for j := range row {
			row[j] += m.YMean[j]
		}
	}
	return PearsonColumns(mat.NewDense(nt, q, pred), mat.NewDense(nt, q, gatherRows(y, q, sp.Test)))
}
