package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/bpdl/bpdl/bpdl/diag"
)

// Runs are stored as JSON (one file per run, so that runs made by different processes can be gathered
// into one report). JSON has no NaN or infinity, which runs use for "not measured": Float writes them as
// the strings "NaN", "+Inf" and "-Inf" and reads them back, so a run survives the round trip bit for bit.

// Float is a float64 whose JSON form keeps NaN and the infinities.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "+Inf":
			*f = Float(math.Inf(1))
		case "-Inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("report: %q is not a number", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("report: %s is not a number", b)
	}
	*f = Float(v)
	return nil
}

type runJSON struct {
	Dataset        string      `json:"dataset"`
	Rule           string      `json:"rule"`
	Seed           uint64      `json:"seed"`
	Epochs         int         `json:"epochs"`
	Batch          int         `json:"batch"`
	Optimizer      string      `json:"optimizer"`
	Backend        string      `json:"backend"`
	TestAccuracy   Float       `json:"test_accuracy"`
	History        []pointJSON `json:"history"`
	Scores         []scoreJSON `json:"scores"`
	Raster         *Raster     `json:"raster,omitempty"`
	WallSeconds    Float       `json:"wall_seconds"`
	ExamplesPerSec Float       `json:"examples_per_sec"`
}

type pointJSON struct {
	Phase        string       `json:"phase"`
	Epoch        Float        `json:"epoch"`
	Step         int          `json:"step"`
	Examples     int          `json:"examples"`
	TrainLoss    Float        `json:"train_loss"`
	TestAccuracy Float        `json:"test_accuracy"`
	Metrics      []metricJSON `json:"metrics"`
}

type metricJSON struct {
	Kind  diag.Kind `json:"kind"`
	Layer int       `json:"layer,omitempty"`
	Value Float     `json:"value"`
}

type scoreJSON struct {
	Benchmark string `json:"benchmark"`
	Region    string `json:"region"`
	Layer     string `json:"layer"`
	Raw       Float  `json:"raw"`
	Error     Float  `json:"error"`
	Ceiling   Float  `json:"ceiling"`
	CeiledRC2 Float  `json:"ceiled_rc2"`
	CeiledR2C Float  `json:"ceiled_r2c"`
	Status    string `json:"status"`
}

// MarshalJSON implements json.Marshaler, keeping NaN and infinite values (see Float).
func (r Run) MarshalJSON() ([]byte, error) {
	j := runJSON{Dataset: r.Dataset, Rule: r.Rule, Seed: r.Seed, Epochs: r.Epochs, Batch: r.Batch, Optimizer: r.Optimizer,
		Backend: r.Backend, TestAccuracy: Float(r.TestAccuracy), Raster: r.Raster,
		WallSeconds: Float(r.WallSeconds), ExamplesPerSec: Float(r.ExamplesPerSec)}
	for _, p := range r.History {
		pj := pointJSON{Phase: p.Phase, Epoch: Float(p.Epoch), Step: p.Step, Examples: p.Examples,
			TrainLoss: Float(p.TrainLoss), TestAccuracy: Float(p.TestAccuracy)}
		for _, m := range p.Metrics {
			pj.Metrics = append(pj.Metrics, metricJSON{Kind: m.Kind, Layer: m.Layer, Value: Float(m.Value)})
		}
		j.History = append(j.History, pj)
	}
	for _, s := range r.Scores {
		j.Scores = append(j.Scores, scoreJSON{Benchmark: s.Benchmark, Region: s.Region, Layer: s.Layer, Raw: Float(s.Raw),
			Error: Float(s.Error), Ceiling: Float(s.Ceiling), CeiledRC2: Float(s.CeiledRC2), CeiledR2C: Float(s.CeiledR2C), Status: s.Status})
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Run) UnmarshalJSON(b []byte) error {
	var j runJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Run{Dataset: j.Dataset, Rule: j.Rule, Seed: j.Seed, Epochs: j.Epochs, Batch: j.Batch, Optimizer: j.Optimizer,
		Backend: j.Backend, TestAccuracy: float64(j.TestAccuracy), Raster: j.Raster,
		WallSeconds: float64(j.WallSeconds), ExamplesPerSec: float64(j.ExamplesPerSec)}
	for _, pj := range j.History {
		p := Point{Phase: pj.Phase, Epoch: float64(pj.Epoch), Step: pj.Step, Examples: pj.Examples,
			TrainLoss: float64(pj.TrainLoss), TestAccuracy: float64(pj.TestAccuracy)}
		for _, m := range pj.Metrics {
			p.Metrics = append(p.Metrics, diag.Metric{Kind: m.Kind, Layer: m.Layer, Value: float64(m.Value)})
		}
		r.History = append(r.History, p)
	}
	for _, s := range j.Scores {
		r.Scores = append(r.Scores, Score{Benchmark: s.Benchmark, Region: s.Region, Layer: s.Layer, Raw: float64(s.Raw),
			Error: float64(s.Error), Ceiling: float64(s.Ceiling), CeiledRC2: float64(s.CeiledRC2), CeiledR2C: float64(s.CeiledR2C), Status: s.Status})
	}
	return nil
}
