package hdf5

import (
	"encoding/binary"
	"fmt"
)

// FormatError reports bytes that do not follow the HDF5 format (or use a part of it this package does not
// read). Addr is the file address of the structure being decoded.
type FormatError struct {
	Addr uint64
	Msg  string
}

// Error describes the problem and where in the file it is.
func (e *FormatError) Error() string {
	if e.Addr == undefAddr {
		return "hdf5: " + e.Msg
	}
	return fmt.Sprintf("hdf5: at address %#x: %s", e.Addr, e.Msg)
}

func formatErrorf(addr uint64, format string, args ...any) error {
	return &FormatError{Addr: addr, Msg: fmt.Sprintf(format, args...)}
}

// cursor decodes little-endian fields from a byte slice read at file address addr. Reads past the end
// set a sticky error and return zeros, so that a decoder can read a whole structure and check once.
type cursor struct {
	b    []byte
	off  int
	addr uint64 // file address of b[0], for error messages
	what string // what is being decoded, for error messages
	err  error
}

func newCursor(b []byte, addr uint64, what string) *cursor {
	return &cursor{b: b, addr: addr, what: what}
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = formatErrorf(c.addr, "%s: %s", c.what, fmt.Sprintf(format, args...))
	}
}

func (c *cursor) remaining() int { return len(c.b) - c.off }

func (c *cursor) bytes(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.off {
		c.fail("truncated: need %d bytes at offset %d of %d", n, c.off, len(c.b))
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) skip(n int) { c.bytes(n) }

func (c *cursor) u8() uint8 {
	s := c.bytes(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (c *cursor) u16() uint16 {
	s := c.bytes(2)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(s)
}

func (c *cursor) u32() uint32 {
	s := c.bytes(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (c *cursor) u64() uint64 {
	s := c.bytes(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

// uint reads an n-byte little-endian unsigned integer (1 <= n <= 8).
func (c *cursor) uint(n int) uint64 {
	if n < 1 || n > 8 {
		c.fail("invalid integer width %d", n)
		return 0
	}
	s := c.bytes(n)
	if s == nil {
		return 0
	}
	return leUint(s)
}

// leUint decodes a little-endian unsigned integer of up to 8 bytes.
func leUint(s []byte) uint64 {
	var v uint64
	for i := len(s) - 1; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v
}

// addr reads a file address of the file's offset size; all ones is undefAddr.
func (c *cursor) address(size int) uint64 {
	v := c.uint(size)
	if c.err == nil && size < 8 && v == (uint64(1)<<(8*size))-1 {
		return undefAddr
	}
	return v
}

// align moves the offset to the next multiple of n relative to the start of b.
func (c *cursor) align(n int) {
	if r := c.off % n; r != 0 {
		c.skip(n - r)
	}
}

// cstring reads a NUL-terminated string of at most the remaining bytes.
func (c *cursor) cstring() string {
	if c.err != nil {
		return ""
	}
	for i := c.off; i < len(c.b); i++ {
		if c.b[i] == 0 {
			s := string(c.b[c.off:i])
			c.off = i + 1
			return s
		}
	}
	c.fail("unterminated string at offset %d", c.off)
	return ""
}
