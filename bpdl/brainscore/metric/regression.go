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

// CrossFitter is implemented by regressions that fit the splits of one cross-validation faster together
// than one by one. PLS is one: it centres the data and forms their cross products once, and derives each
// split's from them. CrossRegressed fits any other regression on each split's rows with Fit.
type CrossFitter interface {
	// CrossFit prepares fits on splits of the rows of x (n×p) and y (n×q), which it does not modify.
	// The function it returns fits one split's training rows; it may be called concurrently.
	CrossFit(x, y mat.Matrix) (func(Split) (Predictor, error), error)
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
