package hdf5

import "math/bits"

// fractalHeap is a decoded fractal heap header: the store of dense links and dense attributes.
type fractalHeap struct {
	f          *File
	addr       uint64
	idLen      int
	flags      uint8
	maxManaged uint64
	width      uint64 // table width
	startBlock uint64
	maxDirect  uint64
	heapBits   int // maximum heap size, in bits of heap address
	rootAddr   uint64
	rootRows   uint64
	offBytes   int // bytes of a heap offset (in heap IDs and block headers)
	lenBytes   int // bytes of an object length in a managed heap ID
	directRows uint64
}

func (f *File) fractalHeap(addr uint64) (*fractalHeap, error) {
	b, err := f.readUpTo(addr, 4+1+2+2+1+4+12*8+2+8+8+2+2+8+2+8+4+64, "fractal heap header")
	if err != nil {
		return nil, err
	}
	if err := checkSignature(b, "FRHP", addr, "fractal heap header"); err != nil {
		return nil, err
	}
	c := f.cursorFor(b, addr, "fractal heap header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		c.fail("version %d is not supported", v)
	}
	h := &fractalHeap{f: f, addr: addr}
	h.idLen = int(c.u16())
	filterLen := c.u16()
	h.flags = c.u8()
	h.maxManaged = uint64(c.u32())
	c.length() // next huge object ID
	c.addr()   // huge object B-tree
	c.length() // free space in managed blocks
	c.addr()   // free-space manager
	c.length() // managed space
	c.length() // allocated managed space
	c.length() // direct block allocation iterator offset
	c.length() // managed objects
	c.length() // huge objects size
	c.length() // huge objects count
	c.length() // tiny objects size
	c.length() // tiny objects count
	h.width = uint64(c.u16())
	h.startBlock = c.length()
	h.maxDirect = c.length()
	h.heapBits = int(c.u16())
	c.u16() // starting rows in root indirect block
	h.rootAddr = c.addr()
	h.rootRows = uint64(c.u16())
	if c.err != nil {
		return nil, c.err
	}
	if filterLen != 0 {
		return nil, formatErrorf(addr, "fractal heap with I/O filters is not supported")
	}
	sum := c.off
	c.skip(4)
	if c.err != nil {
		return nil, c.err
	}
	if err := verifyChecksum(b[:sum+4], "fractal heap header", addr); err != nil {
		return nil, err
	}
	pow2 := func(x uint64) bool { return x != 0 && x&(x-1) == 0 }
	if !pow2(h.width) || !pow2(h.startBlock) || !pow2(h.maxDirect) || h.maxDirect < h.startBlock ||
		h.heapBits < 1 || h.heapBits > 64 || h.idLen < 1 || h.idLen > 64 || h.maxDirect > 1<<40 {
		return nil, formatErrorf(addr, "fractal heap header: implausible table parameters (width %d, start block %d, max direct block %d, %d heap bits, ID length %d)", h.width, h.startBlock, h.maxDirect, h.heapBits, h.idLen)
	}
	h.offBytes = (h.heapBits + 7) / 8
	m := min(h.maxDirect, h.maxManaged)
	h.lenBytes = (bits.Len64(m)-1)/8 + 1
	h.directRows = uint64(bits.TrailingZeros64(h.maxDirect)-bits.TrailingZeros64(h.startBlock)) + 2
	return h, nil
}

// rowSize is the size of each block in row r of a doubling table.
func (h *fractalHeap) rowSize(r uint64) uint64 {
	if r == 0 {
		return h.startBlock
	}
	if r-1 >= 64 {
		return 0
	}
	s := h.startBlock << (r - 1)
	if s>>(r-1) != h.startBlock {
		return 0 // overflow
	}
	return s
}

// get returns the bytes of the object with the given heap ID and their file address.
func (h *fractalHeap) get(id []byte) ([]byte, uint64, error) {
	if len(id) < 1 {
		return nil, 0, formatErrorf(h.addr, "empty fractal heap ID")
	}
	if id[0]>>6 != 0 {
		return nil, 0, formatErrorf(h.addr, "fractal heap ID version %d is not supported", id[0]>>6)
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		c := newCursor(id, h.addr, "fractal heap ID")
		c.skip(1)
		off := c.uint(h.offBytes)
		n := c.uint(h.lenBytes)
		if c.err != nil {
			return nil, 0, c.err
		}
		if n == 0 || n > h.maxManaged {
			return nil, 0, formatErrorf(h.addr, "fractal heap object of implausible length %d", n)
		}
		if h.rootRows == 0 {
			return h.fromDirect(h.rootAddr, h.startBlock, 0, off, n)
		}
		return h.fromIndirect(h.rootAddr, h.rootRows, 0, off, n, 0)
	case 2: // tiny: the object is in the ID itself
		if h.idLen <= 18 {
			n := int(id[0]&0x0f) + 1
			if 1+n > len(id) {
				return nil, 0, formatErrorf(h.addr, "tiny fractal heap object overruns its ID")
			}
			return id[1 : 1+n], h.addr, nil
		}
		if len(id) < 2 {
			return nil, 0, formatErrorf(h.addr, "tiny fractal heap object overruns its ID")
		}
		n := (int(id[0]&0x0f)<<8 | int(id[1])) + 1
		if 2+n > len(id) {
			return nil, 0, formatErrorf(h.addr, "tiny fractal heap object overruns its ID")
		}
		return id[2 : 2+n], h.addr, nil
	}
	return nil, 0, formatErrorf(h.addr, "huge fractal heap objects are not supported")
}

// fromDirect reads n bytes at heap offset off from the direct block at addr, which holds the heap
// offsets [start, start+size).
func (h *fractalHeap) fromDirect(addr, size, start, off, n uint64) ([]byte, uint64, error) {
	if off < start || off-start >= size || n > size-(off-start) {
		return nil, 0, formatErrorf(addr, "fractal heap object [%d,+%d) is outside its direct block [%d,+%d)", off, n, start, size)
	}
	hdr, err := h.f.read(addr, 4, "fractal heap direct block")
	if err != nil {
		return nil, 0, err
	}
	if err := checkSignature(hdr, "FHDB", addr, "fractal heap direct block"); err != nil {
		return nil, 0, err
	}
	pos := off - start
	prefix := uint64(5 + h.f.offSize + h.offBytes)
	if h.flags&0x02 != 0 {
		prefix += 4
	}
	if pos < prefix {
		return nil, 0, formatErrorf(addr, "fractal heap object at offset %d overlaps the direct block header", pos)
	}
	b, err := h.f.read(addr+pos, n, "fractal heap object")
	if err != nil {
		return nil, 0, err
	}
	return b, addr + pos, nil
}

// fromIndirect finds heap offset off below the indirect block at addr that has rows rows and starts at
// heap offset start.
func (h *fractalHeap) fromIndirect(addr, rows, start, off, n uint64, depth int) ([]byte, uint64, error) {
	if depth > 64 || rows > 64 {
		return nil, 0, formatErrorf(addr, "fractal heap indirect blocks nested too deep")
	}
	prefix := uint64(5 + h.f.offSize + h.offBytes)
	nDirect := min(rows, h.directRows) * h.width
	nIndirect := uint64(0)
	if rows > h.directRows {
		nIndirect = (rows - h.directRows) * h.width
	}
	size := prefix + (nDirect+nIndirect)*uint64(h.f.offSize) + 4
	b, err := h.f.read(addr, size, "fractal heap indirect block")
	if err != nil {
		return nil, 0, err
	}
	if err := checkSignature(b, "FHIB", addr, "fractal heap indirect block"); err != nil {
		return nil, 0, err
	}
	if err := verifyChecksum(b, "fractal heap indirect block", addr); err != nil {
		return nil, 0, err
	}
	c := h.f.cursorFor(b, addr, "fractal heap indirect block")
	c.skip(int(prefix))
	pos := start
	for r := uint64(0); r < rows; r++ {
		rs := h.rowSize(r)
		if rs == 0 {
			return nil, 0, formatErrorf(addr, "fractal heap row %d overflows", r)
		}
		for col := uint64(0); col < h.width; col++ {
			child := c.addr()
			if c.err != nil {
				return nil, 0, c.err
			}
			if off >= pos && off-pos < rs {
				if child == undefAddr {
					return nil, 0, formatErrorf(addr, "fractal heap offset %d is in an unallocated block", off)
				}
				if r < h.directRows {
					return h.fromDirect(child, rs, pos, off, n)
				}
				childRows := uint64(bits.TrailingZeros64(rs)-bits.TrailingZeros64(h.startBlock*h.width)) + 1
				if childRows >= rows {
					return nil, 0, formatErrorf(addr, "fractal heap indirect block does not shrink")
				}
				return h.fromIndirect(child, childRows, pos, off, n, depth+1)
			}
			pos += rs
		}
	}
	return nil, 0, formatErrorf(addr, "fractal heap offset %d is past the end of the heap", off)
}
