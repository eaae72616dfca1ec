package hdf5

import (
	"fmt"
	"math/bits"
)

// Class is an HDF5 datatype class.
type Class int

// The datatype classes of the HDF5 format.
const (
	ClassFixed     Class = 0
	ClassFloat     Class = 1
	ClassTime      Class = 2
	ClassString    Class = 3
	ClassBitfield  Class = 4
	ClassOpaque    Class = 5
	ClassCompound  Class = 6
	ClassReference Class = 7
	ClassEnum      Class = 8
	ClassVlen      Class = 9
	ClassArray     Class = 10
)

var classNames = [...]string{"fixed-point", "floating-point", "time", "string", "bitfield", "opaque",
	"compound", "reference", "enumeration", "variable-length", "array"}

// String names the class as the HDF5 specification does.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class %d", int(c))
}

// Datatype describes the elements of a dataset or attribute.
type Datatype struct {
	Class Class
	// Size is the size of one element in bytes (for variable-length data: of its heap reference).
	Size int
	// BigEndian is the byte order of fixed- and floating-point numbers.
	BigEndian bool
	// Signed is set for signed fixed-point numbers.
	Signed bool
	// VlenString is set for variable-length strings (as opposed to sequences).
	VlenString bool
	// Base is the element type of a variable-length sequence.
	Base *Datatype
	// SpacePadded is set for fixed-length strings padded with spaces (rather than NULs).
	SpacePadded bool

	ieee   bool  // floating point: an IEEE 754 single or double layout
	offset int   // fixed point: bit offset
	prec   int   // fixed point: precision in bits
	refTyp uint8 // reference: 0 object, 1 region
}

// String describes the datatype, for error messages.
func (t *Datatype) String() string {
	switch t.Class {
	case ClassVlen:
		if t.VlenString {
			return "variable-length string"
		}
		if t.Base != nil {
			return "variable-length sequence of " + t.Base.String()
		}
	case ClassFixed:
		if t.Signed {
			return fmt.Sprintf("int%d", 8*t.Size)
		}
		return fmt.Sprintf("uint%d", 8*t.Size)
	case ClassFloat:
		return fmt.Sprintf("float%d", 8*t.Size)
	case ClassString:
		return fmt.Sprintf("string of %d bytes", t.Size)
	}
	return fmt.Sprintf("%v of %d bytes", t.Class, t.Size)
}

// maxTypeDepth bounds the nesting of datatypes (variable-length of variable-length of ...).
const maxTypeDepth = 8

// parseDatatype decodes a datatype message.
func parseDatatype(b []byte, addr uint64, depth int) (*Datatype, error) {
	if depth > maxTypeDepth {
		return nil, formatErrorf(addr, "datatype nested more than %d deep", maxTypeDepth)
	}
	c := newCursor(b, addr, "datatype message")
	cv := c.u8()
	bf := [3]byte{c.u8(), c.u8(), c.u8()}
	size := c.u32()
	if c.err != nil {
		return nil, c.err
	}
	version := cv >> 4
	if version < 1 || version > 5 {
		return nil, formatErrorf(addr, "datatype: version %d is not valid", version)
	}
	t := &Datatype{Class: Class(cv & 0x0f), Size: int(size)}
	if size == 0 || size > 1<<24 {
		return nil, formatErrorf(addr, "datatype: implausible element size %d", size)
	}
	switch t.Class {
	case ClassFixed:
		t.BigEndian = bf[0]&1 != 0
		t.Signed = bf[0]&0x08 != 0
		t.offset = int(c.u16())
		t.prec = int(c.u16())
	case ClassFloat:
		order := bf[0]&1 | (bf[0]>>5)&2
		if order&2 != 0 {
			return nil, formatErrorf(addr, "datatype: VAX floating-point byte order is not supported")
		}
		t.BigEndian = order == 1
		off := c.u16()
		prec := c.u16()
		expLoc, expSize, manLoc, manSize := c.u8(), c.u8(), c.u8(), c.u8()
		bias := c.u32()
		switch {
		case size == 4 && off == 0 && prec == 32 && expLoc == 23 && expSize == 8 && manLoc == 0 && manSize == 23 && bias == 127:
			t.ieee = true
		case size == 8 && off == 0 && prec == 64 && expLoc == 52 && expSize == 11 && manLoc == 0 && manSize == 52 && bias == 1023:
			t.ieee = true
		}
	case ClassString:
		t.SpacePadded = bf[0]&0x0f == 2
	case ClassReference:
		t.refTyp = bf[0] & 0x0f
	case ClassVlen:
		t.VlenString = bf[0]&0x0f == 1
		t.SpacePadded = (bf[0]>>4)&0x0f == 2
		if c.err != nil {
			return nil, c.err
		}
		base, err := parseDatatype(b[c.off:], addr+uint64(c.off), depth+1)
		if err != nil {
			return nil, err
		}
		t.Base = base
		return t, nil
	default:
		// Other classes are recognised so that their attributes can be skipped, but not decoded.
	}
	if c.err != nil {
		return nil, c.err
	}
	return t, nil
}

// Dataspace is the shape of a dataset or attribute.
type Dataspace struct {
	// Dims is the size of each dimension; empty for a scalar.
	Dims []uint64
	// Null is set for a dataspace with no elements at all.
	Null bool
}

// maxRank is the largest rank the HDF5 format allows.
const maxRank = 32

func parseDataspace(b []byte, addr uint64, lenSize int) (Dataspace, error) {
	c := newCursor(b, addr, "dataspace message")
	version := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	var ds Dataspace
	switch version {
	case 1:
		c.skip(1 + 4)
	case 2:
		switch typ := c.u8(); typ {
		case 0:
			rank = 0
		case 1:
		case 2:
			ds.Null = true
			rank = 0
		default:
			c.fail("unknown dataspace type %d", typ)
		}
	default:
		c.fail("version %d is not supported", version)
	}
	if rank > maxRank {
		c.fail("rank %d exceeds the maximum of %d", rank, maxRank)
	}
	if c.err != nil {
		return ds, c.err
	}
	if rank > 0 {
		ds.Dims = make([]uint64, rank)
		for i := range ds.Dims {
			ds.Dims[i] = c.uint(lenSize)
		}
	}
	_ = flags // maximum dimensions and permutation indices follow; they are not needed for reading
	if c.err != nil {
		return ds, c.err
	}
	if _, err := ds.numElements(); err != nil {
		return ds, formatErrorf(addr, "dataspace: %v", err)
	}
	return ds, nil
}

// NumElements is the number of elements in the dataspace.
func (ds Dataspace) NumElements() uint64 {
	n, _ := ds.numElements()
	return n
}

func (ds Dataspace) numElements() (uint64, error) {
	if ds.Null {
		return 0, nil
	}
	n := uint64(1)
	for _, d := range ds.Dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, fmt.Errorf("dimensions %v overflow", ds.Dims)
		}
		n = lo
	}
	return n, nil
}

// byteSize returns n*size, or an error when it overflows.
func byteSize(n uint64, size int) (uint64, error) {
	hi, lo := bits.Mul64(n, uint64(size))
	if hi != 0 || lo > 1<<62 {
		return 0, fmt.Errorf("%d elements of %d bytes overflow", n, size)
	}
	return lo, nil
}
