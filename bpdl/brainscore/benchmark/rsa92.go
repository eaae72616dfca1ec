package benchmark

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark/internal/matfile"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// Identifiers of the 92-image representational similarity benchmarks.
const (
	RSA92MacaqueIT = "rsa92.macaque-IT"
	RSA92HumanIT   = "rsa92.human-IT"
)

// RSA92File is the one file of the rsa92 benchmarks: the supplemental data of Kriegeskorte et al.
// (2008), as rsatoolbox distributes it (MIT licence), pinned to a commit of its repository.
var rsa92File = fetch.File{
	Name: "Kriegeskorte_Neuron2008_supplementalData.mat",
	URL:  "https://raw.githubusercontent.com/rsagroup/rsatoolbox/f1f83cadb7243492a1aae7460466e0f0140b20ac/demos/92imageData/Kriegeskorte_Neuron2008_supplementalData.mat",
	Size: 3603779,
	Sum:  fetch.Checksum{Algorithm: fetch.SHA256, Hex: "06f21214399a5d43dc264eed19a7f4b8daf11c8622a59eec3e106064ce5e3504"},
}

// RSA92 holds the 92-image data: 92 photographs of objects (175 × 175 RGB) in six categories and two
// 92 × 92 dissimilarity matrices (1 − Pearson r between response patterns): macaque IT, 674 neurons
// (Kiani et al. 2007), and human IT, 316 fMRI voxels (Kriegeskorte et al. 2008).
type RSA92 struct {
	// Images are the stimuli in the matrices' order.
	Images []*stimuli.Image
	// Categories name each image's category ("human bodypart", ..., "artificial inanimate").
	Categories []string
	// MacaqueIT and HumanIT are the dissimilarity matrices, 92 × 92.
	MacaqueIT, HumanIT *mat.SymDense
	// Bootstrap is the number of bootstrap resamples of the images for the interval (1000).
	Bootstrap int
	// Seed seeds the bootstrap.
	Seed uint32
}

// rsa92Images is the number of images.
const rsa92Images = 92

// LoadRSA92 reads the Kriegeskorte et al. (2008) supplemental data (a MATLAB file with the struct array
// stimuli_92objs, fields image and category, and RDMs_mIT_hIT_fig1, fields name and RDM, each RDM the
// condensed upper triangle).
func LoadRSA92(path string) (*RSA92, error) {
	vars, err := matfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("benchmark: rsa92: %w", err)
	}
	d := &RSA92{Bootstrap: 1000, Seed: 1}
	stim := vars["stimuli_92objs"]
	if stim == nil || len(stim.Elems) != rsa92Images {
		return nil, fmt.Errorf("benchmark: rsa92: %s: want a struct array stimuli_92objs of 92 images", path)
	}
	for i := range rsa92Images {
		img, err := stim.Field(i, "image")
		if err != nil {
			return nil, fmt.Errorf("benchmark: rsa92: %s: %w", path, err)
		}
		if img.Class != matfile.Uint8 || len(img.Dims) != 3 || img.Dims[2] != 3 {
			return nil, fmt.Errorf("benchmark: rsa92: %s: image %d is a %v array of %v, want uint8 rows × columns × 3", path, i+1, img.Class, img.Dims)
		}
		h, w := img.Dims[0], img.Dims[1]
		m := stimuli.NewImage(w, h, 3)
		for y := range h {
			for x := range w {
				for c := range 3 {
					m.Pix[(y*w+x)*3+c] = img.Bytes[y+h*x+h*w*c] // MATLAB's column-major order
				}
			}
		}
		d.Images = append(d.Images, m)
		cat, err := stim.Field(i, "category")
		if err != nil {
			return nil, fmt.Errorf("benchmark: rsa92: %s: %w", path, err)
		}
		d.Categories = append(d.Categories, cat.String())
	}
	rdms := vars["RDMs_mIT_hIT_fig1"]
	if rdms == nil || len(rdms.Elems) != 2 {
		return nil, fmt.Errorf("benchmark: rsa92: %s: want a struct array RDMs_mIT_hIT_fig1 of 2 RDMs", path)
	}
	for i, dst := range []**mat.SymDense{&d.MacaqueIT, &d.HumanIT} {
		r, err := rdms.Field(i, "RDM")
		if err != nil {
			return nil, fmt.Errorf("benchmark: rsa92: %s: %w", path, err)
		}
		const pairs = rsa92Images * (rsa92Images - 1) / 2
		if len(r.Numbers) != pairs {
			return nil, fmt.Errorf("benchmark: rsa92: %s: RDM %d has %d entries, want the %d pairs of 92 images", path, i+1, len(r.Numbers), pairs)
		}
		if *dst, err = metric.SquareForm(r.Numbers); err != nil {
			return nil, fmt.Errorf("benchmark: rsa92: %s: RDM %d: %w", path, i+1, err)
		}
	}
	return d, nil
}

// rsa92Definition registers the benchmark of one of the two brain RDMs; both share the file.
func rsa92Definition(identifier string) Definition {
	spec := Spec{Identifier: identifier, Region: "IT", Metric: "rsa", Files: []DataFile{{Dir: DirRSA92, File: rsa92File}}}
	switch identifier {
	case RSA92MacaqueIT:
		spec.Description = "92 object images; macaque IT dissimilarities, 674 neurons (Kiani et al. 2007; rsatoolbox demo data, MIT)"
	case RSA92HumanIT:
		spec.Description = "92 object images; human IT fMRI dissimilarities, 316 voxels (Kriegeskorte et al. 2008; rsatoolbox demo data, MIT)"
		spec.OnRequest = true
	}
	return Definition{Spec: spec, Load: func(ctx context.Context, src *Source) (Benchmark, error) {
		d, err := Shared(src, "rsa92", func() (*RSA92, error) { return LoadRSA92(src.Paths[0]) })
		if err != nil {
			return nil, err
		}
		b, err := d.Benchmark(identifier)
		if err != nil {
			return nil, err
		}
		b.Preprocess = src.Preprocess
		return b, nil
	}}
}

// RSA92Benchmark compares a model with one of the two brain RDMs of the 92-image data.
type RSA92Benchmark struct {
	// Data holds the images and both RDMs.
	Data *RSA92
	// Preprocess chooses how the images are prepared for a model; nil means stimuli.Study of the
	// model's input.
	Preprocess Preprocessor
	identifier string
	brain      *mat.SymDense
}

// Benchmark returns the benchmark of the macaque IT (RSA92MacaqueIT) or human IT (RSA92HumanIT)
// dissimilarity matrix.
func (d *RSA92) Benchmark(identifier string) (*RSA92Benchmark, error) {
	b := &RSA92Benchmark{Data: d, identifier: identifier}
	switch identifier {
	case RSA92MacaqueIT:
		b.brain = d.MacaqueIT
	case RSA92HumanIT:
		b.brain = d.HumanIT
	default:
		return nil, fmt.Errorf("benchmark: rsa92 has no benchmark %q (%s, %s)", identifier, RSA92MacaqueIT, RSA92HumanIT)
	}
	if b.brain == nil || b.brain.SymmetricDim() != len(d.Images) {
		return nil, fmt.Errorf("benchmark: %s: the RDM does not cover the %d images", identifier, len(d.Images))
	}
	return b, nil
}

// Identifier implements Benchmark.
func (b *RSA92Benchmark) Identifier() string { return b.identifier }

// Region implements Benchmark.
func (b *RSA92Benchmark) Region() string { return "IT" }

// Score scores every layer of m against the brain's dissimilarity matrix as metric.RSA does: the
// layer's RDM is 1 − Pearson r between the activation patterns of every two images, compared with the
// brain's by Spearman's ρ over the 4186 image pairs, with a 95% bootstrap interval over images
// (percentiles 2.5 and 97.5 of Data.Bootstrap resamples). Images are prepared by b.Preprocess (by
// default stimuli.Study with the model's input shape). The result commits to the layer with the
// highest ρ.
func (b *RSA92Benchmark) Score(ctx context.Context, m Model) (*Result, error) {
	prep := b.preprocessing(m.Input())
	if err := checkShape(prep, m); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", b.identifier, err)
	}
	sets, err := b.inputs(prep)
	if err != nil {
		return nil, err
	}
	acts, err := activations(ctx, m, sets[0].Inputs, m.Layers())
	if err != nil {
		return nil, err
	}
	return b.ScoreFeatures(m.Identifier(), m.Layers(), acts, prep.Name)
}

// Inputs implements ImageBenchmark: the 92 images in the matrices' order.
func (b *RSA92Benchmark) Inputs(ctx context.Context, channels, height, width int) ([]InputSet, error) {
	return b.inputs(b.preprocessing(channels, height, width))
}

func (b *RSA92Benchmark) inputs(prep stimuli.Preprocessing) ([]InputSet, error) {
	set := InputSet{Name: "stimuli", Inputs: make([][]float32, len(b.Data.Images)), Preprocessing: prep.Name}
	for i, img := range b.Data.Images {
		var err error
		if set.Inputs[i], err = prep.ApplyImage(img, 0); err != nil {
			return nil, fmt.Errorf("benchmark: %s: image %d: %w", b.identifier, i+1, err)
		}
		set.IDs = append(set.IDs, fmt.Sprintf("%02d", i+1))
	}
	return []InputSet{set}, nil
}

func (b *RSA92Benchmark) preprocessing(channels, height, width int) stimuli.Preprocessing {
	if b.Preprocess != nil {
		return b.Preprocess(channels, height, width)
	}
	return stimuli.Study(channels, height, width)
}

// ScoreFeatures scores precomputed features, one row per image in the data's order; prepName names
// their preprocessing in the notes ("" for none).
func (b *RSA92Benchmark) ScoreFeatures(model string, layers []string, features map[string]*mat.Dense, prepName string) (*Result, error) {
	d, brain, identifier := b.Data, b.brain, b.identifier
	res := &Result{Benchmark: identifier, Region: "IT", Model: model, Status: StatusOK,
		Notes: []string{fmt.Sprintf("RDM 1-Pearson, Spearman over 4186 pairs, 95%% bootstrap interval over images (%d resamples, seed %d)", d.Bootstrap, d.Seed)}}
	if prepName != "" {
		res.Notes = append(res.Notes, "preprocessing "+prepName)
	}
	res.Layers = make([]LayerScore, len(layers))
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, l := range layers {
		f, ok := features[l]
		if !ok {
			return nil, fmt.Errorf("benchmark: %s: no features for layer %q", identifier, l)
		}
		if r, _ := f.Dims(); r != rsa92Images {
			return nil, fmt.Errorf("benchmark: %s: layer %s has %d rows, want %d images", identifier, l, r, rsa92Images)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s := nanScore(l)
			r, err := metric.RSA(metric.RDM(f), brain, d.Bootstrap, d.Seed)
			if err != nil {
				errs[k] = fmt.Errorf("benchmark: %s: layer %s: %w", identifier, l, err)
				return
			}
			if !math.IsNaN(r.Score) { // a layer with a constant image pattern has NaN scores
				s.Raw, s.Low, s.High = r.Score, r.Low, r.High
				s.Error = (s.High - s.Low) / 2
			}
			res.Layers[k] = s
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res.Commit("")
	return res, nil
}
