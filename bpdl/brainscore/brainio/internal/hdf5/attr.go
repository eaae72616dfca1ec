package hdf5

import "fmt"

// Attribute is a named value attached to a group or dataset.
type Attribute struct {
	Name  string
	Type  *Datatype
	Space Dataspace
	raw   []byte
	f     *File
	addr  uint64
}

// Values decodes the attribute's elements (see File.Decode).
func (a *Attribute) Values() (Values, error) {
	v, err := a.f.Decode(a.Type, a.raw, a.Space.NumElements())
	if err != nil {
		return v, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	return v, nil
}

// ObjectRefs decodes an attribute whose elements are variable-length sequences of object references.
func (a *Attribute) ObjectRefs() ([][]uint64, error) {
	v, err := a.f.ObjectRefs(a.Type, a.raw, a.Space.NumElements())
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	return v, nil
}

// Attributes returns the object's attributes, both those stored in its header and those in dense
// storage (a fractal heap indexed by a version-2 B-tree).
func (o *Object) Attributes() ([]*Attribute, error) {
	var out []*Attribute
	for _, m := range o.msgs {
		switch m.typ {
		case msgAttribute:
			if m.flags&msgFlagShared != 0 {
				return nil, formatErrorf(m.addr, "shared attribute messages are not supported")
			}
			a, err := o.f.parseAttribute(m.data, m.addr)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		case msgAttrInfo:
			dense, err := o.denseAttributes(m)
			if err != nil {
				return nil, err
			}
			out = append(out, dense...)
		}
	}
	return out, nil
}

// Attribute returns the attribute called name, or nil when there is none.
func (o *Object) Attribute(name string) (*Attribute, error) {
	attrs, err := o.Attributes()
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, nil
}

func (f *File) parseAttribute(b []byte, addr uint64) (*Attribute, error) {
	c := newCursor(b, addr, "attribute message")
	version := c.u8()
	flags := c.u8()
	nameSize := int(c.u16())
	typeSize := int(c.u16())
	spaceSize := int(c.u16())
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2:
	case 3:
		c.u8() // name character set
	default:
		c.fail("version %d is not supported", version)
	}
	if flags&0x03 != 0 {
		c.fail("shared datatypes or dataspaces in attributes are not supported")
	}
	nameBytes := c.bytes(pad(nameSize))
	typeBytes := c.bytes(pad(typeSize))
	spaceBytes := c.bytes(pad(spaceSize))
	if c.err != nil {
		return nil, c.err
	}
	if nameSize < 1 || nameSize > len(nameBytes) {
		return nil, formatErrorf(addr, "attribute message: invalid name size %d", nameSize)
	}
	a := &Attribute{Name: trimString(nameBytes[:nameSize], false), f: f, addr: addr}
	t, err := parseDatatype(typeBytes[:typeSize], addr, 0)
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	a.Type = t
	if a.Space, err = parseDataspace(spaceBytes[:spaceSize], addr, f.lenSize); err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	need, err := byteSize(a.Space.NumElements(), t.Size)
	if err != nil || need > uint64(c.remaining()) {
		return nil, formatErrorf(addr, "attribute %q: its %v data runs past the message", a.Name, t)
	}
	a.raw = c.bytes(int(need))
	return a, nil
}

func (o *Object) denseAttributes(m message) ([]*Attribute, error) {
	c := o.f.cursorFor(m.data, m.addr, "attribute info message")
	if v := c.u8(); v != 0 {
		c.fail("version %d is not supported", v)
	}
	flags := c.u8()
	if flags&1 != 0 {
		c.skip(2)
	}
	heapAddr := c.addr()
	nameIndex := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if heapAddr == undefAddr || nameIndex == undefAddr {
		return nil, nil
	}
	heap, err := o.f.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	recs, err := o.f.btree2Records(nameIndex, 8)
	if err != nil {
		return nil, err
	}
	var out []*Attribute
	for _, r := range recs {
		if len(r) < heap.idLen+1 {
			return nil, formatErrorf(nameIndex, "attribute name index record of %d bytes is too short for a %d-byte heap ID", len(r), heap.idLen)
		}
		if r[heap.idLen]&msgFlagShared != 0 {
			return nil, formatErrorf(nameIndex, "shared attribute messages are not supported")
		}
		b, at, err := heap.get(r[:heap.idLen])
		if err != nil {
			return nil, err
		}
		a, err := o.f.parseAttribute(b, at)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
