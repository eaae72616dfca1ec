package benchmark

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// UnknownError says that an identifier names no benchmark of a registry.
type UnknownError struct {
	Identifier string
	Known      []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown benchmark %q (known: %s)", e.Identifier, strings.Join(e.Known, ", "))
}

// Select returns the specs of the identified benchmarks, in the order given, or of every registered
// benchmark when none are given; an identifier not registered gives an *UnknownError.
func (r *Registry) Select(identifiers []string) ([]Spec, error) {
	if len(identifiers) == 0 {
		return r.Specs(), nil
	}
	specs := make([]Spec, len(identifiers))
	for i, id := range identifiers {
		d, ok := r.Lookup(id)
		if !ok {
			return nil, &UnknownError{Identifier: id, Known: r.Identifiers()}
		}
		specs[i] = d.Spec
	}
	return specs, nil
}

// Availability is a benchmark and the state of its data files on this machine. Its JSON form is the
// listing of `reproduce benchmarks -json`.
type Availability struct {
	Identifier  string `json:"identifier"`
	BrainScore  string `json:"brainscore_identifier,omitempty"`
	Region      string `json:"region"`
	Metric      string `json:"metric"`
	Public      bool   `json:"public"`
	Description string `json:"description"`
	// Present reports that every file is present with the right checksum.
	Present bool               `json:"present"`
	Files   []FileAvailability `json:"files"`
}

// FileAvailability is a data file's state (see FileStatus) with where it comes from.
type FileAvailability struct {
	Folder   string `json:"folder"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Checksum string `json:"checksum"`
	Size     int64  `json:"size,omitempty"`
	Present  bool   `json:"present"`
	Path     string `json:"path"`
	Problem  string `json:"problem,omitempty"`
}

// List reports, for each benchmark, whether its files are here (Check: nothing is downloaded, and every
// file present is read in full to verify it).
func (d Dirs) List(specs []Spec) []Availability {
	var list []Availability
	for _, s := range specs {
		a := Availability{Identifier: s.Identifier, BrainScore: s.BrainScore, Region: s.Region, Metric: s.Metric, Public: s.Public,
			Description: s.Description, Present: true}
		for _, st := range d.Check(s.Files) {
			a.Files = append(a.Files, FileAvailability{Folder: st.Dir, Name: st.File.Name, URL: st.File.URL, Checksum: st.File.Sum.String(),
				Size: st.File.Size, Present: st.Present, Path: st.Path, Problem: st.Problem})
			a.Present = a.Present && st.Present
		}
		list = append(list, a)
	}
	return list
}

// WriteList writes the listing as text: where the data are looked for, then per benchmark its region,
// metric, state and description, and per file ok, missing or bad (with why), its checksum and path.
func (d Dirs) WriteList(w io.Writer, list []Availability) error {
	local := d.Local
	if local == "" {
		local = "(none)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "brain data: local copy %s, cache %s\n\n", local, d.Cache)
	for _, a := range list {
		state := "present"
		if !a.Present {
			state = "data not present"
		}
		kind := "offline benchmark"
		if a.Public {
			kind = "public benchmark, Brain-Score's " + a.BrainScore
		}
		fmt.Fprintf(&b, "%s (%s, %s): %s\n  %s\n  %s\n", a.Identifier, a.Region, a.Metric, state, kind, a.Description)
		for _, f := range a.Files {
			mark := "missing"
			switch {
			case f.Present:
				mark = "ok"
			case f.Problem != "":
				mark = "bad"
			}
			fmt.Fprintf(&b, "    %-7s %s/%s  %s\n", mark, f.Folder, f.Name, f.Checksum)
			if f.Present {
				fmt.Fprintf(&b, "            at %s\n", f.Path)
			} else if f.Problem != "" {
				fmt.Fprintf(&b, "            %s\n", f.Problem)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Download downloads the missing files of the benchmarks (Locate), reporting to log each benchmark whose
// files could not all be had. It goes through every benchmark, so that everything that can be fetched
// is, and then returns an error naming those that failed.
func (d Dirs) Download(ctx context.Context, specs []Spec, log io.Writer) error {
	var failed []string
	for _, s := range specs {
		if _, err := d.Locate(ctx, s.Files); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(log, "%s: %v\n", s.Identifier, err)
			failed = append(failed, s.Identifier)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the data of %d of %d benchmarks could not be had (%s): see above", len(failed), len(specs), strings.Join(failed, ", "))
	}
	return nil
}
