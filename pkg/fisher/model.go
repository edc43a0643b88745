package fisher

import (
	"fmt"
	"math"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/population"
	"github.com/lenssbi/lenssbi/pkg/survey"
	"gonum.org/v1/gonum/mat"
)

// System is one lens in the parametrisation of the simulator's image model:
// what the simulated files record for each lens (THETA_E, LENS_X, ... and the
// per-band conditions), with axis ratios and angles as ellipticities and
// magnitudes as rates.
type System struct {
	ThetaE         float64 // Einstein radius of the SIE [arcsec]
	LensX, LensY   float64 // deflector centre (mass and light) [arcsec]
	LensE1, LensE2 float64 // deflector ellipticity (mass and light), lensing.QPhiToE1E2
	Gamma1, Gamma2 float64 // external shear
	LensRe         float64 // deflector effective radius (de Vaucouleurs) [arcsec]
	SrcX, SrcY     float64 // unlensed source centre [arcsec]
	SrcE1, SrcE2   float64 // source ellipticity
	SrcRe          float64 // source effective radius (exponential disc) [arcsec]
	// LensFlux and SrcFlux are the total rates of the deflector and of the
	// unlensed source in each band [e-/s].
	LensFlux, SrcFlux []float64
	// Conditions are the observing conditions of each band.
	Conditions []survey.Conditions
}

// Fixed parameters of the vector Model differentiates, in Names order; the
// per-band log fluxes follow them.
const (
	pLogThetaE = iota
	pLensX
	pLensY
	pLensE1
	pLensE2
	pGamma1
	pGamma2
	pLogLensRe
	pSrcX
	pSrcY
	pSrcE1
	pSrcE2
	pLogSrcRe
	nShape
)

var shapeNames = [nShape]string{
	"ln THETA_E", "LENS_X", "LENS_Y", "LENS_E1", "LENS_E2", "SHEAR_G1", "SHEAR_G2", "ln LENS_RE",
	"SRC_X", "SRC_Y", "SRC_E1", "SRC_E2", "ln SRC_RE",
}

// The source's sub-pixel factor per side is subPerScale samples per minor
// scale length across a pixel, at most maxSub: a quarter scale length per
// sample down to 0.0066" at DECam's 0.263" pixels. With 6 and 240 instead
// the theta_E bounds of 200 delve-seed test lenses moved by a median
// 0.06 %, 1.2 % at the 95th percentile and 34 % at most (the smallest
// source, 0.003"); with the cap at 32 the smallest sources' bounds came out
// up to three times too small (TestSmallSourceConverges).
var (
	subPerScale = 4.0
	maxSub      = 160
)

// Widths of the weak Gaussian priors on the source's ellipticity components
// and ln R_e (Model.Bound).
const (
	priorSrcE     = 0.5
	priorLogSrcRe = 1.0
)

// Central-difference steps: 1e-4 in every log and ellipticity and 1e-4
// arcsec in every position (the render is a smooth function of the
// parameters: halving the steps moves no bound by 0.5 %,
// TestBoundProperties).
const (
	stepLog = 1e-4
	stepPos = 1e-4
	stepE   = 1e-4
)

// Names returns the names of the parameters that Result.Sigma lists for the
// given bands: the thirteen shape parameters, then ln LENS_FLUX_<band> and
// ln SRC_FLUX_<band> for every band. A parameter named "ln X" has a bound on
// ln X, that is on the fractional error of X.
func Names(bands []string) []string {
	out := append([]string(nil), shapeNames[:]...)
	for _, b := range bands {
		out = append(out, "ln LENS_FLUX_"+strings.ToUpper(b))
	}
	for _, b := range bands {
		out = append(out, "ln SRC_FLUX_"+strings.ToUpper(b))
	}
	return out
}

// Model renders noise-free cutouts of the simulator's lenses for one preset,
// band list and stamp size, and their Fisher bounds. A Model is not safe for
// concurrent use (it keeps its buffers); use one per goroutine.
type Model struct {
	// Supersample is the simulator's sub-pixel factor (the SUPERSMP the
	// dataset records; 0 means 8, simulate.DefaultConfig's). It sets how the
	// deflector's core is sampled, as in the simulator.
	Supersample int

	preset *survey.Preset
	bands  []*survey.Band
	names  []string
	size   int
	pix    float64

	// per-lens state (prepare)
	n      int         // padded side
	margin int         // padding on each side
	kern   [][]float64 // per band 1-D PSF kernel
	perFlx []float64   // per band variance per unit e-/s
	bkg    []float64   // per band background variance
	ssLens int
	// source sample set, fixed per lens: sample positions, the padded
	// pixel each belongs to and its weight (pixel area over samples)
	sx, sy, sw []float64
	spix       []int
	bx, by     []float64
	tmp, buf   []float64
	// bx, by hold the source-plane positions of the samples for raysFor
	raysFor   lensing.Model
	raysValid bool
}

// NewModel prepares a Model. bands must be names of the preset's bands; size
// is the stamp side in pixels. The preset's PSF must be Gaussian, as the
// simulator's.
func NewModel(p *survey.Preset, bands []string, size int) (*Model, error) {
	if p == nil {
		return nil, fmt.Errorf("fisher: no survey preset")
	}
	if p.PSF != survey.PSFGaussian {
		return nil, fmt.Errorf("fisher: preset %q has psf %q; only %q is modelled (as in the simulator)", p.Name, p.PSF, survey.PSFGaussian)
	}
	if size < 4 || size > 1024 {
		return nil, fmt.Errorf("fisher: image size %d outside [4, 1024]", size)
	}
	if len(bands) == 0 {
		return nil, fmt.Errorf("fisher: no bands")
	}
	m := &Model{preset: p, size: size, pix: p.PixelScale, names: append([]string(nil), bands...)}
	for _, name := range bands {
		b, _, err := p.Band(name)
		if err != nil {
			return nil, fmt.Errorf("fisher: %w", err)
		}
		m.bands = append(m.bands, b)
	}
	return m, nil
}

// NumParams returns the length of Result.Sigma: 13 + 2 x bands.
func (m *Model) NumParams() int { return nShape + 2*len(m.bands) }

// Result holds the bounds of one lens.
type Result struct {
	// Sigma is the Cramér-Rao bound of every parameter (Names order) with
	// all the others free.
	Sigma []float64
	// Known is the bound of each parameter when all the others are known
	// (1/sqrt(F_ii)): Sigma / Known shows what the degeneracies cost.
	Known []float64
	// ChiSq is the chi-square per pixel of the data against the model when
	// the caller gave data (Model.Bound with data); otherwise NaN.
	ChiSq float64
}

// ThetaE returns the fractional bound on the Einstein radius,
// sigma(theta_E) / theta_E, with every other parameter free.
func (r Result) ThetaE() float64 { return r.Sigma[pLogThetaE] }

func (m *Model) check(s *System) error {
	nb := len(m.bands)
	if len(s.LensFlux) != nb || len(s.SrcFlux) != nb || len(s.Conditions) != nb {
		return fmt.Errorf("fisher: system has %d/%d/%d band values (fluxes, conditions), the model %d bands",
			len(s.LensFlux), len(s.SrcFlux), len(s.Conditions), nb)
	}
	for i := range nShape {
		if f, _ := shapeField(s, i); math.IsNaN(*f) || math.IsInf(*f, 0) {
			return fmt.Errorf("fisher: %s is %v", strings.TrimPrefix(shapeNames[i], "ln "), *f)
		}
	}
	if !(s.ThetaE > 0) || !(s.LensRe > 0) || !(s.SrcRe > 0) {
		return fmt.Errorf("fisher: theta_E %g, deflector R_e %g and source R_e %g must be > 0", s.ThetaE, s.LensRe, s.SrcRe)
	}
	for b := range m.bands {
		c := s.Conditions[b]
		if !(s.LensFlux[b] > 0) || !(s.SrcFlux[b] > 0) || math.IsInf(s.LensFlux[b], 0) || math.IsInf(s.SrcFlux[b], 0) {
			return fmt.Errorf("fisher: band %s: fluxes %g (deflector) and %g (source) must be finite and > 0", m.names[b], s.LensFlux[b], s.SrcFlux[b])
		}
		if !(c.Seeing > 0) || !(c.ExpTime > 0) || c.NExp < 1 || math.IsNaN(c.SkyMag) || math.IsInf(c.Seeing, 0) {
			return fmt.Errorf("fisher: band %s: conditions %+v out of range", m.names[b], c)
		}
	}
	return nil
}

// prepare sets the per-lens state: kernels, noise coefficients, padding and
// the source's sample set (chosen at the given system and then kept fixed,
// so that renders of nearby parameters are smooth functions of them).
func (m *Model) prepare(s *System) error {
	if err := m.check(s); err != nil {
		return err
	}
	nb := len(m.bands)
	m.kern = make([][]float64, nb)
	m.perFlx = make([]float64, nb)
	m.bkg = make([]float64, nb)
	m.margin = 0
	for b, band := range m.bands {
		m.kern[b] = survey.GaussianKernel1D(s.Conditions[b].Seeing/m.pix, nil)
		m.margin = max(m.margin, len(m.kern[b])/2)
		m.perFlx[b], m.bkg[b] = m.preset.PixelVariance(band, s.Conditions[b])
	}
	m.n = m.size + 2*m.margin
	n := m.n
	m.tmp = make([]float64, n*n)
	m.buf = make([]float64, n*n)
	// The simulator's sub-pixel factor for the deflector's core follows
	// the source's minor-axis scale length (fixed here at the given system).
	const bn1 = 1.6783469900166612
	h := s.SrcRe / bn1
	qsrc, phs := lensing.E1E2ToQPhi(s.SrcE1, s.SrcE2)
	hMinor := h * qsrc
	sup := m.Supersample
	if sup <= 0 {
		sup = 8
	}
	m.ssLens = max(2, min(int(math.Ceil(2*m.pix/hMinor)), sup))
	if sup == 1 {
		m.ssLens = 1
	}

	// Source samples. The exponential's scale length along the minor axis
	// sets the sub-pixel factor (a quarter scale length per sample, at
	// most maxSub per pixel side). Pixels that receive light from within 12
	// scale lengths of the source centre are sampled finely, the others
	// within reach of the deflector on 2 x 2. They are found two ways: a
	// pixel any of whose 4 x 4 sub-pixels maps there (resolved sources),
	// and the pixel of every image of the source centre and of 64 points on
	// that ellipse (sources too small for the sub-pixels to hit; an image
	// region without any of those points in a pixel is larger than the
	// sub-pixel spacing and found the first way).
	ss := int(math.Ceil(subPerScale * m.pix / hMinor))
	ss = max(4, min(ss, maxSub))
	lm := m.lensModel(s)
	cs, sn := math.Cos(phs), math.Sin(phs)
	ell := func(bx, by float64) float64 { // circularised radius in scale lengths
		dx, dy := bx-s.SrcX, by-s.SrcY
		xr, yr := cs*dx+sn*dy, -sn*dx+cs*dy
		return math.Sqrt(qsrc*xr*xr+yr*yr/qsrc) / h
	}
	c := float64(n-1) / 2
	mark := make([]bool, n*n)
	var finder lensing.ImageFinder
	finder.Reset(lm, 0)
	var imgs []lensing.Image
	for t := -1; t < 64; t++ {
		px, py := s.SrcX, s.SrcY
		if t >= 0 {
			st, ct := math.Sincos(2 * math.Pi * float64(t) / 64)
			xr, yr := 12*h*ct/math.Sqrt(qsrc), 12*h*st*math.Sqrt(qsrc)
			px, py = s.SrcX+cs*xr-sn*yr, s.SrcY+sn*xr+cs*yr
		}
		imgs = finder.Images(px, py, imgs[:0])
		for _, im := range imgs {
			i, j := int(math.Round(im.X/m.pix+c)), int(math.Round(im.Y/m.pix+c))
			if i >= 0 && i < n && j >= 0 && j < n {
				mark[j*n+i] = true
			}
		}
	}
	beta := math.Hypot(s.SrcX-s.LensX, s.SrcY-s.LensY)
	rimg := 1.3*(s.ThetaE+beta+5*s.SrcRe/math.Sqrt(qsrc)) + 2*m.pix
	m.sx, m.sy, m.sw, m.spix = m.sx[:0], m.sy[:0], m.sw[:0], m.spix[:0]
	add := func(i, j, k int, x, y float64) {
		w := m.pix * m.pix / float64(k*k)
		for b := 0; b < k; b++ {
			yy := y + subOffset(b, k, m.pix)
			for a := 0; a < k; a++ {
				m.sx = append(m.sx, x+subOffset(a, k, m.pix))
				m.sy = append(m.sy, yy)
				m.sw = append(m.sw, w)
				m.spix = append(m.spix, j*n+i)
			}
		}
	}
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * m.pix
		for i := 0; i < n; i++ {
			x := (float64(i) - c) * m.pix
			if math.Hypot(x-s.LensX, y-s.LensY) > rimg {
				continue
			}
			near := mark[j*n+i]
			for b := 0; b < 4 && !near; b++ {
				for a := 0; a < 4; a++ {
					bx, by := lm.RayShoot(x+subOffset(a, 4, m.pix), y+subOffset(b, 4, m.pix))
					if ell(bx, by) < 12 {
						near = true
						break
					}
				}
			}
			if near {
				add(i, j, ss, x, y)
			} else {
				add(i, j, 2, x, y)
			}
		}
	}
	m.bx = make([]float64, len(m.sx))
	m.by = make([]float64, len(m.sx))
	m.raysValid = false
	return nil
}

// subOffset is the offset of sub-pixel a of k from its pixel's centre (the
// simulator's and light.RenderPixels' grid convention).
func subOffset(a, k int, pix float64) float64 {
	return ((float64(a)+0.5)/float64(k) - 0.5) * pix
}

func (m *Model) lensModel(s *System) lensing.Model {
	q, phi := lensing.E1E2ToQPhi(s.LensE1, s.LensE2)
	return lensing.Model{
		SIE:   lensing.NewSIE(s.ThetaE, q, phi, s.LensX, s.LensY),
		Shear: lensing.Shear{Gamma1: s.Gamma1, Gamma2: s.Gamma2},
	}
}

// source writes the unit-flux lensed source on the padded grid into dst. The
// samples' source-plane positions are kept for the last lens model, so the
// renders that move only the source reuse them.
func (m *Model) source(s *System, dst []float64) {
	clear(dst)
	lm := m.lensModel(s)
	q, phi := lensing.E1E2ToQPhi(s.SrcE1, s.SrcE2)
	prof := light.NewSersic(1, s.SrcRe, 1, q, phi, s.SrcX, s.SrcY)
	if !m.raysValid || lm != m.raysFor {
		lm.RayShootGrid(m.sx, m.sy, m.bx, m.by)
		m.raysFor, m.raysValid = lm, true
	}
	for k, p := range m.spix {
		dst[p] += m.sw[k] * prof.Intensity(m.bx[k], m.by[k])
	}
}

// lensLight writes the unit-flux deflector light on the padded grid into dst
// the way the simulator renders it: the profile at each pixel centre times
// the pixel area, and, within 4 pixels of the centre, the mean of ssLens x
// ssLens sub-pixel samples instead (the simulator's sampling of the cusp,
// not its exact integral: the data are what the simulator made).
func (m *Model) lensLight(s *System, dst []float64) {
	q, phi := lensing.E1E2ToQPhi(s.LensE1, s.LensE2)
	prof := light.NewSersic(1, s.LensRe, 4, q, phi, s.LensX, s.LensY)
	n, pix := m.n, m.pix
	area := pix * pix
	c := float64(n-1) / 2
	core := 4 * pix
	ss := m.ssLens
	inv := 1 / float64(ss)
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * pix
		for i := 0; i < n; i++ {
			x := (float64(i) - c) * pix
			dx, dy := x-s.LensX, y-s.LensY
			if ss > 1 && dx*dx+dy*dy < core*core {
				var v float64
				for b := 0; b < ss; b++ {
					yy := y + subOffset(b, ss, pix)
					for a := 0; a < ss; a++ {
						v += prof.Intensity(x+subOffset(a, ss, pix), yy)
					}
				}
				dst[j*n+i] = v * area * inv * inv
			} else {
				dst[j*n+i] = prof.Intensity(x, y) * area
			}
		}
	}
}

// convolve convolves the padded image in with band b's PSF and writes the
// central stamp into out (size*size).
func (m *Model) convolve(b int, in, out []float64) {
	// ConvolveSeparable works in place: convolve a copy, keep in.
	copy(m.buf, in)
	survey.ConvolveSeparable(m.buf, m.n, m.n, m.kern[b], m.tmp)
	survey.Crop(out, m.buf, m.size, m.size, m.margin)
}

// Render writes the noise-free expected cutout of s (band-major
// [band][y][x], sky-subtracted e-/s, the simulator's pixel convention) into
// dst, which must hold bands*size*size values, and the expected variance of
// each pixel (the preset's noise model) into variance when it is not nil.
func (m *Model) Render(s *System, dst, variance []float64) error {
	if err := m.prepare(s); err != nil {
		return err
	}
	np := m.size * m.size
	if len(dst) < len(m.bands)*np || (variance != nil && len(variance) < len(m.bands)*np) {
		return fmt.Errorf("fisher: buffers of %d and %d values for %d bands of %d x %d pixels", len(dst), len(variance), len(m.bands), m.size, m.size)
	}
	src, lens := m.templates(s)
	m.expected(s, src, lens, dst, variance)
	return nil
}

// expected writes the model cutout of s from its unit templates into mu and,
// when variance is not nil, the preset's expected variance of each pixel.
func (m *Model) expected(s *System, src, lens [][]float64, mu, variance []float64) {
	np := m.size * m.size
	for b := range m.bands {
		o := mu[b*np : (b+1)*np]
		for k := range o {
			o[k] = s.SrcFlux[b]*src[b][k] + s.LensFlux[b]*lens[b][k]
		}
		if variance != nil {
			v := variance[b*np : (b+1)*np]
			for k := range v {
				v[k] = m.perFlx[b]*math.Max(o[k], 0) + m.bkg[b]
			}
		}
	}
}

// templates returns the PSF-convolved unit-flux source and deflector stamps
// of every band.
func (m *Model) templates(s *System) (src, lens [][]float64) {
	np := m.size * m.size
	ps := make([]float64, m.n*m.n)
	pl := make([]float64, m.n*m.n)
	m.source(s, ps)
	m.lensLight(s, pl)
	src = make([][]float64, len(m.bands))
	lens = make([][]float64, len(m.bands))
	for b := range m.bands {
		src[b] = make([]float64, np)
		lens[b] = make([]float64, np)
		m.convolve(b, ps, src[b])
		m.convolve(b, pl, lens[b])
	}
	return src, lens
}

// shapeField returns the field of s that shape parameter i is, and whether
// the parameter is its logarithm (theta_E and the radii).
func shapeField(s *System, i int) (f *float64, isLog bool) {
	fields := [nShape]*float64{&s.ThetaE, &s.LensX, &s.LensY, &s.LensE1, &s.LensE2, &s.Gamma1, &s.Gamma2, &s.LensRe,
		&s.SrcX, &s.SrcY, &s.SrcE1, &s.SrcE2, &s.SrcRe}
	return fields[i], i == pLogThetaE || i == pLogLensRe || i == pLogSrcRe
}

// shifted returns s with shape parameter i moved by d (in the vector's
// parametrisation: logs for theta_E and the radii).
func shifted(s System, i int, d float64) System {
	f, isLog := shapeField(&s, i)
	if isLog {
		*f *= math.Exp(d)
	} else {
		*f += d
	}
	return s
}

// stepScale multiplies every difference step (tests vary it).
var stepScale = 1.0

func shapeStep(i int) float64 {
	switch i {
	case pLogThetaE, pLogLensRe, pLogSrcRe:
		return stepLog * stepScale
	case pLensE1, pLensE2, pSrcE1, pSrcE2, pGamma1, pGamma2:
		return stepE * stepScale
	}
	return stepPos * stepScale
}

// Bound returns the Cramér-Rao bounds of system s. When data is not nil it
// holds the observed cutout (band-major, as Render writes it) and variance
// its per-pixel variance (nil: the model's expected variance), and the
// result's ChiSq is their chi-square per pixel against the model -- about 1
// when s is the system the data were simulated from. The Fisher matrix uses
// the model's expected variance. Errors wrap ErrSingular when the image does
// not constrain some parameter.
func (m *Model) Bound(s *System, data, variance []float32) (Result, error) {
	if err := m.prepare(s); err != nil {
		return Result{}, err
	}
	nb := len(m.bands)
	np := m.size * m.size
	if data != nil && len(data) != nb*np {
		return Result{}, fmt.Errorf("fisher: data hold %d values, want %d bands x %d x %d = %d", len(data), nb, m.size, m.size, nb*np)
	}
	if variance != nil && len(variance) != nb*np {
		return Result{}, fmt.Errorf("fisher: variance holds %d values, want %d", len(variance), nb*np)
	}
	F, mu, invVar := m.matrix(s)
	res := Result{ChiSq: math.NaN()}
	if data != nil {
		var chi float64
		for k, d := range data {
			v := 1 / invVar[k]
			if variance != nil {
				v = float64(variance[k])
			}
			r := float64(d) - mu[k]
			chi += r * r / v
		}
		res.ChiSq = chi / float64(len(data))
	}
	sig, known, err := Bounds(F)
	if err != nil {
		return res, err
	}
	res.Sigma, res.Known = sig, known
	return res, nil
}

// matrix returns the Fisher matrix (with the priors), the model cutout and
// its inverse variance; prepare(s) must have run.
func (m *Model) matrix(s *System) (F *mat.SymDense, mu, invVar []float64) {
	nb := len(m.bands)
	np := m.size * m.size
	src, lens := m.templates(s)
	mu = make([]float64, nb*np)
	invVar = make([]float64, nb*np)
	m.expected(s, src, lens, mu, invVar)
	for k, v := range invVar {
		invVar[k] = 1 / v
	}

	// Jacobian: shape parameters by central differences of the unit
	// templates on the padded grid (the convolution is linear), fluxes
	// analytically (d mu / d ln F = F x template).
	npar := m.NumParams()
	jac := make([][]float64, npar)
	ps := make([]float64, m.n*m.n)
	pm := make([]float64, m.n*m.n)
	ds := make([]float64, m.n*m.n)
	dl := make([]float64, m.n*m.n)
	cs := make([]float64, np)
	cl := make([]float64, np)
	for i := 0; i < nShape; i++ {
		h := shapeStep(i)
		sp, sm := shifted(*s, i, h), shifted(*s, i, -h)
		movesSrc := i != pLogLensRe
		movesLens := i == pLensX || i == pLensY || i == pLensE1 || i == pLensE2 || i == pLogLensRe
		clear(ds)
		clear(dl)
		if movesSrc {
			m.source(&sp, ps)
			m.source(&sm, pm)
			for k := range ds {
				ds[k] = (ps[k] - pm[k]) / (2 * h)
			}
		}
		if movesLens {
			m.lensLight(&sp, ps)
			m.lensLight(&sm, pm)
			for k := range dl {
				dl[k] = (ps[k] - pm[k]) / (2 * h)
			}
		}
		d := make([]float64, nb*np)
		for b := 0; b < nb; b++ {
			if movesSrc {
				m.convolve(b, ds, cs)
			}
			if movesLens {
				m.convolve(b, dl, cl)
			}
			o := d[b*np : (b+1)*np]
			for k := range o {
				var v float64
				if movesSrc {
					v += s.SrcFlux[b] * cs[k]
				}
				if movesLens {
					v += s.LensFlux[b] * cl[k]
				}
				o[k] = v
			}
		}
		jac[i] = d
	}
	for b := 0; b < nb; b++ {
		dL := make([]float64, nb*np)
		dS := make([]float64, nb*np)
		for k := 0; k < np; k++ {
			dL[b*np+k] = s.LensFlux[b] * lens[b][k]
			dS[b*np+k] = s.SrcFlux[b] * src[b][k]
		}
		jac[nShape+b] = dL
		jac[nShape+nb+b] = dS
	}
	F = FromJacobian(jac, invVar)
	addPriors(F)
	return F, mu, invVar
}

// addPriors adds the weak priors' information to F.
func addPriors(F *mat.SymDense) {
	// The population's prior on the external shear (nothing in the image
	// but the arcs shows it: with a point-like source's two images, theta_E,
	// the shear and the source position are degenerate without it), and weak
	// priors on the source's shape, wider than the population's spread, so
	// that a source too small to resolve (whose ellipticity and size the
	// pixels cannot see) leaves those parameters at the prior instead of
	// making the matrix singular.
	shear := population.DefaultConfig().ShearSigma
	for i, sd := range map[int]float64{pGamma1: shear, pGamma2: shear, pSrcE1: priorSrcE, pSrcE2: priorSrcE, pLogSrcRe: priorLogSrcRe} {
		F.SetSym(i, i, F.At(i, i)+1/(sd*sd))
	}
}
