package hdf5

import "math/bits"

// limitEncSize is the number of bytes needed to encode values up to x.
func limitEncSize(x uint64) int {
	if x == 0 {
		return 1
	}
	return (bits.Len64(x)-1)/8 + 1
}

// btree2Records returns the records of the version-2 B-tree at addr, which must be of type wantType, in
// tree order.
func (f *File) btree2Records(addr uint64, wantType uint8) ([][]byte, error) {
	b, err := f.read(addr, 4+1+1+4+2+2+1+1+uint64(f.offSize)+2+uint64(f.lenSize)+4, "version 2 B-tree header")
	if err != nil {
		return nil, err
	}
	if err := checkSignature(b, "BTHD", addr, "version 2 B-tree header"); err != nil {
		return nil, err
	}
	if err := verifyChecksum(b, "version 2 B-tree header", addr); err != nil {
		return nil, err
	}
	c := f.cursorFor(b, addr, "version 2 B-tree header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		c.fail("version %d is not supported", v)
	}
	typ := c.u8()
	nodeSize := uint64(c.u32())
	recSize := uint64(c.u16())
	depth := int(c.u16())
	c.skip(2)
	root := c.addr()
	rootN := uint64(c.u16())
	c.length() // total records
	if c.err != nil {
		return nil, c.err
	}
	if typ != wantType {
		return nil, formatErrorf(addr, "version 2 B-tree of type %d, expected type %d", typ, wantType)
	}
	if recSize == 0 || nodeSize <= 10 || nodeSize > f.size || depth > 32 {
		return nil, formatErrorf(addr, "version 2 B-tree header: implausible node size %d, record size %d or depth %d", nodeSize, recSize, depth)
	}
	t := &btree2{f: f, addr: addr, nodeSize: nodeSize, recSize: recSize, seen: map[uint64]bool{}}
	// Field widths of internal nodes, level by level.
	leafMax := (nodeSize - 10) / recSize
	if leafMax == 0 {
		return nil, formatErrorf(addr, "version 2 B-tree: records of %d bytes do not fit in %d-byte nodes", recSize, nodeSize)
	}
	t.nrecSize = limitEncSize(leafMax)
	t.cumSize = make([]int, depth+1)
	cumMax := leafMax
	for d := 1; d <= depth; d++ {
		ptr := uint64(f.offSize + t.nrecSize)
		if d > 1 {
			ptr += uint64(t.cumSize[d-1])
		}
		if nodeSize < 10+ptr {
			return nil, formatErrorf(addr, "version 2 B-tree: nodes too small for depth %d", depth)
		}
		maxN := (nodeSize - 10 - ptr) / (recSize + ptr)
		hi, lo := bits.Mul64(maxN+1, cumMax)
		if hi != 0 || lo+maxN < lo {
			cumMax = ^uint64(0)
		} else {
			cumMax = lo + maxN
		}
		t.cumSize[d] = limitEncSize(cumMax)
	}
	if root == undefAddr || rootN == 0 {
		return nil, nil
	}
	if err := t.node(root, depth, rootN); err != nil {
		return nil, err
	}
	return t.recs, nil
}

type btree2 struct {
	f                 *File
	addr              uint64
	nodeSize, recSize uint64
	nrecSize          int
	cumSize           []int
	seen              map[uint64]bool
	recs              [][]byte
}

func (t *btree2) node(addr uint64, depth int, n uint64) error {
	if t.seen[addr] {
		return formatErrorf(addr, "version 2 B-tree nodes form a cycle")
	}
	t.seen[addr] = true
	if n > t.nodeSize || n*t.recSize > t.nodeSize {
		return formatErrorf(addr, "version 2 B-tree node claims %d records of %d bytes in a %d-byte node", n, t.recSize, t.nodeSize)
	}
	sig, what := "BTLF", "version 2 B-tree leaf node"
	size := 6 + n*t.recSize + 4
	ptr := uint64(t.f.offSize + t.nrecSize)
	if depth > 0 {
		sig, what = "BTIN", "version 2 B-tree internal node"
		if depth > 1 {
			ptr += uint64(t.cumSize[depth-1])
		}
		size += (n + 1) * ptr
	}
	if size > t.nodeSize {
		return formatErrorf(addr, "%s of %d records overflows its %d-byte node", what, n, t.nodeSize)
	}
	b, err := t.f.read(addr, size, what)
	if err != nil {
		return err
	}
	if err := checkSignature(b, sig, addr, what); err != nil {
		return err
	}
	if err := verifyChecksum(b, what, addr); err != nil {
		return err
	}
	c := t.f.cursorFor(b, addr, what)
	c.skip(6)
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = c.bytes(int(t.recSize))
	}
	if depth == 0 {
		t.recs = append(t.recs, recs...)
		return c.err
	}
	type child struct {
		addr uint64
		n    uint64
	}
	children := make([]child, n+1)
	for i := range children {
		children[i].addr = c.addr()
		children[i].n = c.uint(t.nrecSize)
		if depth > 1 {
			c.uint(t.cumSize[depth-1])
		}
	}
	if c.err != nil {
		return c.err
	}
	for i, ch := range children {
		if err := t.node(ch.addr, depth-1, ch.n); err != nil {
			return err
		}
		if i < len(recs) {
			t.recs = append(t.recs, recs[i])
		}
	}
	return nil
}
