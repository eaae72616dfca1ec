// Package npy reads and writes NumPy's .npy array files.
//
// A .npy file is a six-byte magic string "\x93NUMPY", a format version (major, minor), the length of a
// text header (two bytes little-endian in version 1, four bytes in versions 2 and 3), the header itself
// (a Python dict literal such as {'descr': '<f8', 'fortran_order': False, 'shape': (160, 64), }, padded
// with spaces and a newline so that the data starts on a 64-byte boundary), and then the raw element
// bytes in the order the header says.
//
// Read takes the arrays NumPy writes of numbers: float16, float32 and float64, signed and unsigned
// integers of 1, 2, 4 and 8 bytes, and booleans, little-endian ('<') or big-endian ('>'), in C
// (row-major) or Fortran (column-major) order, as np.save writes a transpose. Every element is
// converted to float64 (exactly, except 64-bit integers beyond 2^53) and Data is always in C order, so
// a label vector of int64, a feature matrix of float32 and a Fortran-ordered big-endian float64
// transpose all come back alike. Complex, string, object, datetime and structured arrays are refused
// with an error that names the dtype. Write produces a version 1.0 (or, for very long shapes, 2.0)
// little-endian C-order float64 file, WriteFloat32 the same in float32, both written atomically.
//
// A hand-written reader rather than codeberg.org/sbinet/npyio (v0.14.0, tried on NumPy 1.24's files):
// npyio returns Fortran-ordered data in file order when read into a slice, refuses to convert float16
// or integer files to float64 ("types don't match"), panics on a header without a newline (a
// corrupt file), reads no version 3 file, and would raise the module's gonum to v0.17.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// magic is the first six bytes of every .npy file.
const magic = "\x93NUMPY"

// MaxHeaderLen bounds the header length this package accepts. NumPy itself refuses headers longer than
// 10000 bytes unless asked; the bound here is looser but keeps a corrupt length field from causing a
// large allocation.
const MaxHeaderLen = 1 << 20

// Array is an n-dimensional array read from a .npy file.
//
// Data holds the elements in C order: the element at index (i0, i1, ..., ik) is
// Data[((i0*Shape[1]+i1)*Shape[2]+...)*Shape[k]+ik]. A zero-dimensional array (shape ()) has one element.
type Array struct {
	// Shape is the size of each dimension.
	Shape []int
	// Data holds the elements converted to float64, in C order (whatever the file's order).
	Data []float64
	// DType is the NumPy type string the file declared, such as "<f4", ">i8" or "|b1".
	DType string
	// Fortran reports that the file stored the elements in Fortran (column-major) order.
	Fortran bool
}

// Len returns the number of elements, the product of the shape (1 for a zero-dimensional array).
func (a *Array) Len() int { return len(a.Data) }

// Dims2 returns the two dimensions of a matrix, or an error naming the actual shape when the array is
// not two-dimensional.
func (a *Array) Dims2() (rows, cols int, err error) {
	if len(a.Shape) != 2 {
		return 0, 0, fmt.Errorf("npy: expected a 2-dimensional array, got shape %s", ShapeString(a.Shape))
	}
	return a.Shape[0], a.Shape[1], nil
}

// ShapeString formats a shape the way NumPy prints it, for error messages: (3,), (160, 64), ().
func ShapeString(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// elemType describes how one element is stored.
type elemType struct {
	size    int
	convert func(b []byte, order binary.ByteOrder) float64
}

var elemTypes = map[string]elemType{
	"f8": {8, func(b []byte, o binary.ByteOrder) float64 { return math.Float64frombits(o.Uint64(b)) }},
	"f4": {4, func(b []byte, o binary.ByteOrder) float64 { return float64(math.Float32frombits(o.Uint32(b))) }},
	"f2": {2, func(b []byte, o binary.ByteOrder) float64 { return halfToFloat64(o.Uint16(b)) }},
	"i8": {8, func(b []byte, o binary.ByteOrder) float64 { return float64(int64(o.Uint64(b))) }},
	"i4": {4, func(b []byte, o binary.ByteOrder) float64 { return float64(int32(o.Uint32(b))) }},
	"i2": {2, func(b []byte, o binary.ByteOrder) float64 { return float64(int16(o.Uint16(b))) }},
	"i1": {1, func(b []byte, _ binary.ByteOrder) float64 { return float64(int8(b[0])) }},
	"u8": {8, func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint64(b)) }},
	"u4": {4, func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint32(b)) }},
	"u2": {2, func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint16(b)) }},
	"u1": {1, func(b []byte, _ binary.ByteOrder) float64 { return float64(b[0]) }},
	"b1": {1, func(b []byte, _ binary.ByteOrder) float64 {
		if b[0] != 0 {
			return 1
		}
		return 0
	}},
}

// halfToFloat64 converts an IEEE 754 binary16 value (NumPy's float16) exactly.
func halfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0: // zero or subnormal: frac · 2^-24
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// supported lists the dtypes Read takes, for error messages.
const supported = "float16/32/64 (f2 f4 f8), int8/16/32/64 (i1 i2 i4 i8), uint8/16/32/64 (u1 u2 u4 u8) and bool (b1), little- or big-endian"

// parseDescr checks a NumPy type string and returns its element type and byte order: '<'
// (little-endian) or '>' (big-endian) for every type, and also '|' (not applicable) for one-byte
// types. The native order '=' is refused: NumPy writes the explicit order, and a file that does not is
// not one this package can trust.
func parseDescr(descr string) (elemType, binary.ByteOrder, error) {
	if len(descr) < 2 {
		return elemType{}, nil, fmt.Errorf("unsupported dtype %q (supported: %s)", descr, supported)
	}
	order, code := descr[0], descr[1:]
	et, ok := elemTypes[code]
	if !ok {
		what := ""
		switch code[0] {
		case 'c':
			what = "complex "
		case 'S', 'U', 'a':
			what = "string "
		case 'O':
			what = "object "
		case 'M', 'm':
			what = "datetime "
		case 'V':
			what = "void "
		}
		return elemType{}, nil, fmt.Errorf("unsupported %sdtype %q (supported: %s)", what, descr, supported)
	}
	switch {
	case order == '<':
		return et, binary.LittleEndian, nil
	case order == '>':
		return et, binary.BigEndian, nil
	case order == '|' && et.size == 1:
		return et, binary.LittleEndian, nil
	}
	return elemType{}, nil, fmt.Errorf("unsupported byte order %q in dtype %q (want '<' or '>', or '|' for one-byte types)", order, descr)
}

// header is the parsed .npy header dict.
type header struct {
	descr        string
	fortranOrder bool
	shape        []int
}

// Read reads a .npy file, converting its elements to float64.
func Read(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	a, err := decode(bufio.NewReaderSize(f, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("npy: reading %s: %w", path, err)
	}
	return a, nil
}

// Decode reads one .npy array from r, converting its elements to float64. It reads the data in
// chunks as it arrives, so a header that claims more data than r holds fails with an error once r
// runs out rather than by allocating the claimed size up front.
func Decode(r io.Reader) (*Array, error) {
	a, err := decode(r, -1)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	return a, nil
}

// decode parses a .npy stream. size is the total stream length in bytes when known, else -1; when known
// the payload length is checked against it before any allocation.
func decode(r io.Reader, size int64) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("reading magic and version: %w", noEOF(err))
	}
	if string(pre[:6]) != magic {
		return nil, errors.New("not a .npy file (bad magic string)")
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	var prefix int64
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		prefix = 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		prefix = 12
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d", major, minor)
	}
	if hlen > MaxHeaderLen {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", hlen, MaxHeaderLen)
	}
	if size >= 0 && prefix+hlen > size {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("reading header: %w", noEOF(err))
	}
	if major < 3 {
		// Versions 1 and 2 store the header in Latin-1; the keys and values this package reads are ASCII.
		for _, c := range hb {
			if c >= 0x80 {
				return nil, errors.New("header has non-ASCII bytes")
			}
		}
	}
	h, err := parseHeader(string(hb))
	if err != nil {
		return nil, fmt.Errorf("parsing header %q: %w", strings.TrimSpace(string(hb)), err)
	}
	et, order, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range h.shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %s", ShapeString(h.shape))
		}
		if d != 0 && n > math.MaxInt/8/d {
			return nil, fmt.Errorf("shape %s is too large", ShapeString(h.shape))
		}
		n *= d
	}
	nbytes := int64(n) * int64(et.size)
	if size >= 0 {
		if have := size - prefix - hlen; have != nbytes {
			return nil, fmt.Errorf("shape %s of dtype %s needs %d data bytes but the file holds %d", ShapeString(h.shape), h.descr, nbytes, have)
		}
	}
	data, err := readElements(r, n, et, order, size >= 0)
	if err != nil {
		return nil, fmt.Errorf("reading %d elements of dtype %s, shape %s: %w", n, h.descr, ShapeString(h.shape), err)
	}
	if size < 0 {
		// The stream must end where the data ends: trailing bytes mean the header lied about the shape.
		var one [1]byte
		if k, _ := io.ReadFull(r, one[:]); k != 0 {
			return nil, fmt.Errorf("trailing bytes after the %d data bytes of shape %s", nbytes, ShapeString(h.shape))
		}
	}
	if h.fortranOrder {
		data = fortranToC(data, h.shape)
	}
	return &Array{Shape: h.shape, Data: data, DType: h.descr, Fortran: h.fortranOrder}, nil
}

// fortranToC reorders elements stored in Fortran order (first index fastest) into C order (last index
// fastest).
func fortranToC(in []float64, shape []int) []float64 {
	if len(shape) < 2 || len(in) == 0 {
		return in
	}
	k := len(shape)
	cStride := make([]int, k)
	s := 1
	for j := k - 1; j >= 0; j-- {
		cStride[j] = s
		s *= shape[j]
	}
	out := make([]float64, len(in))
	idx := make([]int, k)
	c := 0
	for _, v := range in {
		out[c] = v
		for j := 0; j < k; j++ { // the next index in Fortran order
			idx[j]++
			c += cStride[j]
			if idx[j] < shape[j] {
				break
			}
			c -= cStride[j] * shape[j]
			idx[j] = 0
		}
	}
	return out
}

// readElements reads n elements of type et from r. When sized is true the caller has checked that r
// holds exactly the data, so the output is allocated at once; otherwise it grows as data arrives.
func readElements(r io.Reader, n int, et elemType, order binary.ByteOrder, sized bool) ([]float64, error) {
	const chunkElems = 8192
	var out []float64
	if sized {
		out = make([]float64, 0, n)
	} else {
		out = make([]float64, 0, min(n, chunkElems))
	}
	buf := make([]byte, chunkElems*et.size)
	for len(out) < n {
		k := min(n-len(out), chunkElems)
		b := buf[:k*et.size]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("data ends after %d of %d elements: %w", len(out), n, noEOF(err))
		}
		for i := 0; i < k; i++ {
			out = append(out, et.convert(b[i*et.size:], order))
		}
	}
	return out, nil
}

// noEOF turns a bare io.EOF into io.ErrUnexpectedEOF: a .npy stream never legitimately ends early.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseHeader parses the header dict literal, which must have exactly the keys 'descr' (a string),
// 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers).
func parseHeader(s string) (header, error) {
	p := &litParser{s: s}
	var h header
	seen := map[string]bool{}
	p.skipSpace()
	if !p.eat('{') {
		return h, errors.New("header is not a dict literal")
	}
	for {
		p.skipSpace()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("dict key: %w", err)
		}
		p.skipSpace()
		if !p.eat(':') {
			return h, fmt.Errorf("missing ':' after key %q", key)
		}
		p.skipSpace()
		if seen[key] {
			return h, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, errors.New("structured dtypes are not supported")
			}
			if h.descr, err = p.str(); err != nil {
				return h, fmt.Errorf("'descr': %w", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortranOrder = true
			case p.word("False"):
				h.fortranOrder = false
			default:
				return h, errors.New("'fortran_order' is not True or False")
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, fmt.Errorf("'shape': %w", err)
			}
		default:
			return h, fmt.Errorf("unexpected key %q", key)
		}
		p.skipSpace()
		if p.eat(',') {
			continue
		}
		p.skipSpace()
		if p.eat('}') {
			break
		}
		return h, fmt.Errorf("expected ',' or '}' at offset %d", p.i)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return h, fmt.Errorf("unexpected text after the dict at offset %d", p.i)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("missing key %q", k)
		}
	}
	return h, nil
}

// litParser is a tiny scanner for the subset of Python literal syntax a .npy header uses.
type litParser struct {
	s string
	i int
}

func (p *litParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *litParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *litParser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *litParser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str parses a single- or double-quoted string without escapes.
func (p *litParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", fmt.Errorf("expected a quoted string at offset %d", p.i)
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", errors.New("escaped strings are not supported")
	}
	p.i += end + 2
	return v, nil
}

// tuple parses a tuple of non-negative integers: (), (3,), (3, 4), (3, 4,).
func (p *litParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, fmt.Errorf("expected '(' at offset %d", p.i)
	}
	shape := []int{}
	for {
		p.skipSpace()
		if p.eat(')') {
			return shape, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, fmt.Errorf("expected a non-negative integer at offset %d", start)
		}
		d, err := strconv.Atoi(p.s[start:p.i])
		if err != nil {
			return nil, fmt.Errorf("dimension %q: %w", p.s[start:p.i], err)
		}
		p.eat('L') // Python 2 wrote long integers as 3L.
		shape = append(shape, d)
		if len(shape) > 64 {
			return nil, errors.New("more than 64 dimensions")
		}
		p.skipSpace()
		if p.eat(',') {
			continue
		}
		p.skipSpace()
		if p.eat(')') {
			// NumPy writes (3,) for one dimension; (3) is accepted too.
			return shape, nil
		}
		return nil, fmt.Errorf("expected ',' or ')' at offset %d", p.i)
	}
}

// Encode writes a little-endian float64 array of the given shape to w in .npy format version 1.0 (2.0
// when the header would not fit version 1's two-byte length). len(data) must equal the product of shape.
func Encode(w io.Writer, shape []int, data []float64) error {
	if err := encodeFloat64(w, shape, data); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

func encodeFloat64(w io.Writer, shape []int, data []float64) error {
	return encode(w, shape, "<f8", len(data), func(bw *bufio.Writer) error {
		var e [8]byte
		for _, v := range data {
			binary.LittleEndian.PutUint64(e[:], math.Float64bits(v))
			if _, err := bw.Write(e[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// EncodeFloat32 is Encode for float32 data ('<f4').
func EncodeFloat32(w io.Writer, shape []int, data []float32) error {
	if err := encodeFloat32(w, shape, data); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

func encodeFloat32(w io.Writer, shape []int, data []float32) error {
	return encode(w, shape, "<f4", len(data), func(bw *bufio.Writer) error {
		var e [4]byte
		for _, v := range data {
			binary.LittleEndian.PutUint32(e[:], math.Float32bits(v))
			if _, err := bw.Write(e[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// encode writes the header of a C-order array of dtype descr and n elements, then the elements by
// writeData.
func encode(w io.Writer, shape []int, descr string, n int, writeData func(*bufio.Writer) error) error {
	want := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %s", ShapeString(shape))
		}
		want *= d
	}
	if want != n {
		return fmt.Errorf("shape %s has %d elements but data has %d", ShapeString(shape), want, n)
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, ShapeString(shape))
	// Pad with spaces and end with a newline so that magic + version + length + header is a multiple
	// of 64 bytes, as NumPy does.
	version, lenBytes := byte(1), 2
	if len(dict)+1+10 > math.MaxUint16 {
		version, lenBytes = 2, 4
	}
	pre := 6 + 2 + lenBytes
	total := pre + len(dict) + 1
	pad := (64 - total%64) % 64
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteByte(version)
	b.WriteByte(0)
	if lenBytes == 2 {
		_ = binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	} else {
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	}
	b.WriteString(hdr)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing header: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := writeData(bw); err != nil {
		return fmt.Errorf("writing data: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing data: %w", err)
	}
	return nil
}

// Write writes a float64 array of the given shape to path in .npy format. It writes a temporary file
// in the same directory, syncs it, and renames it over path, so a reader never sees a partial file.
func Write(path string, shape []int, data []float64) error {
	if err := fetch.WriteAtomic(path, func(w io.Writer) error { return encodeFloat64(w, shape, data) }); err != nil {
		return fmt.Errorf("npy: writing %s: %w", path, err)
	}
	return nil
}

// WriteFloat32 is Write for float32 data.
func WriteFloat32(path string, shape []int, data []float32) error {
	if err := fetch.WriteAtomic(path, func(w io.Writer) error { return encodeFloat32(w, shape, data) }); err != nil {
		return fmt.Errorf("npy: writing %s: %w", path, err)
	}
	return nil
}
