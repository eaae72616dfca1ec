package study

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/train"
)

// Model shows a trained learner to the brain benchmarks (benchmark.Model): inputs are images in
// the dataset's layout (C planes of H × W), run through the learner in fixed-size batches (the last one
// padded with zeros, so the learner's graph is compiled once), and the activations of its scored layers
// come back one row per image.
type Model struct {
	learner  train.Learner
	c, h, w  int
	postReLU bool
	batch    int
	names    []string
}

// brainBatch is the number of images per forward pass.
const brainBatch = 256

// NewModel shows learner l, which takes inputs of c planes of h × w values, to the brain benchmarks; with
// postReLU its layers are the ReLU outputs rather than the Linear outputs.
func NewModel(l train.Learner, c, h, w int, postReLU bool) *Model {
	return &Model{learner: l, c: c, h: h, w: w, postReLU: postReLU, batch: brainBatch}
}

// Identifier implements benchmark.Model.
func (m *Model) Identifier() string {
	if m.postReLU {
		return m.learner.Name() + "-post-relu"
	}
	return m.learner.Name()
}

// Input implements benchmark.Model.
func (m *Model) Input() (int, int, int) { return m.c, m.h, m.w }

// Layers implements benchmark.Model: the learner's scored layers, found by one forward pass of a blank
// batch the first time.
func (m *Model) Layers() []string {
	if m.names == nil {
		layers, err := m.forward(make([]float32, m.batch*m.c*m.h*m.w))
		if err != nil {
			return nil
		}
		for _, l := range layers {
			m.names = append(m.names, l.Name)
		}
	}
	return m.names
}

func (m *Model) forward(x []float32) ([]train.Layer, error) {
	t := tensors.FromFlatDataAndDimensions(x, m.batch, m.c*m.h*m.w)
	defer t.FinalizeAll()
	return m.learner.Layers(t, m.postReLU)
}

// Activations implements benchmark.Model.
func (m *Model) Activations(ctx context.Context, inputs [][]float32, layers []string) (map[string]*mat.Dense, error) {
	dim := m.c * m.h * m.w
	out := map[string]*mat.Dense{}
	x := make([]float32, m.batch*dim)
	for start := 0; start < len(inputs); start += m.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(m.batch, len(inputs)-start)
		clear(x)
		for i := range n {
			if len(inputs[start+i]) != dim {
				return nil, fmt.Errorf("input %d has %d values, the learner takes %d", start+i, len(inputs[start+i]), dim)
			}
			copy(x[i*dim:], inputs[start+i])
		}
		res, err := m.forward(x)
		if err != nil {
			return nil, err
		}
		for _, l := range res {
			want := false
			for _, name := range layers {
				want = want || name == l.Name
			}
			if !want {
				continue
			}
			d, ok := out[l.Name]
			if !ok {
				d = mat.NewDense(len(inputs), l.Cols, nil)
				out[l.Name] = d
			}
			for i := range n {
				row := d.RawRowView(start + i)
				for j, v := range l.Data[i*l.Cols : (i+1)*l.Cols] {
					row[j] = float64(v)
				}
			}
		}
	}
	for _, name := range layers {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("learner %s has no layer %q", m.learner.Name(), name)
		}
	}
	return out, nil
}
