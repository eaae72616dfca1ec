package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Values holds decoded elements: exactly one of the slices is set (possibly empty).
type Values struct {
	Strings []string
	Floats  []float64
	Ints    []int64
}

// Len is the number of values.
func (v Values) Len() int {
	switch {
	case v.Strings != nil:
		return len(v.Strings)
	case v.Floats != nil:
		return len(v.Floats)
	}
	return len(v.Ints)
}

// Decode converts n elements of type t stored in raw (as read from the file) into values: strings for
// fixed- and variable-length strings, int64 for fixed-point numbers, float64 for floating-point numbers.
func (f *File) Decode(t *Datatype, raw []byte, n uint64) (Values, error) {
	need, err := byteSize(n, t.Size)
	if err != nil {
		return Values{}, &FormatError{Addr: undefAddr, Msg: err.Error()}
	}
	if uint64(len(raw)) < need {
		return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("%d elements of %v need %d bytes, have %d", n, t, need, len(raw))}
	}
	switch t.Class {
	case ClassFixed:
		if t.offset != 0 || t.Size > 8 {
			return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("unsupported fixed-point layout (%d bytes, bit offset %d)", t.Size, t.offset)}
		}
		out := make([]int64, n)
		for i := range out {
			u := fixedBits(raw[i*t.Size:(i+1)*t.Size], t.BigEndian)
			if t.Signed {
				shift := 64 - 8*uint(t.Size)
				out[i] = int64(u<<shift) >> shift
			} else {
				if u > math.MaxInt64 {
					return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("unsigned value %d does not fit in int64", u)}
				}
				out[i] = int64(u)
			}
		}
		return Values{Ints: out}, nil
	case ClassFloat:
		if !t.ieee {
			return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("unsupported floating-point layout (%d bytes, not IEEE 754)", t.Size)}
		}
		out := make([]float64, n)
		var order binary.ByteOrder = binary.LittleEndian
		if t.BigEndian {
			order = binary.BigEndian
		}
		for i := range out {
			if t.Size == 4 {
				out[i] = float64(math.Float32frombits(order.Uint32(raw[4*i:])))
			} else {
				out[i] = math.Float64frombits(order.Uint64(raw[8*i:]))
			}
		}
		return Values{Floats: out}, nil
	case ClassString:
		out := make([]string, n)
		for i := range out {
			out[i] = trimString(raw[i*t.Size:(i+1)*t.Size], t.SpacePadded)
		}
		return Values{Strings: out}, nil
	case ClassVlen:
		if !t.VlenString && (t.Base == nil || t.Base.Class != ClassFixed || t.Base.Size != 1) {
			return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("unsupported %v", t)}
		}
		out := make([]string, n)
		for i := range out {
			s, err := f.vlenString(raw[i*t.Size:(i+1)*t.Size], t.SpacePadded)
			if err != nil {
				return Values{}, err
			}
			out[i] = s
		}
		return Values{Strings: out}, nil
	}
	return Values{}, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("cannot decode %v data", t)}
}

func fixedBits(b []byte, bigEndian bool) uint64 {
	if !bigEndian {
		return leUint(b)
	}
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// trimString cuts a fixed-length string at its first NUL (or trailing spaces when space padded).
func trimString(b []byte, spacePadded bool) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := string(b)
	if spacePadded {
		s = strings.TrimRight(s, " ")
	}
	return s
}

// vlenString decodes one variable-length string element: its length, then a global heap ID.
func (f *File) vlenString(elem []byte, spacePadded bool) (string, error) {
	c := f.cursorFor(elem, undefAddr, "variable-length string")
	n := c.u32()
	coll := c.addr()
	idx := c.u32()
	if c.err != nil {
		return "", c.err
	}
	if n == 0 || coll == 0 || coll == undefAddr {
		return "", nil
	}
	key := gref{coll, idx}
	if s, ok := f.gstrings[key]; ok {
		return s, nil
	}
	obj, err := f.globalObject(coll, idx)
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(len(obj)) {
		return "", formatErrorf(coll, "variable-length string of %d bytes in a %d-byte global heap object", n, len(obj))
	}
	s := trimString(obj[:n], spacePadded)
	f.gstrings[key] = s
	return s, nil
}

// ObjectRefs decodes a variable-length sequence of object references per element (the datatype of the
// DIMENSION_LIST attribute that dimension scales attach to a dataset): for each element, the addresses of
// the referenced object headers.
func (f *File) ObjectRefs(t *Datatype, raw []byte, n uint64) ([][]uint64, error) {
	if t.Class != ClassVlen || t.VlenString || t.Base == nil || t.Base.Class != ClassReference || t.Base.refTyp != 0 {
		return nil, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("expected a variable-length sequence of object references, got %v", t)}
	}
	need, err := byteSize(n, t.Size)
	if err != nil || uint64(len(raw)) < need {
		return nil, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("%d object reference lists need more than the %d bytes stored", n, len(raw))}
	}
	out := make([][]uint64, n)
	rs := t.Base.Size
	if rs < 1 || rs > 8 {
		return nil, &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("object reference of %d bytes", rs)}
	}
	for i := range out {
		c := f.cursorFor(raw[i*t.Size:(i+1)*t.Size], undefAddr, "object reference list")
		cnt := uint64(c.u32())
		coll := c.addr()
		idx := c.u32()
		if c.err != nil {
			return nil, c.err
		}
		if cnt == 0 {
			continue
		}
		obj, err := f.globalObject(coll, idx)
		if err != nil {
			return nil, err
		}
		if cnt > uint64(len(obj))/uint64(rs) {
			return nil, formatErrorf(coll, "%d object references in a %d-byte global heap object", cnt, len(obj))
		}
		refs := make([]uint64, cnt)
		for j := range refs {
			refs[j] = leUint(obj[j*rs : (j+1)*rs])
		}
		out[i] = refs
	}
	return out, nil
}
