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

// Correlation compares predicted with recorded responses column by column: one value per neuroid.
// PearsonColumns is Brain-Score's.
type Correlation func(predicted, recorded mat.Matrix) ([]float64, error)

// CrossRegressed is Brain-Score's CrossRegressedCorrelation, composed of its parts: for each
// cross-validation split, fit Regression on the training images, predict the test images, compare
// prediction and response per neuroid with Correlation and aggregate over neuroids with Aggregate; the
// score is the mean over splits and its error the standard error over splits (Brain-Score's
// aggregation). The ceiling fields of the Score are NaN until Score.SetCeiling is called.
type CrossRegressed struct {
	// Regression maps features to responses.
	Regression Regression
	// Correlation compares predictions with responses; nil means PearsonColumns.
	Correlation Correlation
	// Aggregate reduces the per-neuroid values of a split to one; nil means Median.
	Aggregate func([]float64) float64
}

// Predictivity scores how well features (images × features) predict responses (images × neuroids) the
// way Brain-Score's neural predictivity metric does, with reg as the regression (Brain-Score's is
// BrainScorePLS): CrossRegressed{Regression: reg}.Score.
func Predictivity(features, responses mat.Matrix, splits []Split, reg Regression) (*Score, error) {
	return CrossRegressed{Regression: reg}.Score(features, responses, splits)
}

// Score cross-validates the regression over the splits. Splits run concurrently, up to GOMAXPROCS at a
// time; each holds a copy of its training rows. A regression that is a CrossFitter prepares the splits'
// fits once (PLS: from the all-image cross products).
func (c CrossRegressed) Score(features, responses mat.Matrix, splits []Split) (*Score, error) {
	if c.Regression == nil {
		return nil, fmt.Errorf("metric: predictivity: no regression")
	}
	corr, agg := c.Correlation, c.Aggregate
	if corr == nil {
		corr = PearsonColumns
	}
	if agg == nil {
		agg = Median
	}
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
	fit := func(sp Split) (Predictor, error) {
		nTr := len(sp.Train)
		return c.Regression.Fit(mat.NewDense(nTr, p, gatherRows(x, p, sp.Train)), mat.NewDense(nTr, q, gatherRows(y, q, sp.Train)))
	}
	if cf, ok := c.Regression.(CrossFitter); ok {
		var err error
		if fit, err = cf.CrossFit(mat.NewDense(n, p, x), mat.NewDense(n, q, y)); err != nil {
			return nil, fmt.Errorf("metric: predictivity: %w", err)
		}
	}

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
				rs, err := scoreSplit(x, y, p, q, fit, splits[k], corr)
				if err != nil {
					errs[k] = fmt.Errorf("metric: predictivity: split %d: %w", k, err)
					continue
				}
				s.NeuroidR[k] = rs
				s.RawPerSplit[k] = agg(rs)
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

// scoreSplit fits on the split's training rows and returns the per-neuroid correlation on its test
// rows.
func scoreSplit(x, y []float64, p, q int, fit func(Split) (Predictor, error), sp Split, corr Correlation) ([]float64, error) {
	m, err := fit(sp)
	if err != nil {
		return nil, err
	}
	nt := len(sp.Test)
	pred, err := m.Predict(mat.NewDense(nt, p, gatherRows(x, p, sp.Test)))
	if err != nil {
		return nil, err
	}
	return corr(pred, mat.NewDense(nt, q, gatherRows(y, q, sp.Test)))
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
