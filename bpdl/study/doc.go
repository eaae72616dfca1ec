// Package study is the study as a library: it plans the runs of a configuration (every learning rule,
// every seed), trains each run with checkpoints and resume, scores the trained net on the brain
// benchmarks, and returns the records the report is made of. The reproduce command is this package plus
// flags and printing; a notebook or another Go program does the same in a few lines (see the example).
//
// A study is a Config (one value: dataset, rules, seeds, changes to the published settings, backend,
// where the data and the outputs are). New opens its backend; Plan lists its runs; each Run has a stable
// ID derived from everything that defines its outcome, so a run can be done by this process, by another
// one or by a task of a job array, and its files (CheckpointPath, ResultPath, in the output folder's
// runs/ folder) never collide with those of another configuration. Execute trains and scores one run
// and saves its result; Results gathers the saved results of a plan and says which runs are missing;
// Outputs turns results into the report's tables, figures and manifest.
//
// Processes share an output folder safely. Execute holds its run's advisory file lock (LockRun), so a
// second process doing the same run fails fast naming the holder, while different runs (the tasks of a
// job array, Select picks a task's run) and different configurations proceed side by side. Report writes
// the output set from the saved results of a plan, training nothing (NewForReport opens no accelerator),
// and names the missing runs (MissingError); WriteOutputs writes a set as one unit (a temporary folder
// inside the output folder, moved into place, MANIFEST last, under the folder's report lock); CleanStale
// removes what killed processes left.
package study
