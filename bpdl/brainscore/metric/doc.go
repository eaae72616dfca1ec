// Package metric holds the pieces of Brain-Score's neural and behavioural metrics, over plain matrices:
// regressions behind one interface (Regression: partial least squares with scikit-learn's exact
// semantics, ridge and least squares), Pearson and Spearman correlation, the cross-validation splits
// scikit-learn draws (with a NumPy-compatible random generator), the median-over-neuroids and
// mean-over-splits aggregation, split-half ceilings with the Spearman-Brown correction, ceiled scores,
// and representational similarity analysis.
//
// Neural predictivity is composed as Brain-Score composes it: CrossRegressed cross-validates a
// Regression over Splits, compares predictions with responses by a Correlation per neuroid and
// aggregates them (median over neuroids, then mean and standard error over splits). A regression that
// fits a cross-validation's splits faster together (CrossFitter: PLS derives each split's cross
// products from the all-image ones) does so; any other is fitted on each split's rows. A new regression is one file (a type with
// Fit, and a fitted type with Predict) plus one line in DefaultRegressions.
//
// It knows nothing of models, files or assemblies: images are rows, features and neuroids are columns.
package metric
