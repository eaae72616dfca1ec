package stimuli

import (
	"fmt"
	"math"
)

// ScreenGray is the background of Brain-Score's screen: PIL's colour "gray", (128, 128, 128).
const ScreenGray = 128

// PlaceOnScreen shows an image that spans sourceDegrees of visual angle on a screen that spans
// targetDegrees, as Brain-Score's place_on_screen (ImageConverter.apply_ratio) does before a model sees
// it. With ratio = targetDegrees/sourceDegrees and sizes rounded half to even as NumPy's round does:
//
//   - ratio ≥ 1: a gray (128, 128, 128) RGB canvas of round(ratio·width) × round(ratio·height) pixels
//     with the image pasted at round((canvas − image)/2);
//   - ratio < 1: the centre crop of round(ratio·width) × round(ratio·height) pixels starting at
//     round((image − crop)/2).
//
// An image whose degrees equal the target's is returned unchanged. A one-channel image is made RGB when
// it is pasted on the canvas, as PIL's paste does.
//
// Brain-Score writes the placed image back in its original format; for a JPEG stimulus that re-encodes
// it lossily, which this function does not imitate (the public benchmarks' stimuli are PNG).
func PlaceOnScreen(m *Image, sourceDegrees, targetDegrees float64) (*Image, error) {
	if !(sourceDegrees > 0) || !(targetDegrees > 0) || math.IsInf(sourceDegrees, 0) || math.IsInf(targetDegrees, 0) {
		return nil, fmt.Errorf("stimuli: placing a %g-degree image on a %g-degree screen: want positive finite degrees", sourceDegrees, targetDegrees)
	}
	if sourceDegrees == targetDegrees {
		return m, nil
	}
	ratio := targetDegrees / sourceDegrees
	tw := int(math.RoundToEven(ratio * float64(m.W)))
	th := int(math.RoundToEven(ratio * float64(m.H)))
	if tw <= 0 || th <= 0 {
		return nil, fmt.Errorf("stimuli: placing a %dx%d image of %g degrees on a %g-degree screen leaves %dx%d pixels", m.W, m.H, sourceDegrees, targetDegrees, tw, th)
	}
	if ratio >= 1 {
		rgb := m.RGB()
		out := NewImage(tw, th, 3)
		for i := range out.Pix {
			out.Pix[i] = ScreenGray
		}
		left := int(math.RoundToEven(float64(tw-m.W) / 2))
		top := int(math.RoundToEven(float64(th-m.H) / 2))
		for y := range m.H {
			copy(out.Pix[((top+y)*tw+left)*3:], rgb.Pix[y*m.W*3:(y+1)*m.W*3])
		}
		return out, nil
	}
	left := int(math.RoundToEven(float64(m.W-tw) / 2))
	top := int(math.RoundToEven(float64(m.H-th) / 2))
	nc := m.Channels
	out := NewImage(tw, th, nc)
	for y := range th {
		copy(out.Pix[y*tw*nc:(y+1)*tw*nc], m.Pix[((top+y)*m.W+left)*nc:])
	}
	return out, nil
}
