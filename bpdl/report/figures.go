package report

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/components"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/bpdl/bpdl/bpdl/diag"
)

// The figures' file names, and the files that come with them.
const (
	TrainingFigure       = "training.html"
	AlignmentFigure      = "alignment.html"
	BrainScoreFigure     = "brainscore.html"
	AccuracyBrainFigure  = "accuracy_vs_brain.html"
	RasterFigure         = "raster.html"
	SpikeRateFigure      = "spike_rates.html"
	ReconstructionFigure = "dtp_reconstruction.html"

	EchartsScript  = "echarts.min.js"  // the echarts library every figure loads, by this relative name
	EchartsLicense = "echarts.LICENSE" // echarts' licence (Apache-2.0, with its subcomponents' notices)
	EchartsNotice  = "echarts.NOTICE"  // echarts' NOTICE file, when the package has one
)

// Figures returns the study's figures, one HTML page of echarts charts each:
//
//   - training.html: training loss and test accuracy per epoch, per rule;
//   - alignment.html: per layer, the angle between each rule's weight update and the true gradient;
//   - brainscore.html: each brain benchmark's score per rule, with error bars;
//   - accuracy_vs_brain.html: test accuracy against brain score, per rule (the mean over the benchmarks
//     every rule was scored on, and each benchmark on its own);
//   - raster.html: the spikes of one test example through each spiking net, input and hidden layers;
//   - spike_rates.html: each spiking layer's firing rate per epoch;
//   - dtp_reconstruction.html: the feedback mappings' reconstruction losses, pretraining included.
//
// Rules appear in the given Order, with fixed colours. Where a rule has several seeds, a line is the mean over
// seeds and a band (or an error bar) is ± one standard deviation. Epochs of feedback pretraining are drawn
// at negative epochs, so that epoch 0 is the start of training proper. A figure whose data is absent is
// left out.
//
// With the pages come echarts.min.js and echarts.LICENSE (and echarts.NOTICE when the package has one),
// copied from EchartsEnv's file or the first of EchartsPlaces that has one: the pages load the script by
// its relative name and name no other host, so the output directory works offline. Without that file Figures returns an error wrapping
// ErrNoEcharts; with no figure to draw it returns no files and needs no script.
//
// The output is a function of runs and the script: byte-identical for identical runs (fixed chart IDs, no
// animation, no timestamps).
func Figures(runs []Run, order Order) (Files, error) {
	pages := figurePages(runs, order)
	if len(pages) == 0 {
		return Files{}, nil
	}
	f, err := echartsAssets()
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		html := p.html()
		if bytes.Contains(html, []byte("http://")) || bytes.Contains(html, []byte("https://")) {
			return nil, fmt.Errorf("report: %s names a web address; figures must work offline", p.name)
		}
		f[p.name] = html
	}
	return f, nil
}

// figurePages returns the figures that runs have data for, in a fixed order.
func figurePages(runs []Run, order Order) []figurePage {
	series := seriesOf(runs, order)
	var pages []figurePage
	for _, build := range []func([]ruleSeries) (figurePage, bool){
		trainingFigure, alignmentFigure, brainScoreFigure, accuracyBrainFigure, rasterFigure, spikeRateFigure, reconstructionFigure,
	} {
		if p, ok := build(series); ok {
			pages = append(pages, p)
		}
	}
	return pages
}

// Page layout, in pixels.
const (
	chartWidth = 960
	padX, padY = 16, 8 // around each chart (the page style below)
	titleTop   = 8
	titleLine  = 22 // the title's height
	titleGap   = 4  // between title and subtitle
	subLine    = 16 // each subtitle line's height
	legendLine = 26
	gridLeft   = 80
	gridRight  = 40
	sizeMeta   = "bpdl-figure-size" // <meta> naming the page's size, for RenderPNGs
	pageStyle  = `<style>body{margin:0;background:#ffffff;font-family:sans-serif}.container{padding:8px 16px}.item{margin:0 auto}</style>`
)

// figurePage is one HTML figure: charts stacked vertically.
type figurePage struct {
	name, title string
	charts      []figureChart
}

// figureChart is a chart with its height in pixels (all charts are chartWidth wide).
type figureChart struct {
	chart  components.Charter
	height int
}

// size returns the page's width and height in pixels.
func (p figurePage) size() (w, h int) {
	for _, c := range p.charts {
		h += c.height + 2*padY
	}
	return chartWidth + 2*padX, h
}

// html renders the page; the only script it loads is EchartsScript, by its relative name.
func (p figurePage) html() []byte {
	page := components.NewPage()
	page.SetPageTitle(p.title)
	page.SetLayout(components.PageNoneLayout)
	w, h := p.size()
	page.AddCustomizedHeaders(fmt.Sprintf(`<meta name="%s" content="%dx%d">`, sizeMeta, w, h), pageStyle)
	for _, c := range p.charts {
		page.AddCharts(c.chart)
	}
	// go-echarts prefixes its preset script with a CDN host: load the local copy instead.
	page.ClearPresetJSAssets()
	page.AddCustomizedJSAssets(EchartsScript)
	var b bytes.Buffer
	_ = page.Render(&b) // writes to memory
	return b.Bytes()
}

// ruleSeries is one dataset and rule: its runs, drawn as one series of a chart.
type ruleSeries struct {
	name  string // the legend entry: the rule, prefixed by the dataset when there are several
	rule  string
	color string
	dash  string // line type, one per dataset
	runs  []Run  // sorted by seed
}

// paletteColor is the i-th colour of the figures' palette: the rules of an Order take the first ones, other
// rules the next ones in name order.
func paletteColor(i int) string {
	palette := [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}
	return palette[i%len(palette)]
}

// seriesOf groups runs by dataset and rule, in the order of the tables.
func seriesOf(runs []Run, order Order) []ruleSeries {
	groups := groupRuns(sortedRuns(runs, order))
	var datasets, others []string
	for _, g := range groups {
		if len(datasets) == 0 || datasets[len(datasets)-1] != g[0].Dataset {
			datasets = append(datasets, g[0].Dataset)
		}
		if order.rank(g[0].Rule) == len(order) && !contains(others, g[0].Rule) {
			others = append(others, g[0].Rule)
		}
	}
	sort.Strings(others)
	dashes := []string{"solid", "dashed", "dotted"}
	out := make([]ruleSeries, len(groups))
	for i, g := range groups {
		s := ruleSeries{name: g[0].Rule, rule: g[0].Rule, runs: g}
		c := order.rank(s.rule)
		if c == len(order) {
			c += indexOf(others, s.rule)
		}
		s.color = paletteColor(c)
		d := indexOf(datasets, g[0].Dataset)
		s.dash = dashes[d%len(dashes)]
		if len(datasets) > 1 {
			s.name = g[0].Dataset + " " + s.rule
		}
		out[i] = s
	}
	return out
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// seedNote says what a line and a band are: the mean and ± 1 sd over seeds, or one seed's values.
func seedNote(series []ruleSeries) string {
	most, counts, same := 0, make([]string, 0, len(series)), true
	for _, s := range series {
		n := len(s.runs)
		if most > 0 && n != most {
			same = false
		}
		most = max(most, n)
		counts = append(counts, s.name+" "+strconv.Itoa(n))
	}
	switch {
	case most <= 1:
		return "one seed per rule"
	case same:
		return fmt.Sprintf("line: mean over %d seeds; band: ± 1 sd", most)
	default:
		return "line: mean over seeds; band: ± 1 sd (seeds: " + strings.Join(counts, ", ") + ")"
	}
}

// pretrainEpochs returns how many epochs of feedback pretraining a run had.
func pretrainEpochs(r Run) float64 {
	var n float64
	for _, p := range r.History {
		if p.Phase == "pretrain" {
			n = math.Max(n, p.Epoch)
		}
	}
	return n
}

// timelineX places a point on the common time axis: epochs of training, with pretraining before 0 (the
// initial point at -pre, pretraining epoch e at e-pre).
func timelineX(p Point, pre float64) float64 {
	switch p.Phase {
	case "init":
		return -pre
	case "pretrain":
		return p.Epoch - pre
	}
	return p.Epoch
}

// meanPoint is a curve's value at one x: the mean and standard deviation over the n seeds that have one.
type meanPoint struct {
	x, mean, std float64
	n            int
}

// curveOf returns value over a series' timeline, mean and sd over seeds; points where value has nothing
// (ok false, NaN or infinite) are left out.
func curveOf(s ruleSeries, value func(Point) (float64, bool)) []meanPoint {
	type acc struct {
		x  float64
		vs []float64
	}
	byX := map[string]*acc{}
	for _, r := range s.runs {
		pre := pretrainEpochs(r)
		for _, p := range r.History {
			v, ok := value(p)
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			x := timelineX(p, pre)
			k := strconv.FormatFloat(x, 'f', 6, 64)
			a := byX[k]
			if a == nil {
				a = &acc{x: x}
				byX[k] = a
			}
			a.vs = append(a.vs, v)
		}
	}
	out := make([]meanPoint, 0, len(byX))
	for _, a := range byX {
		m, sd := MeanStd(a.vs)
		out = append(out, meanPoint{x: a.x, mean: m, std: sd, n: len(a.vs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].x < out[j].x })
	return out
}

// metricOf returns a function reading the metric of kind k for layer l of a point.
func metricOf(k diag.Kind, l int) func(Point) (float64, bool) {
	return func(p Point) (float64, bool) {
		for _, m := range p.Metrics {
			if m.Kind == k && m.Layer == l {
				return m.Value, true
			}
		}
		return 0, false
	}
}

// metricsOf returns the metrics of kind k, one per layer (their values are those of their first
// appearance), in the order they first appear.
func metricsOf(series []ruleSeries, k diag.Kind) []diag.Metric {
	var out []diag.Metric
	seen := map[int]bool{}
	for _, s := range series {
		for _, r := range s.runs {
			for _, p := range r.History {
				for _, m := range p.Metrics {
					if m.Kind == k && !seen[m.Layer] {
						seen[m.Layer] = true
						out = append(out, m)
					}
				}
			}
		}
	}
	return out
}

// round6 keeps 6 significant digits, so that the pages stay small.
func round6(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return r
}

// niceRange widens [lo, hi] to multiples of a step of 1, 2 or 5 times a power of ten, the smallest that
// makes at most 14 intervals.
func niceRange(lo, hi float64) (from, to, step float64) {
	for e := -3; e < 12; e++ {
		for _, m := range []float64{1, 2, 5} {
			step = m * math.Pow(10, float64(e))
			from, to = math.Floor(lo/step+1e-9)*step, math.Ceil(hi/step-1e-9)*step
			if (to-from)/step <= 14+1e-9 {
				return round6(from), round6(to), round6(step)
			}
		}
	}
	return lo, hi, 0
}

func px(n int) string { return strconv.Itoa(n) + "px" }

// frame is what every chart has: an ID, a title, named axes, a legend.
type frame struct {
	id, title, subtitle string
	height              int
	xName, yName        string
	xType               string // "value" (default) or "category"
	xData               []string
	xMin, xMax          any     // nil: echarts chooses
	xStep               float64 // the x ticks' interval; 0: echarts chooses
	yMin, yMax          any
	xScale, yScale      bool // let a value axis leave out 0
	legend              []string
	squareLegend        bool // legend icons as symbols, not lines
	bottom              int  // the plot's bottom margin; 0 means 60
	extra               map[string]any
	whole               bool // draw every series in one pass (no progressive rendering): a screenshot shows all of it
}

// header returns where the legend and the plot start, below the title and its subtitle lines.
func (f frame) header() (legendTop, gridTop int) {
	lines := 0
	if f.subtitle != "" {
		lines = strings.Count(f.subtitle, "\n") + 1
	}
	legendTop = titleTop + titleLine + titleGap + lines*subLine + 8
	return legendTop, legendTop + legendLines(f.legend)*legendLine + 14
}

// legendLines estimates how many lines a legend of these entries takes (about 7 px a character and 35 px
// for the icon and gap of each).
func legendLines(entries []string) int {
	lines, w := 1, 0
	for _, e := range entries {
		ew := 35 + 7*len(e)
		if w > 0 && w+ew > chartWidth-20 {
			lines++
			w = 0
		}
		w += ew
	}
	return lines
}

// globals returns the chart options of the frame: no animation, white background, named axes.
func (f frame) globals(trigger string) []charts.GlobalOpts {
	legendTop, gridTop := f.header()
	bottom := f.bottom
	if bottom == 0 {
		bottom = 60
	}
	axisType := func(t string) string {
		if t == "" {
			return "value"
		}
		return t
	}
	x := opts.XAxis{
		Type: axisType(f.xType), Name: f.xName, NameLocation: "middle", NameGap: 28, Data: f.xData, Min: f.xMin, Max: f.xMax,
		Scale:     opts.Bool(f.xScale),
		AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)},
		SplitLine: &opts.SplitLine{Show: opts.Bool(false)},
	}
	if f.xStep > 0 {
		x.MinInterval, x.MaxInterval = f.xStep, f.xStep
	}
	if f.xType == "category" {
		x.NameGap = bottom - 18
		x.AxisLabel.Interval = "0"
	}
	y := opts.YAxis{
		Type: "value", Name: f.yName, NameLocation: "middle", NameGap: 56, Min: f.yMin, Max: f.yMax,
		Scale:     opts.Bool(f.yScale),
		AxisLine:  &opts.AxisLine{Show: opts.Bool(true), OnZero: opts.Bool(false)}, // at the left, also with epochs < 0
		AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)},
		SplitLine: &opts.SplitLine{Show: opts.Bool(true)},
	}
	legend := opts.Legend{Show: opts.Bool(true), Data: f.legend, Left: "10", Top: strconv.Itoa(legendTop)}
	if f.squareLegend {
		legend.ItemWidth, legend.ItemHeight = 14, 14
	}
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{
			ChartID: f.id, Width: px(chartWidth), Height: px(f.height), BackgroundColor: "#ffffff", Theme: "white",
		}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{
			Title: f.title, Subtitle: f.subtitle, Left: "10", Top: strconv.Itoa(titleTop),
		}),
		charts.WithLegendOpts(legend),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithGridOpts(opts.Grid{Left: strconv.Itoa(gridLeft), Right: strconv.Itoa(gridRight), Top: strconv.Itoa(gridTop), Bottom: strconv.Itoa(bottom)}),
		charts.WithXAxisOpts(x),
		charts.WithYAxisOpts(y),
		func(bc *charts.BaseConfiguration) { bc.Accept(extraOptions{set: f.extra, whole: f.whole}) },
	}
}

// extraOptions adds its keys to a chart's top-level echarts option, and sets the title's line heights
// (echarts measures a CJK glyph for them, which comes out wrong where no CJK font is installed) and its gap.
type extraOptions struct {
	charts.BaseConfigurationVisitor
	set   map[string]any
	whole bool // see frame.whole
}

// wholeSeries is a series that echarts draws in one pass: by default a series of more than 3,000 points
// is drawn in chunks over several frames, and a screenshot taken meanwhile shows part of it.
type wholeSeries struct {
	charts.SingleSeries
	Progressive int `json:"progressive"` // 0 turns progressive rendering off
}

// VisitSeriesOpt implements charts.ConfigurationVisitor.
func (e extraOptions) VisitSeriesOpt(series charts.MultiSeries) any {
	if !e.whole {
		return series
	}
	out := make([]wholeSeries, len(series))
	for i, s := range series {
		out[i] = wholeSeries{SingleSeries: s}
	}
	return out
}

// titleOption is a title with text styles go-echarts has no field for.
type titleOption struct {
	opts.Title
	TextStyle    textStyle `json:"textStyle"`
	SubtextStyle textStyle `json:"subtextStyle"`
	ItemGap      int       `json:"itemGap"`
}

type textStyle struct {
	Color      string `json:"color"`
	FontSize   int    `json:"fontSize"`
	LineHeight int    `json:"lineHeight"`
}

// VisitTitleOpt implements charts.ConfigurationVisitor.
func (extraOptions) VisitTitleOpt(t opts.Title) any {
	return titleOption{
		Title:        t,
		TextStyle:    textStyle{Color: "#222222", FontSize: 16, LineHeight: titleLine},
		SubtextStyle: textStyle{Color: "#555555", FontSize: 12, LineHeight: subLine},
		ItemGap:      titleGap,
	}
}

// xAxisOption is an x axis whose labels have a line height (see extraOptions).
type xAxisOption struct {
	opts.XAxis
	AxisLabel axisLabel `json:"axisLabel"`
}

type axisLabel struct {
	opts.AxisLabel
	LineHeight int `json:"lineHeight"`
}

// VisitXAxis implements charts.ConfigurationVisitor.
func (extraOptions) VisitXAxis(axes []opts.XAxis) any {
	out := make([]xAxisOption, len(axes))
	for i, a := range axes {
		out[i] = xAxisOption{XAxis: a, AxisLabel: axisLabel{LineHeight: 14}}
		if a.AxisLabel != nil {
			out[i].AxisLabel.AxisLabel = *a.AxisLabel
		}
	}
	return out
}

// Visit implements charts.ConfigurationVisitor.
func (e extraOptions) Visit(option map[string]any) {
	for k, v := range e.set {
		option[k] = v
	}
}
