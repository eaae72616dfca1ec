package stimuli

import (
	"fmt"
	"math"
)

// Filter is a resampling filter of PIL's Image.resize.
type Filter int

const (
	// Bilinear is PIL's BILINEAR: a triangle filter of support 1 (torchvision's Resize default).
	Bilinear Filter = iota
	// Bicubic is PIL's BICUBIC: the cubic convolution kernel with a = −0.5 and support 2 (PIL's
	// Image.resize default since Pillow 7, used by Brain-Score's pixels model).
	Bicubic
)

// String returns PIL's name of the filter.
func (f Filter) String() string {
	switch f {
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

func (f Filter) support() float64 {
	if f == Bicubic {
		return 2
	}
	return 1
}

func (f Filter) weight(x float64) float64 {
	if x < 0 {
		x = -x
	}
	switch f {
	case Bicubic:
		const a = -0.5
		if x < 1 {
			return ((a+2)*x-(a+3))*x*x + 1
		}
		if x < 2 {
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	default:
		if x < 1 {
			return 1 - x
		}
		return 0
	}
}

// precisionBits is PIL's PRECISION_BITS for 8-bit images: coefficients are fixed-point with 22
// fractional bits.
const precisionBits = 32 - 8 - 2

// coefficients holds one pass's fixed-point filter: for output position i, the inputs
// first[i] .. first[i]+len(k[i])-1 weighted by k[i].
type coefficients struct {
	first []int
	k     [][]int32
}

// precompute computes the filter of one pass from inSize to outSize samples exactly as PIL's
// precompute_coeffs and normalize_coeffs_8bpc do: the filter is widened by the scale factor when
// downscaling, centred on each output sample's centre in input coordinates, its taps normalised to sum
// to one in float64, then rounded half away from zero to 22-bit fixed point.
func precompute(inSize, outSize int, f Filter) coefficients {
	scale := float64(inSize) / float64(outSize)
	filterscale := math.Max(scale, 1)
	support := f.support() * filterscale
	c := coefficients{first: make([]int, outSize), k: make([][]int32, outSize)}
	w := make([]float64, int(math.Ceil(support))*2+1)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5) // truncation towards zero, as C's (int) cast
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := range xmax {
			w[x] = f.weight((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := make([]int32, xmax)
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.first[xx], c.k[xx] = xmin, k
	}
	return c
}

// clip8 turns a fixed-point accumulator into a byte as PIL's clip8 does: floor division by 2²², clamped
// to [0, 255].
func clip8(v int32) uint8 {
	v >>= precisionBits
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// Resize resamples the image to w × h pixels exactly as PIL's Image.resize does for 8-bit images
// (ImagingResample): a horizontal pass, if the width changes, into an 8-bit intermediate image, then a
// vertical pass, if the height changes, each output sample the fixed-point filtered sum of its inputs
// (plus one half, for rounding) clipped to a byte. An image already of the requested size is copied.
func Resize(m *Image, w, h int, f Filter) *Image {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("stimuli: Resize to %dx%d: want a positive size", w, h))
	}
	if m.W == 0 || m.H == 0 {
		panic(fmt.Sprintf("stimuli: Resize of an empty %dx%d image", m.W, m.H))
	}
	cur := m
	nc := m.Channels
	if w != m.W {
		c := precompute(m.W, w, f)
		out := NewImage(w, m.H, nc)
		for y := range m.H {
			src := cur.Pix[y*m.W*nc : (y+1)*m.W*nc]
			dst := out.Pix[y*w*nc : (y+1)*w*nc]
			for xx := range w {
				first, k := c.first[xx], c.k[xx]
				if nc == 3 {
					s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
					in := src[first*3 : (first+len(k))*3]
					for x, kx := range k {
						p := in[3*x : 3*x+3]
						s0 += int32(p[0]) * kx
						s1 += int32(p[1]) * kx
						s2 += int32(p[2]) * kx
					}
					dst[3*xx], dst[3*xx+1], dst[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
					continue
				}
				ss := int32(1 << (precisionBits - 1))
				for x, kx := range k {
					ss += int32(src[first+x]) * kx
				}
				dst[xx] = clip8(ss)
			}
		}
		cur = out
	}
	if h != m.H {
		c := precompute(m.H, h, f)
		row := cur.W * nc
		out := NewImage(cur.W, h, nc)
		acc := make([]int32, row)
		for yy := range h {
			first, k := c.first[yy], c.k[yy]
			for i := range acc {
				acc[i] = 1 << (precisionBits - 1)
			}
			for y, ky := range k {
				src := cur.Pix[(first+y)*row : (first+y+1)*row]
				for i, v := range src {
					acc[i] += int32(v) * ky
				}
			}
			dst := out.Pix[yy*row : (yy+1)*row]
			for i, v := range acc {
				dst[i] = clip8(v)
			}
		}
		cur = out
	}
	if cur == m {
		cp := *m
		cp.Pix = append([]uint8(nil), m.Pix...)
		return &cp
	}
	return cur
}
