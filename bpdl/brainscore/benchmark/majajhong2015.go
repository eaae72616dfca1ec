package benchmark

import (
	"fmt"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
)

// Identifiers of the MajajHong2015 public benchmarks.
const (
	MajajHong2015V4 = "MajajHong2015public.V4-pls"
	MajajHong2015IT = "MajajHong2015public.IT-pls"
)

// majajHong2015 is Brain-Score's MajajHongV4PublicBenchmark and MajajHongITPublicBenchmark
// (dicarlo.MajajHong2015public.<region>-pls): the public half of Majaj, Hong et al. (2015)'s V4 and IT
// multi-unit recordings to 3200 HvM images shown at 8 degrees, responses averaged over the 70-170 ms
// bin and over repetitions, splits stratified by object_name.
func majajHong2015(region string) neuralSpec {
	return neuralSpec{
		identifier: fmt.Sprintf("MajajHong2015public.%s-pls", region),
		brainScore: fmt.Sprintf("dicarlo.MajajHong2015public.%s-pls", region),
		assembly:   "dicarlo.MajajHong2015.public",
		stimuli:    "hvm-public",
		region:     region,
		timeStart:  70, timeEnd: 170,
		stratify: "object_name",
		degrees:  8,
	}
}

// majajHong2015Definition registers the region's benchmark.
func majajHong2015Definition(region string) Definition {
	return neuralDefinition(majajHong2015(region), region+" multi-unit sites, 3200 HvM object images at 8 degrees (Majaj, Hong et al. 2015)")
}

// NewMajajHong2015 returns the MajajHong2015 public benchmarks of the listed regions ("V4", "IT") on an
// assembly in the layout of dicarlo.MajajHong2015.public and its stimuli.
func NewMajajHong2015(a *brainio.Assembly, st Stimuli, regions ...string) ([]*Neural, error) {
	var out []*Neural
	images := newPreparedImages(st)
	for _, r := range regions {
		if r != "V4" && r != "IT" {
			return nil, fmt.Errorf("benchmark: MajajHong2015 has no region %q (V4, IT)", r)
		}
		b, err := newNeural(majajHong2015(r), a, images)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
