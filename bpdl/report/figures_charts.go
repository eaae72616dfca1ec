package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/bpdl/bpdl/bpdl/diag"
)

// The seven figures. Each returns false when its data is absent.

// trainingFigure: training loss and test accuracy per epoch.
func trainingFigure(series []ruleSeries) (figurePage, bool) {
	pre := maxPretrain(series)
	p := figurePage{name: TrainingFigure, title: "Training loss and test accuracy"}
	if c, ok := lineChart(frame{
		id: "training_loss", title: "Training loss", height: 400,
		yName: "training loss (cross-entropy, nats)", yScale: true,
	}, series, func(q Point) (float64, bool) { return q.TrainLoss, q.Phase == "train" }, pre); ok {
		p.charts = append(p.charts, c)
	}
	if c, ok := lineChart(frame{
		id: "training_accuracy", title: "Test accuracy", height: 400,
		yName: "test accuracy (%)", yMin: 0,
	}, series, func(q Point) (float64, bool) { return 100 * q.TestAccuracy, q.Phase != "pretrain" }, pre); ok {
		p.charts = append(p.charts, c)
	}
	return p, len(p.charts) > 0
}

// alignmentFigure: per layer, the angle between each rule's update and the true gradient.
func alignmentFigure(series []ruleSeries) (figurePage, bool) {
	pre := maxPretrain(series)
	note := "0° is the gradient's direction, 90° is orthogonal to it"
	p := figurePage{name: AlignmentFigure, title: "Alignment of the updates with the gradient"}
	for i, m := range metricsOf(series, diag.Angle) {
		if c, ok := lineChart(frame{
			id: chartID("alignment", i), title: "Weights " + m.Label() + ": angle between the rule's update and the gradient", subtitle: note,
			height: 380, yName: "angle to the gradient (degrees)", yMin: 0,
		}, series, metricOf(m.Kind, m.Layer), pre); ok {
			p.charts = append(p.charts, c)
		}
	}
	return p, len(p.charts) > 0
}

// spikeRateFigure: each spiking layer's firing rate per epoch.
func spikeRateFigure(series []ruleSeries) (figurePage, bool) {
	pre := maxPretrain(series)
	p := figurePage{name: SpikeRateFigure, title: "Spike rates of the spiking nets"}
	for i, m := range metricsOf(series, diag.SpikeRate) {
		note := ""
		var silent []string
		for _, s := range series {
			if pts := curveOf(s, metricOf(m.Kind, m.Layer)); len(pts) > 0 && allZero(pts) {
				silent = append(silent, s.name)
			}
		}
		if len(silent) > 0 {
			note = "0 spikes at every probe (silent): " + strings.Join(silent, ", ")
		}
		if c, ok := lineChart(frame{
			id: chartID("spike_rate", i), title: "Spike rate of layer " + m.Label(), subtitle: note, height: 380,
			yName: "spike rate (spikes per unit per time step)", yMin: 0,
		}, series, metricOf(m.Kind, m.Layer), pre); ok {
			p.charts = append(p.charts, c)
		}
	}
	return p, len(p.charts) > 0
}

// reconstructionFigure: the reconstruction loss of each of DTP's feedback mappings, pretraining included.
func reconstructionFigure(series []ruleSeries) (figurePage, bool) {
	pre := maxPretrain(series)
	p := figurePage{name: ReconstructionFigure, title: "DTP reconstruction losses"}
	for i, m := range metricsOf(series, diag.Reconstruction) {
		title := fmt.Sprintf("Reconstruction loss of the feedback mapping of layer %d (%s)", m.Layer, m.Name())
		if c, ok := lineChart(frame{
			id: chartID("reconstruction", i), title: title, height: 380,
			yName: "reconstruction loss (squared error)", yScale: true,
		}, series, metricOf(m.Kind, m.Layer), pre); ok {
			p.charts = append(p.charts, c)
		}
	}
	return p, len(p.charts) > 0
}

// brainScoreFigure: each benchmark's score per rule, with error bars.
func brainScoreFigure(series []ruleSeries) (figurePage, bool) {
	benches, missing := benchmarksOf(series)
	series = scoredSeries(series, benches)
	if len(benches) == 0 {
		return figurePage{}, false
	}
	labels := make([]string, len(benches))
	for i, b := range benches {
		labels[i] = b.label()
	}
	var names []string
	bar := charts.NewBar()
	errs := charts.NewCustom()
	f := frame{
		id: "brainscore", title: "Brain scores per benchmark and rule", height: 520, bottom: 100,
		subtitle: datasetNote(series) + "bar: mean over seeds of the ceiled score (r/c)², or of the raw score where the benchmark has no ceiling (marked raw)\n" +
			"error bar: ± 1 sd over seeds, or with one seed ± the benchmark's standard error (for a ceiled score, 2|r|/c² times it)" + missingNote(missing),
		xName: "benchmark (region, name)", yName: "brain score (unitless)", xType: "category", xData: labels,
	}
	var bars, whiskers []seriesData
	for i, s := range series {
		data := make([]opts.BarData, len(benches))
		var errData []opts.CustomData
		for j, b := range benches {
			st, ok := benchStat(s, b)
			if !ok {
				data[j] = opts.BarData{Value: "-"}
				continue
			}
			data[j] = opts.BarData{Value: round6(st.mean)}
			if st.err > 0 {
				errData = append(errData, opts.CustomData{Value: []float64{float64(j), round6(st.mean - st.err), round6(st.mean + st.err), float64(i), float64(len(series))}})
			}
		}
		bars = append(bars, seriesData{s: s, bars: data})
		whiskers = append(whiskers, seriesData{s: s, custom: errData})
		names = append(names, s.name)
	}
	f.legend = names
	bar.SetGlobalOptions(f.globals("item")...)
	bar.SetXAxis(labels)
	for _, d := range bars {
		bar.AddSeries(d.s.name, d.bars,
			charts.WithBarChartOpts(opts.BarChart{BarGap: barGap, BarCategoryGap: barCategoryGap}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: d.s.color}))
	}
	for _, d := range whiskers {
		if len(d.custom) == 0 {
			continue
		}
		errs.AddSeries(d.s.name, d.custom, customSeries(categoryErrorBarJS, &opts.Encode{X: 0, Y: []int{1, 2}}))
	}
	bar.Overlap(errs)
	return figurePage{name: BrainScoreFigure, title: "Brain scores", charts: []figureChart{{bar, f.height}}}, true
}

// accuracyBrainFigure: test accuracy against brain score, the mean over the benchmarks all rules have, and
// each benchmark.
func accuracyBrainFigure(series []ruleSeries) (figurePage, bool) {
	benches, _ := benchmarksOf(series)
	series = scoredSeries(series, benches)
	if len(benches) == 0 {
		return figurePage{}, false
	}
	p := figurePage{name: AccuracyBrainFigure, title: "Test accuracy and brain score"}
	yName := "brain score ((r/c)², raw where no ceiling)"

	// The mean over the benchmarks every scored series has a score on, per seed; then mean and sd over seeds.
	var common []benchInfo
	for _, b := range benches {
		all := true
		for _, s := range series {
			if _, ok := benchStat(s, b); !ok {
				all = false
			}
		}
		if all {
			common = append(common, b)
		}
	}
	if len(common) > 0 {
		names := make([]string, len(common))
		for i, b := range common {
			names[i] = b.name
		}
		sc := charts.NewScatter()
		errs := charts.NewCustom()
		f := frame{
			id: "accuracy_brain_mean", title: "Test accuracy vs mean brain score", height: 460,
			subtitle: datasetNote(series) + "score: mean over the benchmarks every rule was scored on: " + wrapList(names, 110) +
				"\nerror bars: ± 1 sd over seeds (none with one seed)",
			xName: "test accuracy (%)", yName: "mean " + yName, xScale: true, yScale: true, squareLegend: true,
		}
		type point struct {
			s             ruleSeries
			x, y, sx, sy  float64
			withErrorBars bool
		}
		var pts []point
		for _, s := range series {
			var xs, ys []float64
			for _, r := range s.runs {
				if math.IsNaN(r.TestAccuracy) {
					continue
				}
				var vs []float64
				for _, b := range common {
					if score, ok := scoreOf(r, b.name); ok && score.Status == "ok" {
						if v, _ := b.value(score); !math.IsNaN(v) {
							vs = append(vs, v)
						}
					}
				}
				if len(vs) == len(common) {
					m, _ := MeanStd(vs)
					xs, ys = append(xs, 100*r.TestAccuracy), append(ys, m)
				}
			}
			if len(xs) == 0 {
				continue
			}
			mx, sx := MeanStd(xs)
			my, sy := MeanStd(ys)
			pts = append(pts, point{s: s, x: mx, y: my, sx: sx, sy: sy, withErrorBars: len(xs) > 1})
			f.legend = append(f.legend, s.name)
		}
		if len(pts) > 0 {
			sc.SetGlobalOptions(f.globals("item")...)
			for _, q := range pts {
				sc.AddSeries(q.s.name, []opts.ScatterData{{Name: q.s.name, Value: []float64{round6(q.x), round6(q.y)}, Symbol: "circle", SymbolSize: 12}},
					charts.WithItemStyleOpts(opts.ItemStyle{Color: q.s.color}),
					charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right", Formatter: "{a}", Color: "#333333"}),
					charts.WithLabelLayoutOpts(opts.LabelLayout{MoveOverlap: "shiftY"}))
				if q.withErrorBars {
					errs.AddSeries(q.s.name, []opts.CustomData{{Value: []float64{
						round6(q.x), round6(q.y), round6(q.x - q.sx), round6(q.x + q.sx), round6(q.y - q.sy), round6(q.y + q.sy),
					}}}, customSeries(xyErrorBarJS, &opts.Encode{X: []int{0, 2, 3}, Y: []int{1, 4, 5}}))
				}
			}
			sc.Overlap(errs)
			p.charts = append(p.charts, figureChart{sc, f.height})
		}
	}

	// Each benchmark: one symbol per benchmark, one colour per rule, at the rule's mean test accuracy.
	sc := charts.NewScatter()
	f := frame{
		id: "accuracy_brain_benchmarks", title: "Test accuracy vs brain score, per benchmark", height: 500,
		subtitle: datasetNote(series) + "each point: a rule's mean over seeds on one benchmark (colour: rule; symbol: benchmark, grey in the legend)",
		xName:    "test accuracy (%)", yName: yName, xScale: true, yScale: true, squareLegend: true,
	}
	type item struct {
		s    ruleSeries
		data []opts.ScatterData
	}
	var items []item
	for _, s := range series {
		accs := make([]float64, len(s.runs))
		for i, r := range s.runs {
			accs[i] = 100 * r.TestAccuracy
		}
		acc, _ := MeanStd(accs)
		if math.IsNaN(acc) {
			continue
		}
		var data []opts.ScatterData
		for j, b := range benches {
			if st, ok := benchStat(s, b); ok {
				data = append(data, opts.ScatterData{Name: b.name, Value: []float64{round6(acc), round6(st.mean)}, Symbol: benchSymbol(j), SymbolSize: 11})
			}
		}
		if len(data) > 0 {
			items = append(items, item{s, data})
			f.legend = append(f.legend, s.name)
		}
	}
	if len(items) > 0 {
		for _, b := range benches {
			f.legend = append(f.legend, b.name)
		}
		sc.SetGlobalOptions(f.globals("item")...)
		for _, it := range items {
			sc.AddSeries(it.s.name, it.data, charts.WithItemStyleOpts(opts.ItemStyle{Color: it.s.color, Opacity: opts.Float(0.85)}))
		}
		// Empty series whose legend entries are the benchmarks' symbols.
		for j, b := range benches {
			sc.AddSeries(b.name, []opts.ScatterData{}, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#777777"}),
				charts.WithSeriesOpts(func(s *charts.SingleSeries) { s.Symbol = benchSymbol(j) }))
		}
		p.charts = append(p.charts, figureChart{sc, f.height})
	}
	return p, len(p.charts) > 0
}

// rasterFigure: one example's spikes through each spiking net (the lowest seed's), layer by layer.
func rasterFigure(series []ruleSeries) (figurePage, bool) {
	p := figurePage{name: RasterFigure, title: "Spike rasters"}
	for si, s := range series {
		var run *Run
		for i := range s.runs {
			if s.runs[i].Raster != nil {
				run = &s.runs[i]
				break
			}
		}
		if run == nil {
			continue
		}
		ra := run.Raster
		xName, tmax, dt := "time (ms)", float64(ra.Steps)*ra.DT, ra.DT
		if !(ra.DT > 0) {
			xName, tmax, dt = "time step", float64(ra.Steps), 1
		}
		for li, l := range ra.Layers {
			height := 240
			if l.Units > 200 {
				height = 320
			}
			rate := 0.0
			if l.Units > 0 && ra.Steps > 0 {
				rate = float64(len(l.Spikes)) / float64(l.Units*ra.Steps)
			}
			sub := fmt.Sprintf("%sseed %d, one test example (class %d), %d steps", datasetNote([]ruleSeries{s}), run.Seed, ra.Label, ra.Steps)
			if ra.DT > 0 {
				sub += fmt.Sprintf(" of %s ms", strconv.FormatFloat(ra.DT, 'g', 4, 64))
			}
			sub += fmt.Sprintf("; mean rate %s spikes per unit per step", strconv.FormatFloat(rate, 'g', 3, 64))
			if ra.DT > 0 {
				sub += fmt.Sprintf(" (%s Hz)", strconv.FormatFloat(rate/(ra.DT/1000), 'g', 3, 64))
			}
			f := frame{
				id: fmt.Sprintf("raster_%d_%d", si, li), height: height,
				title:    fmt.Sprintf("%s, layer %s (%d units): %d spikes", s.name, l.Name, l.Units, len(l.Spikes)),
				subtitle: sub, xName: xName, yName: "unit (index)", xMin: 0, xMax: round6(tmax), yMin: 0, yMax: max(l.Units, 1),
				legend: []string{s.name}, squareLegend: true, whole: true,
			}
			if len(l.Spikes) == 0 {
				f.extra = map[string]any{"graphic": []map[string]any{{
					"type": "text", "left": "center", "top": "middle", "z": 100,
					"style": map[string]any{"text": "0 spikes: the layer is silent", "fontSize": 22, "fill": "#b22222"},
				}}}
			}
			_, gridTop := f.header()
			plotW := float64(chartWidth - gridLeft - gridRight)
			plotH := float64(height - gridTop - 60)
			w := math.Max(2, 0.8*plotW/math.Max(1, float64(ra.Steps)))
			h := math.Max(1, plotH/math.Max(1, float64(l.Units)))
			data := make([]opts.ScatterData, len(l.Spikes))
			for k, sp := range l.Spikes {
				data[k] = opts.ScatterData{Value: []float64{round6((float64(sp[0]) + 0.5) * dt), float64(sp[1]) + 0.5}}
			}
			sc := charts.NewScatter()
			sc.SetGlobalOptions(f.globals("item")...)
			sc.AddSeries(s.name, data, charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color}),
				charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
					ss.Symbol = "rect"
					ss.SymbolSize = []float64{round6(w), round6(h)}
				}))
			p.charts = append(p.charts, figureChart{sc, height})
		}
	}
	return p, len(p.charts) > 0
}

// seriesData is one series' data for a bar chart and its error bars.
type seriesData struct {
	s      ruleSeries
	bars   []opts.BarData
	custom []opts.CustomData
}

// The bars' layout, which categoryErrorBarJS repeats to find each bar's centre.
const (
	barGap         = "30%" // between the bars of a category, relative to a bar's width
	barCategoryGap = "20%" // between categories, relative to a category's width
)

// categoryErrorBarJS draws an error bar over bar i of n in category c: value [c, low, high, i, n].
const categoryErrorBarJS = `function (params, api) {
var c = api.value(0), i = api.value(3), n = api.value(4);
var band = api.size([1, 0])[0], usable = band * 0.8;
var w = usable / (n + (n - 1) * 0.3);
var x = api.coord([c, 0])[0] - usable / 2 + i * w * 1.3 + w / 2;
var lo = api.coord([c, api.value(1)])[1], hi = api.coord([c, api.value(2)])[1];
var cap = Math.min(w * 0.3, 6);
var style = {stroke: '#333333', lineWidth: 1.2};
return {type: 'group', children: [
{type: 'line', shape: {x1: x, y1: lo, x2: x, y2: hi}, style: style},
{type: 'line', shape: {x1: x - cap, y1: lo, x2: x + cap, y2: lo}, style: style},
{type: 'line', shape: {x1: x - cap, y1: hi, x2: x + cap, y2: hi}, style: style}]};
}`

// xyErrorBarJS draws horizontal and vertical error bars: value [x, y, xlow, xhigh, ylow, yhigh].
const xyErrorBarJS = `function (params, api) {
var p = api.coord([api.value(0), api.value(1)]);
var xl = api.coord([api.value(2), api.value(1)])[0], xh = api.coord([api.value(3), api.value(1)])[0];
var yl = api.coord([api.value(0), api.value(4)])[1], yh = api.coord([api.value(0), api.value(5)])[1];
var style = {stroke: api.visual('color'), lineWidth: 1.5};
return {type: 'group', children: [
{type: 'line', shape: {x1: xl, y1: p[1], x2: xh, y2: p[1]}, style: style},
{type: 'line', shape: {x1: p[0], y1: yl, x2: p[0], y2: yh}, style: style},
{type: 'line', shape: {x1: xl, y1: p[1] - 4, x2: xl, y2: p[1] + 4}, style: style},
{type: 'line', shape: {x1: xh, y1: p[1] - 4, x2: xh, y2: p[1] + 4}, style: style},
{type: 'line', shape: {x1: p[0] - 4, y1: yl, x2: p[0] + 4, y2: yl}, style: style},
{type: 'line', shape: {x1: p[0] - 4, y1: yh, x2: p[0] + 4, y2: yh}, style: style}]};
}`

// bandJS fills the band of value [n, x1, low1, high1, ..., xn, lown, highn], without taking the mouse.
const bandJS = `function (params, api) {
var n = api.value(0), lower = [], upper = [];
for (var k = 0; k < n; k++) {
var x = api.value(1 + 3 * k);
lower.push(api.coord([x, api.value(2 + 3 * k)]));
upper.unshift(api.coord([x, api.value(3 + 3 * k)]));
}
return {type: 'polygon', silent: true, shape: {points: lower.concat(upper)}, style: {fill: api.visual('color'), opacity: 0.18}};
}`

// customSeries sets a custom series' drawing function and which values span its axes.
func customSeries(js string, enc *opts.Encode) charts.SeriesOpts {
	return charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.RenderItem = opts.FuncOpts(js)
		s.Encode = enc
	})
}

// lineChart draws value over the timeline for each series that has it: the mean over seeds, with a ± 1 sd
// band where several seeds have a value. pre > 0 shades the pretraining epochs where there are points in
// them. The subtitle says what the lines are, then f.subtitle.
func lineChart(f frame, series []ruleSeries, value func(Point) (float64, bool), pre float64) (figureChart, bool) {
	type drawn struct {
		s   ruleSeries
		pts []meanPoint
	}
	var ds []drawn
	var shown []ruleSeries
	for _, s := range series {
		if pts := curveOf(s, value); len(pts) > 0 {
			ds = append(ds, drawn{s, pts})
			shown = append(shown, s)
			f.legend = append(f.legend, s.name)
		}
	}
	if len(ds) == 0 {
		return figureChart{}, false
	}
	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, d := range ds {
		minX, maxX = math.Min(minX, d.pts[0].x), math.Max(maxX, d.pts[len(d.pts)-1].x)
	}
	if minX >= 0 {
		pre = 0 // no point in the pretraining epochs: nothing to shade
	}
	f.xName = epochName(pre)
	note := datasetNote(shown) + seedNote(shown)
	if pre > 0 {
		note += "\nshaded: feedback pretraining (forward weights fixed), at epochs ≤ 0"
	}
	if f.subtitle != "" {
		note += "\n" + f.subtitle
	}
	f.subtitle = note
	lo, hi, step := niceRange(math.Min(minX, 0), maxX)
	f.xMin, f.xMax, f.xStep = lo, hi, step
	l := charts.NewLine()
	l.SetGlobalOptions(f.globals("item")...)
	bands := charts.NewCustom()
	for i, d := range ds {
		mean := make([]opts.LineData, len(d.pts))
		spread := false
		for j, q := range d.pts {
			mean[j] = opts.LineData{Value: []float64{round6(q.x), round6(q.mean)}}
			spread = spread || q.n > 1
		}
		so := []charts.SeriesOpts{
			charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true), Symbol: "circle", SymbolSize: 5}),
			charts.WithLineStyleOpts(opts.LineStyle{Color: d.s.color, Width: 2, Type: d.s.dash}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: d.s.color}),
		}
		if i == 0 && pre > 0 {
			so = append(so, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
				s.MarkAreas = &opts.MarkAreas{
					Data: []any{[]map[string]any{{"name": "feedback pretraining", "xAxis": -pre}, {"xAxis": 0}}},
					MarkAreaStyle: opts.MarkAreaStyle{
						ItemStyle: &opts.ItemStyle{Color: "rgba(128,128,128,0.12)"},
						Label:     &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#555555"},
					},
				}
			}))
		}
		l.AddSeries(d.s.name, mean, so...)
		if !spread {
			continue
		}
		// The band: one polygon through mean - sd and back through mean + sd.
		band := make([]float64, 1, 1+3*len(d.pts))
		band[0] = float64(len(d.pts))
		xs, ys := make([]int, len(d.pts)), make([]int, 0, 2*len(d.pts))
		for j, q := range d.pts {
			band = append(band, round6(q.x), round6(q.mean-q.std), round6(q.mean+q.std))
			xs[j] = 1 + 3*j
			ys = append(ys, 2+3*j, 3+3*j)
		}
		bands.AddSeries(d.s.name, []opts.CustomData{{Value: band}},
			customSeries(bandJS, &opts.Encode{X: xs, Y: ys}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: d.s.color}))
	}
	l.Overlap(bands)
	return figureChart{l, f.height}, true
}

// benchInfo is a benchmark with at least one ok score.
type benchInfo struct {
	name, region string
	ceiled       bool // every ok score has a ceiled value: the figures show (r/c)², else the raw score
}

// label is the benchmark's category label: region, then the name broken at its first dot.
func (b benchInfo) label() string {
	name := strings.Replace(b.name, ".", "\n", 1)
	if !b.ceiled {
		name += " (raw)"
	}
	if b.region == "" {
		return name
	}
	return b.region + "\n" + name
}

// value returns the score the figures show and its standard error (NaN when there is none).
func (b benchInfo) value(s Score) (v, se float64) {
	if b.ceiled {
		// (r/c)²: its error is the raw one times d(r²/c²)/dr = 2r/c².
		return s.CeiledRC2, s.Error * 2 * math.Abs(s.Raw) / (s.Ceiling * s.Ceiling)
	}
	return s.Raw, s.Error
}

// benchmarksOf returns the benchmarks with at least one ok score in the order of the tables, and a
// "benchmark (status)" line for each benchmark that has none.
func benchmarksOf(series []ruleSeries) (ok []benchInfo, missing []string) {
	var runs []Run
	for _, s := range series {
		runs = append(runs, s.runs...)
	}
	for _, name := range scoreColumns(runs) {
		b := benchInfo{name: name, ceiled: true}
		var statuses []string
		n := 0
		for _, r := range runs {
			s, has := scoreOf(r, name)
			if !has {
				continue
			}
			b.region = s.Region
			if s.Status != "ok" || math.IsNaN(s.Raw) {
				if s.Status != "ok" && !contains(statuses, s.Status) {
					statuses = append(statuses, s.Status)
				}
				continue
			}
			n++
			if math.IsNaN(s.CeiledRC2) || math.IsInf(s.CeiledRC2, 0) || !(s.Ceiling > 0) {
				b.ceiled = false
			}
		}
		if n > 0 {
			ok = append(ok, b)
		} else {
			if len(statuses) == 0 {
				statuses = []string{"no score"}
			}
			missing = append(missing, name+" ("+strings.Join(statuses, ", ")+")")
		}
	}
	return ok, missing
}

// benchStatValue is a series' score on a benchmark: the mean over seeds and its error.
type benchStatValue struct{ mean, err float64 }

// benchStat returns a series' score on a benchmark: the mean over seeds, and as error the sd over seeds,
// or with one seed the benchmark's standard error (0 when it has none).
func benchStat(s ruleSeries, b benchInfo) (benchStatValue, bool) {
	var vs []float64
	se := math.NaN()
	for _, r := range s.runs {
		sc, ok := scoreOf(r, b.name)
		if !ok || sc.Status != "ok" {
			continue
		}
		v, e := b.value(sc)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		vs = append(vs, v)
		se = e
	}
	if len(vs) == 0 {
		return benchStatValue{}, false
	}
	m, sd := MeanStd(vs)
	if len(vs) == 1 {
		sd = se
	}
	if math.IsNaN(sd) || math.IsInf(sd, 0) {
		sd = 0
	}
	return benchStatValue{mean: m, err: sd}, true
}

// scoredSeries returns the series with a score on at least one of benches.
func scoredSeries(series []ruleSeries, benches []benchInfo) []ruleSeries {
	var out []ruleSeries
	for _, s := range series {
		for _, b := range benches {
			if _, ok := benchStat(s, b); ok {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// benchSymbol is the scatter symbol of the j-th benchmark.
func benchSymbol(j int) string {
	symbols := []string{"circle", "rect", "triangle", "diamond", "emptyCircle", "emptyRect", "emptyTriangle", "emptyDiamond"}
	return symbols[j%len(symbols)]
}

// missingNote lists the benchmarks without scores, for a subtitle.
func missingNote(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return "\nnot shown, no score: " + wrapList(missing, 110)
}

// wrapList joins items with ", ", breaking lines before width characters.
func wrapList(items []string, width int) string {
	var b strings.Builder
	line := 0
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
			line++
			if line+1+len(it) > width {
				b.WriteString("\n")
				line = 0
			} else {
				b.WriteString(" ")
				line++
			}
		}
		b.WriteString(it)
		line += len(it)
	}
	return b.String()
}

// datasetNote names the dataset(s), to start a subtitle.
func datasetNote(series []ruleSeries) string {
	var ds []string
	for _, s := range series {
		if d := s.runs[0].Dataset; d != "" && !contains(ds, d) {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return ""
	}
	return strings.Join(ds, ", ") + " · "
}

// maxPretrain returns the most epochs of feedback pretraining of any run.
func maxPretrain(series []ruleSeries) float64 {
	var pre float64
	for _, s := range series {
		for _, r := range s.runs {
			pre = math.Max(pre, pretrainEpochs(r))
		}
	}
	return pre
}

// epochName is the name of the time axis.
func epochName(pre float64) string {
	if pre > 0 {
		return "epoch (≤ 0: feedback pretraining)"
	}
	return "epoch"
}

// chartID names the i-th chart of a figure.
func chartID(figure string, i int) string { return figure + "_" + strconv.Itoa(i) }

// allZero reports whether every mean of a curve is 0.
func allZero(pts []meanPoint) bool {
	for _, q := range pts {
		if q.mean != 0 {
			return false
		}
	}
	return true
}
