package study

import (
	"fmt"
	"io"
	"time"
)

// Planned is a run of the plan with its state in the output folder: complete, or how long its training
// will take on this machine.
type Planned struct {
	Run
	Complete        bool    `json:"complete"`
	EstimateSeconds float64 `json:"estimate_seconds"`
}

// Estimates returns every run's state, timing the training step of each incomplete one for about budget
// (see Estimate).
func (s *Study) Estimates(runs []Run, budget time.Duration) ([]Planned, error) {
	out := make([]Planned, len(runs))
	for i, r := range runs {
		out[i] = Planned{Run: r, Complete: s.Complete(r)}
		if !out[i].Complete {
			d, err := s.Estimate(r, budget)
			if err != nil {
				return nil, err
			}
			out[i].EstimateSeconds = d.Seconds()
		}
	}
	return out, nil
}

// PlanSummary is a plan with its estimates, as reproduce -plan -json writes it.
type PlanSummary struct {
	Backend         string    `json:"backend"`
	Machine         string    `json:"machine"`
	Runs            []Planned `json:"runs"`
	EstimateSeconds float64   `json:"estimate_seconds"` // the sum over the runs
}

// Summary returns the plan's summary on this machine (named by machine).
func (s *Study) Summary(planned []Planned, machine string) PlanSummary {
	p := PlanSummary{Backend: s.backendName, Machine: machine, Runs: planned}
	for _, r := range planned {
		p.EstimateSeconds += r.EstimateSeconds
	}
	return p
}

// WriteText writes the plan as a table: each run's index, rule, seed, optimiser, batch, epochs and state
// (complete, or its estimated training time), its ID, and the total.
func (p PlanSummary) WriteText(w io.Writer) {
	round := func(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)).Round(time.Second) }
	fmt.Fprintf(w, "plan: %d runs (-run ID, or -run-index 0 to %d, does one)\n", len(p.Runs), len(p.Runs)-1)
	for i, r := range p.Runs {
		status := "complete"
		if !r.Complete {
			status = "train, about " + round(r.EstimateSeconds).String()
		}
		fmt.Fprintf(w, "  %-3d %-10s seed %-4d %-40s batch %-4d epochs %-3d %s\n      %s\n", i, r.Rule, r.Seed, r.Settings.Optimizer, r.Settings.Batch, r.Settings.Epochs, status, r.ID)
	}
	fmt.Fprintf(w, "estimated training time: %s (from a short calibration on this machine)\n", round(p.EstimateSeconds))
}
