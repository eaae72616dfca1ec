package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio"
	"github.com/bpdl/bpdl/bpdl/brainscore/metric"
	"github.com/bpdl/bpdl/bpdl/brainscore/stimuli"
	"github.com/bpdl/bpdl/bpdl/data/fetch"
)

// GramFeatures returns, for the preprocessed images of the listed stimuli (one row of prep.Len()
// values each), an n × n matrix L with L Lᵀ = X Xᵀ, the Cholesky factor of the images' Gram matrix (or,
// when that is singular, U√Λ from its eigendecomposition, without the null directions).
// L = X Q for a matrix Q with orthonormal columns, and PLS regression without scaling (as
// scikit-learn's, and so metric.PLS) is unchanged by such a rotation of the features: its weights,
// scores and predictions are the same, so L can stand in for features far wider than there are images,
// such as Brain-Score's 256 × 256 × 3 pixels (a third of that when every image is gray, the three
// channels being equal). It is not a substitute for features compared by correlation across features
// (RDMs): those are not rotation invariant.
//
// Images are prepared in chunks and kept as bytes (prep must normalise to Bytes); the Gram matrix is
// accumulated over blocks of features.
func GramFeatures(ctx context.Context, st Stimuli, ids []string, degrees float64, prep stimuli.Preprocessing) (*mat.Dense, error) {
	if prep.Normalization != stimuli.Bytes {
		return nil, fmt.Errorf("benchmark: Gram features need byte-valued inputs, not %v", prep.Normalization)
	}
	n, plane := len(ids), prep.Height*prep.Width
	planes := make([][]uint8, prep.Channels) // planes[c][i*plane+j]
	planes[0] = make([]uint8, n*plane)
	gray := true
	const chunk = 128
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		inputs, err := prepareImages(ctx, st, ids[start:end], degrees, prep)
		if err != nil {
			return nil, err
		}
		for k, x := range inputs {
			i := start + k
			for c := range prep.Channels {
				same := true
				for j := range plane {
					v := uint8(x[c*plane+j])
					if c > 0 && v != planes[0][i*plane+j] {
						same = false
					}
					if c == 0 || planes[c] != nil {
						planes[c][i*plane+j] = v
					}
				}
				if !same && gray {
					gray = false
					for cc := 1; cc < prep.Channels; cc++ { // from now on every plane is kept
						planes[cc] = make([]uint8, n*plane)
						copy(planes[cc][:i*plane], planes[0][:i*plane])
					}
					for cc := 1; cc < prep.Channels; cc++ {
						for j := range plane {
							planes[cc][i*plane+j] = uint8(x[cc*plane+j])
						}
					}
				}
			}
		}
	}
	g := make([]float64, n*n)
	const block = 2048
	buf := make([]float64, n*block)
	bl := blas64.Implementation()
	used := planes[:1]
	if !gray {
		used = planes
	}
	for _, pl := range used {
		for j0 := 0; j0 < plane; j0 += block {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			bs := min(block, plane-j0)
			for i := range n {
				row := buf[i*bs : (i+1)*bs]
				for j := range row {
					row[j] = float64(pl[i*plane+j0+j])
				}
			}
			bl.Dgemm(blas.NoTrans, blas.Trans, n, n, bs, 1, buf[:n*bs], bs, buf[:n*bs], bs, 1, g, n)
		}
	}
	if gray && prep.Channels > 1 {
		for i := range g {
			g[i] *= float64(prep.Channels)
		}
	}
	sym := mat.NewSymDense(n, g)
	var ch mat.Cholesky
	if ch.Factorize(sym) {
		var l mat.TriDense
		ch.LTo(&l)
		return mat.DenseCopyOf(&l), nil
	}
	// Singular (duplicate images, say): L = U √Λ over the eigenvalues above rounding noise.
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, errors.New("benchmark: eigendecomposition of the images' Gram matrix failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, v)
	}
	var keep []int
	for k, v := range vals {
		if v > float64(n)*2.2e-16*top {
			keep = append(keep, k)
		}
	}
	l := mat.NewDense(n, len(keep), nil)
	for c, k := range keep {
		s := math.Sqrt(vals[k])
		for i := range n {
			l.Set(i, c, vecs.At(i, k)*s)
		}
	}
	return l, nil
}

// PixelsReference are the scores Brain-Score publishes for MajajHong2015public.IT-pls (the README of
// brain-score/vision since 2024: raw 0.22545106, ceiling 0.81579938, ceiled 0.07637264). The model of
// that example is not named there; Brain-Score's pixels model is the natural candidate.
var PixelsReference = struct{ Raw, Ceiling, CeiledRC2, CeiledR2C float64 }{0.22545106, 0.81579938, 0.07637264, 0.22545106 * 0.22545106 / 0.81579938}

// PixelsComparison is Brain-Score's pixels model scored here on MajajHong2015public.IT-pls, beside
// Brain-Score's published values.
type PixelsComparison struct {
	Raw, Error, Ceiling, CeiledRC2, CeiledR2C float64
	Seconds                                   float64
}

// check reports whether c is a result CheckPixels could have computed: every number finite (or NaN
// where it is undefined), the ceiling in (0, 1], |raw| <= 1 and the ceiled scores those of raw and the
// ceiling. A cache file that was emptied or edited ({} reads as all zeros) fails.
func (c *PixelsComparison) check() error {
	switch {
	case !(c.Ceiling > 0 && c.Ceiling <= 1):
		return fmt.Errorf("ceiling %v outside (0, 1]", c.Ceiling)
	case !(math.Abs(c.Raw) <= 1):
		return fmt.Errorf("raw %v outside [-1, 1]", c.Raw)
	case !(c.Error >= 0) || math.IsInf(c.Error, 0):
		return fmt.Errorf("error %v is not a finite value >= 0", c.Error)
	case math.Abs(c.CeiledRC2-metric.CeiledRC2(c.Raw, c.Ceiling)) > 1e-9 || math.Abs(c.CeiledR2C-metric.CeiledR2C(c.Raw, c.Ceiling)) > 1e-9:
		return fmt.Errorf("ceiled scores %v, %v are not those of raw %v and ceiling %v", c.CeiledRC2, c.CeiledR2C, c.Raw, c.Ceiling)
	case !(c.Seconds >= 0):
		return fmt.Errorf("time %v s", c.Seconds)
	}
	return nil
}

// String prints the comparison as a small table.
func (c *PixelsComparison) String() string {
	r := PixelsReference
	return fmt.Sprintf("Brain-Score's pixels model (256x256 bicubic bytes) on %s:\n"+
		"               bpdl      Brain-Score\n"+
		"  raw          %.5f   %.5f\n"+
		"  ceiling      %.5f   %.5f\n"+
		"  (r/c)^2      %.5f   %.5f\n"+
		"  r^2/c        %.5f   %.5f\n"+
		"  (%.0f s; Brain-Score's values from its README example, whose model is not named)",
		MajajHong2015IT, c.Raw, r.Raw, c.Ceiling, r.Ceiling, c.CeiledRC2, r.CeiledRC2, c.CeiledR2C, r.CeiledR2C, c.Seconds)
}

// CheckPixels scores Brain-Score's pixels model (PIL convert("RGB"), resize to 256 × 256 with the
// default bicubic filter, bytes as features) on MajajHong2015public.IT-pls, through GramFeatures. The
// result is cached in the cache folder, keyed by the assembly's checksum, because it takes minutes; a
// cache file that holds no valid result is reported to log and the score recomputed. Missing data give
// a *fetch.OfflineError.
func CheckPixels(ctx context.Context, dirs Dirs, log io.Writer) (*PixelsComparison, error) {
	if log == nil {
		log = io.Discard
	}
	files := brainioFiles("dicarlo.MajajHong2015.public", "hvm-public")
	cachePath := filepath.Join(dirs.Cache, "pixels-check-"+files[0].File.Sum.Hex+".json")
	if b, err := os.ReadFile(cachePath); err == nil {
		var c PixelsComparison
		err := json.Unmarshal(b, &c)
		if err == nil {
			err = c.check()
		}
		if err == nil {
			return &c, nil
		}
		fmt.Fprintf(log, "pixels check: ignoring %s, which holds no valid result (%v)\n", cachePath, err)
	}
	paths, err := dirs.Locate(ctx, files)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "scoring Brain-Score's pixels model on %s (once; minutes)\n", MajajHong2015IT)
	c, err := pixelsOnFiles(ctx, paths[0], paths[1], paths[2])
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dirs.Cache, 0o755); err == nil {
		_ = fetch.WriteAtomic(cachePath, func(w io.Writer) error { return json.NewEncoder(w).Encode(c) })
	}
	return c, nil
}

// WritePixelsCheck runs CheckPixels, logging to w, and writes the comparison to w, or a line saying that
// the MajajHong2015 data are not here (which is not an error).
func WritePixelsCheck(ctx context.Context, dirs Dirs, w io.Writer) error {
	cmp, err := CheckPixels(ctx, dirs, w)
	var oe *fetch.OfflineError
	switch {
	case errors.As(err, &oe):
		_, err = fmt.Fprintf(w, "pixels check: %s data not present (%s)\n", MajajHong2015IT, filepath.Join(oe.Dir, oe.Missing[0].Name))
	case err == nil:
		_, err = fmt.Fprintln(w, cmp)
	}
	return err
}

// pixelsOnFiles scores Brain-Score's pixels model on the IT benchmark of a MajajHong2015-layout
// assembly and stimulus set.
func pixelsOnFiles(ctx context.Context, assemblyPath, csvPath, zipPath string) (*PixelsComparison, error) {
	start := time.Now()
	a, err := brainio.ReadAssembly(assemblyPath)
	if err != nil {
		return nil, err
	}
	st, err := brainio.ReadStimulusSet(csvPath, zipPath)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	benches, err := NewMajajHong2015(a, st, "IT")
	if err != nil {
		return nil, err
	}
	b := benches[0]
	l, err := GramFeatures(ctx, st, b.StimulusIDs, b.spec.degrees, stimuli.BrainScorePixels())
	if err != nil {
		return nil, err
	}
	res, err := b.ScoreFeatures("brainscore-pixels", []string{PixelsLayer}, map[string]*mat.Dense{PixelsLayer: l})
	if err != nil {
		return nil, err
	}
	s := res.Score()
	return &PixelsComparison{Raw: s.Raw, Error: s.Error, Ceiling: s.Ceiling, CeiledRC2: s.CeiledRC2, CeiledR2C: s.CeiledR2C,
		Seconds: math.Round(time.Since(start).Seconds())}, nil
}
