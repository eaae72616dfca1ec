package main

import (
	"context"
	"io"

	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
	"github.com/bpdl/bpdl/bpdl/train"
)

// score scores a trained learner on the brain benchmarks.
func (c *studyConfig) score(ctx context.Context, l train.Learner, ds *data.Dataset, w io.Writer) ([]report.Score, error) {
	return nil, nil // brain benchmarks are wired in when bpdl/brainscore lands
}
