package brainio

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // stimulus sets hold GIF,
	_ "image/jpeg" // JPEG
	_ "image/png"  // and PNG images
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

// maxImagePixels bounds the size of a stimulus image that Image will decode (a guard against
// decompression bombs); Brain-Score's stimuli are far smaller.
const maxImagePixels = 1 << 26

// maxImageBytes bounds the size of a stimulus file that Image will read.
const maxImageBytes = 1 << 28

// Stimulus is one row of a stimulus set's CSV table.
type Stimulus struct {
	// ID is the stimulus_id (in older sets, image_id).
	ID string
	// Filename is the path of the stimulus file inside the ZIP archive.
	Filename string
	// Fields holds every column of the row by column name, ID and Filename included.
	Fields map[string]string
}

// StimulusSet is a BrainIO stimulus set: a table of stimuli with their metadata and a ZIP archive of
// their files. Close it when done.
type StimulusSet struct {
	// Columns are the CSV column names in file order.
	Columns []string
	// Stimuli are the rows in file order.
	Stimuli []Stimulus

	byID    map[string]int
	files   map[string]*zip.File
	closer  io.Closer
	zipName string
}

// ReadStimulusSet reads a stimulus set from its CSV table and ZIP archive. The table needs a
// stimulus_id column (older sets: image_id, which is then copied to stimulus_id as brainio does) and a
// filename column naming each stimulus's file in the archive. Every archive entry must have a safe
// relative path (no absolute paths, no "..", no backslashes) and every row's file must be in the
// archive; anything else is an error that names the offending entry or row.
func ReadStimulusSet(csvPath, zipPath string) (*StimulusSet, error) {
	csvFile, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("brainio: reading stimulus set: %w", err)
	}
	defer csvFile.Close()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("brainio: reading stimulus set archive %s: %w", zipPath, err)
	}
	s, err := newStimulusSet(csvFile, &zr.Reader, zipPath)
	if err != nil {
		zr.Close()
		return nil, fmt.Errorf("brainio: reading stimulus set %s with %s: %w", csvPath, zipPath, err)
	}
	s.closer = zr
	return s, nil
}

// newStimulusSet reads the CSV table from r and checks it against the archive zr (named zipName in
// errors).
func newStimulusSet(r io.Reader, zr *zip.Reader, zipName string) (*StimulusSet, error) {
	s := &StimulusSet{byID: map[string]int{}, files: map[string]*zip.File{}, zipName: zipName}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.FileInfo().IsDir() {
			if err := checkRelPath(strings.TrimSuffix(f.Name, "/")); err != nil {
				return nil, fmt.Errorf("archive directory entry %q: %w", f.Name, err)
			}
			continue
		}
		if err := checkRelPath(f.Name); err != nil {
			return nil, fmt.Errorf("archive entry %q: %w", f.Name, err)
		}
		if _, dup := s.files[f.Name]; dup {
			return nil, fmt.Errorf("archive entry %q appears twice", f.Name)
		}
		s.files[f.Name] = f
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("CSV table is empty: expected a header with stimulus_id and filename columns")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV table: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	s.Columns = header
	idCol := slices.Index(header, "stimulus_id")
	if idCol < 0 {
		idCol = slices.Index(header, "image_id")
	}
	fileCol := slices.Index(header, "filename")
	if idCol < 0 || fileCol < 0 {
		return nil, fmt.Errorf("CSV table has columns %q; expected stimulus_id (or image_id) and filename", header)
	}
	hasStimulusID := slices.Contains(header, "stimulus_id")
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CSV table: %w", err)
		}
		line, _ := cr.FieldPos(0)
		st := Stimulus{ID: rec[idCol], Filename: rec[fileCol], Fields: make(map[string]string, len(header)+1)}
		for i, name := range header {
			st.Fields[name] = rec[i]
		}
		if !hasStimulusID {
			st.Fields["stimulus_id"] = st.ID
		}
		if st.ID == "" {
			return nil, fmt.Errorf("CSV line %d: empty stimulus id", line)
		}
		if _, dup := s.byID[st.ID]; dup {
			return nil, fmt.Errorf("CSV line %d: stimulus id %q appears twice", line, st.ID)
		}
		if err := checkRelPath(st.Filename); err != nil {
			return nil, fmt.Errorf("CSV line %d: filename %q: %w", line, st.Filename, err)
		}
		if _, ok := s.files[st.Filename]; !ok {
			return nil, fmt.Errorf("CSV line %d: stimulus %q: file %q is not in the archive %s", line, st.ID, st.Filename, zipName)
		}
		s.byID[st.ID] = len(s.Stimuli)
		s.Stimuli = append(s.Stimuli, st)
	}
	if !hasStimulusID {
		s.Columns = append(s.Columns, "stimulus_id")
	}
	return s, nil
}

// checkRelPath rejects paths that could escape the directory an archive is extracted to, or that mean
// different things on different systems.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.ContainsAny(p, "\\\x00"):
		return errors.New("unsafe path: contains a backslash or NUL")
	case strings.HasPrefix(p, "/"):
		return errors.New("unsafe path: absolute")
	case len(p) >= 2 && p[1] == ':':
		return errors.New("unsafe path: has a drive letter")
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return errors.New(`unsafe path: contains ".."`)
		}
	}
	if c := path.Clean(p); c == "." {
		return errors.New("path names no file")
	}
	return nil
}

// Close closes the archive.
func (s *StimulusSet) Close() error {
	if s.closer == nil {
		return nil
	}
	err := s.closer.Close()
	s.closer = nil
	return err
}

// Len is the number of stimuli.
func (s *StimulusSet) Len() int { return len(s.Stimuli) }

// Stimulus returns the row of stimulus id.
func (s *StimulusSet) Stimulus(id string) (Stimulus, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Stimulus{}, false
	}
	return s.Stimuli[i], true
}

// Open opens the file of stimulus id in the archive.
func (s *StimulusSet) Open(id string) (io.ReadCloser, error) {
	i, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("brainio: stimulus set has no stimulus %q", id)
	}
	name := s.Stimuli[i].Filename
	rc, err := s.files[name].Open()
	if err != nil {
		return nil, fmt.Errorf("brainio: stimulus %q: opening %s in %s: %w", id, name, s.zipName, err)
	}
	return rc, nil
}

// Image decodes the image of stimulus id (PNG, JPEG or GIF).
func (s *StimulusSet) Image(id string) (image.Image, error) {
	rc, err := s.Open(id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	name := s.Stimuli[s.byID[id]].Filename
	if n := s.files[name].UncompressedSize64; n > maxImageBytes {
		return nil, fmt.Errorf("brainio: stimulus %q: %s in %s is %d bytes, too large for an image", id, name, s.zipName, n)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("brainio: stimulus %q: reading %s in %s: %w", id, name, s.zipName, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("brainio: stimulus %q: %s in %s is not a PNG, JPEG or GIF image: %w", id, name, s.zipName, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("brainio: stimulus %q: %s in %s claims an implausible size %dx%d", id, name, s.zipName, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("brainio: stimulus %q: decoding %s in %s: %w", id, name, s.zipName, err)
	}
	return img, nil
}
