package stimuli

import (
	"fmt"
	"image"
)

// Normalization maps 8-bit pixel values to model input values.
type Normalization int

const (
	// ImageNet is torchvision's ToTensor followed by Normalize(mean=(0.485, 0.456, 0.406),
	// std=(0.229, 0.224, 0.225)), in float32 as torch computes it: ((b/255) − mean[c]) / std[c].
	// model-tools' torchvision_preprocess defaults. It needs three channels.
	ImageNet Normalization = iota
	// Symmetric is ToTensor followed by Normalize(0.5, 0.5), ((b/255) − 0.5) / 0.5 in float32, which maps
	// [0, 255] to [−1, 1]: the normalisation of the study's training data (package data).
	Symmetric
	// Bytes keeps the pixel values 0..255, as Brain-Score's pixels model does.
	Bytes
)

// String names the normalisation.
func (n Normalization) String() string {
	switch n {
	case ImageNet:
		return "imagenet"
	case Symmetric:
		return "symmetric"
	case Bytes:
		return "bytes"
	}
	return fmt.Sprintf("Normalization(%d)", int(n))
}

// ImageNet's per-channel mean and standard deviation (R, G, B), as model-tools passes them to
// torchvision's Normalize.
var (
	imageNetMean = [3]float32{0.485, 0.456, 0.406}
	imageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Preprocessing is a recipe that turns a stimulus image into a model input: Channels planes of
// Height × Width values, plane after plane (the layout of package data and of torch's CHW tensors).
// The steps are: conversion to RGB (FromImage); when VisualDegrees > 0, PlaceOnScreen from the
// stimulus's degrees to VisualDegrees; for one channel, PIL's luma (Image.Luma); Resize to
// Width × Height with Filter; and Normalization.
type Preprocessing struct {
	// Name identifies the recipe in reports.
	Name string
	// VisualDegrees is the model's field of view in degrees; 0 uses every stimulus as it is.
	VisualDegrees float64
	// Channels is 3 (R, G, B planes) or 1 (luma).
	Channels int
	// Height and Width are the input size in pixels.
	Height, Width int
	// Filter is the resampling filter.
	Filter Filter
	// Normalization maps pixel bytes to input values.
	Normalization Normalization
}

// ModelToolsVisualDegrees is the field of view ModelCommitment gives a model by default.
const ModelToolsVisualDegrees = 8

// ModelTools returns the public benchmarks' preprocessing of the study: model-tools'
// load_preprocess_images(image_size=size) inside a ModelCommitment with an 8-degree field of view
// (place_on_screen, RGB conversion, torchvision Resize((size, size)) with PIL's bilinear filter,
// ToTensor and ImageNet normalisation).
func ModelTools(size int) Preprocessing {
	return Preprocessing{
		Name:          fmt.Sprintf("model-tools(image_size=%d, visual_degrees=%d)", size, ModelToolsVisualDegrees),
		VisualDegrees: ModelToolsVisualDegrees,
		Channels:      3, Height: size, Width: size,
		Filter: Bilinear, Normalization: ImageNet,
	}
}

// Study returns the offline benchmarks' preprocessing: the image resized (PIL bilinear) to the model's
// input of channels × height × width and normalised as the study's training data, (b/255 − 0.5)/0.5; one
// channel means PIL's luma. Images are used at their own size: no screen placement.
func Study(channels, height, width int) Preprocessing {
	return Preprocessing{
		Name:     fmt.Sprintf("study(%dx%dx%d, x/255*2-1)", channels, height, width),
		Channels: channels, Height: height, Width: width,
		Filter: Bilinear, Normalization: Symmetric,
	}
}

// BrainScorePixels returns the preprocessing of Brain-Score's pixels model: PIL's convert("RGB") and
// resize((256, 256)) with its default bicubic filter, pixel bytes as features, no screen placement.
func BrainScorePixels() Preprocessing {
	return Preprocessing{
		Name:     "brainscore-pixels(256x256, bicubic, bytes)",
		Channels: 3, Height: 256, Width: 256,
		Filter: Bicubic, Normalization: Bytes,
	}
}

// Len returns the number of values of one input, Channels·Height·Width.
func (p Preprocessing) Len() int { return p.Channels * p.Height * p.Width }

// Validate reports whether the recipe is complete and consistent.
func (p Preprocessing) Validate() error {
	switch {
	case p.Channels != 1 && p.Channels != 3:
		return fmt.Errorf("stimuli: preprocessing %q: %d channels, want 1 or 3", p.Name, p.Channels)
	case p.Height <= 0 || p.Width <= 0:
		return fmt.Errorf("stimuli: preprocessing %q: input size %dx%d, want positive", p.Name, p.Height, p.Width)
	case p.VisualDegrees < 0:
		return fmt.Errorf("stimuli: preprocessing %q: %g visual degrees, want >= 0", p.Name, p.VisualDegrees)
	case p.Normalization == ImageNet && p.Channels != 3:
		return fmt.Errorf("stimuli: preprocessing %q: ImageNet normalisation needs 3 channels, not %d", p.Name, p.Channels)
	case p.Filter != Bilinear && p.Filter != Bicubic:
		return fmt.Errorf("stimuli: preprocessing %q: unknown filter %v", p.Name, p.Filter)
	case p.Normalization != ImageNet && p.Normalization != Symmetric && p.Normalization != Bytes:
		return fmt.Errorf("stimuli: preprocessing %q: unknown normalisation %v", p.Name, p.Normalization)
	}
	return nil
}

// Apply prepares a decoded stimulus shown at the given visual degrees (ignored when p.VisualDegrees is
// 0) and returns the model input.
func (p Preprocessing) Apply(img image.Image, degrees float64) ([]float32, error) {
	m, err := FromImage(img)
	if err != nil {
		return nil, err
	}
	return p.ApplyImage(m, degrees)
}

// ApplyImage is Apply for an image already converted to RGB (or luma).
func (p Preprocessing) ApplyImage(m *Image, degrees float64) ([]float32, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.VisualDegrees > 0 {
		var err error
		if m, err = PlaceOnScreen(m, degrees, p.VisualDegrees); err != nil {
			return nil, err
		}
	}
	if p.Channels == 1 {
		m = m.Luma()
	} else {
		m = m.RGB()
	}
	if m.W != p.Width || m.H != p.Height {
		m = Resize(m, p.Width, p.Height, p.Filter)
	}
	return p.normalize(m), nil
}

// normalize writes the planes of m, normalised.
func (p Preprocessing) normalize(m *Image) []float32 {
	nc, plane := m.Channels, m.W*m.H
	out := make([]float32, nc*plane)
	for c := range nc {
		dst := out[c*plane : (c+1)*plane]
		var tbl [256]float32
		for b := range tbl {
			v := float32(b)
			switch p.Normalization {
			case ImageNet:
				v = (v/255 - imageNetMean[c]) / imageNetStd[c]
			case Symmetric:
				v = (v/255 - 0.5) / 0.5
			}
			tbl[b] = v
		}
		for i := range dst {
			dst[i] = tbl[m.Pix[i*nc+c]]
		}
	}
	return out
}
