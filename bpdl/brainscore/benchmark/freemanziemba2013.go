package benchmark

import (
	"fmt"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
)

// Identifiers of the FreemanZiemba2013 public benchmarks.
const (
	FreemanZiemba2013V1 = "FreemanZiemba2013public.V1-pls"
	FreemanZiemba2013V2 = "FreemanZiemba2013public.V2-pls"
)

// freemanZiemba2013 is Brain-Score's FreemanZiembaV1PublicBenchmark and FreemanZiembaV2PublicBenchmark
// (movshon.FreemanZiemba2013public.<region>-pls): the public part of Freeman, Ziemba et al. (2013)'s V1
// and V2 single units responding to texture and noise images in an aperture, shown at 4 degrees (so
// placed on a gray 8-degree screen for the model), responses averaged over the 1-ms bins from 50 to
// 200 ms and over repetitions, splits stratified by texture_type.
func freemanZiemba2013(region string) neuralSpec {
	return neuralSpec{
		identifier: fmt.Sprintf("FreemanZiemba2013public.%s-pls", region),
		brainScore: fmt.Sprintf("movshon.FreemanZiemba2013public.%s-pls", region),
		assembly:   "movshon.FreemanZiemba2013.public",
		stimuli:    "FreemanZiemba2013.aperture-public",
		region:     region,
		timeStart:  50, timeEnd: 200,
		stratify: "texture_type",
		degrees:  4,
	}
}

// freemanZiemba2013Definition registers the region's benchmark.
func freemanZiemba2013Definition(region string) Definition {
	return neuralDefinition(freemanZiemba2013(region), region+" single units, texture and noise images at 4 degrees (Freeman, Ziemba et al. 2013)")
}

// NewFreemanZiemba2013 returns the FreemanZiemba2013 public benchmarks of the listed regions ("V1",
// "V2") on an assembly in the layout of movshon.FreemanZiemba2013.public and its stimuli.
func NewFreemanZiemba2013(a *brainio.Assembly, st Stimuli, regions ...string) ([]*Neural, error) {
	var out []*Neural
	images := newPreparedImages(st)
	for _, r := range regions {
		if r != "V1" && r != "V2" {
			return nil, fmt.Errorf("benchmark: FreemanZiemba2013 has no region %q (V1, V2)", r)
		}
		b, err := newNeural(freemanZiemba2013(r), a, images)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
