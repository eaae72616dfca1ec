// Package metric holds the pieces of Brain-Score's neural and behavioural metrics, over plain matrices:
// partial least squares regression with scikit-learn's exact semantics, Pearson and Spearman
// correlation, the cross-validation splits scikit-learn draws (with a NumPy-compatible random
// generator), the median-over-neuroids and mean-over-splits aggregation, split-half ceilings with the
// Spearman-Brown correction, ceiled scores, and representational similarity analysis.
//
// It knows nothing of models, files or assemblies: images are rows, features and neuroids are columns.
package metric
