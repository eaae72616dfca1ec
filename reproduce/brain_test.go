package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/npy"
	"github.com/bpdl/bpdl/bpdl/study"
)

// sharedData is the project's shared test data, ../shared/data beside the module root (or
// $BPDL_SHARED_DATA), as bpdl/internal/shared finds it (which this package may not import).
func sharedData() (string, bool) {
	d := os.Getenv("BPDL_SHARED_DATA")
	if d == "" {
		d = filepath.Join("..", "..", "shared", "data") // reproduce/ is one below the module root
	}
	st, err := os.Stat(d)
	return d, err == nil && st.IsDir()
}

// sharedPath returns a path inside the shared data, skipping the test when it is absent.
func sharedPath(t *testing.T, elem ...string) string {
	t.Helper()
	d, ok := sharedData()
	if !ok {
		t.Skip("shared test data not found (../shared/data beside the module root, or $BPDL_SHARED_DATA): skipping")
	}
	p := filepath.Join(append([]string{d}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not found: skipping", p)
	}
	return p
}

// TestNeuralFitSynthetic runs `reproduce neural-fit -json` on the synthetic fixture: the features, the
// fixture's splits and ceiling halves (reference_scores.json itself), and per region the repetition
// means and the presentations grouped by repetition, extracted from the assembly with brainio into a
// temporary directory. Every number must be scikit-learn's within 1e-4.
func TestNeuralFitSynthetic(t *testing.T) {
	nc := sharedPath(t, "brainscore-synthetic", "assy_synthetic_MajajHong2015like_public.nc")
	features := sharedPath(t, "brainscore-synthetic", "features_pixels8x8.npy")
	refPath := sharedPath(t, "brainscore-synthetic", "reference_scores.json")
	a, err := brainio.ReadAssembly(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := brainio.ReadStimulusSet(sharedPath(t, "brainscore-synthetic", "stimulus_set.csv"), sharedPath(t, "brainscore-synthetic", "stimulus_set.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ref struct {
		Regions map[string]struct {
			RawPerSplit     []float64 `json:"raw_per_split"`
			Raw             float64   `json:"raw"`
			CeilingPerSplit []float64 `json:"ceiling_per_split"`
			Ceiling         float64   `json:"ceiling"`
			CeiledRC2       float64   `json:"ceiled_r_over_c_squared"`
			CeiledR2C       float64   `json:"ceiled_r2_over_c"`
		} `json:"regions"`
	}
	b, err := os.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, region := range []string{"V4", "IT"} {
		t.Run(region, func(t *testing.T) {
			benches, err := benchmark.NewMajajHong2015(a, st, region)
			if err != nil {
				t.Fatal(err)
			}
			bm := benches[0]
			for i, id := range bm.StimulusIDs { // the features' rows are in stimulus-set order
				if st.Stimuli[i].ID != id {
					t.Fatalf("image %d is %s in the benchmark, %s in the stimulus set", i, id, st.Stimuli[i].ID)
				}
			}
			resp := filepath.Join(dir, "responses_"+region+".npy")
			reps := filepath.Join(dir, "repetitions_"+region+".npy")
			r, c := bm.Responses.Dims()
			if err := npy.Write(resp, []int{r, c}, bm.Responses.RawMatrix().Data); err != nil {
				t.Fatal(err)
			}
			rp := bm.Repetitions
			if err := npy.Write(reps, []int{rp.Reps, rp.Images, rp.Neuroids}, rp.Data); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runReproduce(t, "neural-fit", "-features", features, "-responses", resp, "-repetitions", reps, "-splits", refPath, "-json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Raw, Ceiling               float64
				RawPerSplit                []float64 `json:"raw_per_split"`
				CeilingPerSplit            []float64 `json:"ceiling_per_split"`
				CeiledRC2                  float64   `json:"ceiled_r_over_c_squared"`
				CeiledR2C                  float64   `json:"ceiled_r2_over_c"`
				SplitsFrom                 string    `json:"splits_from"`
				Images, Features, Neuroids int       `json:"-"`
				NImages                    int       `json:"n_images"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			want := ref.Regions[region]
			const tol = 1e-4
			check := func(what string, g, w float64) {
				t.Helper()
				if math.Abs(g-w) > tol || math.IsNaN(g) {
					t.Errorf("%s = %.6f, reference %.6f", what, g, w)
				}
			}
			if len(got.RawPerSplit) != len(want.RawPerSplit) || len(got.CeilingPerSplit) != len(want.CeilingPerSplit) {
				t.Fatalf("%d splits and %d ceiling halves, reference %d and %d", len(got.RawPerSplit), len(got.CeilingPerSplit), len(want.RawPerSplit), len(want.CeilingPerSplit))
			}
			for k := range want.RawPerSplit {
				check("raw of split", got.RawPerSplit[k], want.RawPerSplit[k])
			}
			for k := range want.CeilingPerSplit {
				check("ceiling of half", got.CeilingPerSplit[k], want.CeilingPerSplit[k])
			}
			check("raw", got.Raw, want.Raw)
			check("ceiling", got.Ceiling, want.Ceiling)
			check("(r/c)^2", got.CeiledRC2, want.CeiledRC2)
			check("r^2/c", got.CeiledR2C, want.CeiledR2C)
			if got.SplitsFrom != "file" || got.NImages != 160 {
				t.Errorf("splits from %q, %d images", got.SplitsFrom, got.NImages)
			}
		})
	}
}

// TestBenchmarksList lists the benchmarks with the shared data as the local copy: every benchmark is
// listed with its files and checksums; the offline ones are present, the public ones not.
func TestBenchmarksList(t *testing.T) {
	local, ok := sharedData()
	if !ok {
		t.Skip("shared test data not found: skipping")
	}
	stdout, stderr, code := runReproduce(t, "benchmarks", "-brain-data", local, "-data-dir", t.TempDir(), "-offline", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list []struct {
		Identifier string
		Public     bool
		Present    bool
		Files      []struct {
			Name, Checksum, URL string
			Present             bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if len(list) != len(benchmark.Specs()) {
		t.Fatalf("%d benchmarks listed, %d known", len(list), len(benchmark.Specs()))
	}
	for _, b := range list {
		if b.Public == b.Present {
			t.Errorf("%s: public %v, present %v", b.Identifier, b.Public, b.Present)
		}
		for _, f := range b.Files {
			if !strings.HasPrefix(f.Checksum, "sha1:") && !strings.HasPrefix(f.Checksum, "sha256:") || f.URL == "" {
				t.Errorf("%s: file %s has checksum %q and URL %q", b.Identifier, f.Name, f.Checksum, f.URL)
			}
		}
	}
	text, _, code := runReproduce(t, "benchmarks", "-brain-data", local, "-data-dir", t.TempDir(), "-offline")
	if code != 0 || !strings.Contains(text, benchmark.MajajHong2015IT) || !strings.Contains(text, "data not present") {
		t.Errorf("exit %d, listing:\n%s", code, text)
	}
}

// TestNeuralFitUsage checks that neural-fit names its required flags.
func TestNeuralFitUsage(t *testing.T) {
	_, stderr, code := runReproduce(t, "neural-fit", "-features", "x.npy")
	if code != 2 || !strings.Contains(stderr, "-responses") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runReproduce(t, "neural-fit", "-features", filepath.Join(t.TempDir(), "missing.npy"), "-responses", "r.npy")
	if code != 1 || !strings.Contains(stderr, "missing.npy") {
		t.Errorf("exit %d, stderr %q: want an error naming the file", code, stderr)
	}
}

// TestStudyScoresOffline runs a tiny study with the shared data as the local brain data: every model
// gets a row per study benchmark, the offline ones scored, the public ones "data not present".
func TestStudyScoresOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a net: skipped with -short")
	}
	local, ok := sharedData()
	if !ok {
		t.Skip("shared test data not found: skipping")
	}
	sharedPath(t, "cowley-v4", "responses_raw_210325.npy")
	t.Setenv(study.BrainDataEnvVar, local)
	out := t.TempDir()
	args := append([]string{"-out", out, "-offline"}, tiny...)
	for i, a := range args {
		if a == "-epochs" {
			args[i+1] = "1"
		}
	}
	stdout, stderr, code := runReproduce(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	status := map[string]string{}
	for _, r := range rows[1:] {
		f := strings.Split(r, ",")
		status[f[3]] = f[len(f)-1]
	}
	for _, id := range benchmark.StudyBenchmarks() {
		spec, _ := benchmark.LookupSpec(id)
		want := benchmark.StatusOK
		if spec.Public {
			want = benchmark.StatusNotPresent
		}
		if status[id] != want {
			t.Errorf("%s: status %q, want %q\n%s", id, status[id], want, b)
		}
	}
}

// TestCorruptBrainData scores a net with a corrupted local copy of the RSA benchmark's data: the run
// writes every table, the benchmark's cells say "error (see the log)" with no path in them, the full
// message goes to stderr, and the exit status is 1.
func TestCorruptBrainData(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a net: skipped with -short")
	}
	src := sharedPath(t, "rsa92", "Kriegeskorte_Neuron2008_supplementalData.mat")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	copy(raw[300:], "garbage")
	if err := os.MkdirAll(filepath.Join(local, "rsa92"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "rsa92", filepath.Base(src)), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, stderr, code := runReproduce(t, "-out", out, "-offline", "-data-dir", t.TempDir(), "-brain-data", local, "-dataset", "mnist",
		"-rules", "bp", "-train-limit", "400", "-hidden", "16", "-epochs", "1", "-figures=false", "-benchmarks", benchmark.RSA92MacaqueIT)
	if code != 1 || !strings.Contains(stderr, benchmark.RSA92MacaqueIT) || !strings.Contains(stderr, local) {
		t.Errorf("exit %d, stderr %q; want 1 and the full message", code, stderr)
	}
	for _, name := range []string{"results.csv", "scores.csv", "summary.md", "summary.csv"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("%s not written: %v", name, err)
		}
		if strings.Contains(string(b), local) || strings.Contains(string(b), "/tmp") {
			t.Errorf("%s holds a path:\n%s", name, b)
		}
		if name == "scores.csv" && !strings.Contains(string(b), study.StatusError) {
			t.Errorf("%s lacks the error cell:\n%s", name, b)
		}
	}
}
