package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// craftCheckpoint writes a checkpoint whose header lists the given tensors and whose body holds n zero
// bytes, with a valid SHA-256 trailer: a file that passes the integrity check but lies about its tensors.
func craftCheckpoint(t *testing.T, tensors []tensorHeader, n int) string {
	t.Helper()
	hdr, err := json.Marshal(checkpointHeader{Fingerprint: "fp", Tensors: tensors})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(len(hdr)))
	b.Write(l[:])
	b.Write(hdr)
	b.Write(make([]byte, n))
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	path := filepath.Join(t.TempDir(), "crafted.ckpt")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCraftedCheckpointDimensions checks that a checkpoint with a valid checksum but crafted tensor
// dimensions is refused with an error, never a panic: dimensions whose byte count overflows to 0 (this
// panicked in makeslice before), negative ones, ones larger than the file, and an unknown dtype.
func TestCraftedCheckpointDimensions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []tensorHeader
		body    int
		want    string
	}{
		{"product overflows to zero", []tensorHeader{{DType: "Float32", Dims: []int{1 << 31, 1 << 31, 1 << 2}}}, 0, "more than"},
		{"product overflows negative", []tensorHeader{{DType: "Float32", Dims: []int{1 << 31, 1 << 31, 3}}}, 16, "more than"},
		{"huge but no overflow", []tensorHeader{{DType: "Float64", Dims: []int{1 << 20, 1 << 20}}}, 64, "more than"},
		{"negative dimension", []tensorHeader{{DType: "Float32", Dims: []int{-4, 2}}}, 32, "negative dimension"},
		{"longer than the file", []tensorHeader{{DType: "Float32", Dims: []int{3, 3}}}, 32, "more than the 32 bytes left"},
		{"unknown dtype", []tensorHeader{{DType: "Float33", Dims: []int{1}}}, 4, "dtype"},
		{"zero-size tensor then trailing bytes", []tensorHeader{{DType: "Float32", Dims: []int{0, 1 << 40}}}, 4, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := craftCheckpoint(t, tc.tensors, tc.body)
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("LoadCheckpoint panicked: %v", r)
					}
				}()
				_, err = LoadCheckpoint(path)
			}()
			if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadCheckpoint = %v, want a corruption error mentioning %q", err, tc.want)
			}
		})
	}
	// A well-formed crafted file still loads: the checks do not refuse valid tensors.
	ck, err := LoadCheckpoint(craftCheckpoint(t, []tensorHeader{{DType: "Float32", Dims: []int{2, 3}}, {DType: "Int32", Dims: []int{}}}, 28))
	if err != nil || len(ck.State) != 2 || ck.State[0].Shape().Size() != 6 {
		t.Fatalf("valid crafted checkpoint: %v", err)
	}
}
