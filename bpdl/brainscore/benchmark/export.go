package benchmark

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// Scoring a model that runs outside bpdl (PyTorch, JAX, a Brain-Score model) takes two steps.
// ExportStimuli writes every benchmark's images exactly as bpdl's nets see them, and the model's
// activations to them, saved beside them, are scored by ScoreAll through a Precomputed model, with the
// same layer commitment and results as a bpdl net. The layout of the folder, for a benchmark B (its
// identifier, e.g. rsa92.macaque-IT) and each set S of images it shows ("stimuli", or a Cowley et al.
// recording session such as 190923):
//
//	DIR/manifest.json      the input shape and, per benchmark and set, the number of images and the preprocessing
//	DIR/B/S/stimuli.npy    float32, images × channels × height × width, in the order the benchmark shows them
//	DIR/B/S/ids.txt        the stimulus identifier of each image, one per line, in the same order
//	DIR/B/S/LAYER.npy      written by you: the activations of layer LAYER, one row per image in the same
//	                       order (images × units, or images × any shape, flattened), any NumPy dtype
//
// Benchmarks that show the same images (the V4 and IT benchmarks of MajajHong2015, the macaque and
// human rsa92) each have their own copy. A benchmark without a folder is reported as
// StatusNoActivations.
const (
	// StimuliFile is the name of a set's exported images.
	StimuliFile = "stimuli.npy"
	// IDsFile is the name of a set's stimulus identifiers.
	IDsFile = "ids.txt"
	// ManifestFile describes an export.
	ManifestFile = "manifest.json"
)

// Manifest is the content of ManifestFile.
type Manifest struct {
	// Channels, Height and Width are the input shape the stimuli were prepared for.
	Channels int `json:"channels"`
	Height   int `json:"height"`
	Width    int `json:"width"`
	// Benchmarks maps each exported benchmark to its sets.
	Benchmarks map[string][]ManifestSet `json:"benchmarks"`
}

// ManifestSet describes one exported set.
type ManifestSet struct {
	Name          string `json:"name"`
	Images        int    `json:"images"`
	Preprocessing string `json:"preprocessing"`
}

// ExportStimuli writes, for every benchmark opts lists (as ScoreAll chooses them) whose data are here,
// the images it shows a model of input channels × height × width, in the layout above. It returns one
// result per benchmark: StatusOK with the files written in its notes, StatusNotPresent, or an error
// status (an ImageBenchmark is needed). Only a cancelled context or an unwritable dir is an error.
func ExportStimuli(ctx context.Context, dir string, channels, height, width int, opts Options) ([]*Result, error) {
	if channels < 1 || height < 1 || width < 1 {
		return nil, fmt.Errorf("benchmark: export: input %dx%dx%d is not a shape", channels, height, width)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("benchmark: export: %w", err)
	}
	manifest := Manifest{Channels: channels, Height: height, Width: width, Benchmarks: map[string][]ManifestSet{}}
	model := fmt.Sprintf("stimuli-%dx%dx%d", channels, height, width)
	var writeErr error
	res, err := visit(ctx, opts, model, func(d Definition, b Benchmark) *Result {
		r := &Result{Benchmark: d.Identifier, Region: d.Region, Model: model, Status: StatusOK}
		ib, ok := b.(ImageBenchmark)
		if !ok {
			return failed(d.Spec, model, errors.New("the benchmark does not list its images (it is not an ImageBenchmark)"))
		}
		sets, err := ib.Inputs(ctx, channels, height, width)
		if err != nil {
			return failed(d.Spec, model, err)
		}
		for _, s := range sets {
			files, err := writeSet(filepath.Join(dir, d.Identifier, s.Name), s, channels, height, width)
			if err != nil {
				writeErr = err
				return failed(d.Spec, model, err)
			}
			manifest.Benchmarks[d.Identifier] = append(manifest.Benchmarks[d.Identifier], ManifestSet{Name: s.Name, Images: len(s.Inputs), Preprocessing: s.Preprocessing})
			r.Notes = append(r.Notes, fmt.Sprintf("%d images (%s) in %s", len(s.Inputs), s.Preprocessing, strings.Join(files, ", ")))
		}
		return r
	})
	if err != nil {
		return nil, err
	}
	if writeErr != nil {
		return res, fmt.Errorf("benchmark: export: %w", writeErr)
	}
	if err := fetch.WriteAtomic(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(manifest)
	}); err != nil {
		return res, fmt.Errorf("benchmark: export: %w", err)
	}
	return res, nil
}

// writeSet writes one set's stimuli and identifiers into dir and returns the paths written.
func writeSet(dir string, s InputSet, c, h, w int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dim := c * h * w
	data := make([]float32, 0, len(s.Inputs)*dim)
	for i, x := range s.Inputs {
		if len(x) != dim {
			return nil, fmt.Errorf("input %d of set %s has %d values, want %d", i, s.Name, len(x), dim)
		}
		data = append(data, x...)
	}
	stim, ids := filepath.Join(dir, StimuliFile), filepath.Join(dir, IDsFile)
	if err := npy.WriteFloat32(stim, []int{len(s.Inputs), c, h, w}, data); err != nil {
		return nil, err
	}
	if err := fetch.WriteAtomic(ids, func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(s.IDs, "\n")+"\n")
		return err
	}); err != nil {
		return nil, err
	}
	return []string{stim, ids}, nil
}

// StatusNoActivations marks a benchmark that a Precomputed model has no activations for.
const StatusNoActivations = "no activations"

// NoActivationsError says that a Precomputed model's folder holds nothing for a benchmark.
type NoActivationsError struct {
	Dir, Benchmark string
}

func (e *NoActivationsError) Error() string {
	return fmt.Sprintf("no activations for %s: %s does not exist (export the stimuli with ExportStimuli, `reproduce benchmarks -export-stimuli`, and save each layer's activations beside them)",
		e.Benchmark, filepath.Join(e.Dir, e.Benchmark))
}

// Attacher is implemented by models that answer for one benchmark at a time, such as Precomputed:
// ScoreAll calls Attach with each benchmark before it scores the model. A *NoActivationsError from
// Attach gives the benchmark StatusNoActivations; another error an error status.
type Attacher interface {
	Attach(ctx context.Context, b Benchmark) error
}

// Precomputed is a Model whose activations were computed outside bpdl on the stimuli ExportStimuli
// wrote, and saved beside them (see the layout above). Before a benchmark scores it, Attach reads that
// benchmark's files and lists its inputs; Activations then finds each input it is asked about among
// them by content (SHA-256 of its values) and returns the saved rows. Scores are exactly those of the
// model scored directly when the activations are its own, saved as float64 (or float32 for a float32
// model).
type Precomputed struct {
	dir, name          string
	channels, h, width int
	layers             []string
	bench              string
	rows               map[[sha256.Size]byte]int
	acts               map[string]*mat.Dense
}

// NewPrecomputed returns the model of the activations in dir, for inputs of channels × height × width
// (the shape the stimuli were exported for). layers lists the layers, input side first; nil means
// every LAYER.npy found in the first set folder of dir, in lexical order.
func NewPrecomputed(dir, name string, channels, height, width int, layers []string) (*Precomputed, error) {
	if len(layers) == 0 {
		var err error
		if layers, err = findLayers(dir); err != nil {
			return nil, err
		}
	}
	for _, l := range layers {
		if l == "" || strings.ContainsAny(l, `/\`) || l+".npy" == StimuliFile {
			return nil, fmt.Errorf("benchmark: precomputed: %q is not a layer name", l)
		}
	}
	if m, err := ReadManifest(dir); err == nil && (m.Channels != channels || m.Height != height || m.Width != width) {
		return nil, fmt.Errorf("benchmark: precomputed: %s says the stimuli were exported for %dx%dx%d inputs, not %dx%dx%d", filepath.Join(dir, ManifestFile), m.Channels, m.Height, m.Width, channels, height, width)
	}
	return &Precomputed{dir: dir, name: name, channels: channels, h: height, width: width, layers: layers}, nil
}

// ScorePrecomputed scores the activations in dir (a Precomputed model; see NewPrecomputed) on the
// benchmarks of opts, as ScoreAll does. An empty name is the folder's name.
func ScorePrecomputed(ctx context.Context, dir, name string, channels, height, width int, layers []string, opts Options) ([]*Result, error) {
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	m, err := NewPrecomputed(dir, name, channels, height, width, layers)
	if err != nil {
		return nil, err
	}
	return ScoreAll(ctx, m, opts)
}

// ReadManifest reads the manifest ExportStimuli wrote in dir.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", path, err)
	}
	return &m, nil
}

// findLayers lists the LAYER.npy files of the first set folder (DIR/B/S/, in sorted order) that has
// any, sorted.
func findLayers(dir string) ([]string, error) {
	benches, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("benchmark: precomputed: %w", err)
	}
	for _, b := range benches {
		if !b.IsDir() {
			continue
		}
		sets, err := os.ReadDir(filepath.Join(dir, b.Name()))
		if err != nil {
			return nil, fmt.Errorf("benchmark: precomputed: %w", err)
		}
		for _, s := range sets {
			if !s.IsDir() {
				continue
			}
			files, err := os.ReadDir(filepath.Join(dir, b.Name(), s.Name()))
			if err != nil {
				return nil, fmt.Errorf("benchmark: precomputed: %w", err)
			}
			var layers []string
			for _, f := range files {
				if name := f.Name(); !f.IsDir() && strings.HasSuffix(name, ".npy") && name != StimuliFile {
					layers = append(layers, strings.TrimSuffix(name, ".npy"))
				}
			}
			if len(layers) > 0 {
				return layers, nil // os.ReadDir sorts by name
			}
		}
	}
	return nil, fmt.Errorf("benchmark: precomputed: no activations (BENCHMARK/SET/LAYER.npy) in %s", dir)
}

// Identifier implements Model.
func (p *Precomputed) Identifier() string { return p.name }

// Input implements Model.
func (p *Precomputed) Input() (int, int, int) { return p.channels, p.h, p.width }

// Layers implements Model.
func (p *Precomputed) Layers() []string { return p.layers }

// Attach implements Attacher: it reads the benchmark's activations and indexes its inputs.
func (p *Precomputed) Attach(ctx context.Context, b Benchmark) error {
	p.bench, p.rows, p.acts = "", nil, nil
	bdir := filepath.Join(p.dir, b.Identifier())
	if _, err := os.Stat(bdir); errors.Is(err, fs.ErrNotExist) {
		return &NoActivationsError{Dir: p.dir, Benchmark: b.Identifier()}
	}
	ib, ok := b.(ImageBenchmark)
	if !ok {
		return fmt.Errorf("benchmark: precomputed: %s does not list its images", b.Identifier())
	}
	sets, err := ib.Inputs(ctx, p.channels, p.h, p.width)
	if err != nil {
		return err
	}
	total := 0
	for _, s := range sets {
		total += len(s.Inputs)
	}
	rows := make(map[[sha256.Size]byte]int, total)
	acts := map[string]*mat.Dense{}
	offset := 0
	for _, s := range sets {
		for i, x := range s.Inputs {
			k := inputKey(x)
			if _, dup := rows[k]; !dup {
				rows[k] = offset + i
			}
		}
		for _, l := range p.layers {
			path := filepath.Join(bdir, s.Name, l+".npy")
			a, err := npy.Read(path)
			if err != nil {
				return fmt.Errorf("benchmark: precomputed: layer %s of %s, set %s: %w", l, b.Identifier(), s.Name, err)
			}
			if len(a.Shape) < 1 || a.Shape[0] != len(s.Inputs) || len(a.Data) == 0 {
				return fmt.Errorf("benchmark: precomputed: %s has shape %s, want one row per image of the set (%d, from %s)", path, npy.ShapeString(a.Shape), len(s.Inputs), IDsFile)
			}
			cols := len(a.Data) / a.Shape[0]
			if d, ok := acts[l]; ok {
				if _, c := d.Dims(); c != cols {
					return fmt.Errorf("benchmark: precomputed: %s has %d units per image, the layer's other sets %d", path, cols, c)
				}
			} else {
				acts[l] = mat.NewDense(total, cols, nil)
			}
			for _, v := range a.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("benchmark: precomputed: %s holds NaN or infinity", path)
				}
			}
			for i := range len(s.Inputs) {
				acts[l].SetRow(offset+i, a.Data[i*cols:(i+1)*cols])
			}
		}
		offset += len(s.Inputs)
	}
	p.bench, p.rows, p.acts = b.Identifier(), rows, acts
	return ctx.Err()
}

// Activations implements Model: the saved rows of the inputs, which must be among those of the
// attached benchmark.
func (p *Precomputed) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	if p.rows == nil {
		return nil, errors.New("precomputed activations: no benchmark attached")
	}
	idx := make([]int, len(inputs))
	for i, x := range inputs {
		r, ok := p.rows[inputKey(x)]
		if !ok {
			return nil, fmt.Errorf("input %d is not among the stimuli of %s prepared for %dx%dx%d inputs", i, p.bench, p.channels, p.h, p.width)
		}
		idx[i] = r
	}
	out := map[string]*mat.Dense{}
	for _, l := range layers {
		a, ok := p.acts[l]
		if !ok {
			return nil, fmt.Errorf("precomputed activations have no layer %q", l)
		}
		_, c := a.Dims()
		d := mat.NewDense(len(inputs), c, nil)
		for i, r := range idx {
			d.SetRow(i, a.RawRowView(r))
		}
		out[l] = d
	}
	return out, ctx.Err()
}

// inputKey is the SHA-256 of an input's values.
func inputKey(x []float32) [sha256.Size]byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return sha256.Sum256(b)
}
