// Package matfile reads the part of MATLAB's Level 5 MAT-file format (MATLAB 5 to 7.2, the format
// before HDF5-based v7.3) that published neuroscience data uses: numeric, logical and character arrays,
// cell arrays and structure arrays, compressed or not, in either byte order.
//
// A Level 5 file is a 128-byte header (descriptive text, a version and an endian indicator "IM" or "MI")
// followed by data elements. Each element is an 8-byte tag (data type, byte count) and its data, padded
// to 8 bytes; a "small" element packs a count of at most 4 bytes and the data into the tag itself. A
// variable is an miMATRIX element (array flags, dimensions, name, then the class's data) or an
// miCOMPRESSED element holding one zlib-compressed miMATRIX. Arrays are stored in column-major order.
package matfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"unicode/utf16"
)

// Class is a MATLAB array class.
type Class int

// The array classes of the format (mxCELL_CLASS ... mxUINT64_CLASS).
const (
	Cell   Class = 1
	Struct Class = 2
	Object Class = 3
	Char   Class = 4
	Sparse Class = 5
	Double Class = 6
	Single Class = 7
	Int8   Class = 8
	Uint8  Class = 9
	Int16  Class = 10
	Uint16 Class = 11
	Int32  Class = 12
	Uint32 Class = 13
	Int64  Class = 14
	Uint64 Class = 15
)

var classNames = map[Class]string{
	Cell: "cell", Struct: "struct", Object: "object", Char: "char", Sparse: "sparse", Double: "double",
	Single: "single", Int8: "int8", Uint8: "uint8", Int16: "int16", Uint16: "uint16", Int32: "int32",
	Uint32: "uint32", Int64: "int64", Uint64: "uint64",
}

// String returns MATLAB's name of the class.
func (c Class) String() string {
	if n, ok := classNames[c]; ok {
		return n
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Value is one MATLAB array. Every element list is in column-major order (the first index varies
// fastest), as MATLAB stores it.
type Value struct {
	// Name is the variable name (empty for cell and structure members).
	Name string
	// Class is the array class.
	Class Class
	// Dims are the dimensions (at least two).
	Dims []int
	// Logical marks a logical (boolean) numeric array.
	Logical bool
	// Numbers holds the real parts of a numeric array other than uint8.
	Numbers []float64
	// Bytes holds the elements of a uint8 array.
	Bytes []byte
	// Text holds a character array's characters in storage order (for a row vector, the string).
	Text []rune
	// Cells holds a cell array's elements.
	Cells []*Value
	// Fields lists a structure array's field names, in file order.
	Fields []string
	// Elems holds a structure array's elements, each field by name.
	Elems []map[string]*Value
}

// Len returns the number of elements, the product of the dimensions.
func (v *Value) Len() int {
	n := 1
	for _, d := range v.Dims {
		n *= d
	}
	return n
}

// String returns the characters of a character array as a string.
func (v *Value) String() string { return string(v.Text) }

// Field returns field name of structure element i.
func (v *Value) Field(i int, name string) (*Value, error) {
	if v.Class != Struct {
		return nil, fmt.Errorf("matfile: %s is a %s array, not a struct", v.describe(), v.Class)
	}
	if i < 0 || i >= len(v.Elems) {
		return nil, fmt.Errorf("matfile: struct %s has %d elements, no element %d", v.describe(), len(v.Elems), i)
	}
	f, ok := v.Elems[i][name]
	if !ok {
		return nil, fmt.Errorf("matfile: struct %s has no field %q (fields: %v)", v.describe(), name, v.Fields)
	}
	return f, nil
}

func (v *Value) describe() string {
	if v.Name == "" {
		return "(unnamed)"
	}
	return v.Name
}

// Data element types (miINT8 ... miUTF32).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

// maxElement bounds the size of one data element (and of a decompressed one) and the number of elements
// of an array: a guard against corrupt or hostile files.
const maxElement = 1 << 28

// headerLen is the length of the file header.
const headerLen = 128

// ReadFile reads every variable of the MAT-file at path, by name.
func ReadFile(path string) (map[string]*Value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("matfile: %w", err)
	}
	vars, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("matfile: %s: %w", path, err)
	}
	return vars, nil
}

// Parse reads every variable of a MAT-file held in memory, by name.
func Parse(b []byte) (map[string]*Value, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%d bytes: too short for the 128-byte MAT-file header", len(b))
	}
	if bytes.HasPrefix(b, []byte("MATLAB 7.3")) || bytes.HasPrefix(b, []byte{0x89, 'H', 'D', 'F'}) {
		return nil, errors.New("MAT-file version 7.3 (HDF5) is not supported, only Level 5 (MATLAB 5 to 7.2)")
	}
	var order binary.ByteOrder
	switch string(b[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("endian indicator %q: not a Level 5 MAT-file", b[126:128])
	}
	if v := order.Uint16(b[124:126]); v != 0x0100 {
		return nil, fmt.Errorf("header version 0x%04x, want 0x0100 (Level 5)", v)
	}
	p := &parser{order: order}
	vars := map[string]*Value{}
	rest := b[headerLen:]
	for len(rest) > 0 {
		if len(rest) < 8 {
			// Trailing padding shorter than a tag.
			break
		}
		typ, data, next, err := p.element(rest)
		if err != nil {
			return nil, fmt.Errorf("at byte %d: %w", len(b)-len(rest), err)
		}
		v, err := p.variable(typ, data)
		if err != nil {
			return nil, fmt.Errorf("variable at byte %d: %w", len(b)-len(rest), err)
		}
		if v != nil {
			vars[v.Name] = v
		}
		rest = next
	}
	return vars, nil
}

type parser struct {
	order binary.ByteOrder
}

// element splits the data element at the start of b into its type and data, and returns the bytes after
// it (past the padding).
func (p *parser) element(b []byte) (typ uint32, data, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, nil, fmt.Errorf("%d bytes left: too short for a data element tag", len(b))
	}
	first := p.order.Uint32(b[0:4])
	if small := first >> 16; small != 0 {
		// Small data element: count in the upper 16 bits, type in the lower, data in the next 4 bytes.
		n := int(small)
		if n > 4 {
			return 0, nil, nil, fmt.Errorf("small data element of %d bytes (at most 4)", n)
		}
		return first & 0xffff, b[4 : 4+n], b[8:], nil
	}
	n := uint64(p.order.Uint32(b[4:8]))
	if n > maxElement || n > uint64(len(b)-8) {
		return 0, nil, nil, fmt.Errorf("data element of type %d claims %d bytes, %d are left", first, n, len(b)-8)
	}
	end := 8 + int(n)
	next := end
	if first != miCOMPRESSED {
		next = (end + 7) &^ 7
	}
	if next > len(b) {
		next = len(b)
	}
	return first, b[8:end], b[next:], nil
}

// variable decodes a top-level element: an miMATRIX or an miCOMPRESSED one holding an miMATRIX. Other
// element types are skipped (nil).
func (p *parser) variable(typ uint32, data []byte) (*Value, error) {
	switch typ {
	case miCOMPRESSED:
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		defer zr.Close()
		raw, err := io.ReadAll(io.LimitReader(zr, maxElement+1))
		if err != nil {
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		if len(raw) > maxElement {
			return nil, fmt.Errorf("compressed element inflates to more than %d bytes", maxElement)
		}
		t, d, _, err := p.element(raw)
		if err != nil {
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		if t != miMATRIX {
			return nil, nil
		}
		return p.matrix(d)
	case miMATRIX:
		return p.matrix(data)
	}
	return nil, nil
}

// matrix decodes the data of an miMATRIX element.
func (p *parser) matrix(b []byte) (*Value, error) {
	if len(b) == 0 {
		// An empty miMATRIX stands for an empty array (such as an unset cell).
		return &Value{Class: Double, Dims: []int{0, 0}}, nil
	}
	typ, flags, b, err := p.element(b)
	if err != nil {
		return nil, fmt.Errorf("array flags: %w", err)
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, fmt.Errorf("array flags: element of type %d and %d bytes, want miUINT32 and 8", typ, len(flags))
	}
	f0 := p.order.Uint32(flags[0:4])
	v := &Value{Class: Class(f0 & 0xff), Logical: f0&0x200 != 0}
	complexArray := f0&0x800 != 0
	typ, dims, b, err := p.element(b)
	if err != nil {
		return nil, fmt.Errorf("dimensions: %w", err)
	}
	if typ != miINT32 || len(dims) < 8 || len(dims)%4 != 0 {
		return nil, fmt.Errorf("dimensions: element of type %d and %d bytes, want miINT32 with at least 2 values", typ, len(dims))
	}
	total := int64(1)
	for i := 0; i < len(dims); i += 4 {
		d := int32(p.order.Uint32(dims[i:]))
		if d < 0 {
			return nil, fmt.Errorf("negative dimension %d", d)
		}
		v.Dims = append(v.Dims, int(d))
		total *= int64(d)
		if total > maxElement {
			return nil, fmt.Errorf("dimensions %v: too many elements", v.Dims)
		}
	}
	typ, name, b, err := p.element(b)
	if err != nil {
		return nil, fmt.Errorf("array name: %w", err)
	}
	if typ != miINT8 && typ != miUINT8 {
		return nil, fmt.Errorf("array name: element of type %d, want miINT8", typ)
	}
	v.Name = string(name)
	n := int(total)
	switch v.Class {
	case Cell, Struct:
		// Every cell or field is an element of at least 8 bytes.
		if n > len(b)/8 {
			return nil, fmt.Errorf("%s: %d elements in %d bytes", v.describe(), n, len(b))
		}
	}
	switch v.Class {
	case Cell:
		v.Cells = make([]*Value, n)
		for i := range n {
			t, d, next, err := p.element(b)
			if err != nil {
				return nil, fmt.Errorf("%s: cell %d: %w", v.describe(), i, err)
			}
			if t != miMATRIX {
				return nil, fmt.Errorf("%s: cell %d is an element of type %d, not miMATRIX", v.describe(), i, t)
			}
			if v.Cells[i], err = p.matrix(d); err != nil {
				return nil, fmt.Errorf("%s: cell %d: %w", v.describe(), i, err)
			}
			b = next
		}
	case Struct:
		if err := p.structure(v, b, n); err != nil {
			return nil, err
		}
	case Char:
		t, d, _, err := p.element(b)
		if err != nil {
			return nil, fmt.Errorf("%s: characters: %w", v.describe(), err)
		}
		if v.Text, err = p.chars(t, d); err != nil {
			return nil, fmt.Errorf("%s: %w", v.describe(), err)
		}
		if len(v.Text) != n {
			return nil, fmt.Errorf("%s: %d characters for dimensions %v", v.describe(), len(v.Text), v.Dims)
		}
	case Double, Single, Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64:
		t, d, _, err := p.element(b)
		if err != nil {
			return nil, fmt.Errorf("%s: real part: %w", v.describe(), err)
		}
		if v.Class == Uint8 && t == miUINT8 {
			v.Bytes = d
		} else {
			if v.Numbers, err = p.numbers(t, d); err != nil {
				return nil, fmt.Errorf("%s: real part: %w", v.describe(), err)
			}
			if v.Class == Uint8 {
				v.Bytes = make([]byte, len(v.Numbers))
				for i, x := range v.Numbers {
					v.Bytes[i] = byte(x)
				}
				v.Numbers = nil
			}
		}
		if got := len(v.Numbers) + len(v.Bytes); got != n {
			return nil, fmt.Errorf("%s: %d values for dimensions %v", v.describe(), got, v.Dims)
		}
		_ = complexArray // imaginary parts are not kept
	default:
		return nil, fmt.Errorf("%s: %s arrays are not supported", v.describe(), v.Class)
	}
	return v, nil
}

// structure decodes the field names and element fields of a structure array of n elements.
func (p *parser) structure(v *Value, b []byte, n int) error {
	typ, d, b, err := p.element(b)
	if err != nil {
		return fmt.Errorf("%s: field name length: %w", v.describe(), err)
	}
	if typ != miINT32 || len(d) != 4 {
		return fmt.Errorf("%s: field name length: element of type %d and %d bytes, want one miINT32", v.describe(), typ, len(d))
	}
	width := int(int32(p.order.Uint32(d)))
	typ, names, b, err := p.element(b)
	if err != nil {
		return fmt.Errorf("%s: field names: %w", v.describe(), err)
	}
	if typ != miINT8 || width <= 0 || len(names)%width != 0 {
		return fmt.Errorf("%s: field names: %d bytes of type %d for names of %d bytes", v.describe(), len(names), typ, width)
	}
	for i := 0; i < len(names); i += width {
		name := names[i : i+width]
		if k := bytes.IndexByte(name, 0); k >= 0 {
			name = name[:k]
		}
		v.Fields = append(v.Fields, string(name))
	}
	if n*len(v.Fields) > len(b)/8 {
		return fmt.Errorf("%s: %d elements of %d fields in %d bytes", v.describe(), n, len(v.Fields), len(b))
	}
	v.Elems = make([]map[string]*Value, n)
	for i := range n {
		v.Elems[i] = make(map[string]*Value, len(v.Fields))
		for _, field := range v.Fields {
			t, d, next, err := p.element(b)
			if err != nil {
				return fmt.Errorf("%s(%d).%s: %w", v.describe(), i+1, field, err)
			}
			if t != miMATRIX {
				return fmt.Errorf("%s(%d).%s is an element of type %d, not miMATRIX", v.describe(), i+1, field, t)
			}
			fv, err := p.matrix(d)
			if err != nil {
				return fmt.Errorf("%s(%d).%s: %w", v.describe(), i+1, field, err)
			}
			v.Elems[i][field] = fv
			b = next
		}
	}
	return nil
}

// chars decodes character data: UTF-16 code units (miUINT16 or miUTF16, as MATLAB writes char arrays),
// UTF-8 (miUTF8), UTF-32 or 8-bit characters.
func (p *parser) chars(t uint32, d []byte) ([]rune, error) {
	switch t {
	case miUINT16, miUTF16:
		if len(d)%2 != 0 {
			return nil, fmt.Errorf("%d bytes of UTF-16 characters", len(d))
		}
		u := make([]uint16, len(d)/2)
		for i := range u {
			u[i] = p.order.Uint16(d[2*i:])
		}
		return utf16.Decode(u), nil
	case miUTF8:
		return []rune(string(d)), nil
	case miUINT32, miINT32, miUTF32:
		if len(d)%4 != 0 {
			return nil, fmt.Errorf("%d bytes of UTF-32 characters", len(d))
		}
		r := make([]rune, len(d)/4)
		for i := range r {
			r[i] = rune(p.order.Uint32(d[4*i:]))
		}
		return r, nil
	case miINT8, miUINT8:
		r := make([]rune, len(d))
		for i, c := range d {
			r[i] = rune(c)
		}
		return r, nil
	}
	return nil, fmt.Errorf("characters of element type %d", t)
}

// numbers decodes numeric data of element type t to float64.
func (p *parser) numbers(t uint32, d []byte) ([]float64, error) {
	size := map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4,
		miSINGLE: 4, miDOUBLE: 8, miINT64: 8, miUINT64: 8}[t]
	if size == 0 {
		return nil, fmt.Errorf("element type %d is not numeric", t)
	}
	if len(d)%size != 0 {
		return nil, fmt.Errorf("%d bytes of %d-byte values", len(d), size)
	}
	out := make([]float64, len(d)/size)
	o := p.order
	for i := range out {
		e := d[i*size:]
		switch t {
		case miINT8:
			out[i] = float64(int8(e[0]))
		case miUINT8:
			out[i] = float64(e[0])
		case miINT16:
			out[i] = float64(int16(o.Uint16(e)))
		case miUINT16:
			out[i] = float64(o.Uint16(e))
		case miINT32:
			out[i] = float64(int32(o.Uint32(e)))
		case miUINT32:
			out[i] = float64(o.Uint32(e))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(o.Uint32(e)))
		case miDOUBLE:
			out[i] = math.Float64frombits(o.Uint64(e))
		case miINT64:
			out[i] = float64(int64(o.Uint64(e)))
		case miUINT64:
			out[i] = float64(o.Uint64(e))
		}
	}
	return out, nil
}
