package hdf5

// gref names an object in a global heap collection.
type gref struct {
	coll uint64
	idx  uint32
}

// globalHeap is a decoded global heap collection: its objects by index.
type globalHeap struct {
	objects map[uint16][]byte
}

// globalObject returns object idx of the global heap collection at addr.
func (f *File) globalObject(addr uint64, idx uint32) ([]byte, error) {
	h, ok := f.gheaps[addr]
	if !ok {
		var err error
		if h, err = f.readGlobalHeap(addr); err != nil {
			return nil, err
		}
		f.gheaps[addr] = h
	}
	if idx > 0xffff {
		return nil, formatErrorf(addr, "global heap object index %d out of range", idx)
	}
	obj, ok := h.objects[uint16(idx)]
	if !ok {
		return nil, formatErrorf(addr, "global heap collection has no object %d", idx)
	}
	return obj, nil
}

func (f *File) readGlobalHeap(addr uint64) (*globalHeap, error) {
	hdr, err := f.read(addr, 8+uint64(f.lenSize), "global heap collection")
	if err != nil {
		return nil, err
	}
	if err := checkSignature(hdr, "GCOL", addr, "global heap collection"); err != nil {
		return nil, err
	}
	if hdr[4] != 1 {
		return nil, formatErrorf(addr, "global heap collection: version %d is not supported", hdr[4])
	}
	size := leUint(hdr[8:])
	if size < uint64(len(hdr)) || size > f.size {
		return nil, formatErrorf(addr, "global heap collection: implausible size %d", size)
	}
	b, err := f.read(addr, size, "global heap collection")
	if err != nil {
		return nil, err
	}
	h := &globalHeap{objects: map[uint16][]byte{}}
	c := f.cursorFor(b, addr, "global heap object")
	c.skip(len(hdr))
	objHdr := 8 + f.lenSize
	for c.remaining() >= objHdr && c.err == nil {
		idx := c.u16()
		c.u16() // reference count
		c.skip(4)
		n := c.length()
		if idx == 0 { // free space: the rest of the collection
			break
		}
		if n > uint64(c.remaining()) {
			return nil, formatErrorf(addr, "global heap object %d of %d bytes runs past its collection", idx, n)
		}
		h.objects[idx] = c.bytes(int(n))
		c.align(8)
		if c.err != nil { // padding of the last object may be cut short
			c.err = nil
			break
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return h, nil
}
