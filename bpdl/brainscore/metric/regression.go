package metric

import (
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Regression maps features to responses (scikit-learn's estimator: fit, then predict). Brain-Score
// uses PLS for neural predictivity; ridge and plain least squares (Ridge with Alpha 0) are its other
// choices.
type Regression interface {
	// Fit fits the regression of y (n×q) on x (n×p). Neither input is modified.
	Fit(x, y mat.Matrix) (Predictor, error)
}

// Predictor is a fitted regression.
type Predictor interface {
	// Predict returns the predicted responses (rows × q) of the rows of x (rows × p).
	Predict(x mat.Matrix) (*mat.Dense, error)
}

// Centred is a training set centred on its column means, with its cross products: what a
// ProductsFitter fits from. Matrices are row-major.
type Centred struct {
	// N, P and Q are the numbers of rows, features and responses.
	N, P, Q int
	// X (N×P) and Y (N×Q) are the centred data; XMean and YMean the means subtracted.
	X, Y         []float64
	XMean, YMean []float64
	// XY is XᵀY (P×Q) and YY is YᵀY (Q×Q, both triangles), of the centred data.
	XY, YY []float64
}

// ProductsFitter is implemented by regressions that fit from a Centred training set, so that
// cross-validation (CrossRegressed) can derive each split's cross products from the all-image ones,
// which costs a tenth of forming them from the training rows. PLS is one; a regression without it is
// fitted on each split's rows by Fit.
type ProductsFitter interface {
	// FitCentred fits on d, which it may overwrite.
	FitCentred(d *Centred) (Predictor, error)
}

// Regressions is a registry of regressions by name, each made with its default settings.
// DefaultRegressions holds bpdl's; a new regression is one file plus one line there.
type Regressions map[string]func() Regression

// DefaultRegressions returns the regressions bpdl ships: "pls", Brain-Score's
// PLSRegression(n_components=25, scale=False), and "ridge", scikit-learn's Ridge(alpha=1).
func DefaultRegressions() Regressions {
	return Regressions{
		"pls":   func() Regression { return BrainScorePLS() },
		"ridge": func() Regression { return Ridge{Alpha: 1} },
	}
}

// Names lists the registered regressions, sorted.
func (r Regressions) Names() []string {
	var out []string
	for n := range r {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// New makes the named regression.
func (r Regressions) New(name string) (Regression, error) {
	mk, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("metric: unknown regression %q (known: %s)", name, strings.Join(r.Names(), ", "))
	}
	return mk(), nil
}
