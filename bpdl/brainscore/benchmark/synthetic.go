package benchmark

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
)

// Sizes are the dimensions of the public Brain-Score data sets, for synthetic stand-ins.
type Sizes struct {
	// MajajHong2015.public: 64 objects × 50 HvM images (256 × 256) shown with about 50 repetitions;
	// 88 V4 and 168 IT sites; one 70-170 ms bin.
	HvMObjects, HvMPerObject, HvMRepetitions, HvMV4, HvMIT, HvMSize int
	// FreemanZiemba2013.public: 135 images (15 texture families × 9; 320 × 320, 4 degrees; texture
	// and noise), 20 repetitions, 102 V1 and 103 V2 cells, 300 1-ms bins.
	FZFamilies, FZPerFamily, FZRepetitions, FZV1, FZV2, FZBins, FZSize int
	// Rajalingham2018.public: 24 objects × 90 objectome.public images (256 × 256), and human trials.
	Objects, ObjectomePerObject, TrialsPerImage, ObjectomeSize int
}

// PublicSizes returns the sizes of the public data sets (Brain-Score's tests and packaging scripts:
// MajajHong2015 3200 public images of 5760, 88 V4 and 168 IT sites; FreemanZiemba2013 450 images of
// which 315 private, 102 V1 and 103 V2 cells, 20 repetitions, 300 1-ms bins; objectome 2160 fitting
// images of 24 objects). The repetitions of MajajHong2015 and the trials per objectome image are round
// estimates (about 50 and 100).
func PublicSizes() Sizes {
	return Sizes{
		HvMObjects: 64, HvMPerObject: 50, HvMRepetitions: 50, HvMV4: 88, HvMIT: 168, HvMSize: 256,
		FZFamilies: 15, FZPerFamily: 9, FZRepetitions: 20, FZV1: 102, FZV2: 103, FZBins: 300, FZSize: 320,
		Objects: 24, ObjectomePerObject: 90, TrialsPerImage: 100, ObjectomeSize: 256,
	}
}

// syntheticImages draws images on demand from their IDs ("o<object>_<sample>"): each object has a
// pattern (a grating and a blob whose orientation, frequency and position depend on the object), and
// its samples are that pattern shifted circularly by an amount that depends on the sample, so images of
// an object resemble each other. Patterns are made once per object.
type syntheticImages struct {
	size  int
	color bool
	mu    *sync.Mutex
	cache map[int]*image.RGBA
}

func newSyntheticImages(size int, color bool) syntheticImages {
	return syntheticImages{size: size, color: color, mu: new(sync.Mutex), cache: map[int]*image.RGBA{}}
}

func (s syntheticImages) Image(id string) (image.Image, error) {
	obj, sample, ok := strings.Cut(id, "_")
	o, err1 := strconv.Atoi(strings.TrimPrefix(obj, "o"))
	k, err2 := strconv.Atoi(sample)
	if !ok || err1 != nil || err2 != nil || o < 0 || k < 0 {
		return nil, fmt.Errorf("synthetic stimulus %q: want o<object>_<sample>", id)
	}
	base := s.pattern(o)
	n := s.size
	dx, dy := (k*7)%n, (k*3)%n
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		src := base.Pix[((y+dy)%n)*base.Stride:][:4*n]
		dst := img.Pix[y*img.Stride:][:4*n]
		copy(dst, src[4*dx:])
		copy(dst[4*(n-dx):], src[:4*dx])
	}
	return img, nil
}

// pattern returns object o's pattern.
func (s syntheticImages) pattern(o int) *image.RGBA {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.cache[o]; ok {
		return p
	}
	n := s.size
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	theta := float64(o) * 0.7
	freq := 0.05 + 0.01*float64(o%7)
	cx, cy := float64(n)*(0.3+0.4*math.Mod(float64(o)*0.37, 1)), float64(n)*(0.3+0.4*math.Mod(float64(o)*0.61, 1))
	for y := range n {
		for x := range n {
			u := float64(x)*math.Cos(theta) + float64(y)*math.Sin(theta)
			d2 := ((float64(x)-cx)*(float64(x)-cx) + (float64(y)-cy)*(float64(y)-cy)) / float64(n*n) * 40
			v := 128 + 60*math.Sin(freq*u) + 60*math.Exp(-d2)
			r, g, b := v, v, v
			if s.color {
				r, b = v*(0.8+0.05*float64(o%5)), v*(1.1-0.05*float64(o%4))
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = clampByte(r), clampByte(g), clampByte(b), 255
		}
	}
	s.cache[o] = img
	return img
}

func clampByte(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

func syntheticID(object, sample int) string { return fmt.Sprintf("o%02d_%03d", object, sample) }

// syntheticNeural returns an assembly of presentations (images × repetitions) × neuroids × bins whose
// responses are each neuroid's tuning to the image's object and to the image itself, plus trial noise;
// the object's name is the object_name (and texture_type, alternating) coordinate.
func syntheticNeural(rng *rand.Rand, objects, perObject, reps int, regions []string, counts []int, bins int, binStart func(int) float64, binWidth float64) *brainio.Assembly {
	nImg := objects * perObject
	nNeu := 0
	for _, c := range counts {
		nNeu += c
	}
	np := nImg * reps
	a := &brainio.Assembly{
		Identifier: "synthetic", Dims: []string{"presentation", "neuroid", "time_bin"},
		Shape: []int{np, nNeu, bins}, Data: make([]float64, np*nNeu*bins),
		Coords: map[string]brainio.Coord{}, Attrs: map[string]string{},
	}
	ids, objs, tex := make([]string, np), make([]string, np), make([]string, np)
	rep := make([]int64, np)
	tuning := make([]float64, objects*nNeu)
	for i := range tuning {
		tuning[i] = rng.NormFloat64()
	}
	imgEffect := make([]float64, nImg*nNeu)
	for i := range imgEffect {
		imgEffect[i] = 0.7 * rng.NormFloat64()
	}
	for r := range reps {
		for i := range nImg {
			p := r*nImg + i
			o := i / perObject
			ids[p], objs[p], rep[p] = syntheticID(o, i%perObject), fmt.Sprintf("object%02d", o), int64(r)
			tex[p] = []string{"texture", "noise"}[i%2]
			for k := range nNeu {
				rate := 2 + tuning[o*nNeu+k] + imgEffect[i*nNeu+k]
				row := a.Data[(p*nNeu+k)*bins : (p*nNeu+k+1)*bins]
				for t := range row {
					row[t] = rate + rng.NormFloat64()
				}
			}
		}
	}
	regs := make([]string, 0, nNeu)
	for j, c := range counts {
		for range c {
			regs = append(regs, regions[j])
		}
	}
	starts, ends := make([]float64, bins), make([]float64, bins)
	for t := range bins {
		starts[t], ends[t] = binStart(t), binStart(t)+binWidth
	}
	a.Coords["stimulus_id"] = brainio.Coord{Dim: "presentation", Strings: ids}
	a.Coords["object_name"] = brainio.Coord{Dim: "presentation", Strings: objs}
	a.Coords["texture_type"] = brainio.Coord{Dim: "presentation", Strings: tex}
	a.Coords["repetition"] = brainio.Coord{Dim: "presentation", Ints: rep}
	a.Coords["region"] = brainio.Coord{Dim: "neuroid", Strings: regs}
	a.Coords["time_bin_start"] = brainio.Coord{Dim: "time_bin", Floats: starts}
	a.Coords["time_bin_end"] = brainio.Coord{Dim: "time_bin", Floats: ends}
	return a
}

// syntheticTrials returns match-to-sample trials on objects × perObject images: each image shown
// trialsPerImage times against a random other object, answered wrongly with a probability that depends
// on the image and the distractor.
func syntheticTrials(rng *rand.Rand, objects, perObject, trialsPerImage int) (Trials, []string, []string) {
	var t Trials
	var ids, labels []string
	confusion := make([]float64, objects*objects)
	for i := range confusion {
		confusion[i] = rng.Float64()
	}
	for o := range objects {
		for s := range perObject {
			id, name := syntheticID(o, s), fmt.Sprintf("object%02d", o)
			ids, labels = append(ids, id), append(labels, name)
			difficulty := 0.4 * rng.Float64()
			for range trialsPerImage {
				d := rng.IntN(objects - 1)
				if d >= o {
					d++
				}
				choice := name
				if rng.Float64() < difficulty*(0.5+confusion[o*objects+d]) {
					choice = fmt.Sprintf("object%02d", d)
				}
				t.Image = append(t.Image, id)
				t.Sample = append(t.Sample, name)
				t.Distractor = append(t.Distractor, fmt.Sprintf("object%02d", d))
				t.Choice = append(t.Choice, choice)
			}
		}
	}
	return t, ids, labels
}

// Timing is the wall time of each step of RunSynthetic.
type Timing struct {
	Step     string
	Duration time.Duration
}

// RunSynthetic scores the model on synthetic stand-ins of the five public benchmarks with the given
// sizes (PublicSizes for the real ones), through the same code as the real data from the assembly on:
// time-window and repetition averaging, splits, ceilings, image preprocessing (PublicPreprocessing),
// activations, PLS for every layer, the i2n readout. Data sets are made and dropped one after the other
// to bound memory. It returns the results and the time of each step.
func RunSynthetic(ctx context.Context, m Model, sz Sizes, seed uint64, log io.Writer) ([]*Result, []Timing, error) {
	if log == nil {
		log = io.Discard
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	m = Memo(m) // the regions of one data set see the same images
	var results []*Result
	var times []Timing
	step := func(name string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("benchmark: synthetic %s: %w", name, err)
		}
		times = append(times, Timing{name, time.Since(start)})
		fmt.Fprintf(log, "%-40s %s\n", name, time.Since(start).Round(time.Millisecond))
		return ctx.Err()
	}
	scoreNeural := func(benches []*Neural) error {
		for _, b := range benches {
			r, err := b.Score(ctx, m)
			if err != nil {
				return err
			}
			results = append(results, r)
			fmt.Fprintf(log, "%s\n", r)
		}
		return nil
	}
	var fz []*Neural
	if err := step("FreemanZiemba2013 data", func() error {
		a := syntheticNeural(rng, sz.FZFamilies, sz.FZPerFamily, sz.FZRepetitions, []string{"V1", "V2"}, []int{sz.FZV1, sz.FZV2},
			sz.FZBins, func(t int) float64 { return float64(t) }, 1)
		var err error
		fz, err = NewFreemanZiemba2013(a, newSyntheticImages(sz.FZSize, false), "V1", "V2")
		return err
	}); err != nil {
		return nil, nil, err
	}
	debug.FreeOSMemory()
	if err := step("FreemanZiemba2013 V1, V2 scores", func() error { return scoreNeural(fz) }); err != nil {
		return nil, nil, err
	}
	fz = nil
	var mh []*Neural
	if err := step("MajajHong2015 data", func() error {
		a := syntheticNeural(rng, sz.HvMObjects, sz.HvMPerObject, sz.HvMRepetitions, []string{"V4", "IT"}, []int{sz.HvMV4, sz.HvMIT},
			1, func(int) float64 { return 70 }, 100)
		var err error
		mh, err = NewMajajHong2015(a, newSyntheticImages(sz.HvMSize, false), "V4", "IT")
		return err
	}); err != nil {
		return nil, nil, err
	}
	debug.FreeOSMemory()
	if err := step("MajajHong2015 V4, IT scores", func() error { return scoreNeural(mh) }); err != nil {
		return nil, nil, err
	}
	mh = nil
	var rj *Rajalingham2018
	if err := step("Rajalingham2018 data", func() error {
		tr, ids, labels := syntheticTrials(rng, sz.Objects, sz.ObjectomePerObject, sz.TrialsPerImage)
		var err error
		rj, err = NewRajalingham2018(tr, ids, labels, ids, newSyntheticImages(sz.ObjectomeSize, true))
		return err
	}); err != nil {
		return nil, nil, err
	}
	if err := step("Rajalingham2018 i2n score", func() error {
		r, err := rj.Score(ctx, m)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(log, "%s\n", r)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return results, times, nil
}
