package brainio

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// Kinds of catalog entries.
const (
	KindAssembly    = "assembly"
	KindStimulusSet = "stimulus_set"
)

// StorageURL is where Brain-Score's public BrainIO files are: the brainio-brainscore folder of the
// brainscore-storage S3 bucket.
const StorageURL = "https://brainscore-storage.s3.amazonaws.com/brainio-brainscore/"

// Entry is a BrainIO data item and the files it consists of.
type Entry struct {
	// Identifier names the item, as Brain-Score does (for example "dicarlo.MajajHong2015.public").
	Identifier string
	// Kind is KindAssembly (one .nc file) or KindStimulusSet (a .csv table and a .zip archive, in that
	// order).
	Kind string
	// StimulusSet is, for an assembly, the identifier of the stimulus set its presentations show.
	StimulusSet string
	// Files are the files to fetch, with their URLs and SHA-1 checksums.
	Files []fetch.File
}

// storageFile describes a file in Brain-Score's storage the way brainscore_core's S3 loader names it:
// a prefix ("assy_" for assemblies, "stimulus_" for stimulus sets), the identifier with its dots replaced
// by underscores, and the extension. A version ID other than S3's "null" is passed as the versionId
// query parameter, as boto does; "null" (the object stored before versioning) is the plain object.
func storageFile(prefix, identifier, ext, sha1, versionID string) fetch.File {
	name := prefix + strings.ReplaceAll(identifier, ".", "_") + ext
	u := StorageURL + url.PathEscape(name)
	if versionID != "" && versionID != "null" {
		u += "?versionId=" + url.QueryEscape(versionID)
	}
	return fetch.File{Name: name, URL: u, Sum: fetch.Checksum{Algorithm: fetch.SHA1, Hex: sha1}}
}

func assembly(identifier, sha1, versionID, stimulusSet string) Entry {
	return Entry{
		Identifier:  identifier,
		Kind:        KindAssembly,
		StimulusSet: stimulusSet,
		Files:       []fetch.File{storageFile("assy_", identifier, ".nc", sha1, versionID)},
	}
}

func stimulusSet(identifier, csvSHA1, zipSHA1 string) Entry {
	return Entry{
		Identifier: identifier,
		Kind:       KindStimulusSet,
		Files: []fetch.File{
			storageFile("stimulus_", identifier, ".csv", csvSHA1, "null"),
			storageFile("stimulus_", identifier, ".zip", zipSHA1, "null"),
		},
	}
}

// Catalog lists the public Brain-Score data the reproduced benchmarks need: the neural assemblies of
// MajajHong2015 (V4, IT), FreemanZiemba2013 (V1, V2) and the behavioural assembly of Rajalingham2018,
// with their stimulus sets. Identifiers, checksums and version IDs are those of brain-score/vision's data
// registry. Each call returns a fresh slice.
func Catalog() []Entry {
	return []Entry{
		assembly("dicarlo.MajajHong2015.public", "13d28ca0ce88ee550b54db3004374ae19096e9b9", "null", "hvm-public"),
		stimulusSet("hvm-public", "5ca7a3da00d8e9c694a9cd725df5ba0ad6d735af", "8aa44e038d7b551efa8077467622f9d48d72e473"),
		assembly("movshon.FreemanZiemba2013.public", "761c08f796db4e342555cdb60eef23a4f19ead43", "W2vx7jdh9utZdVumHHarXa4L1zOrA8Fd", "FreemanZiemba2013.aperture-public"),
		stimulusSet("FreemanZiemba2013.aperture-public", "194c9b301a4e3e9cff02481d4c19b39331d52660", "3a6fec1fc28c212882d6833e267ea8654d289611"),
		assembly("dicarlo.Rajalingham2018.public", "34c6a8b6f7c523589c1861e4123232e5f7c7df4c", "null", "objectome.public"),
		stimulusSet("objectome.public", "47884e17106a3be471d6481279cab33889b80850", "064f2955f98e63867755fee2e3ead8cddf6bfab8"),
	}
}

// Lookup returns the catalog entry with the given identifier.
func Lookup(identifier string) (Entry, bool) {
	for _, e := range Catalog() {
		if e.Identifier == identifier {
			return e, true
		}
	}
	return Entry{}, false
}

func lookupErr(identifier string) error {
	var ids []string
	for _, e := range Catalog() {
		ids = append(ids, e.Identifier)
	}
	return fmt.Errorf("brainio: %q is not in the catalog (known: %s)", identifier, strings.Join(ids, ", "))
}

// Locate returns the local paths of the files of the catalog item identifier inside dir (for a stimulus
// set: the CSV table, then the ZIP archive), downloading missing files first unless opts.Offline is set.
// Files already in dir are verified against their SHA-1 checksums. When files are missing and cannot be
// downloaded, the error is a *fetch.OfflineError naming every such file, its URL and checksum, so a user
// can place them by hand.
func Locate(ctx context.Context, dir, identifier string, opts fetch.Options) ([]string, error) {
	e, ok := Lookup(identifier)
	if !ok {
		return nil, lookupErr(identifier)
	}
	return locate(ctx, dir, e, opts)
}

func locate(ctx context.Context, dir string, e Entry, opts fetch.Options) ([]string, error) {
	paths := make([]string, 0, len(e.Files))
	var missing []fetch.File
	var cause error
	for _, f := range e.Files {
		p, err := fetch.Ensure(ctx, dir, f, opts)
		var oe *fetch.OfflineError
		switch {
		case errors.As(err, &oe):
			missing = append(missing, oe.Missing...)
			if cause == nil {
				cause = oe.Cause
			}
		case err != nil:
			return nil, fmt.Errorf("brainio: locating %s: %w", e.Identifier, err)
		default:
			paths = append(paths, p)
		}
	}
	if len(missing) > 0 {
		return nil, &fetch.OfflineError{Dir: dir, Missing: missing, Cause: cause}
	}
	return paths, nil
}

// Present reports whether every file of the catalog item identifier is in dir with the right checksum,
// without downloading anything; missing lists the files that are absent or differ. It reads each file
// present in full to check its checksum. An identifier not in the catalog is reported as not present,
// with no files missing.
func Present(dir, identifier string) (bool, []fetch.File) {
	e, ok := Lookup(identifier)
	if !ok {
		return false, nil
	}
	return present(dir, e)
}

func present(dir string, e Entry) (bool, []fetch.File) {
	var missing []fetch.File
	for _, f := range e.Files {
		p := filepath.Join(dir, f.Name)
		if _, err := os.Stat(p); err != nil || fetch.Verify(p, f) != nil {
			missing = append(missing, f)
		}
	}
	return len(missing) == 0, missing
}
