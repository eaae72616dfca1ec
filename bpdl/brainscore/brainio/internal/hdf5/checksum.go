package hdf5

import (
	"encoding/binary"
	"math/bits"
)

// lookup3 is Bob Jenkins' lookup3 "hashlittle" hash with an initial value of zero: the checksum the
// HDF5 format stores after version-2 metadata blocks (superblock v2/v3, object headers v2, fractal heap
// and version-2 B-tree blocks, ...).
func lookup3(data []byte) uint32 {
	a := 0xdeadbeef + uint32(len(data))
	b, c := a, a
	for len(data) > 12 {
		a += binary.LittleEndian.Uint32(data[0:])
		b += binary.LittleEndian.Uint32(data[4:])
		c += binary.LittleEndian.Uint32(data[8:])
		// mix
		a -= c
		a ^= bits.RotateLeft32(c, 4)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 6)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 8)
		b += a
		a -= c
		a ^= bits.RotateLeft32(c, 16)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 19)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 4)
		b += a
		data = data[12:]
	}
	if len(data) == 0 {
		return c
	}
	// The last 1..12 bytes, zero padded: missing bytes add nothing.
	var tail [12]byte
	copy(tail[:], data)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	// final
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// verifyChecksum checks that the last four bytes of block are the lookup3 checksum of the bytes before
// them.
func verifyChecksum(block []byte, what string, addr uint64) error {
	if len(block) < 4 {
		return formatErrorf(addr, "%s too short for its checksum", what)
	}
	n := len(block) - 4
	want := binary.LittleEndian.Uint32(block[n:])
	if got := lookup3(block[:n]); got != want {
		return formatErrorf(addr, "%s checksum mismatch (stored %08x, computed %08x): the file is corrupt", what, want, got)
	}
	return nil
}
