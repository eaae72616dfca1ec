package data

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// idxFileBytes returns an IDX file of unsigned bytes with the given number of dimensions (written in the
// magic number), dimensions and data.
func idxFileBytes(ndims int, dims []int, data []byte) []byte {
	b := []byte{0, 0, idxTypeUbyte, byte(ndims)}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestParseIDXImages(t *testing.T) {
	good := idxFileBytes(3, []int{2, 3, 4}, seq(24))
	withType := func(typ byte) []byte { b := slices.Clone(good); b[2] = typ; return b }
	for _, tc := range []struct {
		name    string
		data    []byte
		gz      bool
		wantErr string
	}{
		{name: "plain", data: good},
		{name: "gzipped", data: good, gz: true},
		{name: "no images", data: idxFileBytes(3, []int{0, 28, 28}, nil)},
		{name: "empty", data: nil, wantErr: "header: truncated: 0 of 4"},
		{name: "labels file", data: idxFileBytes(1, []int{3}, seq(3)), wantErr: "magic 0x00000801, want 0x00000803"},
		{name: "signed bytes", data: withType(0x09), wantErr: "magic"},
		{name: "nonzero first byte", data: append([]byte{1}, good[1:]...), wantErr: "magic"},
		{name: "short dimensions", data: good[:10], wantErr: "dimensions: truncated"},
		{name: "short data", data: good[:len(good)-1], wantErr: "data: truncated: 23 of 24 bytes"},
		{name: "short data, gzipped", data: good[:len(good)-1], gz: true, wantErr: "data: truncated: 23 of 24 bytes"},
		{name: "trailing data", data: append(slices.Clone(good), 0), wantErr: "data continues after the 24 bytes"},
		{name: "trailing data, gzipped", data: append(slices.Clone(good), 0), gz: true, wantErr: "data continues"},
		{name: "zero rows", data: idxFileBytes(3, []int{2, 0, 4}, nil), wantErr: "empty image size 0x4"},
		{name: "too large", data: idxFileBytes(3, []int{1 << 20, 1 << 20, 1 << 20}, nil), wantErr: "declare more than"},
		{name: "bad gzip", data: []byte{0x1f, 0x8b, 0, 0}, wantErr: "bad gzip header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.data
			if tc.gz {
				in = gzipBytes(t, in)
			}
			pix, n, rows, cols, err := ParseIDXImages(bytes.NewReader(in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			dims := tc.data[4:16]
			wantN, wantR, wantC := int(binary.BigEndian.Uint32(dims)), int(binary.BigEndian.Uint32(dims[4:])), int(binary.BigEndian.Uint32(dims[8:]))
			if n != wantN || rows != wantR || cols != wantC || !bytes.Equal(pix, tc.data[16:]) {
				t.Errorf("got %d images %dx%d, %d bytes; want %d %dx%d, %d bytes", n, rows, cols, len(pix), wantN, wantR, wantC, len(tc.data)-16)
			}
		})
	}
}

func TestParseIDXLabels(t *testing.T) {
	good := idxFileBytes(1, []int{5}, []byte{5, 0, 4, 1, 255})
	for _, tc := range []struct {
		name    string
		data    []byte
		gz      bool
		want    []int32
		wantErr string
	}{
		{name: "plain", data: good, want: []int32{5, 0, 4, 1, 255}},
		{name: "gzipped", data: good, gz: true, want: []int32{5, 0, 4, 1, 255}},
		{name: "none", data: idxFileBytes(1, []int{0}, nil), want: []int32{}},
		{name: "images file", data: idxFileBytes(3, []int{1, 1, 1}, []byte{0}), wantErr: "magic 0x00000803, want 0x00000801"},
		{name: "short", data: good[:len(good)-2], wantErr: "truncated: 3 of 5 bytes"},
		{name: "trailing", data: append(slices.Clone(good), 1), wantErr: "data continues"},
		{name: "gzip then garbage", data: good, gz: true, wantErr: "after the data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.data
			if tc.gz {
				in = gzipBytes(t, in)
				if tc.name == "gzip then garbage" {
					in = append(in, "garbage"...)
				}
			}
			got, err := ParseIDXLabels(bytes.NewReader(in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("labels %v, want %v", got, tc.want)
			}
		})
	}
}
