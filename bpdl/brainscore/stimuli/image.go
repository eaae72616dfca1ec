package stimuli

import (
	"fmt"
	"image"
	"image/color"
)

// Image is an 8-bit image in PIL's layout: Channels interleaved values per pixel, rows top to bottom,
// so the value of channel c at (x, y) is Pix[(y*W+x)*Channels+c]. Channels is 3 (RGB, PIL mode "RGB")
// or 1 (luminance, PIL mode "L").
type Image struct {
	W, H, Channels int
	Pix            []uint8
}

// NewImage returns a black image of the given size and number of channels (1 or 3).
func NewImage(w, h, channels int) *Image {
	if w < 0 || h < 0 || (channels != 1 && channels != 3) {
		panic(fmt.Sprintf("stimuli: NewImage(%d, %d, %d): want non-negative sizes and 1 or 3 channels", w, h, channels))
	}
	return &Image{W: w, H: h, Channels: channels, Pix: make([]uint8, w*h*channels)}
}

// FromImage converts a decoded image to RGB the way model-tools' load_image does with PIL.
//
// RGB images (Go's *image.RGBA when opaque, *image.YCbCr for JPEG) are taken as they are. Images
// with luminance, alpha or a palette are pasted onto a black RGB image, which in PIL replicates
// luminance into the three channels, looks palette entries up, and drops alpha without blending
// (the stored, non-premultiplied colour is kept). 16-bit colour images are reduced to their high
// bytes, as PIL's PNG decoder does.
//
// It is an error for images model-tools would hand to torchvision in a mode that is neither RGB nor
// RGB-convertible (16-bit luminance, which PIL opens as mode "I;16", and CMYK).
//
// JPEG images are decoded by Go's image/jpeg, not libjpeg: pixels may differ from PIL's by a level (on
// three of the Cowley et al. 4:2:0 JPEGs at most 1, 0.015 levels on average).
func FromImage(img image.Image) (*Image, error) {
	b := img.Bounds()
	out := NewImage(b.Dx(), b.Dy(), 3)
	set := func(x, y int, r, g, bl uint8) {
		i := ((y-b.Min.Y)*out.W + (x - b.Min.X)) * 3
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, bl
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := range out.H {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:out.W]
			dst := out.Pix[y*out.W*3 : (y+1)*out.W*3]
			for x, v := range src {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := range out.H {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*out.W]
			dst := out.Pix[y*out.W*3 : (y+1)*out.W*3]
			for x := range out.W {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	case *image.NRGBA64:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := m.NRGBA64At(x, y)
				set(x, y, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				k := int(m.ColorIndexAt(x, y))
				if k >= len(pal) {
					return nil, fmt.Errorf("stimuli: palette index %d at (%d, %d) beyond the %d-colour palette", k, x, y, len(pal))
				}
				c := pal[k]
				set(x, y, c.R, c.G, c.B)
			}
		}
	case *image.RGBA:
		for y := range out.H {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*out.W]
			dst := out.Pix[y*out.W*3 : (y+1)*out.W*3]
			for x := range out.W {
				p := src[4*x : 4*x+4]
				if p[3] == 0xff { // opaque: premultiplied and straight colour agree
					dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
					continue
				}
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
			}
		}
	case *image.RGBA64:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBA64Model.Convert(m.RGBA64At(x, y)).(color.NRGBA64)
				set(x, y, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := m.YCbCrAt(x, y)
				r, g, bl := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				set(x, y, r, g, bl)
			}
		}
	case *image.Gray16:
		return nil, fmt.Errorf("stimuli: 16-bit grayscale image: PIL opens it in mode I;16, which model-tools passes to torchvision unconverted")
	case *image.CMYK:
		return nil, fmt.Errorf("stimuli: CMYK image: PIL opens it in mode CMYK, which model-tools passes to torchvision unconverted")
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				set(x, y, c.R, c.G, c.B)
			}
		}
	}
	return out, nil
}

// Luma returns the one-channel luminance of an RGB image as PIL's convert("L") computes it (ITU-R 601-2
// weights in 16-bit fixed point, rounded): L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16. A
// one-channel image is returned as it is.
func (m *Image) Luma() *Image {
	if m.Channels == 1 {
		return m
	}
	out := NewImage(m.W, m.H, 1)
	for i := range out.Pix {
		p := m.Pix[3*i : 3*i+3]
		out.Pix[i] = uint8((uint32(p[0])*19595 + uint32(p[1])*38470 + uint32(p[2])*7471 + 0x8000) >> 16)
	}
	return out
}

// RGB returns the image with three channels, replicating luminance as PIL's convert("RGB") does. A
// three-channel image is returned as it is.
func (m *Image) RGB() *Image {
	if m.Channels == 3 {
		return m
	}
	out := NewImage(m.W, m.H, 3)
	for i, v := range m.Pix {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
	}
	return out
}
