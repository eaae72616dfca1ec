package benchmark

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/bpdl/bpdl/bpdl/internal/shared"
)

// TestCowleyPixels scores the pixels model on the Cowley et al. V4 data, with 3x16x16 study inputs to
// keep the test short (3x32x32 inputs give raw 0.1932, (r/c)^2 0.0647; 1x28x28 give 0.1647). The pixels
// predict V4 weakly but clearly; the numbers are deterministic and recorded here.
func TestCowleyPixels(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 3040 images with PLS: skipped with -short")
	}
	dir := filepath.Dir(shared.Path(t, "cowley-v4", "responses_raw_210325.npy"))
	b, err := LoadCowley(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Ceiling.Value; math.IsNaN(got) || got < 0.3 || got > 1 {
		t.Errorf("ceiling %.4f: not a plausible reliability", got)
	}
	cases := []struct {
		shape [3]int
		// want is the committed layer's raw score (recorded from this implementation).
		want float64
	}{
		{[3]int{3, 16, 16}, 0.216174819602},
	}
	for _, c := range cases {
		res, err := b.Score(context.Background(), NewPixels(c.shape[0], c.shape[1], c.shape[2]))
		if err != nil {
			t.Fatal(err)
		}
		s := res.Score()
		if math.IsNaN(s.Raw) || s.Raw <= 0 || s.Raw > b.Ceiling.Value {
			t.Errorf("%v: raw %.4f outside (0, ceiling]", c.shape, s.Raw)
		}
		if !math.IsNaN(c.want) && math.Abs(s.Raw-c.want) > 1e-6 {
			t.Errorf("%v: raw %.12f, recorded %.12f", c.shape, s.Raw, c.want)
		}
		t.Logf("%v: %s", c.shape, res)
	}
}
