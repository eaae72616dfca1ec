package report

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/bpdl/bpdl/bpdl/diag"
)

// studyOptions shape a synthetic study.
type studyOptions struct {
	rules       []string
	seeds       int
	epochs      int
	silent      bool // the hidden layers of "snn" never spike
	noScores    bool
	noHistories bool
}

// syntheticStudy returns runs that look like the study's: CIFAR-10, loss falling and accuracy rising per
// rule, update angles, DTP's pretraining and reconstruction losses, spike rates and rasters of the
// spiking nets, and brain scores (one benchmark without data). Values are pseudo-random with fixed seeds.
func syntheticStudy(o studyOptions) []Run {
	type profile struct{ acc, angle, ceiledIT float64 }
	profiles := map[string]profile{
		"bp": {0.53, 0, 0.42}, "fa": {0.47, 55, 0.38}, "dfa": {0.45, 65, 0.36}, "dtp": {0.41, 75, 0.33},
		"snn": {0.10, 88, 0.05}, "dtp-tuned": {0.49, 60, 0.39}, "snn-tuned": {0.31, 80, 0.2},
	}
	var runs []Run
	for ri, rule := range o.rules {
		pr := profiles[rule]
		for seed := uint64(1); seed <= uint64(o.seeds); seed++ {
			rng := rand.New(rand.NewPCG(seed, uint64(ri)))
			noise := func(sd float64) float64 { return sd * rng.NormFloat64() }
			r := Run{Dataset: "cifar10", Rule: rule, Seed: seed, Epochs: o.epochs, Batch: 128, Optimizer: "sgd", Backend: "go"}
			spiking := strings.HasPrefix(rule, "snn")
			metrics := func(frac float64) []diag.Metric {
				var m []diag.Metric
				m = append(m, diag.Metric{Kind: diag.Loss, Value: 2.3 - frac + noise(0.02)})
				for l := 1; l <= 3; l++ {
					a := pr.angle * (1 - 0.25*frac*float64(l)/3)
					if rule == "bp" {
						a = math.Abs(noise(1e-3))
					}
					m = append(m, diag.Metric{Kind: diag.Angle, Layer: l, Value: a + noise(2)*boolf(rule != "bp")})
				}
				if strings.HasPrefix(rule, "dtp") {
					m = append(m, diag.Metric{Kind: diag.Reconstruction, Layer: 2, Value: 0.8*math.Exp(-2*frac) + 0.1 + noise(0.01)},
						diag.Metric{Kind: diag.Reconstruction, Layer: 3, Value: 0.5*math.Exp(-2*frac) + 0.05 + noise(0.01)})
				}
				if spiking {
					hidden := 0.0
					if !(o.silent && rule == "snn") {
						hidden = 0.02 + 0.01*frac + noise(0.001)
					}
					m = append(m, diag.Metric{Kind: diag.SpikeRate, Layer: 0, Value: 0.009 + noise(0.0003)},
						diag.Metric{Kind: diag.SpikeRate, Layer: 1, Value: hidden}, diag.Metric{Kind: diag.SpikeRate, Layer: 2, Value: hidden / 2})
				}
				return m
			}
			if !o.noHistories {
				r.History = append(r.History, Point{Phase: "init", TrainLoss: math.NaN(), TestAccuracy: 0.1 + noise(0.005), Metrics: metrics(0)})
				if strings.HasPrefix(rule, "dtp") {
					for e := 1; e <= 3; e++ {
						r.History = append(r.History, Point{Phase: "pretrain", Epoch: float64(e), TrainLoss: 0.4 / float64(e), TestAccuracy: math.NaN(), Metrics: metrics(0.1 * float64(e))})
					}
				}
				for e := 1; e <= o.epochs; e++ {
					frac := float64(e) / float64(o.epochs)
					if e == 1 {
						r.History = append(r.History, Point{Phase: "train", Epoch: 100.0 / 391, Step: 100, Examples: 12800, TrainLoss: 2.1 + noise(0.02), TestAccuracy: math.NaN(), Metrics: metrics(0.05)})
					}
					acc := 0.1 + (pr.acc-0.1)*(1-math.Exp(-3*frac)) + noise(0.008)
					r.History = append(r.History, Point{Phase: "train", Epoch: float64(e), Step: 391 * e, Examples: 50000 * e,
						TrainLoss: 2.3 - 1.2*(pr.acc-0.1)/0.45*(1-math.Exp(-3*frac)) + noise(0.02), TestAccuracy: acc, Metrics: metrics(frac)})
				}
				r.TestAccuracy = r.History[len(r.History)-1].TestAccuracy
			} else {
				r.TestAccuracy = pr.acc + noise(0.01)
			}
			if !o.noScores {
				score := func(bench, region string, ceiling, ceiled float64) Score {
					ceiled += noise(0.01)
					raw := math.Sqrt(math.Max(ceiled, 0)) * ceiling
					return Score{Benchmark: bench, Region: region, Layer: "hidden2", Raw: raw, Error: 0.02, Ceiling: ceiling,
						CeiledRC2: ceiled, CeiledR2C: raw * raw / ceiling, Status: "ok"}
				}
				rsa := 0.1 + pr.ceiledIT/2 + noise(0.01)
				r.Scores = []Score{
					{Benchmark: "FreemanZiemba2013public.V1-pls", Region: "V1", Raw: math.NaN(), Error: math.NaN(), Ceiling: math.NaN(),
						CeiledRC2: math.NaN(), CeiledR2C: math.NaN(), Status: "data not present"},
					score("MajajHong2015public.V4-pls", "V4", 0.9, pr.ceiledIT*1.3),
					score("MajajHong2015public.IT-pls", "IT", 0.82, pr.ceiledIT),
					score("Rajalingham2018public-i2n", "behavior", 0.48, pr.ceiledIT*0.7),
					{Benchmark: "rsa92.macaque-IT", Region: "IT", Raw: rsa, Error: 0.03, Ceiling: math.NaN(), CeiledRC2: math.NaN(), CeiledR2C: math.NaN(), Status: "ok"},
					score("cowley2023.V4-pls", "V4", 0.7, pr.ceiledIT*0.9),
				}
			}
			if spiking {
				r.Raster = syntheticRaster(rng, o.silent && rule == "snn")
			}
			runs = append(runs, r)
		}
	}
	return runs
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// syntheticRaster is a Poisson-encoded 32x32x3 image (a bright disc) at up to 20 Hz over 100 steps of 1 ms,
// and two hidden layers of 1000 units, silent or firing sparsely.
func syntheticRaster(rng *rand.Rand, silent bool) *Raster {
	const steps = 100
	ra := &Raster{Steps: steps, DT: 1, Label: 3}
	layer := func(name string, units int, p func(unit int) float64) RasterLayer {
		l := RasterLayer{Name: name, Units: units, Spikes: [][2]int{}}
		for t := 0; t < steps; t++ {
			for u := 0; u < units; u++ {
				if rng.Float64() < p(u) {
					l.Spikes = append(l.Spikes, [2]int{t, u})
				}
			}
		}
		return l
	}
	ra.Layers = append(ra.Layers, layer("input", 3072, func(u int) float64 {
		pix := u % 1024
		x, y := pix%32-16, pix/32-16
		bright := 0.2
		if x*x+y*y < 100 {
			bright = 0.9
		}
		return 0.02 * bright
	}))
	for _, name := range []string{"hidden1", "hidden2"} {
		ra.Layers = append(ra.Layers, layer(name, 1000, func(u int) float64 {
			if silent {
				return 0
			}
			return 0.03 * float64(u%7) / 6
		}))
	}
	return ra
}

// withFakeEcharts points EchartsEnv at a stand-in script with a licence next to it.
func withFakeEcharts(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	js := filepath.Join(dir, "echarts.min.js")
	for name, text := range map[string]string{"echarts.min.js": "/* echarts stand-in */", "LICENSE": "Apache License 2.0 stand-in", "NOTICE": "notice stand-in"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EchartsEnv, js)
}

func fileNames(f Files) []string {
	var names []string
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var allRules = []string{"bp", "fa", "dfa", "dtp", "snn", "dtp-tuned", "snn-tuned"}

// testOrder is the study's rule order, as train.DefaultRegistry().Names() gives it (which this package may not
// import).
var testOrder = Order(allRules)

func TestFiguresSet(t *testing.T) {
	withFakeEcharts(t)
	assets := []string{EchartsLicense, EchartsNotice, EchartsScript}
	tests := []struct {
		name string
		opts studyOptions
		want []string // HTML figures
	}{
		{"whole study", studyOptions{rules: allRules, seeds: 2, epochs: 4, silent: true},
			[]string{AccuracyBrainFigure, AlignmentFigure, BrainScoreFigure, ReconstructionFigure, RasterFigure, SpikeRateFigure, TrainingFigure}},
		{"no spiking nets, no DTP", studyOptions{rules: []string{"bp", "fa", "dfa"}, seeds: 1, epochs: 3},
			[]string{AccuracyBrainFigure, AlignmentFigure, BrainScoreFigure, TrainingFigure}},
		{"no scores", studyOptions{rules: []string{"bp", "dtp"}, seeds: 1, epochs: 3, noScores: true},
			[]string{AlignmentFigure, ReconstructionFigure, TrainingFigure}},
		{"scores only", studyOptions{rules: []string{"bp", "fa"}, seeds: 1, epochs: 3, noHistories: true},
			[]string{AccuracyBrainFigure, BrainScoreFigure}},
		{"spiking only", studyOptions{rules: []string{"snn"}, seeds: 1, epochs: 2, noScores: true},
			[]string{AlignmentFigure, RasterFigure, SpikeRateFigure, TrainingFigure}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Figures(syntheticStudy(tt.opts), testOrder)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]string{}, tt.want...), assets...)
			sort.Strings(want)
			if got := fileNames(f); !equal(got, want) {
				t.Errorf("files %v, want %v", got, want)
			}
		})
	}
	t.Run("no runs", func(t *testing.T) {
		t.Setenv(EchartsEnv, filepath.Join(t.TempDir(), "missing.js"))
		f, err := Figures(nil, testOrder)
		if err != nil || len(f) != 0 {
			t.Errorf("Figures(nil) = %v, %v; want no files and no error, without a script", fileNames(f), err)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFiguresDeterministic(t *testing.T) {
	withFakeEcharts(t)
	o := studyOptions{rules: allRules, seeds: 3, epochs: 5, silent: true}
	a, err := Figures(syntheticStudy(o), testOrder)
	if err != nil {
		t.Fatal(err)
	}
	// The same runs in another order give the same bytes.
	runs := syntheticStudy(o)
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	b, err := Figures(runs, testOrder)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(fileNames(a), fileNames(b)) {
		t.Fatalf("files differ: %v and %v", fileNames(a), fileNames(b))
	}
	for n := range a {
		if !bytes.Equal(a[n], b[n]) {
			t.Errorf("%s differs between two calls", n)
		}
	}
}

func TestFiguresOffline(t *testing.T) {
	withFakeEcharts(t)
	f, err := Figures(syntheticStudy(studyOptions{rules: allRules, seeds: 2, epochs: 3, silent: true}), testOrder)
	if err != nil {
		t.Fatal(err)
	}
	scripts := regexp.MustCompile(`<script[^>]*src="([^"]*)"`)
	for n, b := range f {
		if !strings.HasSuffix(n, ".html") {
			continue
		}
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Errorf("%s names a web address", n)
		}
		srcs := scripts.FindAllSubmatch(b, -1)
		if len(srcs) != 1 || string(srcs[0][1]) != EchartsScript {
			var got []string
			for _, s := range srcs {
				got = append(got, string(s[1]))
			}
			t.Errorf("%s loads scripts %q, want just %q", n, got, EchartsScript)
		}
	}
}

func TestFiguresAxisNamesAndTitles(t *testing.T) {
	pages := figurePages(syntheticStudy(studyOptions{rules: allRules, seeds: 2, epochs: 3, silent: true}), testOrder)
	if len(pages) != 7 {
		t.Fatalf("%d figures, want 7", len(pages))
	}
	itemID := regexp.MustCompile(`class="item" id="([^"]+)"`)
	ids := map[string]string{}
	for _, p := range pages {
		html := p.html() // validates the charts too
		found := itemID.FindAllSubmatch(html, -1)
		if len(found) != len(p.charts) {
			t.Errorf("%s: %d chart elements for %d charts", p.name, len(found), len(p.charts))
		}
		for _, m := range found {
			id := string(m[1])
			if other, dup := ids[id]; dup {
				t.Errorf("chart ID %s in %s and %s", id, other, p.name)
			}
			ids[id] = p.name
		}
		for i, c := range p.charts {
			o := c.chart.(interface{ JSON() map[string]any }).JSON()
			title := o["title"].(titleOption).Title
			where := fmt.Sprintf("%s chart %d (%q)", p.name, i, title.Title)
			if title.Title == "" {
				t.Errorf("%s has no title", where)
			}
			for _, x := range o["xAxis"].([]xAxisOption) {
				if x.Name == "" {
					t.Errorf("%s: x axis without a name", where)
				}
			}
			for _, y := range o["yAxis"].([]opts.YAxis) {
				if y.Name == "" {
					t.Errorf("%s: y axis without a name", where)
				}
			}
			if l := o["legend"].(opts.Legend); l.Data == nil {
				t.Errorf("%s has no legend", where)
			}
			if a, ok := o["animation"].(types.Bool); !ok || a == nil || *a {
				t.Errorf("%s is animated", where)
			}
		}
	}
}

func TestFiguresSilentRaster(t *testing.T) {
	withFakeEcharts(t)
	tests := []struct {
		silent bool
		want   bool
	}{{true, true}, {false, false}}
	for _, tt := range tests {
		f, err := Figures(syntheticStudy(studyOptions{rules: []string{"snn"}, seeds: 1, epochs: 2, silent: tt.silent}), testOrder)
		if err != nil {
			t.Fatal(err)
		}
		html := string(f[RasterFigure])
		if got := strings.Contains(html, "hidden1 (1000 units): 0 spikes") && strings.Contains(html, "0 spikes: the layer is silent"); got != tt.want {
			t.Errorf("silent %v: raster says 0 spikes: %v, want %v", tt.silent, got, tt.want)
		}
		if got := strings.Contains(string(f[SpikeRateFigure]), "0 spikes at every probe (silent): snn"); got != tt.want {
			t.Errorf("silent %v: spike rates say silent: %v, want %v", tt.silent, got, tt.want)
		}
		// Every raster chart is drawn in one pass, so that its screenshot shows every spike.
		if charts, whole := strings.Count(html, `"type":"scatter"`), strings.Count(html, `"progressive":0`); charts == 0 || whole != charts {
			t.Errorf("silent %v: %d of %d raster series drawn in one pass", tt.silent, whole, charts)
		}
		if strings.Contains(string(f[TrainingFigure]), `"progressive"`) {
			t.Errorf("the training figure sets progressive rendering; only rasters need to")
		}
	}
}

func TestFiguresSeeds(t *testing.T) {
	withFakeEcharts(t)
	tests := []struct {
		seeds     int
		note      string
		band      bool
		errorBars bool
	}{
		{1, "one seed per rule", false, true}, // with one seed, the benchmarks' standard errors
		{3, "line: mean over 3 seeds; band: ± 1 sd", true, true},
	}
	for _, tt := range tests {
		f, err := Figures(syntheticStudy(studyOptions{rules: []string{"bp", "fa"}, seeds: tt.seeds, epochs: 3}), testOrder)
		if err != nil {
			t.Fatal(err)
		}
		training := string(f[TrainingFigure])
		if !strings.Contains(training, tt.note) {
			t.Errorf("%d seeds: training figure does not say %q", tt.seeds, tt.note)
		}
		if got := strings.Contains(training, `"type":"custom"`); got != tt.band {
			t.Errorf("%d seeds: sd band %v, want %v", tt.seeds, got, tt.band)
		}
		if got := strings.Contains(string(f[BrainScoreFigure]), `"type":"custom"`); got != tt.errorBars {
			t.Errorf("%d seeds: error bars %v, want %v", tt.seeds, got, tt.errorBars)
		}
		if got := strings.Contains(string(f[AccuracyBrainFigure]), `"type":"custom"`); got != (tt.seeds > 1) {
			t.Errorf("%d seeds: accuracy error bars %v, want %v", tt.seeds, got, tt.seeds > 1)
		}
	}
}

func TestMeanOverSeeds(t *testing.T) {
	runs := syntheticStudy(studyOptions{rules: []string{"fa"}, seeds: 3, epochs: 2})
	s := seriesOf(runs, testOrder)[0]
	pts := curveOf(s, func(p Point) (float64, bool) { return p.TestAccuracy, p.Phase != "pretrain" })
	last := pts[len(pts)-1]
	var accs []float64
	for _, r := range runs {
		accs = append(accs, r.TestAccuracy)
	}
	m, sd := MeanStd(accs)
	if last.x != 2 || last.n != 3 || math.Abs(last.mean-m) > 1e-12 || math.Abs(last.std-sd) > 1e-12 {
		t.Errorf("last point %+v, want x 2, n 3, mean %v, sd %v", last, m, sd)
	}
}

func TestBrainScoreMissingBenchmarks(t *testing.T) {
	withFakeEcharts(t)
	f, err := Figures(syntheticStudy(studyOptions{rules: []string{"bp", "fa"}, seeds: 1, epochs: 2}), testOrder)
	if err != nil {
		t.Fatal(err)
	}
	html := string(f[BrainScoreFigure])
	if !strings.Contains(html, "FreemanZiemba2013public.V1-pls (data not present)") {
		t.Error("brain-score figure does not list the benchmark without data")
	}
	if strings.Contains(html, `"V1\nFreemanZiemba2013public`) {
		t.Error("brain-score figure has a bar category for the benchmark without data")
	}
	if !strings.Contains(html, `rsa92\nmacaque-IT (raw)`) {
		t.Error("the benchmark without a ceiling is not marked raw")
	}
}

func TestTimeline(t *testing.T) {
	r := Run{History: []Point{{Phase: "init"}, {Phase: "pretrain", Epoch: 1}, {Phase: "pretrain", Epoch: 2}, {Phase: "train", Epoch: 0.5}, {Phase: "train", Epoch: 1}}}
	pre := pretrainEpochs(r)
	want := []float64{-2, -1, 0, 0.5, 1}
	for i, p := range r.History {
		if got := timelineX(p, pre); got != want[i] {
			t.Errorf("point %d (%s %v): x %v, want %v", i, p.Phase, p.Epoch, got, want[i])
		}
	}
}

func TestUnscoredRuleLeftOut(t *testing.T) {
	runs := syntheticStudy(studyOptions{rules: []string{"bp", "fa"}, seeds: 1, epochs: 2})
	runs = append(runs, syntheticStudy(studyOptions{rules: []string{"snn"}, seeds: 1, epochs: 2, noScores: true})...)
	for _, p := range figurePages(runs, testOrder) {
		if p.name != BrainScoreFigure && p.name != AccuracyBrainFigure {
			continue
		}
		p.html()
		var titles []string
		for _, c := range p.charts {
			o := c.chart.(interface{ JSON() map[string]any }).JSON()
			legend := o["legend"].(opts.Legend).Data.([]string)
			if contains(legend, "snn") {
				t.Errorf("%s: the unscored rule is in the legend %v", p.name, legend)
			}
			titles = append(titles, o["title"].(titleOption).Title.Title)
		}
		if p.name == AccuracyBrainFigure && len(p.charts) != 2 {
			t.Errorf("%s has charts %q, want the mean over common benchmarks and the per-benchmark one", p.name, titles)
		}
	}
}
