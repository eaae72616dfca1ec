package nb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

// EChartsEnvVar names the echarts JavaScript file to embed; when unset, Library looks in the checkout's
// node_modules folder, where `npm ci` puts the version that package.json pins (the one package report uses).
const EChartsEnvVar = "BPDL_ECHARTS_JS"

// EChartsFile is the echarts build the charts need (line, bar and scatter charts), inside an echarts
// npm package.
const EChartsFile = "echarts/dist/echarts.common.min.js"

// LibraryFile returns the path of the echarts JavaScript that Library embeds.
func LibraryFile() (string, error) {
	if f := os.Getenv(EChartsEnvVar); f != "" {
		return f, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	f := filepath.Join(root, "node_modules", filepath.FromSlash(EChartsFile))
	if _, err := os.Stat(f); err != nil {
		return "", fmt.Errorf("nb: %s not found in %s/node_modules: run `npm ci` there (or bash notebooks/install.sh), or set %s", EChartsFile, root, EChartsEnvVar)
	}
	return f, nil
}

// Library returns an HTML fragment that defines the global echarts object from the embedded JavaScript
// (no CDN: the file itself travels in the output). A notebook displays it once, before its first chart.
// The script hides AMD's define and CommonJS's module, so that echarts sets window.echarts in the
// classic Notebook too, where RequireJS is loaded.
func Library() (string, error) {
	f, err := LibraryFile()
	if err != nil {
		return "", err
	}
	js, err := os.ReadFile(f)
	if err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(js), "</script", `<\/script`)
	return "<script>(function(define, module, exports){\n" + s + "\n}).call(window);</script>\n" +
		`<div class="bpdl-echarts-library">echarts ` + html.EscapeString(version(js)) + ` embedded (` + fmt.Sprint(len(js)/1024) + " KiB)</div>\n", nil
}

// version finds the version that an echarts build declares (`version = "5.4.3"` minified as `..="5.4.3"`);
// "" when it cannot tell.
func version(js []byte) string {
	s := string(js)
	i := strings.Index(s, `version="`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(`version="`):]
	if j := strings.IndexByte(rest, '"'); j > 0 && j < 20 {
		return rest[:j]
	}
	return ""
}

// Chart is one echarts chart: its option object (see echarts' documentation) and its size in pixels.
type Chart struct {
	Option        map[string]any
	Width, Height int
}

// HTML returns the chart as an HTML fragment: a div and a script that draws the option into it with the
// global echarts (see Library). The div's id derives from the option, so the same chart gives the same
// HTML.
func (c Chart) HTML() string {
	opt, err := json.Marshal(c.Option) // escapes <, > and &: safe inside a script element
	if err != nil {
		return "<pre>nb: chart option: " + html.EscapeString(err.Error()) + "</pre>"
	}
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 860
	}
	if h <= 0 {
		h = 380
	}
	sum := sha256.Sum256(opt)
	id := "bpdl-chart-" + hex.EncodeToString(sum[:6])
	return fmt.Sprintf(`<div class="bpdl-chart" id="%s" style="width:%dpx;height:%dpx"></div>
<script>(function(){var el=document.getElementById(%q);
if(typeof echarts==="undefined"){el.textContent="echarts is not loaded: run the notebook's first code cell (nb.Library) first.";return;}
echarts.init(el).setOption(%s);})();</script>
`, id, w, h, id, opt)
}

// Series is one line of a line chart: points (X[i], Y[i]); NaN values are left out.
type Series struct {
	Name string
	X, Y []float64
}

func points(x, y []float64) [][2]float64 {
	var out [][2]float64
	for i := range x {
		if i < len(y) && !math.IsNaN(x[i]) && !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) {
			out = append(out, [2]float64{x[i], y[i]})
		}
	}
	return out
}

func base(title, xName, yName string) map[string]any {
	return map[string]any{
		"title":     map[string]any{"text": title, "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"animation": false,
		"tooltip":   map[string]any{"trigger": "axis"},
		"legend":    map[string]any{"top": 28, "type": "scroll"},
		"grid":      map[string]any{"top": 70, "left": 70, "right": 30, "bottom": 55},
		"xAxis":     map[string]any{"type": "value", "name": xName, "nameLocation": "middle", "nameGap": 30},
		"yAxis":     map[string]any{"type": "value", "name": yName, "nameLocation": "middle", "nameGap": 50, "scale": true},
	}
}

// Line returns a line chart of the series against a numeric x axis.
func Line(title, xName, yName string, series ...Series) Chart {
	opt := base(title, xName, yName)
	var ss []map[string]any
	for _, s := range series {
		ss = append(ss, map[string]any{"name": s.Name, "type": "line", "showSymbol": true, "symbolSize": 4, "data": points(s.X, s.Y)})
	}
	opt["series"] = ss
	return Chart{Option: opt}
}

// Scatter returns a scatter chart of the series (points only) against a numeric x axis.
func Scatter(title, xName, yName string, series ...Series) Chart {
	c := Line(title, xName, yName, series...)
	c.Option["tooltip"] = map[string]any{"trigger": "item"}
	for _, s := range c.Option["series"].([]map[string]any) {
		s["type"] = "scatter"
		s["symbolSize"] = 4
		delete(s, "showSymbol")
	}
	return c
}

// trained returns the points of a run's history that training produced (and the initial one), leaving
// out the feedback-only pretraining phase.
func trained(r *train.Result) []train.Point {
	var out []train.Point
	for _, p := range r.History {
		if p.Phase != "pretrain" {
			out = append(out, p)
		}
	}
	return out
}

// Loss charts the mean training loss against epochs, one line per result. Each point is the mean loss of
// the mini-batches since the previous point.
func Loss(results ...*train.Result) Chart {
	var ss []Series
	for _, r := range results {
		s := Series{Name: r.Rule}
		for _, p := range trained(r) {
			s.X = append(s.X, round(p.Epoch, 4))
			s.Y = append(s.Y, round(p.TrainLoss, 5))
		}
		ss = append(ss, s)
	}
	return Line("training loss (mean cross-entropy since the previous point)", "epoch", "loss", ss...)
}

// Accuracy charts the test accuracy, in percent, after every epoch (and at initialisation).
func Accuracy(results ...*train.Result) Chart {
	var ss []Series
	for _, r := range results {
		s := Series{Name: r.Rule}
		for _, p := range trained(r) {
			s.X = append(s.X, round(p.Epoch, 4))
			s.Y = append(s.Y, round(100*p.TestAccuracy, 3))
		}
		ss = append(ss, s)
	}
	c := Line("test accuracy", "epoch", "accuracy (%)", ss...)
	c.Option["yAxis"].(map[string]any)["max"] = 100
	return c
}

// MetricNames returns the names of the probe metrics of r that start with prefix, in the order the
// learner reports them.
func MetricNames(r *train.Result, prefix string) []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range r.History {
		for _, m := range p.Metrics {
			if strings.HasPrefix(m.Name(), prefix) && !seen[m.Name()] {
				seen[m.Name()] = true
				names = append(names, m.Name())
			}
		}
	}
	return names
}

// Metrics charts the probe metrics whose names start with prefix ("angle_", "recon_loss_", ...) against
// epochs, one line per result and metric, leaving out feedback-only pretraining. Lines are named
// "rule metric" when there are several results, else by the metric.
func Metrics(title, yName, prefix string, results ...*train.Result) Chart {
	var ss []Series
	for _, r := range results {
		for _, name := range MetricNames(r, prefix) {
			label := name
			if len(results) > 1 {
				label = r.Rule + " " + name
			}
			s := Series{Name: label}
			for _, p := range trained(r) {
				for _, m := range p.Metrics {
					if m.Name() == name {
						s.X = append(s.X, round(p.Epoch, 4))
						s.Y = append(s.Y, round(m.Value, 5))
					}
				}
			}
			ss = append(ss, s)
		}
	}
	return Line(title, "epoch", yName, ss...)
}

// Raster draws the spike trains of a spiking net for one example: one dot per spike at (time step, unit),
// the layers stacked bottom (input) to top, one colour each.
func Raster(r *report.Raster) Chart {
	opt := base(fmt.Sprintf("spike raster (one example, class %d)", r.Label), fmt.Sprintf("time step (%g ms)", r.DT), "unit (layers stacked)")
	opt["tooltip"] = map[string]any{"trigger": "item"}
	var ss []map[string]any
	offset := 0
	for _, l := range r.Layers {
		pts := make([][2]int, len(l.Spikes))
		for i, s := range l.Spikes {
			pts[i] = [2]int{s[0], s[1] + offset}
		}
		ss = append(ss, map[string]any{"name": fmt.Sprintf("%s (%d units, %d spikes)", l.Name, l.Units, len(l.Spikes)),
			"type": "scatter", "symbolSize": 2, "large": true, "data": pts})
		offset += l.Units
	}
	opt["series"] = ss
	opt["xAxis"].(map[string]any)["max"] = r.Steps
	opt["yAxis"].(map[string]any)["max"] = offset
	opt["yAxis"].(map[string]any)["scale"] = false
	return Chart{Option: opt, Height: 480}
}

// BarSeries is one group of bars: Values[i] belongs to the i-th category; NaN is left empty.
type BarSeries struct {
	Name   string
	Values []float64
}

// Bars returns a bar chart of the series over the categories.
func Bars(title, yName string, categories []string, series ...BarSeries) Chart {
	opt := base(title, "", yName)
	opt["tooltip"] = map[string]any{"trigger": "axis", "axisPointer": map[string]any{"type": "shadow"}}
	opt["xAxis"] = map[string]any{"type": "category", "data": categories}
	var ss []map[string]any
	for _, s := range series {
		vals := make([]any, len(s.Values))
		for i, v := range s.Values {
			if math.IsNaN(v) {
				vals[i] = "-"
			} else {
				vals[i] = round(v, 5)
			}
		}
		ss = append(ss, map[string]any{"name": s.Name, "type": "bar", "data": vals})
	}
	opt["series"] = ss
	return Chart{Option: opt}
}

// Summary returns a table of a run, one line per point of its history: phase, epoch, examples seen,
// training loss, test accuracy and the probe metrics (3 decimals, none from 1000 up), with fixed decimals
// so the text is the same for the same run.
func Summary(r *train.Result) string {
	var b strings.Builder
	names := map[string]bool{}
	var order []string
	for _, p := range r.History {
		for _, m := range p.Metrics {
			if !names[m.Name()] {
				names[m.Name()] = true
				order = append(order, m.Name())
			}
		}
	}
	fmt.Fprintf(&b, "%-8s %6s %8s %10s %9s", "phase", "epoch", "examples", "train_loss", "test_acc%")
	for _, n := range order {
		fmt.Fprintf(&b, " %*s", max(8, len(n)), n)
	}
	b.WriteString("\n")
	for _, p := range r.History {
		fmt.Fprintf(&b, "%-8s %6.3f %8d %10s %9s", p.Phase, p.Epoch, p.Examples, fixed(p.TrainLoss, 4), fixed(100*p.TestAccuracy, 2))
		vals := map[string]float64{}
		for _, m := range p.Metrics {
			vals[m.Name()] = m.Value
		}
		for _, n := range order {
			v, ok := vals[n]
			s := ""
			if ok {
				s = fixed(v, 3)
				if math.Abs(v) >= 1000 { // counts
					s = fixed(v, 0)
				}
			}
			fmt.Fprintf(&b, " %*s", max(8, len(n)), s)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func fixed(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return report.Format(v, decimals)
}

// round keeps d decimals, so chart options stay short.
func round(v float64, d int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
