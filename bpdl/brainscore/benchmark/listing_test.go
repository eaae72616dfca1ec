package benchmark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

func TestSelect(t *testing.T) {
	reg := DefaultRegistry()
	all, err := reg.Select(nil)
	if err != nil || len(all) != len(reg.Identifiers()) {
		t.Fatalf("Select(nil): %d specs, %v; want all %d", len(all), err, len(reg.Identifiers()))
	}
	two, err := reg.Select([]string{CowleyV4, RSA92MacaqueIT})
	if err != nil || len(two) != 2 || two[0].Identifier != CowleyV4 || two[1].Identifier != RSA92MacaqueIT {
		t.Errorf("Select: %+v, %v; want Cowley then RSA92", two, err)
	}
	_, err = reg.Select([]string{RSA92MacaqueIT, "nope"})
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Identifier != "nope" || !strings.Contains(err.Error(), `unknown benchmark "nope" (known: `+FreemanZiemba2013V1+", ") {
		t.Errorf("Select with an unknown identifier: %v", err)
	}
	if _, _, err := reg.Load(context.Background(), "nope", Dirs{}); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "benchmark: unknown benchmark") {
		t.Errorf("Load with an unknown identifier: %v", err)
	}
}

// TestList lists a toy benchmark with one good, one corrupt and one missing file, in its JSON and text
// forms.
func TestList(t *testing.T) {
	local, cache := t.TempDir(), t.TempDir()
	good := []byte("the good file")
	sum := sha256.Sum256(good)
	file := func(name string, content []byte) DataFile {
		s := sha256.Sum256(content)
		return DataFile{Dir: "toy", File: fetch.File{Name: name, URL: "https://example.org/" + name, Sum: fetch.Checksum{Algorithm: fetch.SHA256, Hex: hex.EncodeToString(s[:])}}}
	}
	spec := Spec{Identifier: "toy.IT-rsa", Region: "IT", Metric: "rsa", Description: "a toy", Files: []DataFile{
		file("good.bin", good), file("bad.bin", []byte("the expected content")), file("missing.bin", nil)}}
	if err := os.MkdirAll(filepath.Join(local, "toy"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"good.bin": good, "bad.bin": []byte("corrupt")} {
		if err := os.WriteFile(filepath.Join(local, "toy", name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := Dirs{Local: local, Cache: cache}
	list := d.List([]Spec{spec})
	if len(list) != 1 || list[0].Present || len(list[0].Files) != 3 {
		t.Fatalf("list %+v", list)
	}
	f := list[0].Files
	if !f[0].Present || f[0].Path != filepath.Join(local, "toy", "good.bin") || f[0].Checksum != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("good file %+v", f[0])
	}
	if f[1].Present || !strings.Contains(f[1].Problem, "checksum mismatch") || f[2].Present || f[2].Problem != "" || f[2].Path != filepath.Join(cache, "toy", "missing.bin") {
		t.Errorf("bad file %+v, missing file %+v", f[1], f[2])
	}
	js, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"identifier":"toy.IT-rsa"`, `"present":false`, `"folder":"toy"`, `"url":"https://example.org/good.bin"`, `"problem":"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON lacks %s: %s", key, js)
		}
	}
	if strings.Contains(string(js), "brainscore_identifier") || strings.Count(string(js), `"problem"`) != 1 {
		t.Errorf("JSON has empty optional keys: %s", js)
	}
	var text strings.Builder
	if err := d.WriteList(&text, list); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"brain data: local copy " + local + ", cache " + cache, "toy.IT-rsa (IT, rsa): data not present\n  offline benchmark\n  a toy\n",
		"    ok      toy/good.bin  sha256:", "            at " + f[0].Path, "    bad     toy/bad.bin", "    missing toy/missing.bin"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	text.Reset()
	if err := (Dirs{Cache: cache}).WriteList(&text, nil); err != nil || !strings.HasPrefix(text.String(), "brain data: local copy (none)") {
		t.Errorf("no local copy: %q, %v", text.String(), err)
	}
}

// TestResultTables writes a model's results as statuses and as a score table.
func TestResultTables(t *testing.T) {
	n := math.NaN()
	res := []*Result{
		{Benchmark: RSA92MacaqueIT, Model: "m", Region: "IT", Layer: "fc1", Status: StatusOK, Layers: []LayerScore{{Layer: "fc1", Raw: 0.123456, Error: 0.01, Ceiling: n, CeiledRC2: n, CeiledR2C: n}}},
		{Benchmark: MajajHong2015IT, Model: "m", Region: "IT", Status: StatusNotPresent, Notes: []string{"missing in /c: x.nc (offline)"}},
		{Benchmark: CowleyV4, Model: "m", Region: "V4", Status: "error: /data/cowley: unreadable"},
	}
	if got := Failures(res); len(got) != 1 || got[0] != CowleyV4 {
		t.Errorf("Failures: %v", got)
	}
	var st strings.Builder
	if err := WriteStatuses(&st, res); err != nil {
		t.Fatal(err)
	}
	want := RSA92MacaqueIT + ": ok\n" + MajajHong2015IT + ": data not present\n  missing in /c: x.nc (offline)\n" + CowleyV4 + ": error: /data/cowley: unreadable\n"
	if st.String() != want {
		t.Errorf("statuses:\n%s\nwant:\n%s", st.String(), want)
	}
	var csv strings.Builder
	if err := WriteScores(&csv, res); err != nil {
		t.Fatal(err)
	}
	want = "model,benchmark,region,layer,raw,error,ceiling,ceiled_r_over_c_squared,ceiled_r2_over_c,status\n" +
		"m," + RSA92MacaqueIT + ",IT,fc1,0.12346,0.01000,,,,ok\n" +
		"m," + MajajHong2015IT + ",IT,,,,,,,data not present\n" +
		"m," + CowleyV4 + ",V4,,,,,,,error (see the log)\n"
	if csv.String() != want {
		t.Errorf("scores:\n%s\nwant:\n%s", csv.String(), want)
	}
}

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in      string
		c, h, w int
		err     string
	}{
		{"3x32x32", 3, 32, 32, ""},
		{"1x28x28", 1, 28, 28, ""},
		{"3x32", 0, 0, 0, "want CxHxW"},
		{"3x0x32", 0, 0, 0, "positive integer"},
		{"3x32x5000", 0, 0, 0, "positive integer"},
		{"3xax32", 0, 0, 0, "positive integer"},
		{"2x32x32", 0, 0, 0, "2 channels: want 1 (gray) or 3 (RGB)"},
	} {
		c, h, w, err := ParseInput(tc.in)
		if c != tc.c || h != tc.h || w != tc.w || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseInput(%q) = %d, %d, %d, %v; want %d, %d, %d and an error with %q", tc.in, c, h, w, err, tc.c, tc.h, tc.w, tc.err)
		}
	}
}

// failingTransport fails every request, as a machine without a network does.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("network unreachable")
}

// TestDownloadNetworkFailure: downloads that all fail make Dirs.Download fail, naming every
// benchmark, after trying each.
func TestDownloadNetworkFailure(t *testing.T) {
	dirs := Dirs{Cache: t.TempDir(), Fetch: fetch.Options{Client: &http.Client{Transport: failingTransport{}}}}
	var specs []Spec
	for _, id := range []string{RSA92MacaqueIT, CowleyV4} {
		s, _ := LookupSpec(id)
		specs = append(specs, s)
	}
	var log strings.Builder
	err := dirs.Download(context.Background(), specs, &log)
	if err == nil || !strings.Contains(err.Error(), "2 of 2") || strings.Count(log.String(), "network unreachable") < 2 {
		t.Errorf("error %v, log %q: want both benchmarks reported", err, log.String())
	}
}
