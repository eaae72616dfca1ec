package nb

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/diag"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bpdl", "nn", "nn.go")); err != nil {
		t.Fatalf("Root() = %s, not the checkout: %v", root, err)
	}
	t.Setenv(RootEnvVar, t.TempDir())
	if r, _ := Root(); r == root {
		t.Errorf("Root ignores $%s", RootEnvVar)
	}
}

func TestSource(t *testing.T) {
	for _, tc := range []struct{ pkg, name, first, want string }{
		{"bpdl/rules", "BP", "// BP is backpropagation", "type BP struct{}"},
		{"bpdl/rules", "BP.Updates", "// Updates implements Rule.", "func (BP) Updates(s *Step) *Update {"},
		{"bpdl/rules", "Deltas", "// Deltas runs", "func Deltas("},
		{"bpdl/nn", "CrossEntropy", "// CrossEntropy returns", "dLogits = DivScalar"},
		{"bpdl/nn", "StudyHidden", "// StudyHidden", "var StudyHidden"},
		{"bpdl/train", "MLP.Step", "// Step implements Learner.", "func (m *MLP) Step("},
	} {
		s, err := Source(tc.pkg, tc.name)
		if err != nil {
			t.Errorf("Source(%s, %s): %v", tc.pkg, tc.name, err)
			continue
		}
		if !strings.HasPrefix(s.Text, tc.first) || !strings.Contains(s.Text, tc.want) {
			t.Errorf("Source(%s, %s) =\n%s\nwant it to start with %q and hold %q", tc.pkg, tc.name, s.Text, tc.first, tc.want)
		}
		if !strings.HasSuffix(strings.TrimSpace(s.Text), "}") && !strings.Contains(tc.name, "Hidden") {
			t.Errorf("Source(%s, %s) does not end with the declaration's end:\n%s", tc.pkg, tc.name, s.Text)
		}
		// The reference points at the lines shown.
		root, _ := Root()
		src, _ := os.ReadFile(filepath.Join(root, s.File))
		if got := lines(src, s.Line, s.LastLine); got != s.Text {
			t.Errorf("%s does not hold the text shown", s.Ref())
		}
		if !regexp.MustCompile(`^bpdl/[a-z]+/[a-z_]+\.go:\d+-\d+$`).MatchString(s.Ref()) {
			t.Errorf("Ref() = %q", s.Ref())
		}
	}
	if _, err := Source("bpdl/rules", "NoSuchThing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing name: err = %v, want ErrNotFound", err)
	}
	if _, err := Source("bpdl/rules", "BP.NoSuchMethod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing method: err = %v, want ErrNotFound", err)
	}
	if _, err := Source("bpdl/nosuchpkg", "X"); err == nil {
		t.Error("missing package: no error")
	}
}

func result() *train.Result {
	nan := math.NaN()
	return &train.Result{Rule: "fa", History: []train.Point{
		{Phase: "init", TrainLoss: nan, TestAccuracy: 0.1, Metrics: []diag.Metric{{Kind: diag.Loss, Value: 2.3}, {Kind: diag.Angle, Layer: 1, Value: 80}, {Kind: diag.Angle, Layer: 2, Value: 60}}},
		{Phase: "pretrain", Epoch: 1, TrainLoss: 9, TestAccuracy: nan, Metrics: []diag.Metric{{Kind: diag.Loss, Value: 2.3}, {Kind: diag.Angle, Layer: 1, Value: 85}, {Kind: diag.Angle, Layer: 2, Value: 65}}},
		{Phase: "train", Epoch: 0.5, Step: 10, Examples: 40, TrainLoss: 1.5, TestAccuracy: nan, Metrics: []diag.Metric{{Kind: diag.Loss, Value: 1.2}, {Kind: diag.Angle, Layer: 1, Value: 70}, {Kind: diag.Angle, Layer: 2, Value: 50}}},
		{Phase: "train", Epoch: 1, Step: 20, Examples: 80, TrainLoss: 1.0, TestAccuracy: 0.8, Metrics: []diag.Metric{{Kind: diag.Loss, Value: 0.9}, {Kind: diag.Angle, Layer: 1, Value: 65}, {Kind: diag.Angle, Layer: 2, Value: 45}}},
	}}
}

// option decodes the option object out of a chart's HTML.
func option(t *testing.T, h string) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`setOption\((.*)\);\}\)\(\);</script>`).FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("no setOption in\n%s", h)
	}
	var opt map[string]any
	if err := json.Unmarshal([]byte(m[1]), &opt); err != nil {
		t.Fatal(err)
	}
	return opt
}

func TestCharts(t *testing.T) {
	r := result()
	loss := option(t, Loss(r).HTML())
	data := loss["series"].([]any)[0].(map[string]any)["data"].([]any)
	if len(data) != 2 { // init has no loss, pretraining is left out
		t.Errorf("loss points = %v, want 2", data)
	}
	acc := option(t, Accuracy(r).HTML())
	data = acc["series"].([]any)[0].(map[string]any)["data"].([]any)
	if len(data) != 2 || data[1].([]any)[1].(float64) != 80 {
		t.Errorf("accuracy points = %v, want (0, 10), (1, 80)", data)
	}
	ang := option(t, Metrics("angles", "degrees", "angle_", r).HTML())
	ss := ang["series"].([]any)
	if len(ss) != 2 || ss[0].(map[string]any)["name"] != "angle_W1" || len(ss[0].(map[string]any)["data"].([]any)) != 3 {
		t.Errorf("angle series = %v", ss)
	}
	if names := MetricNames(r, "angle_"); strings.Join(names, ",") != "angle_W1,angle_W2" {
		t.Errorf("MetricNames = %v", names)
	}
	// Same chart, same HTML; a script-breaking title stays inside JSON.
	c := Line("</script><b>", "x", "y", Series{Name: "s", X: []float64{0, 1, math.NaN()}, Y: []float64{1, math.NaN(), 3}})
	if c.HTML() != c.HTML() || strings.Contains(c.HTML(), "</script><b>") {
		t.Errorf("chart HTML not deterministic or not escaped:\n%s", c.HTML())
	}
	if pts := option(t, c.HTML())["series"].([]any)[0].(map[string]any)["data"].([]any); len(pts) != 1 {
		t.Errorf("NaN points kept: %v", pts)
	}
	sc := option(t, Scatter("s", "x", "y", Series{Name: "a", X: []float64{1, 2}, Y: []float64{3, 4}}).HTML())
	if s := sc["series"].([]any)[0].(map[string]any); s["type"] != "scatter" || len(s["data"].([]any)) != 2 {
		t.Errorf("scatter series = %v", s)
	}
	bars := option(t, Bars("scores", "r", []string{"V4", "IT"}, BarSeries{Name: "bp", Values: []float64{0.5, math.NaN()}}).HTML())
	if v := bars["series"].([]any)[0].(map[string]any)["data"].([]any); v[0].(float64) != 0.5 || v[1] != "-" {
		t.Errorf("bars = %v", v)
	}
	ras := option(t, Raster(&report.Raster{Steps: 5, DT: 1, Label: 3, Layers: []report.RasterLayer{
		{Name: "in", Units: 2, Spikes: [][2]int{{0, 1}}}, {Name: "h", Units: 3, Spikes: [][2]int{{1, 0}, {4, 2}}}}}).HTML())
	s1 := ras["series"].([]any)[1].(map[string]any)["data"].([]any)
	if p := s1[1].([]any); p[0].(float64) != 4 || p[1].(float64) != 4 { // unit 2 of the second layer, offset by 2
		t.Errorf("raster point = %v, want [4 4]", p)
	}
}

func TestSummary(t *testing.T) {
	s := Summary(result())
	want := []string{
		"phase     epoch examples train_loss test_acc% probe_loss angle_W1 angle_W2",
		"init      0.000        0          -     10.00      2.300   80.000   60.000",
		"train     1.000       80     1.0000     80.00      0.900   65.000   45.000",
	}
	for _, w := range want {
		if !strings.Contains(s, w+"\n") {
			t.Errorf("Summary lacks %q:\n%s", w, s)
		}
	}
}

func TestLibrary(t *testing.T) {
	f, err := LibraryFile()
	if err != nil {
		t.Skipf("echarts not installed (npm ci): %v", err)
	}
	h, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "<script>") || !strings.Contains(h, "echarts 5.") || strings.Count(h, "</script") != 1 {
		t.Errorf("Library() from %s: %.200s", f, h)
	}
	t.Setenv(EChartsEnvVar, filepath.Join(t.TempDir(), "none.js"))
	if _, err := Library(); err == nil {
		t.Error("missing file: no error")
	}
}
