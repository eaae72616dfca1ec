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
				rs, err := scoreSplit(x, y, n, p, q, splits[k], reg)
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

// scoreSplit fits on the split's training rows and returns the per-neuroid Pearson r on its test rows.
func scoreSplit(x, y []float64, n, p, q int, sp Split, reg PLS) ([]float64, error) {
	xs := gatherRows(x, p, sp.Train)
	ys := gatherRows(y, q, sp.Train)
	m, err := reg.fitInPlace(xs, ys, len(sp.Train), p, q)
	if err != nil {
		return nil, err
	}
	xs, ys = nil, nil
	nt := len(sp.Test)
	xt := gatherRows(x, p, sp.Test)
	for i := 0; i < nt; i++ {
		row := xt[i*p : (i+1)*p]
		for j := range row {
			row[j] -= m.XMean[j]
		}
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
