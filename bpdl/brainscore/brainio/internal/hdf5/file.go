// Package hdf5 reads the subset of the HDF5 file format that netCDF-4 files written by the netCDF C
// library and by h5py/h5netcdf use: superblocks version 0 to 3, object headers version 1 and 2, old-style
// (symbol table) and new-style (compact and dense) groups, attributes (compact and dense), the fixed-point,
// floating-point, string, variable-length and reference datatypes, compact, contiguous and chunked
// storage (version 1 B-tree, single-chunk, implicit and fixed-array chunk indexes), and the deflate,
// shuffle and Fletcher-32 filters.
//
// It is written for untrusted input: every read is bounds-checked against the file, every structure that
// can point at another is guarded against cycles, and the bytes it decodes (decompressed chunks, dataset
// buffers) are charged against a budget proportional to the file size, so a small file cannot make it
// allocate without bound.
package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// undefAddr is the "undefined address" value (all bits set).
const undefAddr = ^uint64(0)

// maxExpansion is how many decoded bytes a file may produce per byte of file: deflate cannot expand data
// by more than about 1032 times, so a legitimate file stays well within this.
const maxExpansion = 1100

// baseBudget is the decoded-byte allowance every file gets on top of maxExpansion times its size.
const baseBudget = 1 << 20

var signature = []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}

// File is an open HDF5 file. It is not safe for concurrent use.
type File struct {
	r       io.ReaderAt
	size    uint64
	offSize int    // "size of offsets": bytes in a file address
	lenSize int    // "size of lengths": bytes in a length field
	base    uint64 // base address: addresses in the file are relative to it
	root    uint64 // address of the root group's object header

	// SuperblockVersion is the version of the file's superblock (0 to 3).
	SuperblockVersion int

	budget   int64 // decoded bytes still allowed
	gheaps   map[uint64]*globalHeap
	headers  map[uint64]*Object
	gstrings map[gref]string
}

// Open reads the superblock of the HDF5 file of the given size readable through r.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, errors.New("hdf5: negative file size")
	}
	f := &File{
		r:        r,
		size:     uint64(size),
		budget:   baseBudget + maxExpansion*size,
		gheaps:   map[uint64]*globalHeap{},
		headers:  map[uint64]*Object{},
		gstrings: map[gref]string{},
	}
	// The superblock is at 0, 512, 1024, 2048, ...
	for off := uint64(0); off+8 <= f.size; {
		sig := make([]byte, 8)
		if _, err := r.ReadAt(sig, int64(off)); err != nil {
			return nil, fmt.Errorf("hdf5: reading signature at %#x: %w", off, err)
		}
		if bytes.Equal(sig, signature) {
			if err := f.readSuperblock(off); err != nil {
				return nil, err
			}
			return f, nil
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	return nil, &FormatError{Addr: undefAddr, Msg: "no HDF5 signature found: not an HDF5 (netCDF-4) file"}
}

// charge takes n decoded bytes from the budget.
func (f *File) charge(n uint64, what string) error {
	if n > uint64(f.budget) {
		return &FormatError{Addr: undefAddr, Msg: fmt.Sprintf("%s needs %d bytes, more than a %d-byte file can legitimately decode to: the file is corrupt", what, n, f.size)}
	}
	f.budget -= int64(n)
	return nil
}

// readAbs reads n bytes at absolute file offset off.
func (f *File) readAbs(off, n uint64, what string) ([]byte, error) {
	if off > f.size || n > f.size-off {
		return nil, formatErrorf(off, "%s: %d bytes at %#x run past the end of the %d-byte file (truncated file?)", what, n, off, f.size)
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	if _, err := f.r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("hdf5: reading %s at %#x: %w", what, off, err)
	}
	return b, nil
}

// read reads n bytes at file address addr (relative to the base address).
func (f *File) read(addr, n uint64, what string) ([]byte, error) {
	if addr == undefAddr {
		return nil, formatErrorf(undefAddr, "%s: undefined address", what)
	}
	if addr > f.size || f.base > f.size-addr {
		return nil, formatErrorf(addr, "%s: address past the end of the %d-byte file (truncated file?)", what, f.size)
	}
	return f.readAbs(f.base+addr, n, what)
}

// readUpTo reads up to n bytes at addr, fewer when the file ends first (for structures whose length is
// only known once their start is decoded).
func (f *File) readUpTo(addr, n uint64, what string) ([]byte, error) {
	if addr == undefAddr {
		return nil, formatErrorf(undefAddr, "%s: undefined address", what)
	}
	if addr > f.size || f.base > f.size-addr {
		return nil, formatErrorf(addr, "%s: address past the end of the %d-byte file (truncated file?)", what, f.size)
	}
	if avail := f.size - f.base - addr; n > avail {
		n = avail
	}
	return f.readAbs(f.base+addr, n, what)
}

func (f *File) readSuperblock(off uint64) error {
	b, err := f.readUpTo(off, 128, "superblock")
	if err != nil {
		return err
	}
	c := newCursor(b, off, "superblock")
	c.skip(8)
	version := int(c.u8())
	var eof uint64
	f.SuperblockVersion = version
	switch version {
	case 0, 1:
		c.skip(3) // free-space, root symbol table entry and shared header versions
		c.skip(1) // shared header message format version
		f.offSize = int(c.u8())
		f.lenSize = int(c.u8())
		c.skip(1)
		c.skip(2 + 2 + 4) // group leaf/internal node K, consistency flags
		if version == 1 {
			c.skip(2 + 2) // indexed storage internal node K, reserved
		}
		if err := f.checkSizes(off); err != nil {
			return err
		}
		f.base = c.address(f.offSize)
		c.address(f.offSize) // free-space info
		eof = c.address(f.offSize)
		c.address(f.offSize) // driver info
		// Root group symbol table entry.
		c.address(f.offSize) // link name offset
		f.root = c.address(f.offSize)
		c.skip(4 + 4 + 16)
	case 2, 3:
		f.offSize = int(c.u8())
		f.lenSize = int(c.u8())
		c.skip(1) // flags
		if err := f.checkSizes(off); err != nil {
			return err
		}
		f.base = c.address(f.offSize)
		c.address(f.offSize) // superblock extension
		eof = c.address(f.offSize)
		f.root = c.address(f.offSize)
		sum := c.off
		c.skip(4)
		if c.err == nil {
			if err := verifyChecksum(b[:sum+4], "superblock", off); err != nil {
				return err
			}
		}
	default:
		return formatErrorf(off, "superblock version %d is not supported (0 to 3 are)", version)
	}
	if c.err != nil {
		return c.err
	}
	if f.base == undefAddr {
		f.base = 0
	}
	if eof != undefAddr && (eof > f.size || f.base > f.size-eof) {
		return formatErrorf(off, "file is truncated: the superblock records an end of file at %d bytes but the file has %d", f.base+eof, f.size)
	}
	if f.root == undefAddr {
		return formatErrorf(off, "superblock has no root group")
	}
	return nil
}

func (f *File) checkSizes(off uint64) error {
	ok := func(n int) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(f.offSize) || !ok(f.lenSize) {
		return formatErrorf(off, "superblock: unsupported sizes of offsets (%d) and lengths (%d)", f.offSize, f.lenSize)
	}
	return nil
}

// Root returns the root group.
func (f *File) Root() (*Object, error) { return f.Object(f.root) }

// cursorFor returns a cursor on b that decodes this file's addresses and lengths.
func (f *File) cursorFor(b []byte, addr uint64, what string) *fcursor {
	return &fcursor{cursor: cursor{b: b, addr: addr, what: what}, f: f}
}

// fcursor is a cursor that knows the file's address and length sizes.
type fcursor struct {
	cursor
	f *File
}

func (c *fcursor) addr() uint64   { return c.address(c.f.offSize) }
func (c *fcursor) length() uint64 { return c.uint(c.f.lenSize) }

// checkSignature checks that b starts with the four-byte signature sig.
func checkSignature(b []byte, sig string, addr uint64, what string) error {
	if len(b) < 4 || string(b[:4]) != sig {
		got := b
		if len(got) > 4 {
			got = got[:4]
		}
		return formatErrorf(addr, "%s: expected signature %q, found %q", what, sig, got)
	}
	return nil
}

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
