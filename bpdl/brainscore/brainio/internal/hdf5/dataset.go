package hdf5

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// Storage layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
)

// Chunk index types of version 4 layout messages (indexV1BTree stands for the version 1 B-tree of
// earlier layout versions).
const (
	indexV1BTree     = 0
	indexSingle      = 1
	indexImplicit    = 2
	indexFixedArray  = 3
	indexExtensible  = 4
	indexV2BTree     = 5
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
)

var indexNames = [...]string{"version 1 B-tree", "single chunk", "implicit", "fixed array", "extensible array", "version 2 B-tree"}

// Dataset is a decoded dataset object header: the shape and type of its elements and where they are.
type Dataset struct {
	f     *File
	addr  uint64
	Type  *Datatype
	Space Dataspace

	class      int
	compact    []byte
	dataAddr   uint64 // contiguous data, chunk index, or single chunk
	dataSize   uint64 // contiguous size
	chunk      []uint64
	index      int
	singleSize uint64 // filtered size of a single chunk (0: unfiltered)
	singleMask uint32
	filters    []filter
	fill       []byte
}

type filter struct {
	id     uint16
	name   string
	client []uint32
}

// Dataset decodes the dataset description in the object's header.
func (o *Object) Dataset() (*Dataset, error) {
	d := &Dataset{f: o.f, addr: o.Addr}
	dt, ok := o.find(msgDatatype)
	if !ok {
		return nil, formatErrorf(o.Addr, "dataset has no datatype message")
	}
	var err error
	if dt.flags&msgFlagShared != 0 {
		if d.Type, err = o.f.committedType(dt); err != nil {
			return nil, err
		}
	} else if d.Type, err = parseDatatype(dt.data, dt.addr, 0); err != nil {
		return nil, err
	}
	sp, ok := o.find(msgDataspace)
	if !ok {
		return nil, formatErrorf(o.Addr, "dataset has no dataspace message")
	}
	if d.Space, err = parseDataspace(sp.data, sp.addr, o.f.lenSize); err != nil {
		return nil, err
	}
	ly, ok := o.find(msgLayout)
	if !ok {
		return nil, formatErrorf(o.Addr, "dataset has no data layout message")
	}
	if err := d.parseLayout(ly); err != nil {
		return nil, err
	}
	if m, ok := o.find(msgFilters); ok {
		if d.filters, err = parseFilters(m); err != nil {
			return nil, err
		}
	}
	if m, ok := o.find(msgFill); ok {
		d.fill = parseFill(m, false)
	} else if m, ok := o.find(msgFillOld); ok {
		d.fill = parseFill(m, true)
	}
	if len(d.fill) != d.Type.Size {
		d.fill = nil
	}
	return d, nil
}

// committedType reads a shared datatype message that points at a committed datatype's object header.
func (f *File) committedType(m message) (*Datatype, error) {
	c := f.cursorFor(m.data, m.addr, "shared datatype message")
	version := c.u8()
	typ := c.u8()
	var addr uint64
	switch {
	case version == 1:
		c.skip(6)
		addr = c.addr()
	case version == 2 || (version == 3 && typ == 2):
		addr = c.addr()
	default:
		c.fail("shared message version %d type %d is not supported", version, typ)
	}
	if c.err != nil {
		return nil, c.err
	}
	obj, err := f.Object(addr)
	if err != nil {
		return nil, err
	}
	dt, ok := obj.find(msgDatatype)
	if !ok || dt.flags&msgFlagShared != 0 {
		return nil, formatErrorf(addr, "committed datatype has no datatype message")
	}
	return parseDatatype(dt.data, dt.addr, 0)
}

func (d *Dataset) parseLayout(m message) error {
	f := d.f
	c := f.cursorFor(m.data, m.addr, "data layout message")
	version := c.u8()
	switch version {
	case 1, 2:
		rank := int(c.u8())
		d.class = int(c.u8())
		c.skip(5)
		if d.class != layoutCompact {
			d.dataAddr = c.addr()
		}
		if rank < 1 || rank > maxRank+1 {
			c.fail("invalid dimensionality %d", rank)
			return c.err
		}
		dims := make([]uint64, rank)
		for i := range dims {
			dims[i] = uint64(c.u32())
		}
		switch d.class {
		case layoutCompact:
			n := c.u32()
			d.compact = c.bytes(int(n))
		case layoutContiguous:
			n, err := byteSize(d.Space.NumElements(), d.Type.Size)
			if err != nil {
				return formatErrorf(m.addr, "data layout message: %v", err)
			}
			d.dataSize = n
		case layoutChunked:
			d.chunk = dims[:rank-1]
			d.index = indexV1BTree
		}
	case 3, 4, 5:
		d.class = int(c.u8())
		switch d.class {
		case layoutCompact:
			n := c.u16()
			d.compact = c.bytes(int(n))
		case layoutContiguous:
			d.dataAddr = c.addr()
			d.dataSize = c.length()
		case layoutChunked:
			if version == 3 {
				rank := int(c.u8())
				d.dataAddr = c.addr()
				if rank < 2 || rank > maxRank+1 {
					c.fail("invalid chunk dimensionality %d", rank)
					return c.err
				}
				d.chunk = make([]uint64, rank-1)
				for i := range d.chunk {
					d.chunk[i] = uint64(c.u32())
				}
				c.u32() // element size
				d.index = indexV1BTree
				break
			}
			flags := c.u8()
			rank := int(c.u8())
			w := int(c.u8())
			if rank < 2 || rank > maxRank+1 || w < 1 || w > 8 {
				c.fail("invalid chunk dimensionality %d or width %d", rank, w)
				return c.err
			}
			d.chunk = make([]uint64, rank-1)
			for i := range d.chunk {
				d.chunk[i] = c.uint(w)
			}
			c.uint(w) // element size
			d.index = int(c.u8())
			switch d.index {
			case indexSingle:
				if flags&0x02 != 0 {
					d.singleSize = c.length()
					d.singleMask = c.u32()
				}
			case indexImplicit:
			case indexFixedArray:
				c.skip(1)
			case indexExtensible:
				c.skip(5)
			case indexV2BTree:
				c.skip(6)
			default:
				c.fail("unknown chunk index type %d", d.index)
			}
			d.dataAddr = c.addr()
		default:
			c.fail("layout class %d (virtual datasets?) is not supported", d.class)
		}
	default:
		c.fail("version %d is not supported", version)
	}
	if c.err != nil {
		return c.err
	}
	if d.class == layoutChunked {
		if len(d.chunk) != len(d.Space.Dims) {
			return formatErrorf(m.addr, "chunks of rank %d for a dataset of rank %d", len(d.chunk), len(d.Space.Dims))
		}
		for _, n := range d.chunk {
			if n == 0 {
				return formatErrorf(m.addr, "chunk dimension of size 0")
			}
		}
	}
	return nil
}

func parseFilters(m message) ([]filter, error) {
	c := newCursor(m.data, m.addr, "filter pipeline message")
	version := c.u8()
	n := int(c.u8())
	if version == 1 {
		c.skip(6)
	} else if version != 2 {
		c.fail("version %d is not supported", version)
	}
	var out []filter
	for i := 0; i < n && c.err == nil; i++ {
		var fl filter
		fl.id = c.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(c.u16())
		}
		c.u16() // flags
		nvals := int(c.u16())
		if nameLen > 0 {
			if version == 1 {
				nameLen = (nameLen + 7) &^ 7
			}
			fl.name = trimString(c.bytes(nameLen), false)
		}
		if nvals > c.remaining()/4 {
			c.fail("filter has %d client values, more than the message holds", nvals)
			break
		}
		fl.client = make([]uint32, nvals)
		for j := range fl.client {
			fl.client[j] = c.u32()
		}
		if version == 1 && nvals%2 == 1 {
			c.skip(4)
		}
		out = append(out, fl)
	}
	return out, c.err
}

func parseFill(m message, old bool) []byte {
	c := newCursor(m.data, m.addr, "fill value message")
	if old {
		n := c.u32()
		return c.bytes(int(n))
	}
	switch c.u8() {
	case 1:
		c.skip(3)
		n := c.u32()
		return c.bytes(int(n))
	case 2:
		c.skip(2)
		if c.u8() == 0 {
			return nil
		}
		n := c.u32()
		return c.bytes(int(n))
	case 3:
		flags := c.u8()
		if flags&0x20 == 0 {
			return nil
		}
		n := c.u32()
		return c.bytes(int(n))
	}
	return nil
}

// Read reads and decodes all of the dataset's elements (see File.Decode).
func (d *Dataset) Read() (Values, error) {
	raw, err := d.ReadRaw()
	if err != nil {
		return Values{}, err
	}
	return d.f.Decode(d.Type, raw, d.Space.NumElements())
}

// ReadRaw returns the dataset's elements as stored (in the file's byte order), in row-major order.
func (d *Dataset) ReadRaw() ([]byte, error) {
	f := d.f
	n := d.Space.NumElements()
	total, err := byteSize(n, d.Type.Size)
	if err != nil {
		return nil, formatErrorf(d.addr, "dataset: %v", err)
	}
	switch d.class {
	case layoutCompact:
		if uint64(len(d.compact)) < total {
			return nil, formatErrorf(d.addr, "compact dataset holds %d bytes, needs %d", len(d.compact), total)
		}
		return d.compact[:total], nil
	case layoutContiguous:
		if d.dataAddr == undefAddr {
			return d.filled(total)
		}
		if d.dataSize < total {
			return nil, formatErrorf(d.addr, "contiguous dataset stores %d bytes, needs %d", d.dataSize, total)
		}
		return f.read(d.dataAddr, total, "contiguous dataset")
	}
	out, err := d.filled(total)
	if err != nil {
		return nil, err
	}
	if d.dataAddr == undefAddr || total == 0 {
		return out, nil
	}
	chunkBytes := uint64(d.Type.Size)
	for _, c := range d.chunk {
		var e error
		if chunkBytes, e = byteSize(chunkBytes, int(min(c, 1<<40))); e != nil || c > 1<<40 {
			return nil, formatErrorf(d.addr, "chunks of %v elements are too large", d.chunk)
		}
	}
	put := func(offset []uint64, stored []byte, mask uint32) error {
		data, err := d.unfilter(stored, mask, chunkBytes)
		if err != nil {
			return err
		}
		return d.place(out, data, offset)
	}
	switch d.index {
	case indexV1BTree:
		return out, d.readBtree1Chunks(put)
	case indexSingle:
		size := d.singleSize
		if size == 0 {
			size = chunkBytes
		}
		stored, err := f.read(d.dataAddr, size, "dataset chunk")
		if err != nil {
			return nil, err
		}
		return out, put(make([]uint64, len(d.chunk)), stored, d.singleMask)
	case indexImplicit:
		if len(d.filters) > 0 {
			return nil, formatErrorf(d.addr, "filtered chunks with an implicit index")
		}
		err := d.eachGridChunk(func(i uint64, offset []uint64) error {
			stored, err := f.read(d.dataAddr+i*chunkBytes, chunkBytes, "dataset chunk")
			if err != nil {
				return err
			}
			return put(offset, stored, 0)
		})
		return out, err
	case indexFixedArray:
		return out, d.readFixedArrayChunks(chunkBytes, put)
	}
	return nil, formatErrorf(d.addr, "chunk index %q is not supported", indexNames[d.index])
}

// filled returns a buffer of total bytes holding the fill value (zeros when there is none).
func (d *Dataset) filled(total uint64) ([]byte, error) {
	if err := d.f.charge(total, "dataset"); err != nil {
		return nil, err
	}
	out := make([]byte, total)
	if d.fill != nil && !allZero(d.fill) {
		for i := 0; i+len(d.fill) <= len(out); i += len(d.fill) {
			copy(out[i:], d.fill)
		}
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// unfilter undoes the filter pipeline on a stored chunk, skipping the filters whose bit is set in mask.
func (d *Dataset) unfilter(stored []byte, mask uint32, want uint64) ([]byte, error) {
	data := stored
	for i := len(d.filters) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<i) != 0 {
			continue
		}
		fl := d.filters[i]
		switch fl.id {
		case filterDeflate:
			if err := d.f.charge(want, "decompressed chunk"); err != nil {
				return nil, err
			}
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, formatErrorf(d.addr, "deflate filter: %v", err)
			}
			var buf bytes.Buffer
			buf.Grow(int(min(want, 4*uint64(len(data))+512)))
			n, err := io.Copy(&buf, io.LimitReader(zr, int64(want)+1))
			if err != nil {
				return nil, formatErrorf(d.addr, "deflate filter: %v", err)
			}
			if uint64(n) > want {
				return nil, formatErrorf(d.addr, "deflate filter: chunk decompresses to more than its %d bytes", want)
			}
			data = buf.Bytes()
		case filterShuffle:
			size := d.Type.Size
			if len(fl.client) > 0 && fl.client[0] > 0 {
				size = int(fl.client[0])
			}
			data = unshuffle(data, size)
		case filterFletcher32:
			if len(data) < 4 {
				return nil, formatErrorf(d.addr, "Fletcher-32 filter: chunk shorter than its checksum")
			}
			data = data[:len(data)-4]
		default:
			name := fl.name
			if name == "" {
				name = knownFilters[fl.id]
			}
			return nil, formatErrorf(d.addr, "filter %d (%s) is not supported (only deflate, shuffle and Fletcher-32 are)", fl.id, name)
		}
	}
	if uint64(len(data)) != want {
		return nil, formatErrorf(d.addr, "chunk holds %d bytes after filtering, expected %d", len(data), want)
	}
	return data, nil
}

var knownFilters = map[uint16]string{4: "szip", 5: "nbit", 6: "scale-offset", 307: "bzip2", 32001: "blosc", 32004: "lz4", 32015: "zstd"}

// unshuffle undoes the shuffle filter: the bytes of each significance were stored together.
func unshuffle(b []byte, size int) []byte {
	if size <= 1 || len(b) < size {
		return b
	}
	n := len(b) / size
	out := make([]byte, len(b))
	for j := 0; j < size; j++ {
		src := b[j*n : (j+1)*n]
		for i, x := range src {
			out[i*size+j] = x
		}
	}
	copy(out[n*size:], b[n*size:])
	return out
}

// place copies a decoded chunk whose first element is at offset into the row-major output buffer,
// clipping the parts of edge chunks that lie outside the dataset.
func (d *Dataset) place(out, chunk []byte, offset []uint64) error {
	dims := d.Space.Dims
	rank := len(dims)
	es := uint64(d.Type.Size)
	for i, o := range offset {
		if o >= dims[i] {
			return formatErrorf(d.addr, "chunk at %v lies outside the dataset %v", offset, dims)
		}
		if o%d.chunk[i] != 0 {
			return formatErrorf(d.addr, "chunk offset %v is not a multiple of the chunk shape %v", offset, d.chunk)
		}
	}
	// Contiguous runs along the last dimension.
	last := rank - 1
	run := min(d.chunk[last], dims[last]-offset[last]) * es
	idx := make([]uint64, rank) // position within the chunk (the last entry stays 0)
	for {
		var src, dst uint64
		for i := 0; i < rank; i++ {
			src = src*d.chunk[i] + idx[i]
			dst = dst*dims[i] + offset[i] + idx[i]
		}
		src *= es
		dst *= es
		copy(out[dst:dst+run], chunk[src:src+run])
		// Next row.
		i := last - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < d.chunk[i] && offset[i]+idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// eachGridChunk calls fn for every chunk of the dataset in row-major order of the chunk grid.
func (d *Dataset) eachGridChunk(fn func(i uint64, offset []uint64) error) error {
	rank := len(d.chunk)
	grid := make([]uint64, rank)
	for i := range grid {
		grid[i] = (d.Space.Dims[i] + d.chunk[i] - 1) / d.chunk[i]
		if grid[i] == 0 {
			return nil
		}
	}
	idx := make([]uint64, rank)
	for n := uint64(0); ; n++ {
		offset := make([]uint64, rank)
		for i := range idx {
			offset[i] = idx[i] * d.chunk[i]
		}
		if err := fn(n, offset); err != nil {
			return err
		}
		i := rank - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < grid[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

func (d *Dataset) readBtree1Chunks(put func(offset []uint64, stored []byte, mask uint32) error) error {
	f := d.f
	rank := len(d.chunk)
	return f.walkBtree1(d.dataAddr, 1, rank, map[uint64]bool{}, func(key []byte, child uint64) error {
		c := newCursor(key, child, "chunk key")
		size := uint64(c.u32())
		mask := c.u32()
		offset := make([]uint64, rank)
		for i := range offset {
			offset[i] = c.u64()
		}
		if c.err != nil {
			return c.err
		}
		stored, err := f.read(child, size, "dataset chunk")
		if err != nil {
			return err
		}
		return put(offset, stored, mask)
	})
}

func (d *Dataset) readFixedArrayChunks(chunkBytes uint64, put func(offset []uint64, stored []byte, mask uint32) error) error {
	f := d.f
	hsize := uint64(4 + 1 + 1 + 1 + 1 + f.lenSize + f.offSize + 4)
	b, err := f.read(d.dataAddr, hsize, "fixed array header")
	if err != nil {
		return err
	}
	if err := checkSignature(b, "FAHD", d.dataAddr, "fixed array header"); err != nil {
		return err
	}
	if err := verifyChecksum(b, "fixed array header", d.dataAddr); err != nil {
		return err
	}
	c := f.cursorFor(b, d.dataAddr, "fixed array header")
	c.skip(5)
	client := c.u8()
	entrySize := uint64(c.u8())
	pageBits := c.u8()
	n := c.length()
	block := c.addr()
	if c.err != nil {
		return c.err
	}
	filtered := client == 1
	if (!filtered && entrySize != uint64(f.offSize)) || (filtered && entrySize <= uint64(f.offSize)+4) || entrySize > 32 {
		return formatErrorf(d.addr, "fixed array entries of %d bytes", entrySize)
	}
	if pageBits < 64 && n > uint64(1)<<pageBits {
		return formatErrorf(d.addr, "paged fixed array chunk indexes are not supported")
	}
	if block == undefAddr {
		return nil
	}
	if n > f.size/entrySize {
		return formatErrorf(d.addr, "fixed array of %d entries is larger than the file", n)
	}
	prefix := uint64(4 + 1 + 1 + f.offSize)
	db, err := f.read(block, prefix+n*entrySize+4, "fixed array data block")
	if err != nil {
		return err
	}
	if err := checkSignature(db, "FADB", block, "fixed array data block"); err != nil {
		return err
	}
	if err := verifyChecksum(db, "fixed array data block", block); err != nil {
		return err
	}
	ec := f.cursorFor(db, block, "fixed array data block")
	ec.skip(int(prefix))
	return d.eachGridChunk(func(i uint64, offset []uint64) error {
		if i >= n {
			return errors.New("hdf5: fixed array has fewer entries than the dataset has chunks")
		}
		addr := ec.addr()
		size, mask := chunkBytes, uint32(0)
		if filtered {
			size = ec.uint(int(entrySize) - f.offSize - 4)
			mask = ec.u32()
		}
		if ec.err != nil {
			return ec.err
		}
		if addr == undefAddr {
			return nil
		}
		stored, err := f.read(addr, size, "dataset chunk")
		if err != nil {
			return err
		}
		return put(offset, stored, mask)
	})
}

// String describes the dataset's storage, for error messages and tests.
func (d *Dataset) String() string {
	switch d.class {
	case layoutCompact:
		return "compact"
	case layoutContiguous:
		return "contiguous"
	}
	s := fmt.Sprintf("chunked %v, %s index", d.chunk, indexNames[d.index])
	for _, fl := range d.filters {
		s += fmt.Sprintf(", filter %d", fl.id)
	}
	return s
}
