package stimuli

import (
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
	"github.com/bpdl/bpdl/bpdl/npy"
)

// decode reads an image file.
func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// rsa92 returns the path of one of the shared 92 object images.
func rsa92(t *testing.T, n int) string {
	return shared.Path(t, "rsa92", "stimuli", []string{"", "01.png", "02.png", "03.png", "04.png", "05.png", "06.png", "07.png"}[n])
}

func testdata(name string) func(*testing.T) string {
	return func(*testing.T) string { return filepath.Join("testdata", name) }
}

// TestMatchesPIL compares every step with what PIL and torch compute (testdata/gen_expected.py): the
// inputs must be bit-identical.
func TestMatchesPIL(t *testing.T) {
	mt := ModelTools(32)
	resizeOnly := func(w, h int, f Filter) func(*testing.T, image.Image) []float64 {
		return func(t *testing.T, img image.Image) []float64 {
			m, err := FromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			r := Resize(m, w, h, f)
			out := make([]float64, len(r.Pix))
			for i, v := range r.Pix {
				out[i] = float64(v)
			}
			return out
		}
	}
	prep := func(p Preprocessing, degrees float64) func(*testing.T, image.Image) []float64 {
		return func(t *testing.T, img image.Image) []float64 {
			x, err := p.Apply(img, degrees)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float64, len(x))
			for i, v := range x {
				out[i] = float64(v)
			}
			return out
		}
	}
	rsa := func(n int) func(*testing.T) string { return func(t *testing.T) string { return rsa92(t, n) } }
	cases := []struct {
		name  string
		input func(*testing.T) string
		run   func(*testing.T, image.Image) []float64
	}{
		{"rsa01_modeltools32", rsa(1), prep(mt, 8)},
		{"rsa02_modeltools32_4deg", rsa(2), prep(mt, 4)},
		{"rsa03_modeltools32_10deg", rsa(3), prep(mt, 10)},
		{"rsa04_modeltools32_6deg", rsa(4), prep(mt, 6)},
		{"gray_modeltools32", testdata("gray.png"), prep(mt, 8)},
		{"rgba_modeltools32", testdata("rgba.png"), prep(mt, 8)},
		{"palette_modeltools32", testdata("palette.png"), prep(mt, 8)},
		{"small_modeltools32", testdata("small.png"), prep(mt, 8)},
		{"rsa01_study1x28", rsa(1), prep(Study(1, 28, 28), 8)},
		{"rsa05_study3x32", rsa(5), prep(Study(3, 32, 32), 8)},
		{"rsa06_bicubic45x45", rsa(6), resizeOnly(45, 45, Bicubic)},
		{"rsa07_bilinear31x17", rsa(7), resizeOnly(31, 17, Bilinear)},
		{"small_bicubic64x48", testdata("small.png"), resizeOnly(64, 48, Bicubic)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := npy.Read(filepath.Join("testdata", c.name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			got := c.run(t, decode(t, c.input(t)))
			if len(got) != len(want.Data) {
				t.Fatalf("%d values, PIL gives %d (shape %v)", len(got), len(want.Data), want.Shape)
			}
			bad := 0
			for i := range got {
				if got[i] != want.Data[i] {
					if bad < 5 {
						t.Errorf("value %d = %v, PIL/torch %v", i, got[i], want.Data[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d values differ", bad, len(got))
			}
		})
	}
}

func TestPlaceOnScreen(t *testing.T) {
	m := NewImage(5, 3, 1)
	for i := range m.Pix {
		m.Pix[i] = uint8(i + 1)
	}
	cases := []struct {
		name          string
		source, tgt   float64
		w, h, channel int
		// corner is the value at (0, 0) of channel 0; at is (x, y, value) of a pixel of the image. The
		// values are those Brain-Score's ImageConverter gives (checked with testdata/gen_expected.py's
		// place_on_screen).
		corner uint8
		at     [3]int
	}{
		{"same", 8, 8, 5, 3, 1, 1, [3]int{4, 2, 15}},
		{"enlarge x2", 4, 8, 10, 6, 3, ScreenGray, [3]int{2, 2, 1}},   // round((10-5)/2) = 2 (half to even)
		{"enlarge x1.5", 8, 12, 8, 4, 3, ScreenGray, [3]int{2, 0, 1}}, // 7.5 -> 8, 4.5 -> 4; left round(1.5) = 2, top round(0.5) = 0
		{"crop", 10, 8, 4, 2, 1, 1, [3]int{1, 1, 7}},                  // 4 x 2.4 -> 4 x 2; left and top round(0.5) = 0
		{"crop half", 16, 8, 2, 2, 1, 3, [3]int{1, 1, 9}},             // 2.5 -> 2, 1.5 -> 2; left round(1.5) = 2, top round(0.5) = 0
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := PlaceOnScreen(m, c.source, c.tgt)
			if err != nil {
				t.Fatal(err)
			}
			if out.W != c.w || out.H != c.h || out.Channels != c.channel {
				t.Fatalf("%dx%dx%d, want %dx%dx%d", out.W, out.H, out.Channels, c.w, c.h, c.channel)
			}
			if got := out.Pix[0]; got != c.corner {
				t.Errorf("corner %d, want %d", got, c.corner)
			}
			x, y, v := c.at[0], c.at[1], c.at[2]
			if got := out.Pix[(y*out.W+x)*out.Channels]; int(got) != v {
				t.Errorf("pixel (%d, %d) = %d, want %d", x, y, got, v)
			}
		})
	}
	for _, bad := range [][2]float64{{0, 8}, {8, -1}, {math.Inf(1), 8}, {math.NaN(), 8}} {
		if _, err := PlaceOnScreen(m, bad[0], bad[1]); err == nil {
			t.Errorf("PlaceOnScreen(%v, %v): no error", bad[0], bad[1])
		}
	}
}

func TestFromImageModes(t *testing.T) {
	rgb := func(img image.Image) [3]uint8 {
		m, err := FromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		return [3]uint8{m.Pix[0], m.Pix[1], m.Pix[2]}
	}
	gray := image.NewGray(image.Rect(0, 0, 1, 1))
	gray.Pix[0] = 77
	nrgba := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 10}) // alpha is dropped, not blended
	pal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.NRGBA{1, 2, 3, 0}, color.RGBA{9, 8, 7, 255}})
	rgba := image.NewRGBA(image.Rect(0, 0, 1, 1))
	rgba.SetRGBA(0, 0, color.RGBA{100, 50, 0, 128}) // premultiplied: straight colour (199, 99, 0)
	opaque := image.NewRGBA(image.Rect(0, 0, 1, 1))
	opaque.SetRGBA(0, 0, color.RGBA{1, 2, 3, 255})
	sub := image.NewGray(image.Rect(0, 0, 3, 3))
	sub.SetGray(2, 1, color.Gray{Y: 42})
	nrgba64 := image.NewNRGBA64(image.Rect(0, 0, 1, 1))
	nrgba64.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0xabcd, 0xff00, 0x0100})
	cases := []struct {
		name string
		img  image.Image
		want [3]uint8
	}{
		{"gray", gray, [3]uint8{77, 77, 77}},
		{"nrgba", nrgba, [3]uint8{200, 100, 50}},
		{"paletted", pal, [3]uint8{1, 2, 3}},
		{"nrgba64", nrgba64, [3]uint8{0x12, 0xab, 0xff}},
		{"rgba translucent", rgba, [3]uint8{199, 99, 0}},
		{"rgba opaque", opaque, [3]uint8{1, 2, 3}},
		{"sub-image", sub.SubImage(image.Rect(2, 1, 3, 3)), [3]uint8{42, 42, 42}},
	}
	for _, c := range cases {
		if got := rgb(c.img); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, img := range []image.Image{image.NewGray16(image.Rect(0, 0, 1, 1)), image.NewCMYK(image.Rect(0, 0, 1, 1))} {
		if _, err := FromImage(img); err == nil {
			t.Errorf("FromImage(%T): no error", img)
		}
	}
}

func TestLuma(t *testing.T) {
	m := &Image{W: 4, H: 1, Channels: 3, Pix: []uint8{255, 255, 255, 255, 0, 0, 0, 255, 0, 10, 20, 30}}
	want := []uint8{255, 76, 150, 18} // PIL: Image.new("RGB", ...).convert("L")
	got := m.Luma().Pix
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("luma of pixel %d = %d, PIL %d", i, got[i], want[i])
		}
	}
}

func TestValidate(t *testing.T) {
	good := ModelTools(32)
	cases := []struct {
		name string
		edit func(*Preprocessing)
	}{
		{"channels", func(p *Preprocessing) { p.Channels = 2 }},
		{"size", func(p *Preprocessing) { p.Height = 0 }},
		{"degrees", func(p *Preprocessing) { p.VisualDegrees = -1 }},
		{"imagenet gray", func(p *Preprocessing) { p.Channels = 1 }},
		{"filter", func(p *Preprocessing) { p.Filter = 9 }},
		{"normalisation", func(p *Preprocessing) { p.Normalization = 9 }},
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		p := good
		c.edit(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func BenchmarkModelTools(b *testing.B) {
	m := NewImage(256, 256, 3)
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	p := ModelTools(32)
	for b.Loop() {
		if _, err := p.ApplyImage(m, 8); err != nil {
			b.Fatal(err)
		}
	}
}
