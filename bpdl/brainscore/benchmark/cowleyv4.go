package benchmark

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the sessions' images are JPEG
	"io"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// CowleyV4 is the identifier of the Cowley et al. (2023) V4 benchmark.
const CowleyV4 = "cowley2023.V4-pls"

// CowleySessions are the recording sessions the benchmark uses: the three held-out test sessions of
// Cowley et al. (2023) with natural images (190923, 201025: 1200 images; 210325: 640 images, the one
// whose single-repeat responses are published).
var cowleySessions = []string{"190923", "201025", "210325"}

// cowleyCeilingSession is the session whose repeats give the ceiling.
const cowleyCeilingSession = "210325"

// cowleyCommit pins the files to a commit of the V4_compact_models repository (GPL-3.0).
const cowleyCommit = "f4552ad9d34a466ebc66658f72a08a8e5038f1cf"

// cowleyFiles lists the benchmark's files: for each session its images (ZIP of 112 × 112 JPEGs,
// image0001.jpg, ...) and repeat-averaged spike counts (neurons × images, 100-ms bins), and the
// single-repeat counts of the ceiling session (neurons × images × repeats, NaN where a repeat is
// missing). Local names follow the shared data layout; SHA-256 sums are those of the repository's files.
func cowleyFiles() []fetch.File {
	base := "https://raw.githubusercontent.com/cowleygroup/V4_compact_models/" + cowleyCommit + "/data_V4_responses/"
	f := func(name, remote string, size int64, sum string) fetch.File {
		return fetch.File{Name: name, URL: base + remote, Size: size, Sum: fetch.Checksum{Algorithm: fetch.SHA256, Hex: sum}}
	}
	return []fetch.File{
		f("images_190923.zip", "images/images_190923.zip", 4024034, "e99a4df1c7476bdc4d565ff4408bc421976ecc3a22c41af6bfd0cfbddb508c0c"),
		f("images_201025.zip", "images/images_201025.zip", 4131376, "3abb63679107665eab7220bdeaf7863832a1df943bf3d7792501f5082a55b2e8"),
		f("images_210325.zip", "images/images_210325.zip", 1841475, "992774eca3508a2ad01accb1a31f5f3e3d90248c49f4eec314f2a915a263e454"),
		f("responses_avg_190923.npy", "responses_repeat_averaged/responses_190923.npy", 316928, "741672d36541ce39930c8a3b5bd1cfd33c187aa47b1549c9c5569bc21aa97a28"),
		f("responses_avg_201025.npy", "responses_repeat_averaged/responses_201025.npy", 854528, "f729f3dc0d29aa38bd380c0da9e39aba916f9e2580949929b65d1714e7217a8a"),
		f("responses_avg_210325.npy", "responses_repeat_averaged/responses_210325.npy", 256128, "555e67037182611969ab90da291dcc39601de4411f651a64ad60e90572cf59d3"),
		f("responses_raw_210325.npy", "responses_raw/responses_210325.npy", 2560128, "4008dbbf31a47d9b1b8d8da609f4a7a3433c7071f0e45c611c220b217dd75b76"),
	}
}

// CowleySession is one recording session: its images and the repeat-averaged responses to them.
type CowleySession struct {
	// ID is the session's date, e.g. "190923".
	ID string
	// JPEGs holds the image files in image order.
	JPEGs [][]byte
	// Responses holds the repeat-averaged spike counts, images × neurons.
	Responses *mat.Dense
	// Splits are ten shuffle splits of the images, 90% training, random_state=1 (no stratification:
	// the images have no labels).
	Splits []metric.Split
}

// Cowley holds the V4 benchmark of Cowley et al. (2023): macaque V4 spike counts to natural images,
// predicted from a layer by Brain-Score's PLS predictivity (25 components, Pearson r per neuron on
// held-out images, median over neurons, mean over splits) in each session; the score is the mean over
// sessions. The ceiling is the split-half consistency (Spearman-Brown corrected, Brain-Score's half
// assignments of the repeats) of session 210325, the only session with published single repeats; it
// is applied to the mean over sessions.
type Cowley struct {
	Sessions []CowleySession
	// Repetitions are the ceiling session's responses by repeat.
	Repetitions *metric.Repetitions
	// Ceiling is the split-half ceiling of the ceiling session.
	Ceiling *metric.Ceiling
	// Preprocess chooses how the images are prepared for a model; nil means stimuli.Study of the
	// model's input (the images are used at their own 112 × 112 extent).
	Preprocess Preprocessor
}

// cowleyDefinition registers the benchmark.
func cowleyDefinition() Definition {
	var files []DataFile
	for _, f := range cowleyFiles() {
		files = append(files, DataFile{Dir: DirCowley, File: f})
	}
	return Definition{
		Spec: Spec{Identifier: CowleyV4, Region: "V4", Metric: "pls",
			Description: "V4 spike counts to natural images, sessions 190923, 201025, 210325 (Cowley et al. 2023, V4_compact_models, GPL-3.0)",
			Files:       files},
		Load: func(ctx context.Context, src *Source) (Benchmark, error) {
			for _, p := range src.Paths {
				if filepath.Dir(p) != filepath.Dir(src.Paths[0]) {
					return nil, errors.New("the Cowley et al. files are split between the local copy and the cache: put all of them in one folder")
				}
			}
			b, err := LoadCowley(filepath.Dir(src.Paths[0]))
			if err != nil {
				return nil, err
			}
			b.Preprocess = src.Preprocess
			return b, nil
		},
	}
}

// Identifier implements Benchmark.
func (b *Cowley) Identifier() string { return CowleyV4 }

// Region implements Benchmark.
func (b *Cowley) Region() string { return "V4" }

var cowleyImageName = regexp.MustCompile(`^image(\d+)\.jpg$`)

// LoadCowley reads the benchmark's files (named as cowleyFiles lists them) from dir.
func LoadCowley(dir string) (*Cowley, error) {
	b := &Cowley{}
	for _, id := range cowleySessions {
		s, err := loadCowleySession(dir, id)
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: %w", CowleyV4, err)
		}
		b.Sessions = append(b.Sessions, *s)
	}
	path := filepath.Join(dir, "responses_raw_"+cowleyCeilingSession+".npy")
	raw, err := npy.Read(path)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", CowleyV4, err)
	}
	if len(raw.Shape) != 3 {
		return nil, fmt.Errorf("benchmark: %s: %s has shape %s, want neurons × images × repeats", CowleyV4, path, npy.ShapeString(raw.Shape))
	}
	nNeu, nImg, nRep := raw.Shape[0], raw.Shape[1], raw.Shape[2]
	var avg *mat.Dense
	for _, s := range b.Sessions {
		if s.ID == cowleyCeilingSession {
			avg = s.Responses
		}
	}
	if r, c := avg.Dims(); r != nImg || c != nNeu {
		return nil, fmt.Errorf("benchmark: %s: %s has %d neurons × %d images, the averaged responses %d × %d", CowleyV4, path, nNeu, nImg, c, r)
	}
	data := make([]float64, nRep*nImg*nNeu)
	for k := range nNeu {
		for i := range nImg {
			for r := range nRep {
				data[(r*nImg+i)*nNeu+k] = raw.Data[(k*nImg+i)*nRep+r]
			}
		}
	}
	if b.Repetitions, err = metric.NewRepetitions(nRep, nImg, nNeu, data); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", CowleyV4, err)
	}
	if b.Ceiling, err = metric.SplitHalfCeiling(b.Repetitions, nil); err != nil {
		return nil, fmt.Errorf("benchmark: %s: ceiling: %w", CowleyV4, err)
	}
	return b, nil
}

func loadCowleySession(dir, id string) (*CowleySession, error) {
	path := filepath.Join(dir, "responses_avg_"+id+".npy")
	a, err := npy.Read(path)
	if err != nil {
		return nil, err
	}
	nNeu, nImg, err := a.Dims2()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	resp := mat.NewDense(nImg, nNeu, nil)
	for k := range nNeu {
		for i := range nImg {
			resp.Set(i, k, a.Data[k*nImg+i])
		}
	}
	zpath := filepath.Join(dir, "images_"+id+".zip")
	zr, err := zip.OpenReader(zpath)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	type entry struct {
		n int
		f *zip.File
	}
	var entries []entry
	for _, f := range zr.File {
		m := cowleyImageName.FindStringSubmatch(filepath.Base(f.Name))
		if m == nil || strings.Contains(f.Name, "..") {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		entries = append(entries, entry{n, f})
	}
	slices.SortFunc(entries, func(x, y entry) int { return x.n - y.n })
	if len(entries) != nImg {
		return nil, fmt.Errorf("%s holds %d images named imageNNNN.jpg, %s has %d images", zpath, len(entries), path, nImg)
	}
	s := &CowleySession{ID: id, Responses: resp}
	for i, e := range entries {
		if e.n != i+1 {
			return nil, fmt.Errorf("%s: image %d is %s, want image%04d.jpg", zpath, i+1, e.f.Name, i+1)
		}
		if e.f.UncompressedSize64 > 1<<24 {
			return nil, fmt.Errorf("%s: %s is %d bytes, too large for a 112x112 image", zpath, e.f.Name, e.f.UncompressedSize64)
		}
		rc, err := e.f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", zpath, e.f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<24))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", zpath, e.f.Name, err)
		}
		s.JPEGs = append(s.JPEGs, b)
	}
	if s.Splits, err = metric.BrainScoreSplits(nImg, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Score runs each session's images through the model, prepared by b.Preprocess, and scores every
// layer. The result commits to the layer with the highest ceiled score.
func (b *Cowley) Score(ctx context.Context, m Model) (*Result, error) {
	prep := b.preprocessing(m.Input())
	if err := checkShape(prep, m); err != nil {
		return nil, fmt.Errorf("benchmark: %s: %w", CowleyV4, err)
	}
	features := make([]map[string]*mat.Dense, len(b.Sessions))
	for k, s := range b.Sessions {
		inputs, err := prepareImages(ctx, jpegStimuli(s.JPEGs), indexIDs(len(s.JPEGs)), 0, prep)
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: session %s: %w", CowleyV4, s.ID, err)
		}
		if features[k], err = activations(ctx, m, inputs, m.Layers()); err != nil {
			return nil, err
		}
	}
	res, err := b.ScoreFeatures(m.Identifier(), m.Layers(), features)
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, "preprocessing "+prep.Name)
	return res, nil
}

// Inputs implements ImageBenchmark: one set per session (named by its date), images in file order
// (IDs image0001, ...).
func (b *Cowley) Inputs(ctx context.Context, channels, height, width int) ([]InputSet, error) {
	prep := b.preprocessing(channels, height, width)
	var out []InputSet
	for _, s := range b.Sessions {
		inputs, err := prepareImages(ctx, jpegStimuli(s.JPEGs), indexIDs(len(s.JPEGs)), 0, prep)
		if err != nil {
			return nil, fmt.Errorf("benchmark: %s: session %s: %w", CowleyV4, s.ID, err)
		}
		set := InputSet{Name: s.ID, Inputs: inputs, Preprocessing: prep.Name}
		for i := range inputs {
			set.IDs = append(set.IDs, fmt.Sprintf("image%04d", i+1))
		}
		out = append(out, set)
	}
	return out, nil
}

func (b *Cowley) preprocessing(channels, height, width int) stimuli.Preprocessing {
	if b.Preprocess != nil {
		return b.Preprocess(channels, height, width)
	}
	return stimuli.Study(channels, height, width)
}

// ScoreFeatures scores precomputed features: for each session (in Sessions order) and layer, one row per
// image. Raw is the mean over sessions of each session's score; Error combines the sessions' standard
// errors, √(Σ eₛ²)/S; PerSplit lists every session's split scores, session after session.
func (b *Cowley) ScoreFeatures(model string, layers []string, features []map[string]*mat.Dense) (*Result, error) {
	if len(features) != len(b.Sessions) {
		return nil, fmt.Errorf("benchmark: %s: features for %d sessions, want %d", CowleyV4, len(features), len(b.Sessions))
	}
	res := &Result{Benchmark: CowleyV4, Region: "V4", Model: model, Status: StatusOK,
		Notes: []string{"ceiling of session " + cowleyCeilingSession + " applied to the mean over sessions"}}
	for _, l := range layers {
		ls := nanScore(l)
		sum, sumErr2 := 0.0, 0.0
		var perSession []string
		for k, s := range b.Sessions {
			f, ok := features[k][l]
			if !ok {
				return nil, fmt.Errorf("benchmark: %s: no features for layer %q in session %s", CowleyV4, l, s.ID)
			}
			sc, err := metric.Predictivity(f, s.Responses, s.Splits, metric.BrainScorePLS())
			if err != nil {
				return nil, fmt.Errorf("benchmark: %s: session %s, layer %s: %w", CowleyV4, s.ID, l, err)
			}
			sum += sc.Raw
			sumErr2 += sc.Error * sc.Error
			ls.PerSplit = append(ls.PerSplit, sc.RawPerSplit...)
			perSession = append(perSession, fmt.Sprintf("%s %.4f", s.ID, sc.Raw))
		}
		n := float64(len(b.Sessions))
		ls.Raw = sum / n
		ls.Error = math.Sqrt(sumErr2) / n
		ls.Ceiling = b.Ceiling.Value
		ls.CeiledRC2 = metric.CeiledRC2(ls.Raw, ls.Ceiling)
		ls.CeiledR2C = metric.CeiledR2C(ls.Raw, ls.Ceiling)
		res.Layers = append(res.Layers, ls)
		res.Notes = append(res.Notes, fmt.Sprintf("layer %s by session: %s", l, strings.Join(perSession, ", ")))
	}
	res.Commit("")
	return res, nil
}

// jpegStimuli serves images held as encoded files, by their index as a decimal ID.
type jpegStimuli [][]byte

func (j jpegStimuli) Image(id string) (image.Image, error) {
	i, err := strconv.Atoi(id)
	if err != nil || i < 0 || i >= len(j) {
		return nil, fmt.Errorf("no image %q", id)
	}
	img, _, err := image.Decode(bytes.NewReader(j[i]))
	return img, err
}

// indexIDs returns "0", "1", ..., the IDs of n indexed images.
func indexIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	return ids
}
