package benchmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
)

// Benchmark compares a model with one set of brain data (Brain-Score's Benchmark): it shows the model
// its stimuli, scores every layer the model offers and commits to the best, or for a behavioural
// benchmark reads the model out at its last layer. Which layer stands for a region across benchmarks is
// decided outside, by a Commitment, which may hand Score a model restricted to one layer (Only).
type Benchmark interface {
	// Identifier names the benchmark in results, e.g. "MajajHong2015public.IT-pls".
	Identifier() string
	// Region is the brain region compared ("V1", "V2", "V4", "IT") or "behavior".
	Region() string
	// Score scores the model. Its error is for what makes a score impossible (unreadable images, a
	// model that returns the wrong shapes); a layer that cannot be scored has NaN scores.
	Score(ctx context.Context, m Model) (*Result, error)
}

// ImageBenchmark is a Benchmark that shows the model images. Inputs lists them exactly as Score
// prepares them for a model whose input is channels × height × width, set by set, each set in the order
// Score shows it, so that the stimuli can be exported and a model run elsewhere (see Export and
// Precomputed).
type ImageBenchmark interface {
	Benchmark
	Inputs(ctx context.Context, channels, height, width int) ([]InputSet, error)
}

// InputSet is a set of prepared images a benchmark shows a model at once: one recording session of
// Cowley et al., the 92 images of rsa92, the images of a BrainIO stimulus set.
type InputSet struct {
	// Name names the set within its benchmark ("stimuli" when there is one set).
	Name string
	// IDs are the stimulus identifiers, one per input.
	IDs []string
	// Inputs are the prepared images, each channels × height × width values plane after plane.
	Inputs [][]float32
	// Preprocessing names the recipe that prepared them.
	Preprocessing string
}

// Preprocessor chooses how a benchmark's images are prepared for a model whose input is channels ×
// height × width.
type Preprocessor func(channels, height, width int) stimuli.Preprocessing

// Fixed returns a Preprocessor that always gives p.
func Fixed(p stimuli.Preprocessing) Preprocessor {
	return func(int, int, int) stimuli.Preprocessing { return p }
}

// Definition is a benchmark in a Registry: what it is and which files it needs (Spec), and how to build
// it from them.
type Definition struct {
	Spec
	// Load builds the benchmark from the local copies of Spec.Files (src.Paths, in that order).
	Load func(ctx context.Context, src *Source) (Benchmark, error)
}

// Source is what a benchmark is loaded from: the paths of its files and the preprocessing to use.
// Benchmarks loaded from the same files (the V4 and IT benchmarks of one assembly) share one Source, so
// what one of them read (Shared) serves the others.
type Source struct {
	// Paths are the local paths of the definition's Spec.Files, in order.
	Paths []string
	// Preprocess, when not nil, replaces the benchmark's own choice of preprocessing.
	Preprocess Preprocessor
	shared     map[string]any
	closers    []io.Closer
}

// NewSource returns a Source of the files at paths.
func NewSource(paths []string) *Source {
	return &Source{Paths: paths, shared: map[string]any{}}
}

// Shared returns the value stored under key by an earlier call on src, or calls load, stores its
// value and returns it: benchmarks loaded from one Source read their common files once.
func Shared[T any](src *Source, key string, load func() (T, error)) (T, error) {
	if v, ok := src.shared[key]; ok {
		return v.(T), nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if src.shared == nil {
		src.shared = map[string]any{}
	}
	src.shared[key] = v
	return v, nil
}

// OnClose registers c to be closed by Close (a stimulus set whose images Score reads later).
func (src *Source) OnClose(c io.Closer) { src.closers = append(src.closers, c) }

// Release forgets the shared values, so that what only loading needed (an assembly, once the
// benchmarks hold their responses) can be freed while the benchmarks score.
func (src *Source) Release() { clear(src.shared) }

// Close closes what was registered with OnClose.
func (src *Source) Close() error {
	var errs []error
	for _, c := range src.closers {
		errs = append(errs, c.Close())
	}
	src.closers = nil
	return errors.Join(errs...)
}

// Registry lists benchmarks in the order they are reported. DefaultRegistry holds bpdl's; a program
// adds its own with Register.
type Registry struct {
	defs []Definition
}

// DefaultRegistry returns the benchmarks bpdl ships, in the study's order. A new benchmark is one file
// (its loader and a function returning its Definition) plus one line here.
func DefaultRegistry() *Registry {
	r := &Registry{}
	for _, d := range []Definition{
		freemanZiemba2013Definition("V1"),
		freemanZiemba2013Definition("V2"),
		majajHong2015Definition("V4"),
		majajHong2015Definition("IT"),
		rajalingham2018Definition(),
		rsa92Definition(RSA92MacaqueIT),
		rsa92Definition(RSA92HumanIT),
		cowleyDefinition(),
	} {
		if err := r.Register(d); err != nil {
			panic(err) // the definitions above are fixed: a duplicate is a bug caught by every test
		}
	}
	return r
}

// Register adds a benchmark after those already listed. The identifier must be new, and the
// definition must name its region and have a loader.
func (r *Registry) Register(d Definition) error {
	switch {
	case d.Identifier == "":
		return errors.New("benchmark: a definition without an identifier")
	case d.Region == "":
		return fmt.Errorf("benchmark: %s: no region", d.Identifier)
	case d.Load == nil:
		return fmt.Errorf("benchmark: %s: no loader", d.Identifier)
	}
	if _, ok := r.Lookup(d.Identifier); ok {
		return fmt.Errorf("benchmark: %s is registered twice", d.Identifier)
	}
	r.defs = append(r.defs, d)
	return nil
}

// Lookup returns the definition of a benchmark identifier.
func (r *Registry) Lookup(identifier string) (Definition, bool) {
	for _, d := range r.defs {
		if d.Identifier == identifier {
			return d, true
		}
	}
	return Definition{}, false
}

// Identifiers lists the registered benchmarks in order.
func (r *Registry) Identifiers() []string {
	var out []string
	for _, d := range r.defs {
		out = append(out, d.Identifier)
	}
	return out
}

// Defaults lists the benchmarks scored when none are named: every registered one but those marked
// OnRequest.
func (r *Registry) Defaults() []string {
	var out []string
	for _, d := range r.defs {
		if !d.OnRequest {
			out = append(out, d.Identifier)
		}
	}
	return out
}

// Specs lists the specs of the registered benchmarks in order.
func (r *Registry) Specs() []Spec {
	var out []Spec
	for _, d := range r.defs {
		out = append(out, d.Spec)
	}
	return out
}

// Load finds a benchmark's files as dirs allows (see Dirs.Locate) and loads it. Close the returned
// closer when done with the benchmark (it holds open stimulus archives).
func (r *Registry) Load(ctx context.Context, identifier string, dirs Dirs) (Benchmark, io.Closer, error) {
	d, ok := r.Lookup(identifier)
	if !ok {
		return nil, nil, r.unknown(identifier)
	}
	paths, err := dirs.Locate(ctx, d.Files)
	if err != nil {
		return nil, nil, err
	}
	src := NewSource(paths)
	b, err := d.Load(ctx, src)
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	src.Release()
	return b, src, nil
}

func (r *Registry) unknown(identifier string) error {
	return fmt.Errorf("benchmark: %w", &UnknownError{Identifier: identifier, Known: r.Identifiers()})
}

// Commitment maps brain regions to the model layers that stand for them, as Brain-Score's
// ModelCommitment does: a region's layer is the best layer on the region's selection benchmark (its
// public benchmark, whose Spec has Selects; LayerSelection's argmax over layers), and behaviour is read
// out at the model's last layer. Benchmarks of a region scored after its selection are handed the model
// restricted to that layer.
type Commitment struct {
	layers map[string]committed
}

type committed struct{ layer, by string }

// BehaviorRegion is the Region of behavioural benchmarks.
const BehaviorRegion = "behavior"

// NewCommitment returns the commitment of a model before any selection: behaviour read out at its last
// layer.
func NewCommitment(m Model) *Commitment {
	c := &Commitment{layers: map[string]committed{}}
	if ls := m.Layers(); len(ls) > 0 {
		c.layers[BehaviorRegion] = committed{ls[len(ls)-1], "the model's last layer (ModelCommitment's behavioural readout)"}
	}
	return c
}

// Layer returns the layer committed to region and what committed it.
func (c *Commitment) Layer(region string) (layer, by string, ok bool) {
	l, ok := c.layers[region]
	return l.layer, l.by, ok
}

// Select commits the region of a selection benchmark's result to the layer that result chose.
func (c *Commitment) Select(r *Result) {
	if r.Status == StatusOK && r.Layer != "" {
		c.layers[r.Region] = committed{r.Layer, r.Benchmark}
	}
}

// Model returns m as a benchmark of region should see it: restricted to the region's layer when one is
// committed, else m with all its layers.
func (c *Commitment) Model(m Model, region string) Model {
	if l, ok := c.layers[region]; ok {
		return Only(m, l.layer)
	}
	return m
}

// Apply commits a result to its region's layer and notes why: the committed layer when there is one,
// else the result's own best layer.
func (c *Commitment) Apply(r *Result) {
	if l, ok := c.layers[r.Region]; ok {
		r.Commit(l.layer)
		if r.Layer == l.layer {
			r.Notes = append(r.Notes, fmt.Sprintf("layer committed to %s by %s", r.Region, l.by))
			return
		}
	}
	r.Commit("")
	r.Notes = append(r.Notes, "layer committed by this benchmark (its region's public benchmark did not run)")
}

// Only returns m restricted to the listed layers, in that order: a benchmark scoring it sees no other.
func Only(m Model, layers ...string) Model {
	return &layerView{Model: m, layers: slices.Clone(layers)}
}

type layerView struct {
	Model
	layers []string
}

func (v *layerView) Layers() []string { return v.layers }
