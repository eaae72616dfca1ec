package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/report"
)

// resultFile is a run's result file: the run as planned and its record for the report.
type resultFile struct {
	Format string     `json:"format"`
	Run    Run        `json:"run"`
	Result report.Run `json:"result"`
}

// resultFormat names the layout of result files. It changes whenever a result's fields change meaning,
// so that a result written by another version of bpdl is never read as if it were of this one.
const resultFormat = "bpdl-run-result/2"

// SaveResult writes run r's result to path atomically: a reader sees the whole file or none.
func SaveResult(path string, r Run, result report.Run) error {
	b, err := json.MarshalIndent(resultFile{Format: resultFormat, Run: r, Result: result}, "", " ")
	if err != nil {
		return fmt.Errorf("result of %s: %w", r.ID, err)
	}
	err = fetch.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
	if err != nil {
		return fmt.Errorf("result of %s: %w", r.ID, err)
	}
	return nil
}

// LoadResult reads run r's result from path. It fails when the file is missing (wrapping os.ErrNotExist),
// unreadable, written by another version of bpdl, or the result of another configuration.
func LoadResult(path string, r Run) (report.Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return report.Run{}, fmt.Errorf("result of %s: %w", r.ID, err)
	}
	var f resultFile
	if err := json.Unmarshal(b, &f); err != nil {
		return report.Run{}, fmt.Errorf("result of %s: %s is not a result file: %w", r.ID, path, err)
	}
	if f.Format != resultFormat {
		return report.Run{}, fmt.Errorf("result of %s: %s was written by another version of bpdl (format %q, this one reads %q): redo the run (reproduce -run %s -force)",
			r.ID, path, f.Format, resultFormat, r.ID)
	}
	if f.Run.Fingerprint != r.Fingerprint {
		return report.Run{}, fmt.Errorf("result of %s: %s holds a run of another configuration (%s)", r.ID, path, f.Run.ID)
	}
	return f.Result, nil
}

// Results gathers the saved results of runs from the output folder out, in the plan's order, and lists
// the runs that have none yet. Only an unreadable or mismatched file is an error.
func Results(out string, runs []Run) (done []report.Run, missing []Run, err error) {
	for _, r := range runs {
		res, err := LoadResult(ResultPath(out, r), r)
		switch {
		case err == nil:
			done = append(done, res)
		case errors.Is(err, os.ErrNotExist):
			missing = append(missing, r)
		default:
			return nil, nil, err
		}
	}
	return done, missing, nil
}
