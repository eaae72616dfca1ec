package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/brainscore/benchmark"
	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/npy"
	"github.com/bpdl/bpdl/bpdl/report"
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

// TestBenchmarksFetchFailure: `benchmarks -fetch` exits non-zero when a benchmark's data cannot be had
// (issue 17: it exited 0 when every file failed), after listing everything: here the local copy of the
// rsa92 file is corrupt.
func TestBenchmarksFetchFailure(t *testing.T) {
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, benchmark.DirRSA92), 0o755); err != nil {
		t.Fatal(err)
	}
	spec, _ := benchmark.LookupSpec(benchmark.RSA92MacaqueIT)
	bad := filepath.Join(local, benchmark.DirRSA92, spec.Files[0].File.Name)
	if err := os.WriteFile(bad, []byte("not the file"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runReproduce(t, "benchmarks", "-fetch", "-only", benchmark.RSA92MacaqueIT, "-brain-data", local, "-data-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "could not be had ("+benchmark.RSA92MacaqueIT+")") || !strings.Contains(stderr, bad) {
		t.Errorf("exit %d, stderr %q: want exit 1 naming the benchmark and the bad file", code, stderr)
	}
	if !strings.Contains(stdout, benchmark.RSA92MacaqueIT) {
		t.Errorf("the listing is missing:\n%s", stdout)
	}
}

// TestBenchmarksCheckPixelsTamperedCache: a pixels-check cache emptied to {} is ignored (issue 17: it
// printed 0.00000); without the MajajHong2015 data the check says so.
func TestBenchmarksCheckPixelsTamperedCache(t *testing.T) {
	dataDir := t.TempDir()
	spec, _ := benchmark.LookupSpec(benchmark.MajajHong2015IT)
	cache := filepath.Join(dataDir, "brainscore")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "pixels-check-"+spec.Files[0].File.Sum.Hex+".json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runReproduce(t, "benchmarks", "-check-pixels", "-offline", "-only", benchmark.MajajHong2015IT, "-data-dir", dataDir, "-brain-data", "")
	if code != 0 || strings.Contains(stdout, "0.00000") || !strings.Contains(stdout, "ignoring") || !strings.Contains(stdout, "data not present") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
}

// TestNeuralFitFortranOrder scores a responses file saved in Fortran order (as np.save writes a
// transpose), big-endian, against its C-order little-endian copy: the outputs must be identical
// (issue 16: Fortran-ordered files were refused). The Fortran file is written here with an exact
// NumPy header.
func TestNeuralFitFortranOrder(t *testing.T) {
	dir := t.TempDir()
	const n, p, q = 120, 12, 5
	features := make([]float64, n*p)
	responses := make([]float64, n*q)
	for i := range n {
		for j := range p {
			features[i*p+j] = math.Sin(float64(i*(j+1))) + float64(j%3)
		}
		for k := range q {
			responses[i*q+k] = features[i*p+k] - 0.5*features[i*p+k+3] + 0.2*math.Cos(float64(7*i+k))
		}
	}
	fpath, cpath := filepath.Join(dir, "features.npy"), filepath.Join(dir, "responses_c.npy")
	if err := npy.Write(fpath, []int{n, p}, features); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(cpath, []int{n, q}, responses); err != nil {
		t.Fatal(err)
	}
	var payload []byte
	for k := range q { // column-major: the first index varies fastest
		for i := range n {
			payload = binary.BigEndian.AppendUint64(payload, math.Float64bits(responses[i*q+k]))
		}
	}
	hdr := fmt.Sprintf("{'descr': '>f8', 'fortran_order': True, 'shape': (%d, %d), }", n, q)
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	raw = append(append(raw, hdr...), payload...)
	fortran := filepath.Join(dir, "responses_f.npy")
	if err := os.WriteFile(fortran, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, resp := range []string{cpath, fortran} {
		stdout, stderr, code := runReproduce(t, "neural-fit", "-features", fpath, "-responses", resp, "-components", "6", "-json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", resp, code, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] {
		t.Errorf("C order:\n%s\nFortran order:\n%s", outs[0], outs[1])
	}
	if !strings.Contains(outs[0], `"raw": 0.`) {
		t.Errorf("no score:\n%s", outs[0])
	}
}

// TestBenchmarksExportAndFeatures exports the rsa92 stimuli for 1x28x28 inputs, computes the pixels
// model's activations from the exported file as an outside program would (the images themselves), and
// scores them with -features: the table must hold the scores of the pixels model scored directly.
func TestBenchmarksExportAndFeatures(t *testing.T) {
	local, ok := sharedData()
	if !ok {
		t.Skip("shared test data not found: skipping")
	}
	sharedPath(t, "rsa92", "Kriegeskorte_Neuron2008_supplementalData.mat")
	dir, cache := t.TempDir(), t.TempDir()
	common := []string{"-only", benchmark.RSA92MacaqueIT + "," + benchmark.MajajHong2015IT, "-brain-data", local, "-data-dir", cache, "-offline"}
	stdout, stderr, code := runReproduce(t, append([]string{"benchmarks", "-export-stimuli", dir, "-input", "1x28x28"}, common...)...)
	if code != 0 || !strings.Contains(stdout, benchmark.RSA92MacaqueIT+": ok") || !strings.Contains(stdout, benchmark.MajajHong2015IT+": data not present") {
		t.Fatalf("export: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	set := filepath.Join(dir, benchmark.RSA92MacaqueIT, "stimuli")
	a, err := npy.Read(filepath.Join(set, benchmark.StimuliFile))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{92, 1, 28, 28}) || a.DType != "<f4" {
		t.Fatalf("stimuli shape %v dtype %s", a.Shape, a.DType)
	}
	if err := npy.Write(filepath.Join(set, "pixels.npy"), []int{92, 28 * 28}, a.Data); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runReproduce(t, append([]string{"benchmarks", "-features", dir, "-model", "pixels-1x28x28"}, common...)...)
	if code != 0 {
		t.Fatalf("features: exit %d, stderr:\n%s", code, stderr)
	}
	direct, err := benchmark.ScoreAll(context.Background(), benchmark.NewPixels(1, 28, 28), benchmark.Options{
		Dirs: benchmark.Dirs{Local: local, Cache: cache, Offline: true}, Benchmarks: []string{benchmark.RSA92MacaqueIT}})
	if err != nil {
		t.Fatal(err)
	}
	s := direct[0].Score()
	want := fmt.Sprintf("pixels-1x28x28,%s,IT,pixels,%s,%s,,,,ok", benchmark.RSA92MacaqueIT, report.Format(s.Raw, 5), report.Format(s.Error, 5))
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, benchmark.MajajHong2015IT+",IT,,,,,,,data not present") {
		t.Errorf("table:\n%s\nwant a row %s", stdout, want)
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
