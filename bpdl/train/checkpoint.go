package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/data/fetch"
	"github.com/bpdl/bpdl/bpdl/diag"
)

// Checkpoint is the saved state of a run after a whole epoch.
type Checkpoint struct {
	Fingerprint string
	Progress    progressState
	History     []Point
	State       []*tensors.Tensor
}

// The checkpoint file format: the magic line, a little-endian uint64 length and that many bytes of JSON
// header, then each tensor's raw little-endian bytes in order, then the SHA-256 of everything before it.
const checkpointMagic = "BPDL-CHECKPOINT-1\n"

// maxHeader bounds the JSON header of a checkpoint.
const maxHeader = 1 << 26

var errNoCheckpoint = errors.New("no checkpoint")

type tensorHeader struct {
	DType string `json:"dtype"`
	Dims  []int  `json:"dims"`
}

type checkpointHeader struct {
	Fingerprint string         `json:"fingerprint"`
	Progress    progressState  `json:"progress"`
	History     []pointJSON    `json:"history"`
	Tensors     []tensorHeader `json:"tensors"`
}

// pointJSON is Point with NaN encoded as null, which JSON cannot hold.
type pointJSON struct {
	Phase        string     `json:"phase"`
	Epoch        float64    `json:"epoch"`
	Step         int        `json:"step"`
	Examples     int        `json:"examples"`
	TrainLoss    *float64   `json:"train_loss"`
	TestAccuracy *float64   `json:"test_accuracy"`
	Metrics      []metricJS `json:"metrics"`
}

type metricJS struct {
	Kind  diag.Kind `json:"kind"`
	Layer int       `json:"layer,omitempty"`
	Value *float64  `json:"value"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// SaveCheckpoint writes c to path atomically.
func SaveCheckpoint(path string, c *Checkpoint) error {
	h := checkpointHeader{Fingerprint: c.Fingerprint, Progress: c.Progress}
	for _, p := range c.History {
		pj := pointJSON{Phase: p.Phase, Epoch: p.Epoch, Step: p.Step, Examples: p.Examples, TrainLoss: finite(p.TrainLoss), TestAccuracy: finite(p.TestAccuracy)}
		for _, m := range p.Metrics {
			pj.Metrics = append(pj.Metrics, metricJS{Kind: m.Kind, Layer: m.Layer, Value: finite(m.Value)})
		}
		h.History = append(h.History, pj)
	}
	for _, t := range c.State {
		h.Tensors = append(h.Tensors, tensorHeader{DType: t.DType().String(), Dims: t.Shape().Dimensions})
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	err = fetch.WriteAtomic(path, func(w io.Writer) error {
		sum := sha256.New()
		bw := bufio.NewWriter(io.MultiWriter(w, sum))
		bw.WriteString(checkpointMagic)
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
		bw.Write(n[:])
		bw.Write(hdr)
		for i, t := range c.State {
			if err := t.ConstBytes(func(b []byte) { bw.Write(b) }); err != nil {
				return fmt.Errorf("tensor %d: %w", i, err)
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		_, err := w.Write(sum.Sum(nil))
		return err
	})
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

// byteSize is the size in bytes of a tensor of the given element size and dimensions, which must fit in
// the available bytes. It checks every dimension and every partial product before multiplying, so that
// crafted dimensions can neither overflow (a product wrapping to 0 or below) nor make the reader allocate
// more than the file holds.
func byteSize(elem int, dims []int, available int) (int, error) {
	size := elem
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d", d)
		}
		if d > 0 && size > available/d {
			return 0, fmt.Errorf("needs more than the %d bytes left", available)
		}
		size *= d
	}
	if size > available {
		return 0, fmt.Errorf("needs %d bytes, %d left", size, available)
	}
	return size, nil
}

// LoadCheckpoint reads and verifies a checkpoint. A missing file gives an error wrapping errNoCheckpoint;
// a file that is truncated, altered or not a checkpoint gives another error.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint %s: %w", path, errNoCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint %s: corrupt: %s", path, fmt.Sprintf(format, args...))
	}
	if len(raw) < len(checkpointMagic)+8+sha256.Size || string(raw[:len(checkpointMagic)]) != checkpointMagic {
		return nil, bad("not a bpdl checkpoint")
	}
	body, want := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, bad("checksum mismatch (truncated or altered)")
	}
	rest := body[len(checkpointMagic):]
	n := binary.LittleEndian.Uint64(rest[:8])
	rest = rest[8:]
	if n > maxHeader || n > uint64(len(rest)) {
		return nil, bad("header length %d out of range", n)
	}
	var h checkpointHeader
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return nil, bad("header: %v", err)
	}
	rest = rest[n:]
	c := &Checkpoint{Fingerprint: h.Fingerprint, Progress: h.Progress}
	for _, pj := range h.History {
		p := Point{Phase: pj.Phase, Epoch: pj.Epoch, Step: pj.Step, Examples: pj.Examples, TrainLoss: orNaN(pj.TrainLoss), TestAccuracy: orNaN(pj.TestAccuracy)}
		for _, m := range pj.Metrics {
			p.Metrics = append(p.Metrics, diag.Metric{Kind: m.Kind, Layer: m.Layer, Value: orNaN(m.Value)})
		}
		c.History = append(c.History, p)
	}
	for i, th := range h.Tensors {
		dt, err := dtypes.DTypeString(th.DType)
		if err != nil || dt.Size() <= 0 {
			return nil, bad("tensor %d: dtype %q", i, th.DType)
		}
		size, err := byteSize(dt.Size(), th.Dims, len(rest))
		if err != nil {
			return nil, bad("tensor %d %v: %v", i, th.Dims, err)
		}
		t := tensors.FromShape(shapes.Make(dt, th.Dims...))
		if err := t.MutableBytes(func(b []byte) { copy(b, rest[:size]) }); err != nil {
			return nil, bad("tensor %d: %v", i, err)
		}
		rest = rest[size:]
		c.State = append(c.State, t)
	}
	if len(rest) != 0 {
		return nil, bad("%d trailing bytes", len(rest))
	}
	return c, nil
}
