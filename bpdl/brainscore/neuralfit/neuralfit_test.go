package neuralfit

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
