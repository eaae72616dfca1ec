package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/bpdl/bpdl/bpdl/nn"
	"github.com/bpdl/bpdl/bpdl/npy"
	"github.com/bpdl/bpdl/bpdl/rules"
	"github.com/bpdl/bpdl/bpdl/snn"
	"github.com/bpdl/bpdl/bpdl/train"
)

// ModelFile is the name of an exported net's description, beside its weights.
const ModelFile = "model.json"

// ModelFormat names the layout of an exported net (ExportedModel and its .npy files).
const ModelFormat = "bpdl-model-1"

// ExportedModel is model.json: what a program outside bpdl needs to run an exported net, and where it
// came from. Layer l (from 1) maps its input h to W_l h + b_l, W_l [out, in] and b_l [out] being the
// float32 .npy files Layers[l-1] names, beside model.json. A dense net applies Activation to the output
// of every layer but the last and Output to the last; the predicted class is the first largest entry of
// the result. A spiking net (Spiking set) runs the same Linear layers in time instead (SpikingModel).
type ExportedModel struct {
	Format  string `json:"format"` // ModelFormat
	Run     string `json:"run"`    // the run's ID (Run.ID)
	Rule    string `json:"rule"`
	Dataset string `json:"dataset"`
	Seed    uint64 `json:"seed"`
	// Sizes are the layer widths, input to output.
	Sizes []int      `json:"sizes"`
	Input ModelInput `json:"input"`
	// Activation is the hidden layers' nonlinearity: "relu" (dense nets) or "lif" (spiking nets).
	Activation string `json:"activation"`
	// Output is the last layer's nonlinearity: "linear", "relu" (the study's DTP net) or "li" (the
	// spiking net's leaky-integrator readout).
	Output  string        `json:"output"`
	Layers  []ModelLayer  `json:"layers"`
	Spiking *SpikingModel `json:"spiking,omitempty"`
	// TestAccuracy is the run's test accuracy (results.csv's), on the first TestExamples test examples.
	TestAccuracy float64 `json:"test_accuracy"`
	TestExamples int     `json:"test_examples"`
	// Settings are the run's training settings.
	Settings train.Settings `json:"settings"`
}

// ModelInput says what one input of the net is: C planes of H × W values, flattened plane by plane
// and row by row (C order), each pixel byte b scaled to (b/255-0.5)/0.5 in float32 (torchvision's
// ToTensor and Normalize(0.5, 0.5), as package data does).
type ModelInput struct {
	Channels      int    `json:"channels"`
	Height        int    `json:"height"`
	Width         int    `json:"width"`
	Normalization string `json:"normalization"`
}

// inputNormalization is ModelInput.Normalization for every bpdl dataset (package data).
const inputNormalization = "(b/255-0.5)/0.5"

// ModelLayer names the files of one layer's weights ([out, in] float32) and biases ([out] float32).
type ModelLayer struct {
	Weight string `json:"weight"`
	Bias   string `json:"bias"`
	In     int    `json:"in"`
	Out    int    `json:"out"`
}

// SpikingModel is what a spiking net adds to its weights (package snn, in norse's units: inverse time
// constants in 1/s, a time step in s). Each input value x_j becomes a spike at each of Steps steps with
// probability InputRate*DT*x_j (Poisson encoding; x_j <= 0 never fires); each hidden layer is the LIF
// neuron Neuron driven by the current W z + b of the spikes z below, the output layer the leaky
// integrator Readout, and the logits are the readout voltages' maximum or mean over the steps (Decode).
type SpikingModel struct {
	Steps     int        `json:"steps"`
	DT        float64    `json:"dt"`
	InputRate float64    `json:"input_rate_hz"`
	Neuron    SpikingLIF `json:"neuron"`
	Readout   SpikingLI  `json:"readout"`
	Decode    string     `json:"decode"` // "max" or "mean"
}

// SpikingLIF is snn.LIF with JSON names.
type SpikingLIF struct {
	TauSynInv float64 `json:"tau_syn_inv"`
	TauMemInv float64 `json:"tau_mem_inv"`
	VLeak     float64 `json:"v_leak"`
	VTh       float64 `json:"v_th"`
	VReset    float64 `json:"v_reset"`
	Alpha     float64 `json:"surrogate_alpha"`
}

// SpikingLI is snn.LI with JSON names.
type SpikingLI struct {
	TauSynInv float64 `json:"tau_syn_inv"`
	TauMemInv float64 `json:"tau_mem_inv"`
	VLeak     float64 `json:"v_leak"`
}

// Export writes the trained net of every run of the plan that is complete in the output folder (a
// finished checkpoint and a result) into its own folder of dir, named by the run's ID: W1.npy, b1.npy,
// W2.npy, ... and model.json (ExportedModel). Each run's folder appears whole or not at all (it is
// written beside and renamed into place, replacing an earlier export). It returns the folders written
// and the runs that are not complete, which it skips.
func (s *Study) Export(dir string) (written []string, missing []Run, err error) {
	runs, err := s.Plan()
	if err != nil {
		return nil, nil, err
	}
	for _, r := range runs {
		res, err := LoadResult(ResultPath(s.cfg.Out, r), r)
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, r)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		m, params, err := s.exportModel(r, res.TestAccuracy)
		if errors.Is(err, errIncomplete) {
			missing = append(missing, r)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("export %s: %w", r.ID, err)
		}
		folder := filepath.Join(dir, r.ID)
		if err := writeModel(folder, m, params); err != nil {
			return nil, nil, fmt.Errorf("export %s: %w", r.ID, err)
		}
		written = append(written, folder)
	}
	return written, missing, nil
}

// errIncomplete marks a run whose checkpoint is missing or unfinished.
var errIncomplete = errors.New("no finished checkpoint")

// exportModel restores run r's trained learner from its checkpoint and describes it.
func (s *Study) exportModel(r Run, accuracy float64) (ExportedModel, *nn.Params, error) {
	path := CheckpointPath(s.cfg.Out, r)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return ExportedModel{}, nil, errIncomplete
	}
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return ExportedModel{}, nil, err
	}
	if ck.Fingerprint != r.Fingerprint || !train.Complete(ck, r.Settings) {
		return ExportedModel{}, nil, errIncomplete
	}
	l, err := s.NewLearner(r)
	if err != nil {
		return ExportedModel{}, nil, err
	}
	if err := l.SetState(ck.State); err != nil {
		return ExportedModel{}, nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	m := ExportedModel{
		Format: ModelFormat, Run: r.ID, Rule: r.Rule, Dataset: r.Dataset, Seed: r.Seed, Sizes: r.Net,
		Input:        ModelInput{Channels: s.info.C, Height: s.info.H, Width: s.info.W, Normalization: inputNormalization},
		TestAccuracy: accuracy, TestExamples: s.info.Test, Settings: r.Settings,
	}
	if r.TestLimit > 0 {
		m.TestExamples = min(r.TestLimit, s.info.Test)
	}
	var params *nn.Params
	switch l := l.(type) {
	case *train.MLP:
		m.Activation = "relu"
		if m.Output, err = outputName(l.Rule()); err != nil {
			return ExportedModel{}, nil, err
		}
		params = l.Params()
	case *train.SNN:
		c := l.Net().Config()
		lif, isLIF := c.Neuron.(snn.LIF)
		li, isLI := c.Readout.(snn.LI)
		if !isLIF || !isLI {
			return ExportedModel{}, nil, fmt.Errorf("learner %s: model.json describes LIF hidden layers and an LI readout, not %T and %T", r.Rule, c.Neuron, c.Readout)
		}
		// The models' names in snn's registry: "lif" and "li".
		models := snn.DefaultModels()
		m.Activation, _ = models.Name(lif)
		m.Output, _ = models.Name(li)
		m.Spiking = &SpikingModel{Steps: c.Steps, DT: c.DT, InputRate: c.FMax, Decode: string(c.Decode),
			Neuron:  SpikingLIF{TauSynInv: lif.TauSynInv, TauMemInv: lif.TauMemInv, VLeak: lif.VLeak, VTh: lif.VTh, VReset: lif.VReset, Alpha: lif.Alpha},
			Readout: SpikingLI{TauSynInv: li.TauSynInv, TauMemInv: li.TauMemInv, VLeak: li.VLeak}}
		// snn.Net.State starts with each layer's weights [out, in] and biases [out], as nn.Params.Tensors.
		state, err := l.Net().State()
		if err != nil {
			return ExportedModel{}, nil, err
		}
		params = nn.ParamsFromTensors(state[:2*(len(r.Net)-1)])
	default:
		return ExportedModel{}, nil, fmt.Errorf("learner %s (%T): export knows dense nets (train.MLP) and spiking nets (train.SNN)", r.Rule, l)
	}
	for i := range params.W {
		m.Layers = append(m.Layers, ModelLayer{Weight: fmt.Sprintf("W%d.npy", i+1), Bias: fmt.Sprintf("b%d.npy", i+1), In: r.Net[i], Out: r.Net[i+1]})
	}
	return m, params, nil
}

// outputName names the nonlinearity rule r puts on its net's output layer (rules.Outputer).
func outputName(r rules.Rule) (string, error) {
	switch o := r.(type) {
	case rules.DTP:
		if o.OutputReLU {
			return "relu", nil
		}
		return "linear", nil
	case rules.Outputer:
		return "", fmt.Errorf("rule %s puts a nonlinearity on its output layer that export cannot name", r.Name())
	}
	return "linear", nil
}

// writeModel writes m and its weights into folder: into a fresh folder beside it first, renamed into
// place once every file is written.
func writeModel(folder string, m ExportedModel, params *nn.Params) error {
	parent := filepath.Dir(folder)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(folder)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // after the rename, nothing is left there
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for i, l := range m.Layers {
		for _, t := range []struct {
			name string
			x    *tensors.Tensor
		}{{l.Weight, params.W[i]}, {l.Bias, params.B[i]}} {
			if err := npy.WriteFloat32(filepath.Join(tmp, t.name), t.x.Shape().Dimensions, tensors.MustCopyFlatData[float32](t.x)); err != nil {
				return err
			}
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ModelFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(folder); err != nil {
		return err
	}
	return os.Rename(tmp, folder)
}
