// Package perf measures how fast bpdl trains and scores, and compares it with the study's own code in
// PyTorch: it is what `reproduce bench` runs, as a library, so that a notebook or another program can
// time a learner, a reference or the whole comparison the same way.
//
// Run measures each learner's training step (StepRate: train.Calibrate on random data) at the study's
// batch sizes (Plan), for every engine the learner has (Engines), in rounds that alternate with the
// PyTorch reference (Reference: bench/torch_study.py, the study's formulation of each rule, at its
// fastest thread configuration), keeping the best of each. Optionally it times the MNIST study end to
// end against the study's training protocol in PyTorch (EndToEnd) and the brain-scoring pipeline on
// synthetic data at the public benchmarks' sizes (Scoring). The Report it returns renders as bench.csv
// and bench.md (Report.Tables, Report.Write).
//
// Every number is measured on the machine that runs it; docs/performance.md says how to get figures
// worth quoting (a quiet machine) and keeps the measured history.
package perf
