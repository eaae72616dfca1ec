package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadNumPyFiles(t *testing.T) {
	m34 := make([]float64, 12)
	for i := range m34 {
		m34[i] = float64(i)/8 - 0.5
	}
	tests := []struct {
		file  string
		shape []int
		dtype string
		data  []float64
	}{
		{"f8_3x4.npy", []int{3, 4}, "<f8", m34},
		{"f8_3x4_v2.npy", []int{3, 4}, "<f8", m34},
		{"f8_3x4_v3.npy", []int{3, 4}, "<f8", m34},
		{"f4_3x4.npy", []int{3, 4}, "<f4", m34},
		{"i8_5.npy", []int{5}, "<i8", []float64{3, -1, 0, 7, 1 << 40}},
		{"i4_5.npy", []int{5}, "<i4", []float64{3, -1, 0, 7, -(1 << 31)}},
		{"u1_4.npy", []int{4}, "|u1", []float64{0, 1, 200, 255}},
		{"b1_4.npy", []int{4}, "|b1", []float64{1, 0, 0, 1}},
		{"f8_scalar.npy", []int{}, "<f8", []float64{2.5}},
		{"f8_0x3.npy", []int{0, 3}, "<f8", []float64{}},
		{"f8_2x3x2.npy", []int{2, 3, 2}, "<f8", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"f8_fortran.npy", []int{3, 4}, "<f8", m34},
		{"f8_bigendian.npy", []int{3, 4}, ">f8", m34},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a, err := Read(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Shape, tc.shape) {
				t.Errorf("shape %v, want %v", a.Shape, tc.shape)
			}
			if a.DType != tc.dtype {
				t.Errorf("dtype %q, want %q", a.DType, tc.dtype)
			}
			if !reflect.DeepEqual(a.Data, tc.data) {
				t.Errorf("data %v, want %v", a.Data, tc.data)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"c16_2.npy", `unsupported complex dtype "<c16"`},
		{"missing.npy", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Read(filepath.Join("testdata", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// npyBytes builds a version-1 .npy stream with the given header text and payload.
func npyBytes(hdr string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(payload)
	return b.Bytes()
}

func TestDecodeMalformed(t *testing.T) {
	eight := make([]byte, 8)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "unexpected EOF"},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), "bad magic"},
		{"version 4", []byte("\x93NUMPY\x04\x00\x00\x00"), "version 4.0"},
		{"short header", append([]byte("\x93NUMPY\x01\x00\x50\x00"), "{'descr'"...), "reading header"},
		{"not a dict", npyBytes("[1, 2]\n", nil), "not a dict"},
		{"missing shape", npyBytes("{'descr': '<f8', 'fortran_order': False}\n", nil), `missing key "shape"`},
		{"extra key", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}\n", eight), `unexpected key "x"`},
		{"duplicate key", npyBytes("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}\n", eight), "duplicate"},
		{"structured", npyBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': ()}\n", eight), "structured"},
		{"negative dim", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}\n", nil), "non-negative"},
		{"huge shape", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000, 1000000000)}\n", nil), "too large"},
		{"truncated data", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n", eight), "data ends after 0 of 2"},
		{"claims a lot", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,)}\n", eight), "data ends after 0 of 100000000"},
		{"trailing bytes", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n", append(eight, 1)), "trailing"},
		{"bool fortran", npyBytes("{'descr': '|b1', 'fortran_order': maybe, 'shape': (1,)}\n", []byte{1}), "True or False"},
		{"native order", npyBytes("{'descr': '=f8', 'fortran_order': False, 'shape': (1,)}\n", eight), "byte order"},
		{"multi-byte without order", npyBytes("{'descr': '|f8', 'fortran_order': False, 'shape': (1,)}\n", eight), "byte order"},
		{"object", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}\n", eight), "unsupported object dtype"},
		{"string", npyBytes("{'descr': '<U2', 'fortran_order': False, 'shape': (1,)}\n", eight), "unsupported string dtype"},
		{"datetime", npyBytes("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,)}\n", eight), "unsupported datetime dtype"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadChecksSizeBeforeAllocating(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lie.npy")
	in := npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,)}\n", make([]byte, 8))
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path)
	if err == nil || !strings.Contains(err.Error(), "needs 800000000 data bytes but the file holds 8") {
		t.Fatalf("error %v", err)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		shape []int
		data  []float64
	}{
		{"matrix", []int{2, 3}, []float64{1, -2, 3.5, math.Inf(1), math.NaN(), -0.0}},
		{"vector", []int{4}, []float64{1, 2, 3, 4}},
		{"scalar", []int{}, []float64{7}},
		{"empty", []int{0, 5}, []float64{}},
		{"3d", []int{2, 1, 2}, []float64{1, 2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".npy")
			if err := Write(path, tc.shape, tc.data); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			hlen := int(binary.LittleEndian.Uint16(raw[8:10]))
			if (10+hlen)%64 != 0 || raw[10+hlen-1] != '\n' {
				t.Errorf("header of %d bytes is not padded to 64 bytes with a final newline", hlen)
			}
			a, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Shape, tc.shape) || len(a.Data) != len(tc.data) {
				t.Fatalf("got shape %v len %d", a.Shape, len(a.Data))
			}
			for i := range tc.data {
				if math.Float64bits(a.Data[i]) != math.Float64bits(tc.data[i]) {
					t.Errorf("element %d: %v, want %v", i, a.Data[i], tc.data[i])
				}
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if err := Write(filepath.Join(dir, "bad.npy"), []int{2, 2}, []float64{1}); err == nil {
		t.Error("Write accepted data that does not fill the shape")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.npy")); !os.IsNotExist(err) {
		t.Error("failed Write left a file behind")
	}
}

// TestNumPyReadsOurFiles checks that NumPy loads what Write produced, when Debian's python3 with NumPy
// is installed.
func TestNumPyReadsOurFiles(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available: %v", py, err)
	}
	path := filepath.Join(t.TempDir(), "m.npy")
	if err := Write(path, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6.25}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", "import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape, a.dtype, a.sum())", path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(2, 3) float64 21.25" {
		t.Errorf("numpy read %q", got)
	}
	path32 := filepath.Join(t.TempDir(), "m32.npy")
	if err := WriteFloat32(path32, []int{3, 2}, []float32{1, 2, 3, 4, 5, 0.5}); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(py, "-c", "import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape, a.dtype, a.sum(), a[2, 1])", path32).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(3, 2) float32 15.5 0.5" {
		t.Errorf("numpy read %q", got)
	}
}

func TestWriteFloat32RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.npy")
	want := []float32{1.5, -2, float32(math.Inf(1)), 3.25e-10}
	if err := WriteFloat32(path, []int{2, 2}, want); err != nil {
		t.Fatal(err)
	}
	a, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != "<f4" || !reflect.DeepEqual(a.Shape, []int{2, 2}) {
		t.Fatalf("dtype %q shape %v", a.DType, a.Shape)
	}
	for i, v := range want {
		if a.Data[i] != float64(v) {
			t.Errorf("element %d: %v, want %v", i, a.Data[i], v)
		}
	}
	if err := WriteFloat32(path, []int{3}, want); err == nil || !strings.Contains(err.Error(), "has 3 elements but data has 4") {
		t.Errorf("error %v", err)
	}
}

func TestDims2(t *testing.T) {
	a := &Array{Shape: []int{3}}
	if _, _, err := a.Dims2(); err == nil || !strings.Contains(err.Error(), "(3,)") {
		t.Errorf("error %v", err)
	}
	a = &Array{Shape: []int{3, 4}}
	if r, c, err := a.Dims2(); err != nil || r != 3 || c != 4 {
		t.Errorf("Dims2 = %d, %d, %v", r, c, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"f8_3x4.npy", "f4_3x4.npy", "i8_5.npy", "b1_4.npy", "f8_3x4_v3.npy", "f8_fortran.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,)}\n", nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Decode(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("shape %v but %d elements", a.Shape, len(a.Data))
		}
		// What decodes must re-encode (as float64) and decode to the same values.
		var b bytes.Buffer
		if err := Encode(&b, a.Shape, a.Data); err != nil {
			t.Fatal(err)
		}
		a2, err := Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Shape, a2.Shape) || len(a.Data) != len(a2.Data) {
			t.Fatal("round trip changed the shape")
		}
		for i := range a.Data {
			if math.Float64bits(a.Data[i]) != math.Float64bits(a2.Data[i]) {
				t.Fatalf("round trip changed element %d", i)
			}
		}
	})
}
