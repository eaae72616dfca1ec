// Package benchmark scores models against brain data: the five public Brain-Score benchmarks the study
// reports (MajajHong2015public V4 and IT, FreemanZiemba2013public V1 and V2, Rajalingham2018public i2n)
// and two that run offline from openly licensed data (the 92-image macaque IT representational
// dissimilarity matrix of Kiani et al. 2007, as in Kriegeskorte et al. 2008, and the V4 recordings of
// Cowley et al. 2023).
//
// A benchmark is data plus a metric plus a preprocessing of its stimuli. It asks a Model for the
// activations of every layer it may map to the brain, scores each layer, and commits to one as
// Brain-Score's ModelCommitment does: for a region the layer whose ceiled score on that region's public
// benchmark is highest. Metrics come from package metric, which works on plain matrices; this package
// knows files, assemblies, images and models.
//
// One file per benchmark: majajhong2015.go, freemanziemba2013.go, rajalingham2018.go, rsa92.go,
// cowleyv4.go; neural.go holds what the two neural predictivity benchmarks share.
package benchmark
