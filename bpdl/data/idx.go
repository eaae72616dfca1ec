package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// IDX files (the format of MNIST and Fashion-MNIST) start with two zero bytes, a type byte (0x08 for
// unsigned bytes) and the number of dimensions, followed by each dimension as a big-endian uint32 and
// then the data in row-major order.
const (
	idxTypeUbyte = 0x08
	idxMaxBytes  = 1<<31 - 1 // bytes of data; real files hold under 50 MB
	idxChunk     = 1 << 20   // bytes read per step, so that memory follows the input
)

// ParseIDXImages reads an IDX file of unsigned-byte images (magic 0x00000803: three dimensions, the
// number of images, rows and columns), gzipped or not, and returns the pixel bytes, image after image,
// each row-major. The whole input must be the file: data missing or left over is an error. Memory grows
// with the data actually read, so a header that declares far more than the input holds does not cause a
// large allocation.
func ParseIDXImages(r io.Reader) (pix []byte, n, rows, cols int, err error) {
	zr, err := maybeGunzip(r)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return readIDXImages(zr)
}

// ParseIDXLabels reads an IDX file of unsigned-byte labels (magic 0x00000801: one dimension, the number
// of labels), gzipped or not, and returns the labels. The whole input must be the file.
func ParseIDXLabels(r io.Reader) ([]int32, error) {
	zr, err := maybeGunzip(r)
	if err != nil {
		return nil, err
	}
	return readIDXLabels(zr)
}

// maybeGunzip returns a reader of r's content, decompressed when r starts with the gzip magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("idx: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: bad gzip header: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// readIDXImages parses an uncompressed IDX image file.
func readIDXImages(r io.Reader) (pix []byte, n, rows, cols int, err error) {
	dims, pix, err := readIDX(r, 3)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("idx images: %w", err)
	}
	if dims[1] == 0 || dims[2] == 0 {
		return nil, 0, 0, 0, fmt.Errorf("idx images: empty image size %dx%d", dims[1], dims[2])
	}
	return pix, dims[0], dims[1], dims[2], nil
}

// readIDXLabels parses an uncompressed IDX label file.
func readIDXLabels(r io.Reader) ([]int32, error) {
	_, b, err := readIDX(r, 1)
	if err != nil {
		return nil, fmt.Errorf("idx labels: %w", err)
	}
	labels := make([]int32, len(b))
	for i, v := range b {
		labels[i] = int32(v)
	}
	return labels, nil
}

// readIDX reads an uncompressed IDX file of unsigned bytes with ndims dimensions, and checks that the
// input ends with its data.
func readIDX(r io.Reader, ndims int) (dims []int, data []byte, err error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("header: %w", readErr(err, 0, 4))
	}
	if head[0] != 0 || head[1] != 0 || head[2] != idxTypeUbyte || int(head[3]) != ndims {
		return nil, nil, fmt.Errorf("magic %#08x, want %#08x (type unsigned byte, %d dimension(s))", binary.BigEndian.Uint32(head[:]), idxTypeUbyte<<8|ndims, ndims)
	}
	raw := make([]byte, 4*ndims)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, nil, fmt.Errorf("dimensions: %w", readErr(err, 0, int64(len(raw))))
	}
	dims = make([]int, ndims)
	zero := false
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		zero = zero || dims[i] == 0
	}
	total := 0
	if !zero {
		total = 1
		for _, d := range dims {
			if total > idxMaxBytes/d {
				return nil, nil, fmt.Errorf("dimensions %v declare more than %d bytes", dims, idxMaxBytes)
			}
			total *= d
		}
	}
	size := int(total)
	data = make([]byte, 0, min(size, idxChunk))
	for len(data) < size {
		k := min(size-len(data), idxChunk)
		data = slices.Grow(data, k)
		m, err := io.ReadFull(r, data[len(data):len(data)+k])
		if err != nil {
			return nil, nil, fmt.Errorf("data: %w", readErr(err, int64(len(data)+m), int64(size)))
		}
		data = data[:len(data)+k]
	}
	var extra [1]byte
	switch n, err := io.ReadFull(r, extra[:]); {
	case n > 0:
		return nil, nil, fmt.Errorf("data continues after the %d bytes the header declares", size)
	case !errors.Is(err, io.EOF):
		return nil, nil, fmt.Errorf("after the data: %w", err)
	}
	return dims, data, nil
}
