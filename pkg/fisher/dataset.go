package fisher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// Columns returns the parameter columns of a simulated file that
// SystemFromParams reads, in its order, for the given bands.
func Columns(bands []string) []string {
	c := []string{"THETA_E", "LENS_X", "LENS_Y", "LENS_Q", "LENS_PHI", "SHEAR_G1", "SHEAR_G2", "LENS_RE",
		"SRC_X", "SRC_Y", "SRC_Q", "SRC_PHI", "SRC_RE"}
	for _, b := range bands {
		B := strings.ToUpper(b)
		c = append(c, "LENS_MAG_"+B, "SRC_MAG_"+B, "SEEING_"+B, "SKY_"+B, "EXPTIME_"+B, "NEXP_"+B)
	}
	return c
}

// SystemFromParams builds a System from one lens's values of Columns(bands)
// (in that order), converting magnitudes to rates with the preset's zero
// points.
func SystemFromParams(p *survey.Preset, bands []string, v []float64) (System, error) {
	cols := Columns(bands)
	if len(v) != len(cols) {
		return System{}, fmt.Errorf("fisher: %d parameter values, want %d (%s)", len(v), len(cols), strings.Join(cols, ", "))
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return System{}, fmt.Errorf("fisher: %s is %v", cols[i], x)
		}
	}
	s := System{ThetaE: v[0], LensX: v[1], LensY: v[2], Gamma1: v[5], Gamma2: v[6], LensRe: v[7],
		SrcX: v[8], SrcY: v[9], SrcRe: v[12]}
	s.LensE1, s.LensE2 = lensing.QPhiToE1E2(v[3], v[4])
	s.SrcE1, s.SrcE2 = lensing.QPhiToE1E2(v[10], v[11])
	for k, name := range bands {
		band, _, err := p.Band(name)
		if err != nil {
			return System{}, fmt.Errorf("fisher: %w", err)
		}
		o := 13 + 6*k
		s.LensFlux = append(s.LensFlux, band.FluxRate(v[o]))
		s.SrcFlux = append(s.SrcFlux, band.FluxRate(v[o+1]))
		s.Conditions = append(s.Conditions, survey.Conditions{Band: name, Seeing: v[o+2], SkyMag: v[o+3], ExpTime: v[o+4], NExp: int(math.Round(v[o+5]))})
	}
	return s, nil
}

// LensResult is the bound of one lens of a dataset.
type LensResult struct {
	Index      int     // row in the dataset
	TrueThetaE float64 // the true Einstein radius [arcsec]
	Result
	Err error // why the lens has no bound (a singular Fisher matrix), or nil
}

// Options control Dataset.
type Options struct {
	Start, N int // lenses [Start, Start+N); N <= 0: to the end
	Workers  int // goroutines (<= 0: GOMAXPROCS)
	// Progress, when set, is called after each lens with the number done.
	Progress func(done, total int)
}

// ErrNotSimulated is returned (wrapped) by Dataset and FromDataset for a
// dataset that lacks what the model needs: a known preset and the
// simulator's parameter columns (real cutouts, say).
var ErrNotSimulated = errors.New("not a simulated dataset")

// Dataset computes the bounds of the lenses of a simulated dataset (a file
// written by lenssbi simulate, or its shards), checking each against its
// image: Result.ChiSq is the chi-square per pixel of the stored image and
// variance against the model. The preset named in the file must be an
// embedded one (or a path that still loads).
func Dataset(ctx context.Context, path string, opt Options) ([]LensResult, []string, error) {
	ds, err := dataset.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer ds.Close()
	return FromDataset(ctx, ds, path, opt)
}

// FromDataset is Dataset for an open dataset; path names it in errors.
func FromDataset(ctx context.Context, ds *dataset.Dataset, path string, opt Options) ([]LensResult, []string, error) {
	meta := ds.Meta()
	if meta.Preset == "" {
		return nil, nil, fmt.Errorf("%s: no PRESET keyword: %w", path, ErrNotSimulated)
	}
	p, err := survey.LoadPreset(meta.Preset)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: preset %q: %w (%w)", path, meta.Preset, err, ErrNotSimulated)
	}
	if math.Abs(p.PixelScale-meta.PixScale) > 1e-9 {
		return nil, nil, fmt.Errorf("%s: pixel scale %g, but preset %q has %g", path, meta.PixScale, p.Name, p.PixelScale)
	}
	nx, ny, bands := ds.Geometry()
	if nx != ny {
		return nil, nil, fmt.Errorf("%s: %d x %d images; only square stamps are modelled", path, nx, ny)
	}
	start, n := opt.Start, opt.N
	if start < 0 || start >= ds.Len() {
		return nil, nil, fmt.Errorf("%s: start %d outside the %d lenses", path, start, ds.Len())
	}
	if n <= 0 || start+n > ds.Len() {
		n = ds.Len() - start
	}
	cols := Columns(bands)
	have := map[string]bool{}
	for _, c := range ds.Columns() {
		have[c.Name] = true
	}
	for _, c := range cols {
		if !have[c] {
			return nil, nil, fmt.Errorf("%s: no column %s: %w", path, c, ErrNotSimulated)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	per := len(bands) * nx * ny
	out := make([]LensResult, n)
	type job struct {
		i             int
		v             []float64
		img, variance []float32
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		jobs = make(chan job, workers)
		errs = make([]error, workers)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			m, err := NewModel(p, bands, nx)
			if err != nil {
				errs[w] = err
				for range jobs {
				}
				return
			}
			m.Supersample = meta.Supersample
			for j := range jobs {
				if ctx.Err() != nil {
					continue // cancelled: drain
				}
				r := LensResult{Index: start + j.i, TrueThetaE: j.v[0]}
				sys, err := SystemFromParams(p, bands, j.v)
				if err == nil {
					r.Result, err = m.Bound(&sys, j.img, j.variance)
				}
				if err != nil && !errors.Is(err, ErrSingular) {
					errs[w] = fmt.Errorf("%s: lens %d: %w", path, start+j.i, err)
				}
				r.Err = err
				out[j.i] = r
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, n)
					mu.Unlock()
				}
			}
		}(w)
	}
	// Read chunk lenses at a time (memory stays bounded for any file size)
	// and hand them to the workers.
	var rerr error
feed:
	for c := 0; c < n; c += chunk {
		k := min(chunk, n-c)
		params, err := ds.ReadParams(start+c, k, cols, nil)
		if err != nil {
			rerr = fmt.Errorf("%s: %w", path, err)
			break
		}
		imgs, err := ds.ReadImages(start+c, k, nil)
		if err != nil {
			rerr = err
			break
		}
		vars, err := ds.ReadVariance(start+c, k, nil)
		if err != nil {
			rerr = err
			break
		}
		for i := 0; i < k; i++ {
			if err := ctx.Err(); err != nil {
				rerr = err
				break feed
			}
			j := job{i: c + i, v: params[i*len(cols) : (i+1)*len(cols)], img: imgs[i*per : (i+1)*per], variance: vars[i*per : (i+1)*per]}
			select {
			case jobs <- j:
			case <-ctx.Done():
				rerr = ctx.Err()
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if rerr == nil {
		rerr = ctx.Err()
	}
	if rerr != nil {
		return nil, nil, rerr
	}
	for _, e := range errs {
		if e != nil {
			return nil, nil, e
		}
	}
	return out, bands, nil
}

// chunk is how many lenses Dataset reads at a time (tests make it small).
var chunk = 256
