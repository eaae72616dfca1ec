package neuralfit

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// reference is the part of reference_scores.json the test compares with.
type reference struct {
	Regions map[string]struct {
		RawPerSplit     []float64 `json:"raw_per_split"`
		Raw             float64   `json:"raw"`
		CeilingPerSplit []float64 `json:"ceiling_per_split"`
		Ceiling         float64   `json:"ceiling"`
		CeiledRC2       float64   `json:"ceiled_r_over_c_squared"`
		CeiledR2C       float64   `json:"ceiled_r2_over_c"`
	} `json:"regions"`
}

func TestRunMatchesSyntheticReference(t *testing.T) {
	refPath := shared.Path(t, "brainscore-synthetic", "reference_scores.json")
	features := shared.Path(t, "brainscore-synthetic", "features_pixels8x8.npy")
	b, err := os.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	dir := shared.SyntheticNPY(t)
	const tol = 1e-4
	for _, region := range []string{"V4", "IT"} {
		want := ref.Regions[region]
		t.Run(region, func(t *testing.T) {
			res, err := Run(Config{
				Features:    features,
				Responses:   filepath.Join(dir, "responses_"+region+".npy"),
				Repetitions: filepath.Join(dir, "repetitions_"+region+".npy"),
				Splits:      refPath, // reference_scores.json lists its splits and ceiling halves
			})
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON, as the reproduce command prints it.
			out, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Raw         float64   `json:"raw"`
				RawPerSplit []float64 `json:"raw_per_split"`
				Ceiling     *float64  `json:"ceiling"`
				RC2         *float64  `json:"ceiled_r_over_c_squared"`
				R2C         *float64  `json:"ceiled_r2_over_c"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.Ceiling == nil || got.RC2 == nil || got.R2C == nil {
				t.Fatalf("JSON lacks ceiling keys: %s", out)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"raw", got.Raw, want.Raw},
				{"ceiling", *got.Ceiling, want.Ceiling},
				{"ceiled_r_over_c_squared", *got.RC2, want.CeiledRC2},
				{"ceiled_r2_over_c", *got.R2C, want.CeiledR2C},
			} {
				if math.Abs(c.got-c.want) > tol {
					t.Errorf("%s = %.9f, reference %.9f", c.name, c.got, c.want)
				}
			}
			for k := range want.RawPerSplit {
				if math.Abs(got.RawPerSplit[k]-want.RawPerSplit[k]) > tol {
					t.Errorf("raw_per_split[%d] = %.9f, reference %.9f", k, got.RawPerSplit[k], want.RawPerSplit[k])
				}
			}

			// The default splits stratified by the image labels are the reference's splits, so the raw
			// scores agree; the responses default to the mean of the repetitions.
			res2, err := Run(Config{
				Features:    features,
				Repetitions: filepath.Join(dir, "repetitions_"+region+".npy"),
				Labels:      filepath.Join(dir, "labels.npy"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if res2.SplitsFrom != "stratified" || math.Abs(float64(res2.Raw)-want.Raw) > tol {
				t.Errorf("with labels: raw %v from %s splits, reference %v", res2.Raw, res2.SplitsFrom, want.Raw)
			}
			if res2.Ceiling == nil || len(res2.CeilingPerSplit) != 10 {
				t.Errorf("with default halves: ceiling %v per split %v", res2.Ceiling, res2.CeilingPerSplit)
			}
		})
	}
}

// writeNpy writes a float64 .npy file into dir and returns its path.
func writeNpy(t *testing.T, dir, name string, shape []int, data []float64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := npy.Write(p, shape, data); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	const n, p, q = 40, 6, 3
	feat := make([]float64, n*p)
	resp := make([]float64, n*q)
	labels := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			feat[i*p+j] = math.Sin(float64(i*p+j)*1.7) + float64(j)
		}
		for k := 0; k < q; k++ {
			resp[i*q+k] = 2*feat[i*p+k] - feat[i*p+k+1] + 0.3*math.Cos(float64(7*i+k))
		}
		labels[i] = float64(i % 4)
	}
	fPath := writeNpy(t, dir, "f.npy", []int{n, p}, feat)
	rPath := writeNpy(t, dir, "r.npy", []int{n, q}, resp)
	lPath := writeNpy(t, dir, "l.npy", []int{n}, labels)

	res, err := Run(Config{Features: fPath, Responses: rPath, Components: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.SplitsFrom != "shuffle" || len(res.RawPerSplit) != 10 || res.Raw < 0.9 || res.Ceiling != nil {
		t.Errorf("unexpected result %+v", res)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ceiling", "ceiled_r_over_c_squared", "ceiled_r2_over_c"} {
		if strings.Contains(string(out), `"`+key+`"`) {
			t.Errorf("JSON without repetitions has %q: %s", key, out)
		}
	}
	res, err = Run(Config{Features: fPath, Responses: rPath, Labels: lPath, Components: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.SplitsFrom != "stratified" {
		t.Errorf("splits from %q", res.SplitsFrom)
	}

	splitsPath := filepath.Join(dir, "s.json")
	if err := os.WriteFile(splitsPath, []byte(`{"splits":[{"train":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29],"test":[30,31,32,33,34,35,36,37,38,39]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Run(Config{Features: fPath, Responses: rPath, Splits: splitsPath, Components: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.SplitsFrom != "file" || len(res.RawPerSplit) != 1 {
		t.Errorf("unexpected result %+v", res)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	f := writeNpy(t, dir, "f.npy", []int{20, 4}, make([]float64, 80))
	r := writeNpy(t, dir, "r.npy", []int{20, 2}, make([]float64, 40))
	r19 := writeNpy(t, dir, "r19.npy", []int{19, 2}, make([]float64, 38))
	vec := writeNpy(t, dir, "vec.npy", []int{20}, make([]float64, 20))
	rep2d := writeNpy(t, dir, "rep2d.npy", []int{20, 2}, make([]float64, 40))
	rep3n := writeNpy(t, dir, "rep3n.npy", []int{2, 20, 3}, make([]float64, 120))
	frac := writeNpy(t, dir, "frac.npy", []int{20}, slices.Repeat([]float64{0.5}, 20))
	badJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badJSON, []byte(`{"splits": [{"train": [0, 1], "test": [1]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no features", Config{Responses: r}, "-features is required"},
		{"no responses", Config{Features: f}, "-responses is required"},
		{"missing file", Config{Features: filepath.Join(dir, "nope.npy"), Responses: r}, "nope.npy"},
		{"features 1-d", Config{Features: vec, Responses: r}, "-features " + vec + ": expected a non-empty array of images × features, got shape (20,)"},
		{"responses 1-d", Config{Features: f, Responses: vec}, "got shape (20,)"},
		{"row mismatch", Config{Features: f, Responses: r19}, "has 19 images (rows) but -features"},
		{"repetitions 2-d", Config{Features: f, Responses: r, Repetitions: rep2d}, "repetitions × images × neuroids, got shape (20, 2)"},
		{"repetitions neuroids", Config{Features: f, Responses: r, Repetitions: rep3n}, "has 2 neuroids but -repetitions"},
		{"labels not integers", Config{Features: f, Responses: r, Labels: frac}, "not an integer"},
		{"labels shape", Config{Features: f, Responses: r, Labels: r}, "expected shape (20,)"},
		{"splits overlap", Config{Features: f, Responses: r, Splits: badJSON}, "uses index 1 twice"},
		{"splits missing", Config{Features: f, Responses: r, Splits: filepath.Join(dir, "none.json")}, "-splits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal([]Float{1.5, Float(math.NaN()), Float(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[1.5,null,null]" {
		t.Errorf("marshalled %s", b)
	}
	var back []Float
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0] != 1.5 || !math.IsNaN(float64(back[1])) {
		t.Errorf("unmarshalled %v", back)
	}
}

// writeMatrix writes m to dir/name.npy and returns the path.
func writeMatrix(t *testing.T, dir, name string, m *mat.Dense) string {
	t.Helper()
	r, c := m.Dims()
	p := filepath.Join(dir, name+".npy")
	if err := npy.Write(p, []int{r, c}, mat.DenseCopyOf(m).RawMatrix().Data); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunScaleFree scores features rescaled by 1e-100, 1e-30, 1e30, 1e100 and 1e150 (issue 17: 0 at
// 1e-100 and 1e150, 0.37 instead of 0.87 at 1e100): the score must not change.
func TestRunScaleFree(t *testing.T) {
	dir := t.TempDir()
	x, y, _ := metric.BenchData(200, 40, 10, 2)
	resp := writeMatrix(t, dir, "responses", y)
	want, err := Run(Config{Features: writeMatrix(t, dir, "features", x), Responses: resp})
	if err != nil {
		t.Fatal(err)
	}
	if !(want.Raw > 0.3) {
		t.Fatalf("raw %v: the planted structure should score", want.Raw)
	}
	for _, s := range []float64{1e-100, 1e-30, 1e30, 1e100, 1e150} {
		var xs mat.Dense
		xs.Scale(s, x)
		got, err := Run(Config{Features: writeMatrix(t, dir, "scaled", &xs), Responses: resp})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got.Raw-want.Raw)) > 1e-12 {
			t.Errorf("features × %g: raw %.15f, unscaled %.15f", s, float64(got.Raw), float64(want.Raw))
		}
	}
}

// TestRunConstant: constant features and constant responses give the same answer, a null raw, and say
// why; some constant features or neuroids among others are noted.
func TestRunConstant(t *testing.T) {
	dir := t.TempDir()
	x, y, _ := metric.BenchData(200, 8, 5, 2)
	fill := func(r, c int, v float64) *mat.Dense {
		m := mat.NewDense(r, c, nil)
		for i := range r {
			for j := range c {
				m.Set(i, j, v)
			}
		}
		return m
	}
	cases := []struct {
		name         string
		features, rs *mat.Dense
		nullRaw      bool
		note         string
	}{
		{"constant features", fill(200, 8, 0.1), y, true, "every feature is constant"},
		{"constant responses", x, fill(200, 5, 0.1), true, "5 of 5 neuroids are constant"},
		{"some constant", x.Grow(0, 1).(*mat.Dense), y, false, "1 of 9 features are constant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(Config{Features: writeMatrix(t, dir, "f", c.features), Responses: writeMatrix(t, dir, "r", c.rs), Components: 5})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(res.Notes, "\n")
			if c.nullRaw != strings.Contains(string(b), `"raw":null`) || !strings.Contains(notes, c.note) ||
				c.nullRaw != strings.Contains(notes, "raw is undefined") {
				t.Errorf("JSON %s: want raw null %v and a note %q", b, c.nullRaw, c.note)
			}
		})
	}
}

// TestRunComponentsError: more PLS components than features names -components (issue 17).
func TestRunComponentsError(t *testing.T) {
	dir := t.TempDir()
	x, y, _ := metric.BenchData(100, 20, 3, 2)
	f, r := writeMatrix(t, dir, "f", x), writeMatrix(t, dir, "r", y)
	for _, c := range []struct {
		components int
		want       string
	}{{0, "25 PLS components (Brain-Score's default, used when -components is 0) exceed the 20 features"}, {30, "30 PLS components exceed the 20 features"}} {
		_, err := Run(Config{Features: f, Responses: r, Components: c.components})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "-components 20 or fewer") {
			t.Errorf("-components %d: error %v, want one containing %q and naming -components", c.components, err, c.want)
		}
	}
	res, err := Run(Config{Features: f, Responses: r, Regression: "ridge", Alpha: 1})
	if err != nil || res.Regression != "ridge (alpha 1)" || !(res.Raw > 0.3) {
		t.Errorf("ridge: %+v, %v", res, err)
	}
	if _, err := Run(Config{Features: f, Responses: r, Regression: "lasso"}); err == nil || !strings.Contains(err.Error(), "pls, ridge") {
		t.Errorf("unknown regression: error %v", err)
	}
}

// TestResultString prints a result without and with repetitions.
func TestResultString(t *testing.T) {
	r := &Result{Raw: 0.5, Error: 0.0125, RawPerSplit: []Float{0.4, 0.6}, Images: 120, Features: 12, Neuroids: 5,
		SplitsFrom: "shuffle", Regression: "pls (6 components)"}
	want := "120 images, 12 features, 5 neuroids; splits: shuffle; regression: pls (6 components)\n" +
		"raw 0.500000 ± 0.012500 (median r over neuroids, mean over 2 splits)"
	if got := r.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	c, rc2, r2c := Float(0.8), Float(0.390625), Float(0.3125)
	r.Ceiling, r.CeiledRC2, r.CeiledR2C = &c, &rc2, &r2c
	r.Notes = []string{"2 of 5 neuroids are constant"}
	want += "\nceiling 0.800000; ceiled (r/c)^2 0.390625, r^2/c 0.312500\nnote: 2 of 5 neuroids are constant"
	if got := r.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
