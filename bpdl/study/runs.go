package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/report"
)

// Select returns the run of the plan runs named id, or, when id is "", the run at index (counting from 0,
// as a Slurm job array's SLURM_ARRAY_TASK_ID does with --array=0-<runs-1>), and its index. The errors
// name reproduce's flags (-run, -run-index).
func Select(runs []Run, id string, index int) (Run, int, error) {
	if id == "" {
		if index < 0 || index >= len(runs) {
			return Run{}, 0, &FieldError{Flag: "run-index", Value: fmt.Sprint(index), Want: fmt.Sprintf("0 to %d (the plan has %d runs)", len(runs)-1, len(runs))}
		}
		return runs[index], index, nil
	}
	for i, r := range runs {
		if r.ID == id {
			return r, i, nil
		}
	}
	want := "the ID of a run of this plan (reproduce -plan with the same flags lists them)"
	for _, r := range runs {
		// The same dataset, rule and seed with another fingerprint: the flags differ from the plan's.
		if i := strings.LastIndexByte(id, '-'); i > 0 && strings.HasPrefix(r.ID, id[:i+1]) {
			want += fmt.Sprintf("; with these flags that run is %s: pass the flags of the plan that listed %s", r.ID, id)
			break
		}
	}
	return Run{}, 0, &FieldError{Flag: "run", Value: fmt.Sprintf("%q", id), Want: want}
}

// Lock takes the lock of every run in runs (see LockRun) and holds them for this Study until Unlock or
// Close, so that Execute does them without locking again. A process that does a whole plan takes every
// lock first, so a second process doing the same plan fails at once rather than at its first shared run.
// Lock removes each run's stale temporaries (left by a killed process). On failure it holds none.
func (s *Study) Lock(ctx context.Context, runs []Run) error {
	if s.locks == nil {
		s.locks = map[string]*Lock{}
	}
	var taken []string
	for _, r := range runs {
		if s.locks[r.ID] != nil {
			continue
		}
		l, err := LockRun(ctx, s.cfg.Out, r)
		if err != nil {
			for _, id := range taken {
				s.unlock(id)
			}
			return err
		}
		s.locks[r.ID] = l
		taken = append(taken, r.ID)
		if l.Unsupported != nil {
			s.logf("warning: %s: the file system has no file locks (%v): nothing keeps another process from doing run %s at the same time", l.path, l.Unsupported, r.ID)
			continue
		}
		removed, err := removeRunTemps(s.cfg.Out, r.ID)
		for _, p := range removed {
			s.logf("removed the stale temporary %s", p)
		}
		if err != nil {
			for _, id := range taken {
				s.unlock(id)
			}
			return err
		}
	}
	return nil
}

// Unlock releases every run lock the Study holds.
func (s *Study) Unlock() {
	for id := range s.locks {
		s.unlock(id)
	}
}

func (s *Study) unlock(id string) {
	if err := s.locks[id].Unlock(); err != nil {
		s.logf("warning: %v", err)
	}
	delete(s.locks, id)
}

// Saved returns run r's result when the output folder holds one (a run finished by this or another
// process), so that a task of a job array that is run again does not redo it.
func (s *Study) Saved(r Run) (report.Run, bool) {
	res, err := LoadResult(ResultPath(s.cfg.Out, r), r)
	return res, err == nil
}

// MissingError says that planned runs have no result in the output folder: Report wrote the output set
// from the others.
type MissingError struct {
	Out  string
	Runs []Run
}

func (e *MissingError) Error() string {
	ids := make([]string, len(e.Runs))
	for i, r := range e.Runs {
		ids[i] = r.ID
	}
	return fmt.Sprintf("%d planned runs have no result in %s, and the tables and figures (and MANIFEST's missing: lines) leave them out: %s; do them (reproduce -run ID, with the plan's flags) and report again",
		len(e.Runs), e.Out, strings.Join(ids, ", "))
}

// Report writes the output set (WriteReport) of the plan runs from the results saved in the output folder,
// training nothing. When some runs have no result it writes the set of the others, its MANIFEST listing
// the missing ones, and returns a *MissingError; when none has, it writes nothing and fails.
func (s *Study) Report(ctx context.Context, runs []Run, command string, figures bool, log io.Writer) error {
	done, missing, err := Results(s.cfg.Out, runs)
	if err != nil {
		return err
	}
	if len(done) == 0 {
		return fmt.Errorf("no run of the plan has a result in %s (%d planned: reproduce -plan lists them); nothing to report", s.cfg.Out, len(runs))
	}
	if err := s.WriteReport(ctx, done, missing, command, figures, log); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &MissingError{Out: s.cfg.Out, Runs: missing}
	}
	return nil
}

// WriteReport writes the output set of results into the output folder (Outputs, then WriteOutputs: as one
// unit, MANIFEST last); missing are the planned runs left out, which the MANIFEST lists.
func (s *Study) WriteReport(ctx context.Context, results []report.Run, missing []Run, command string, figures bool, log io.Writer) error {
	files, err := s.outputs(results, missing, command, figures)
	if err != nil {
		return err
	}
	return WriteOutputs(ctx, s.cfg.Out, files, log)
}

// CleanStale removes the stale temporaries of the output folder (the function CleanStale), saying what it
// removed to Log.
func (s *Study) CleanStale() error {
	removed, err := CleanStale(s.cfg.Out)
	for _, p := range removed {
		s.logf("removed the stale temporary %s", p)
	}
	return err
}

// NewForReport is New for a process that only reports (Report, WriteReport): its plan names the runs by
// the configured backend, as the processes that trained them did, but it opens the pure-Go backend, since
// the learners it builds to plan are never trained. So a report job needs no GPU, nor the accelerator's
// plugin, even for runs that trained on one. Execute and Estimate must not be used on it.
func NewForReport(cfg Config) (*Study, error) { return open(cfg, backend.GoSequential) }

// ExecuteAll does every run of the plan in this process, in order (Execute), then writes the report
// (WriteReport) with command as its recorded command line. Take the plan's locks first (Lock), so that a
// second process doing the same plan fails at once. A benchmark that fails (a *ScoreError) does not stop
// it: the report is written, then the failures come back joined.
func (s *Study) ExecuteAll(ctx context.Context, runs []Run, command string, figures bool, log io.Writer) error {
	var results []report.Run
	var failed []error
	for _, r := range runs {
		res, err := s.Execute(ctx, r)
		var scoreErr *ScoreError
		switch {
		case errors.As(err, &scoreErr):
			failed = append(failed, err)
		case err != nil:
			return err
		}
		results = append(results, res)
	}
	if err := s.WriteReport(ctx, results, nil, command, figures, log); err != nil {
		return err
	}
	return errors.Join(failed...)
}

// ExecuteOnce does run r (Execute) unless the output folder holds its result already and Config.Force is
// not set, so that a job array's task that is run again does not redo it; done says it was skipped.
func (s *Study) ExecuteOnce(ctx context.Context, r Run) (done bool, err error) {
	if _, ok := s.Saved(r); ok && !s.cfg.Force {
		return true, nil
	}
	_, err = s.Execute(ctx, r)
	return false, err
}
