package benchmark

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Model is a network the benchmarks score, seen from outside: it takes preprocessed images and returns
// the activations of named layers.
type Model interface {
	// Identifier names the model in reports.
	Identifier() string
	// Input returns the shape of one input: channels, height and width. An input holds channels planes
	// of height × width values (see package stimuli).
	Input() (channels, height, width int)
	// Layers lists the layers that may be mapped to brain regions, input side first.
	Layers() []string
	// Activations returns, for each of the listed layers, a matrix with one row per input (in order) and
	// one column per unit.
	Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error)
}

// PixelsLayer is the one layer of a Pixels model.
const PixelsLayer = "pixels"

// Pixels is the baseline model whose one layer, "pixels", is its input: every preprocessed value is a
// feature. It needs no training and anyone can check its scores.
type Pixels struct {
	// Channels, Height and Width are the input shape.
	Channels, Height, Width int
}

// NewPixels returns a Pixels model of the given input shape.
func NewPixels(channels, height, width int) *Pixels {
	return &Pixels{Channels: channels, Height: height, Width: width}
}

// Identifier implements Model.
func (p *Pixels) Identifier() string {
	return fmt.Sprintf("pixels-%dx%dx%d", p.Channels, p.Height, p.Width)
}

// Input implements Model.
func (p *Pixels) Input() (int, int, int) { return p.Channels, p.Height, p.Width }

// Layers implements Model.
func (p *Pixels) Layers() []string { return []string{PixelsLayer} }

// Activations implements Model: the inputs themselves, as float64.
func (p *Pixels) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	for _, l := range layers {
		if l != PixelsLayer {
			return nil, fmt.Errorf("benchmark: pixels model has no layer %q (it has %q)", l, PixelsLayer)
		}
	}
	dim := p.Channels * p.Height * p.Width
	if len(inputs) == 0 {
		return nil, fmt.Errorf("benchmark: pixels model: no inputs")
	}
	out := mat.NewDense(len(inputs), dim, nil)
	for i, x := range inputs {
		if len(x) != dim {
			return nil, fmt.Errorf("benchmark: pixels model: input %d has %d values, want %d", i, len(x), dim)
		}
		row := out.RawRowView(i)
		for j, v := range x {
			row[j] = float64(v)
		}
	}
	res := map[string]*mat.Dense{}
	for _, l := range layers {
		res[l] = out
	}
	return res, ctx.Err()
}

// activations asks m for the activations of layers and checks their shapes.
func activations(ctx context.Context, m Model, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	acts, err := m.Activations(ctx, inputs, layers)
	if err != nil {
		return nil, fmt.Errorf("benchmark: activations of %s: %w", m.Identifier(), err)
	}
	for _, l := range layers {
		a, ok := acts[l]
		if !ok || a == nil {
			return nil, fmt.Errorf("benchmark: model %s returned no activations for layer %q", m.Identifier(), l)
		}
		if r, _ := a.Dims(); r != len(inputs) {
			return nil, fmt.Errorf("benchmark: model %s returned %d rows for layer %q and %d inputs", m.Identifier(), r, l, len(inputs))
		}
	}
	return acts, nil
}

// Memo returns m with its last answer remembered: asked again for the same inputs and some of the same
// layers (the V4 and IT benchmarks of MajajHong2015 show the model the same 3200 images), it answers
// from memory instead of running the model again. Inputs are compared by their SHA-256. The matrices it
// returns are shared between callers, which must not modify them (no benchmark does).
func Memo(m Model) Model {
	if _, ok := m.(*memo); ok {
		return m
	}
	return &memo{Model: m}
}

type memo struct {
	Model
	mu   sync.Mutex
	key  [sha256.Size]byte
	acts map[string]*mat.Dense
}

func (c *memo) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	key := inputsKey(inputs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acts != nil && key == c.key {
		out := map[string]*mat.Dense{}
		for _, l := range layers {
			if a, ok := c.acts[l]; ok {
				out[l] = a
			}
		}
		if len(out) == len(layers) {
			return out, nil
		}
	}
	acts, err := c.Model.Activations(ctx, inputs, layers)
	if err != nil {
		return nil, err
	}
	c.key, c.acts = key, acts
	return acts, nil
}

// inputsKey returns the SHA-256 of the inputs, each length-prefixed.
func inputsKey(inputs [][]float32) [sha256.Size]byte {
	h := sha256.New()
	var buf []byte
	for _, x := range inputs {
		buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(len(x)))
		for _, v := range x {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}
