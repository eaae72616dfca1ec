package hdf5

// Header message types.
const (
	msgNil          = 0x0000
	msgDataspace    = 0x0001
	msgLinkInfo     = 0x0002
	msgDatatype     = 0x0003
	msgFillOld      = 0x0004
	msgFill         = 0x0005
	msgLink         = 0x0006
	msgLayout       = 0x0008
	msgFilters      = 0x000B
	msgAttribute    = 0x000C
	msgContinuation = 0x0010
	msgSymbolTable  = 0x0011
	msgAttrInfo     = 0x0015
)

// message flag bits.
const msgFlagShared = 0x02

type message struct {
	typ   uint16
	flags uint8
	data  []byte
	addr  uint64 // file address of data, for error messages
}

// Object is a decoded object header: a group, a dataset or a committed datatype.
type Object struct {
	f *File
	// Addr is the address of the object header, which identifies the object in the file (object
	// references point at it).
	Addr uint64
	msgs []message
}

// Object decodes the object header at addr.
func (f *File) Object(addr uint64) (*Object, error) {
	if o, ok := f.headers[addr]; ok {
		return o, nil
	}
	o := &Object{f: f, Addr: addr}
	pre, err := f.readUpTo(addr, 4, "object header")
	if err != nil {
		return nil, err
	}
	if len(pre) == 4 && string(pre) == "OHDR" {
		err = o.readV2()
	} else {
		err = o.readV1()
	}
	if err != nil {
		return nil, err
	}
	f.headers[addr] = o
	return o, nil
}

type span struct{ addr, n uint64 }

func (o *Object) readV1() error {
	f := o.f
	pre, err := f.read(o.Addr, 16, "object header")
	if err != nil {
		return err
	}
	c := newCursor(pre, o.Addr, "object header")
	if v := c.u8(); v != 1 {
		return formatErrorf(o.Addr, "object header: version %d is not supported (1 and 2 are), or this is not an object header", v)
	}
	c.skip(1)
	c.u16() // number of messages
	c.u32() // reference count
	size := uint64(c.u32())
	queue := []span{{o.Addr + 16, size}}
	seen := map[uint64]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.addr] {
			return formatErrorf(s.addr, "object header %#x: continuation blocks form a cycle", o.Addr)
		}
		seen[s.addr] = true
		b, err := f.read(s.addr, s.n, "object header block")
		if err != nil {
			return err
		}
		c := newCursor(b, s.addr, "object header message")
		for c.remaining() >= 8 && c.err == nil {
			typ := c.u16()
			n := int(c.u16())
			flags := c.u8()
			c.skip(3)
			at := s.addr + uint64(c.off)
			data := c.bytes(n)
			if c.err != nil {
				return c.err
			}
			m := message{typ: typ, flags: flags, data: data, addr: at}
			if typ == msgContinuation {
				cs, err := o.continuation(m)
				if err != nil {
					return err
				}
				queue = append(queue, cs)
				continue
			}
			o.msgs = append(o.msgs, m)
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

func (o *Object) readV2() error {
	f := o.f
	b, err := f.readUpTo(o.Addr, 4+1+1+16+4+8, "object header")
	if err != nil {
		return err
	}
	c := newCursor(b, o.Addr, "object header")
	c.skip(4)
	if v := c.u8(); v != 2 {
		return formatErrorf(o.Addr, "object header: version %d is not supported", v)
	}
	flags := c.u8()
	if flags&0x20 != 0 {
		c.skip(16) // times
	}
	if flags&0x10 != 0 {
		c.skip(4) // attribute phase change values
	}
	chunk0 := c.uint(1 << (flags & 3))
	if c.err != nil {
		return c.err
	}
	prefix := uint64(c.off)
	if chunk0 > f.size {
		return formatErrorf(o.Addr, "object header: first chunk of %d bytes is larger than the file", chunk0)
	}
	block, err := f.read(o.Addr, prefix+chunk0+4, "object header")
	if err != nil {
		return err
	}
	if err := verifyChecksum(block, "object header", o.Addr); err != nil {
		return err
	}
	withOrder := flags&0x04 != 0
	queue := []span{}
	if err := o.parseV2Messages(block[prefix:prefix+chunk0], o.Addr+prefix, withOrder, &queue); err != nil {
		return err
	}
	seen := map[uint64]bool{o.Addr: true}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.addr] {
			return formatErrorf(s.addr, "object header %#x: continuation blocks form a cycle", o.Addr)
		}
		seen[s.addr] = true
		b, err := f.read(s.addr, s.n, "object header continuation block")
		if err != nil {
			return err
		}
		if err := checkSignature(b, "OCHK", s.addr, "object header continuation block"); err != nil {
			return err
		}
		if len(b) < 8 {
			return formatErrorf(s.addr, "object header continuation block too short")
		}
		if err := verifyChecksum(b, "object header continuation block", s.addr); err != nil {
			return err
		}
		if err := o.parseV2Messages(b[4:len(b)-4], s.addr+4, withOrder, &queue); err != nil {
			return err
		}
	}
	return nil
}

func (o *Object) parseV2Messages(b []byte, addr uint64, withOrder bool, queue *[]span) error {
	hdr := 4
	if withOrder {
		hdr = 6
	}
	c := newCursor(b, addr, "object header message")
	for c.remaining() >= hdr && c.err == nil {
		typ := uint16(c.u8())
		n := int(c.u16())
		flags := c.u8()
		if withOrder {
			c.skip(2)
		}
		at := addr + uint64(c.off)
		data := c.bytes(n)
		if c.err != nil {
			return c.err
		}
		m := message{typ: typ, flags: flags, data: data, addr: at}
		if typ == msgContinuation {
			s, err := o.continuation(m)
			if err != nil {
				return err
			}
			*queue = append(*queue, s)
			continue
		}
		o.msgs = append(o.msgs, m)
	}
	return c.err
}

func (o *Object) continuation(m message) (span, error) {
	c := o.f.cursorFor(m.data, m.addr, "continuation message")
	s := span{c.addr(), c.length()}
	if c.err != nil {
		return span{}, c.err
	}
	if s.n > o.f.size {
		return span{}, formatErrorf(m.addr, "continuation block of %d bytes is larger than the file", s.n)
	}
	return s, nil
}

// find returns the first message of type typ.
func (o *Object) find(typ uint16) (message, bool) {
	for _, m := range o.msgs {
		if m.typ == typ {
			return m, true
		}
	}
	return message{}, false
}

// IsGroup reports whether the object is a group.
func (o *Object) IsGroup() bool {
	_, st := o.find(msgSymbolTable)
	_, li := o.find(msgLinkInfo)
	_, l := o.find(msgLink)
	return st || li || l
}

// IsDataset reports whether the object is a dataset (it has a data layout message).
func (o *Object) IsDataset() bool {
	_, ok := o.find(msgLayout)
	return ok
}
