package hdf5

import (
	"fmt"
	"strings"
)

// Link is a hard link from a group to an object.
type Link struct {
	Name string
	Addr uint64 // address of the object header
}

// Links returns the hard links of a group, from its symbol table (old-style groups) or its link messages
// (new-style groups, compact or dense). Soft and external links are skipped.
func (o *Object) Links() ([]Link, error) {
	var out []Link
	for _, m := range o.msgs {
		switch m.typ {
		case msgSymbolTable:
			ls, err := o.symbolTableLinks(m)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
		case msgLink:
			l, ok, err := o.f.parseLink(m.data, m.addr)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, l)
			}
		case msgLinkInfo:
			ls, err := o.denseLinks(m)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
		}
	}
	return out, nil
}

// Open follows a slash-separated path of links from o (a group) and returns the object it names. An
// empty path or "/" returns o itself.
func (o *Object) Open(path string) (*Object, error) {
	cur := o
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		links, err := cur.Links()
		if err != nil {
			return nil, err
		}
		found := false
		for _, l := range links {
			if l.Name == name {
				if cur, err = o.f.Object(l.Addr); err != nil {
					return nil, fmt.Errorf("hdf5: opening %q: %w", name, err)
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("hdf5: no object %q in group", name)
		}
	}
	return cur, nil
}

func (f *File) parseLink(b []byte, addr uint64) (Link, bool, error) {
	c := f.cursorFor(b, addr, "link message")
	if v := c.u8(); v != 1 {
		c.fail("version %d is not supported", v)
	}
	flags := c.u8()
	typ := uint8(0)
	if flags&0x08 != 0 {
		typ = c.u8()
	}
	if flags&0x04 != 0 {
		c.skip(8) // creation order
	}
	if flags&0x10 != 0 {
		c.skip(1) // character set
	}
	n := c.uint(1 << (flags & 3))
	if c.err == nil && n > uint64(c.remaining()) {
		c.fail("link name of %d bytes overruns the message", n)
	}
	name := string(c.bytes(int(n)))
	var l Link
	if typ == 0 {
		l = Link{Name: name, Addr: c.addr()}
	}
	if c.err != nil {
		return Link{}, false, c.err
	}
	return l, typ == 0, nil
}

func (o *Object) denseLinks(m message) ([]Link, error) {
	c := o.f.cursorFor(m.data, m.addr, "link info message")
	if v := c.u8(); v != 0 {
		c.fail("version %d is not supported", v)
	}
	flags := c.u8()
	if flags&1 != 0 {
		c.skip(8)
	}
	heapAddr := c.addr()
	nameIndex := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if heapAddr == undefAddr || nameIndex == undefAddr {
		return nil, nil // compact storage: the links are link messages
	}
	heap, err := o.f.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	recs, err := o.f.btree2Records(nameIndex, 5)
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, r := range recs {
		if len(r) < 4+heap.idLen {
			return nil, formatErrorf(nameIndex, "link name index record of %d bytes is too short for a %d-byte heap ID", len(r), heap.idLen)
		}
		b, at, err := heap.get(r[4 : 4+heap.idLen])
		if err != nil {
			return nil, err
		}
		l, ok, err := o.f.parseLink(b, at)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// symbolTableLinks reads an old-style group: a version 1 B-tree of symbol table nodes whose entries name
// their links by offsets into a local heap.
func (o *Object) symbolTableLinks(m message) ([]Link, error) {
	f := o.f
	c := f.cursorFor(m.data, m.addr, "symbol table message")
	btree := c.addr()
	heapAddr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	names, err := f.localHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var out []Link
	err = f.walkBtree1(btree, 0, 0, map[uint64]bool{}, func(_ []byte, child uint64) error {
		ls, err := f.symbolNode(child, names)
		out = append(out, ls...)
		return err
	})
	return out, err
}

// localHeap returns the data segment of the local heap at addr.
func (f *File) localHeap(addr uint64) ([]byte, error) {
	b, err := f.read(addr, 8+2*uint64(f.lenSize)+uint64(f.offSize), "local heap")
	if err != nil {
		return nil, err
	}
	if err := checkSignature(b, "HEAP", addr, "local heap"); err != nil {
		return nil, err
	}
	c := f.cursorFor(b, addr, "local heap")
	c.skip(8)
	size := c.length()
	c.length() // free list
	data := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	return f.read(data, size, "local heap data segment")
}

func (f *File) symbolNode(addr uint64, names []byte) ([]Link, error) {
	hdr, err := f.read(addr, 8, "symbol table node")
	if err != nil {
		return nil, err
	}
	if err := checkSignature(hdr, "SNOD", addr, "symbol table node"); err != nil {
		return nil, err
	}
	n := uint64(hdr[6]) | uint64(hdr[7])<<8
	entry := 2*uint64(f.offSize) + 4 + 4 + 16
	b, err := f.read(addr+8, n*entry, "symbol table node entries")
	if err != nil {
		return nil, err
	}
	c := f.cursorFor(b, addr+8, "symbol table entry")
	out := make([]Link, 0, n)
	for range n {
		nameOff := c.addr()
		obj := c.addr()
		c.skip(4 + 4 + 16)
		if c.err != nil {
			return nil, c.err
		}
		if nameOff >= uint64(len(names)) {
			return nil, formatErrorf(addr, "symbol table entry name offset %d is outside the %d-byte local heap", nameOff, len(names))
		}
		nc := newCursor(names[nameOff:], addr, "symbol table entry name")
		name := nc.cstring()
		if nc.err != nil {
			return nil, nc.err
		}
		out = append(out, Link{Name: name, Addr: obj})
	}
	return out, nil
}

// walkBtree1 visits the leaf entries of the version 1 B-tree at addr of the given node type (0: group
// nodes, 1: raw data chunks, whose keys describe rank+1 dimensions), calling visit with each child's key
// (the key before it) and address.
func (f *File) walkBtree1(addr uint64, typ uint8, rank int, seen map[uint64]bool, visit func(key []byte, child uint64) error) error {
	return f.walkBtree1Node(addr, typ, rank, -1, seen, visit)
}

func (f *File) walkBtree1Node(addr uint64, typ uint8, rank int, wantLevel int, seen map[uint64]bool, visit func(key []byte, child uint64) error) error {
	if seen[addr] {
		return formatErrorf(addr, "version 1 B-tree nodes form a cycle")
	}
	seen[addr] = true
	hdrSize := 8 + 2*uint64(f.offSize)
	hdr, err := f.read(addr, hdrSize, "version 1 B-tree node")
	if err != nil {
		return err
	}
	if err := checkSignature(hdr, "TREE", addr, "version 1 B-tree node"); err != nil {
		return err
	}
	if hdr[4] != typ {
		return formatErrorf(addr, "version 1 B-tree node of type %d, expected type %d", hdr[4], typ)
	}
	level := int(hdr[5])
	if wantLevel >= 0 && level != wantLevel {
		return formatErrorf(addr, "version 1 B-tree node at level %d, expected level %d", level, wantLevel)
	}
	entries := uint64(hdr[6]) | uint64(hdr[7])<<8
	keySize := uint64(f.lenSize)
	if typ == 1 {
		keySize = 8 + 8*uint64(rank+1)
	}
	b, err := f.read(addr+hdrSize, entries*(keySize+uint64(f.offSize))+keySize, "version 1 B-tree node entries")
	if err != nil {
		return err
	}
	c := f.cursorFor(b, addr+hdrSize, "version 1 B-tree node")
	for range entries {
		key := c.bytes(int(keySize))
		child := c.addr()
		if c.err != nil {
			return c.err
		}
		if level > 0 {
			err = f.walkBtree1Node(child, typ, rank, level-1, seen, visit)
		} else {
			err = visit(key, child)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
