// Package benchmark scores models against brain data: the five public Brain-Score benchmarks the study
// reports (MajajHong2015public V4 and IT, FreemanZiemba2013public V1 and V2, Rajalingham2018public i2n)
// and two that run offline from openly licensed data (the 92-image macaque IT representational
// dissimilarity matrix of Kiani et al. 2007, as in Kriegeskorte et al. 2008, and the V4 recordings of
// Cowley et al. 2023).
//
// A Benchmark is data plus a metric plus a preprocessing of its stimuli: it shows a Model its images,
// scores every layer the model offers, and picks the best. Which layer stands for a brain region is a
// separate step, a Commitment, as Brain-Score's ModelCommitment does it: a region's layer is the best on
// its selection benchmark (its public benchmark), and every later benchmark of that region sees the
// model restricted to that layer (Only); behaviour is read out at the last layer. ScoreAll runs the
// benchmarks of a Registry this way. Metrics come from package metric, which works on plain matrices;
// this package knows files, assemblies, images and models.
//
// One file per benchmark: majajhong2015.go, freemanziemba2013.go, rajalingham2018.go, rsa92.go,
// cowleyv4.go; neural.go holds what the two neural predictivity benchmarks share.
//
// # Adding a benchmark
//
// A new benchmark is a type with Identifier, Region and Score (and Inputs, to take part in the stimuli
// export), a Definition that names the files it needs and loads it, and one line in DefaultRegistry. A
// program of its own registers it without touching this package:
//
//	reg := benchmark.DefaultRegistry()
//	err := reg.Register(benchmark.Definition{
//		Spec: benchmark.Spec{Identifier: "mylab2024.IT-rsa", Region: "IT", Metric: "rsa",
//			Files: []benchmark.DataFile{{Dir: "mylab", File: fetch.File{Name: "rdm.npy", URL: url, Size: size, Sum: sum}}}},
//		Load: func(ctx context.Context, src *benchmark.Source) (benchmark.Benchmark, error) {
//			return loadMyLab(src.Paths[0]) // a type with Identifier, Region and Score
//		},
//	})
//	...
//	results, err := benchmark.ScoreAll(ctx, model, benchmark.Options{Registry: reg, Dirs: dirs})
//
// TestRegisterToyBenchmarks does exactly this.
//
// # Models that run elsewhere
//
// ExportStimuli writes every benchmark's images as bpdl's nets see them; a model run outside bpdl on
// them saves its activations beside them, and a Precomputed model scores those through ScoreAll like
// any other (see export.go for the layout).
package benchmark
