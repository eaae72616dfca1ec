package npy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// encodeAs builds a .npy stream of the C-order values of the given shape stored as dtype descr, in
// Fortran order when fortran is set, with an exact header.
func encodeAs(t *testing.T, descr string, fortran bool, shape []int, values []float64) []byte {
	t.Helper()
	var order binary.AppendByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		order = binary.BigEndian
	}
	stored := values
	if fortran {
		stored = make([]float64, len(values))
		// The element at C position c goes to its Fortran position.
		idx := make([]int, len(shape))
		for c := range values {
			f, s := 0, 1
			for j := range shape {
				f += idx[j] * s
				s *= shape[j]
			}
			stored[f] = values[c]
			for j := len(shape) - 1; j >= 0; j-- {
				idx[j]++
				if idx[j] < shape[j] {
					break
				}
				idx[j] = 0
			}
		}
	}
	var payload []byte
	for _, v := range stored {
		switch descr[1:] {
		case "f8":
			payload = order.AppendUint64(payload, math.Float64bits(v))
		case "f4":
			payload = order.AppendUint32(payload, math.Float32bits(float32(v)))
		case "f2":
			payload = order.AppendUint16(payload, float64ToHalf(t, v))
		case "i8", "u8":
			payload = order.AppendUint64(payload, uint64(int64(v)))
		case "i4", "u4":
			payload = order.AppendUint32(payload, uint32(int32(v)))
		case "i2", "u2":
			payload = order.AppendUint16(payload, uint16(int16(v)))
		case "i1", "u1", "b1":
			payload = append(payload, byte(int8(v)))
		default:
			t.Fatalf("no encoder for %s", descr)
		}
	}
	f := "False"
	if fortran {
		f = "True"
	}
	return npyBytes(fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }\n", descr, f, ShapeString(shape)), payload)
}

// float64ToHalf encodes the few values the tests use (integers of magnitude < 2048) as binary16.
func float64ToHalf(t *testing.T, v float64) uint16 {
	t.Helper()
	for h := range 1 << 16 {
		if halfToFloat64(uint16(h)) == v {
			return uint16(h)
		}
	}
	t.Fatalf("%v has no binary16 encoding", v)
	return 0
}

// TestReadEveryLayout reads every supported dtype in both byte orders, C and Fortran order, from
// streams with exact headers: the values must come back in C order.
func TestReadEveryLayout(t *testing.T) {
	shapes := [][]int{{2, 3}, {2, 2, 3}, {4}, {}}
	for code := range elemTypes {
		orders := []byte{'<', '>'}
		if elemTypes[code].size == 1 {
			orders = append(orders, '|')
		}
		for _, o := range orders {
			for _, fortran := range []bool{false, true} {
				for _, shape := range shapes {
					descr := string(o) + code
					n := 1
					for _, d := range shape {
						n *= d
					}
					values := make([]float64, n)
					for i := range values {
						switch code[0] {
						case 'b':
							values[i] = float64(i % 2)
						case 'u':
							values[i] = float64(i*7 + 1)
						default:
							values[i] = float64(i*7 - 20)
						}
					}
					name := fmt.Sprintf("%s/fortran=%v/%s", descr, fortran, ShapeString(shape))
					a, err := Decode(bytes.NewReader(encodeAs(t, descr, fortran, shape, values)))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !reflect.DeepEqual(a.Data, values) || !reflect.DeepEqual(a.Shape, shape) || a.DType != descr || a.Fortran != fortran {
						t.Errorf("%s: got %v %v %q fortran=%v, want %v", name, a.Shape, a.Data, a.DType, a.Fortran, values)
					}
				}
			}
		}
	}
}

func TestHalf(t *testing.T) {
	cases := []struct {
		bits uint16
		want float64
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, math.Ldexp(1, -24)}, {0x03ff, 1023 * math.Ldexp(1, -24)},
		{0x0400, math.Ldexp(1, -14)}, {0x3555, 0.333251953125}, {0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)},
	}
	for _, c := range cases {
		if got := halfToFloat64(c.bits); got != c.want {
			t.Errorf("half %#04x = %v, want %v", c.bits, got, c.want)
		}
	}
	if !math.IsNaN(halfToFloat64(0x7e00)) {
		t.Error("half NaN is not NaN")
	}
	if got := halfToFloat64(0x8000); got != 0 || !math.Signbit(got) {
		t.Errorf("half -0 = %v", got)
	}
}

// TestReadNumPyWrites has NumPy write arrays of every supported dtype, byte order and memory order
// (np.save of a transpose, of np.asfortranarray, of astype('>f8'), ...) and checks that Read gives
// NumPy's values in C order. It skips when Debian's python3 with NumPy is not installed.
func TestReadNumPyWrites(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available: %v", py, err)
	}
	dir := t.TempDir()
	script := `
import json, sys
import numpy as np
d = sys.argv[1]
base = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 3 - 30)
cases = {}
def save(name, a):
    np.save("%s/%s.npy" % (d, name), a)
    cases[name] = {"shape": list(a.shape), "values": np.asarray(a, dtype=np.float64).ravel(order="C").tolist(),
                   "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous)}
for dt in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]:
    for order in "<>":
        typ = np.dtype(order + dt) if dt[0] != "b" else np.dtype(bool)
        a = np.abs(base) if dt[0] == "u" else base
        a = (a % 2 == 0) if dt[0] == "b" else a
        a = a.astype(typ)
        save("%s%s_c" % ("be_" if order == ">" else "le_", dt), a)
        save("%s%s_transpose" % ("be_" if order == ">" else "le_", dt), a.T)
        save("%s%s_fortran2d" % ("be_" if order == ">" else "le_", dt), np.asfortranarray(a[0]))
save("f2_special", np.array([0.1, 6.1e-5, 5.96e-8, 65504, -0.0], dtype=np.float16))
json.dump(cases, open("%s/cases.json" % d, "w"))
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]struct {
		Shape   []int
		Values  []float64
		Fortran bool
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 70 {
		t.Fatalf("%d cases", len(cases))
	}
	fortran := 0
	for name, c := range cases {
		a, err := Read(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(a.Shape, c.Shape) || !reflect.DeepEqual(a.Data, c.Values) || a.Fortran != c.Fortran {
			t.Errorf("%s: shape %v fortran %v data %v; NumPy %v %v %v", name, a.Shape, a.Fortran, a.Data, c.Shape, c.Fortran, c.Values)
		}
		if a.Fortran {
			fortran++
		}
	}
	if fortran < 24 {
		t.Errorf("only %d of the files were Fortran-ordered", fortran)
	}
}
