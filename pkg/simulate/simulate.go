// Package simulate renders DECam-like multi-band cutouts of galaxy-galaxy
// strong lenses: a LensPop population (package population), an SIE + external
// shear deflector (package lensing), Sersic light (package light), per-band PSF,
// sky and noise from a survey preset (package survey), and LensPop's
// detectability cuts.
//
// Every lens owns a random stream derived from (seed, index) alone, so lens i is
// the same whatever the number of workers, the order of work, or which other
// lenses are simulated.
//
// Pixel grid: a Size x Size stamp, row-major [y][x] with pixel (0, 0) at the
// bottom-left; the stamp centre ((Size-1)/2, (Size-1)/2) is the sky origin
// (0, 0) arcsec; +x runs along columns (the FITS NAXIS1 direction), +y along
// rows. Images are sky-subtracted electrons per second per pixel.
package simulate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lenssbi/lenssbi/pkg/cosmology"
	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/population"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// Cuts are LensPop's detectability criteria (Collett 2015, section 2.5).
type Cuts struct {
	// Disabled keeps every drawn lens (useful to study the raw population).
	Disabled bool
	// MinMagnification is the smallest total magnification of the source (3).
	MinMagnification float64
	// MinSNR is the smallest signal-to-noise of the lensed source in the best
	// band (20). The SNR sums the noise-free, PSF-convolved source over the
	// pixels where it exceeds the pixel's noise: sum(S_i) / sqrt(sum(var_i)).
	MinSNR float64
	// Resolved requires theta_E^2 > r_s^2 + (seeing/2)^2 in the best band.
	Resolved bool
}

// DefaultCuts returns LensPop's survey cuts.
func DefaultCuts() Cuts { return Cuts{MinMagnification: 3, MinSNR: 20, Resolved: true} }

// Config describes a simulation.
type Config struct {
	Preset     *survey.Preset
	Cosmology  *cosmology.FlatLambdaCDM // nil: H0 = 70, Om0 = 0.3
	Population population.Config
	// Size is the stamp side in pixels (default 48).
	Size int
	// Supersample is the sub-pixel factor per axis used wherever the light
	// varies on the pixel scale: pixels that can receive lensed source light
	// and the deflector's core (default 8, the maximum: the factor used adapts to the source size; 1 disables supersampling).
	Supersample int
	// Seed selects the random streams; lens i depends on (Seed, i) only.
	Seed uint64
	Cuts Cuts
	// MaxTries bounds the candidates drawn for one lens (default 200000).
	MaxTries int
}

// DefaultConfig returns the DELVE-like default configuration for preset p.
func DefaultConfig(p *survey.Preset) Config {
	return Config{
		Preset:      p,
		Population:  population.DefaultConfig(),
		Size:        48,
		Supersample: 8,
		Seed:        1,
		Cuts:        DefaultCuts(),
		MaxTries:    200000,
	}
}

// Simulator produces lenses. It is safe for concurrent use; Run spreads work
// over goroutines.
type Simulator struct {
	cfg     Config
	cosmo   *cosmology.FlatLambdaCDM
	pop     *population.Population
	bands   []string
	pix     float64
	columns []Column
	conds   condSampler
	ksq     ksqTable
}

// New validates cfg and prepares the population tables.
func New(cfg Config) (*Simulator, error) {
	if cfg.Preset == nil {
		return nil, errors.New("simulate: no survey preset")
	}
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("simulate: image size must be > 0, got %d", cfg.Size)
	}
	if cfg.Size > 1024 {
		return nil, fmt.Errorf("simulate: image size %d is too large (max 1024)", cfg.Size)
	}
	if cfg.Supersample <= 0 {
		cfg.Supersample = 1
	}
	if cfg.Supersample > 16 {
		return nil, fmt.Errorf("simulate: supersampling %d is too large (max 16)", cfg.Supersample)
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 200000
	}
	if !cfg.Cuts.Disabled && (cfg.Cuts.MinMagnification < 0 || cfg.Cuts.MinSNR < 0) {
		return nil, errors.New("simulate: negative detectability thresholds")
	}
	if cfg.Preset.PSF != survey.PSFGaussian {
		// The renderer convolves with separable Gaussian kernels only;
		// silently using a Gaussian for another PSF would be wrong.
		return nil, fmt.Errorf("simulate: preset %q: psf %q is not supported by the simulator yet (only %q)",
			cfg.Preset.Name, cfg.Preset.PSF, survey.PSFGaussian)
	}
	cosmo := cfg.Cosmology
	if cosmo == nil {
		cosmo = cosmology.Default()
	}
	bands := make([]string, len(cfg.Preset.Bands))
	for i, b := range cfg.Preset.Bands {
		bands[i] = b.Name
	}
	pop, err := population.New(cfg.Population, cosmo, bands)
	if err != nil {
		return nil, fmt.Errorf("simulate: preset %q: %w", cfg.Preset.Name, err)
	}
	// the sources' flux rates per band, tabulated next to the catalogue data
	// (bit-identical to FluxRate of the drawn Source.Mags)
	pop = pop.WithSourceFluxes(func(b int, mag float64) float64 { return cfg.Preset.Bands[b].FluxRate(mag) })
	s := &Simulator{cfg: cfg, cosmo: cosmo, pop: pop, bands: bands, pix: cfg.Preset.PixelScale}
	s.columns = buildColumns(bands)
	s.conds = newCondSampler(cfg.Preset)
	s.ksq = sharedKsqTable()
	return s, nil
}

// Config returns the simulator's configuration (with defaults filled in).
func (s *Simulator) Config() Config { return s.cfg }

// Bands returns the band names in image order.
func (s *Simulator) Bands() []string { return s.bands }

// Cosmology returns the cosmology in use.
func (s *Simulator) Cosmology() *cosmology.FlatLambdaCDM { return s.cosmo }

// Population returns the population the simulator draws from.
func (s *Simulator) Population() *population.Population { return s.pop }

// Lens is one simulated cutout and its parameters.
type Lens struct {
	Index int
	// Images and Variance are band-major [band][y][x], sky-subtracted e-/s
	// and (e-/s)^2.
	Images, Variance []float32
	// Params holds one value per Columns() entry.
	Params []float64
}

// NewLens allocates a Lens sized for this simulator.
func (s *Simulator) NewLens() *Lens {
	n := len(s.bands) * s.cfg.Size * s.cfg.Size
	return &Lens{Images: make([]float32, n), Variance: make([]float32, n), Params: make([]float64, len(s.columns))}
}

// Simulate renders lens index into dst (allocated with NewLens). It is
// convenient for single lenses; Run is the fast path for many.
func (s *Simulator) Simulate(index int, dst *Lens) error {
	w := s.newWorker()
	return w.simulate(index, dst)
}

// lensRNGSeeds derives the two PCG seeds of lens index from the run seed
// (SplitMix64 finalisers decorrelate neighbouring indices and seeds).
func lensRNGSeeds(seed uint64, index int) (uint64, uint64) {
	a := splitmix64(seed ^ 0x6c656e7373626921)
	b := splitmix64(a ^ splitmix64(uint64(index)+0x9e3779b97f4a7c15))
	return a, b
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// worker holds per-goroutine scratch memory so the hot loop does not allocate.
type worker struct {
	s    *Simulator
	pcg  *rand.PCG
	rng  *rand.Rand
	cond []survey.Conditions
	// the uniform numbers of the current candidate's conditions
	// (condSampler.draw)
	condU []float64
	// padded grid (side n = Size + 2*margin)
	src, lens  []float64 // unit-flux source and deflector maps (flux per pixel)
	srcC, lenC [][]float64
	tmp        []float64
	model      []float64
	kern       [][]float64
	snr        []float64
	// noPrescreen disables the cheap pre-screens (tests prove they only
	// remove candidates that fail the full cuts).
	noPrescreen bool
	// lastMu and lastSNR record the last candidate's rendered magnification
	// and best-band SNR (-1 where the candidate was rejected before they
	// were computed); tests use them.
	lastMu, lastSNR float64
	// image finder and scratch for the point-source mode
	finder lensing.ImageFinder
	images []lensing.Image
	// per band, for the current candidate: source and deflector flux rates
	// [e-/s], the pixel variance per unit flux and of the background, 1/bkg,
	// and the sum of squared taps of the 2-D PSF kernel
	flux, fluxL, perFlux, bkg, invBkg, ksq []float64
	// per band, an upper bound on invBkg (setInvBkgHi)
	invBkgHi []float64
	// the current candidate
	sys population.System
	// rejections per stage (rejectStages), for tests and tuning
	stats [len(rejectStages)]int
	// approximations recorded for the tests (-1 where not computed): the
	// approximate render's convolved SNR bound, the full render's exact
	// convolved bound, and the point mode's centre and coarse-rule
	// magnifications
	lastApprox, lastBound float64
	// the approximate render's magnification (-1 where not rendered)
	lastMuA                     float64
	lastPointC, lastPointCoarse float64
	// the polar bound (polarBound; -1 where not computed)
	lastPolar float64
	// bands convolvedBound left unconvolved, and the source map's box
	skipped []bool
	box     [4]int
	// renderSource's scratch: sub-pixel offsets, a row's pixel centres,
	// their images and values and column indices, and one pixel's
	// sub-pixels and values
	offs, rowX, rowY, rowBX, rowBY, rowV []float64
	rowI                                 []int
	subX, subY, subV                     []float64
	// muPolarPair's scratch, and the rayKernel of the last muPolarCoarse
	polar     polarScratch
	polarKern rayKernel
	// renderSource's pixel-centre images and values (padded grid) and the
	// arguments they were computed for
	cenBX, cenBY, cenV []float64
	centresKey         renderKey
	centresValid       bool
}

func (s *Simulator) newWorker() *worker {
	w := &worker{s: s}
	w.pcg = rand.NewPCG(1, 2)
	w.rng = rand.New(w.pcg)
	nb := len(s.bands)
	w.cond = make([]survey.Conditions, nb)
	w.condU = make([]float64, s.conds.nu+1)
	w.srcC = make([][]float64, nb)
	w.lenC = make([][]float64, nb)
	w.kern = make([][]float64, nb)
	w.snr = make([]float64, nb)
	w.skipped = make([]bool, nb)
	w.flux = make([]float64, nb)
	w.invBkg = make([]float64, nb)
	w.invBkgHi = make([]float64, nb)
	w.ksq = make([]float64, nb)
	w.fluxL = make([]float64, nb)
	w.perFlux = make([]float64, nb)
	w.bkg = make([]float64, nb)
	w.model = make([]float64, s.cfg.Size*s.cfg.Size)
	return w
}

// errTooManyTries reports a lens for which no candidate passed the cuts.
var errTooManyTries = errors.New("no candidate passed the detectability cuts")

func (w *worker) simulate(index int, dst *Lens) error {
	s := w.s
	a, b := lensRNGSeeds(s.cfg.Seed, index)
	w.pcg.Seed(a, b)
	for try := 1; try <= s.cfg.MaxTries; try++ {
		ok, err := w.candidate(dst, try)
		if err != nil {
			return fmt.Errorf("lens %d: %w", index, err)
		}
		if ok {
			dst.Index = index
			return nil
		}
	}
	return fmt.Errorf("lens %d: %w in %d tries (preset %q)", index, errTooManyTries, s.cfg.MaxTries, s.cfg.Preset.Name)
}

// candidate draws one system and observing conditions, renders it and
// applies the cuts. It fills dst and returns true when the system is kept.
//
// The cuts are applied through a cascade of pre-screens, cheapest first:
// analytic resolution and SNR caps, the analytic polar magnification bound
// (polarBound), polar-integral magnification bounds
// (resolved sources; on a coarse angular rule first, polarCoarseReject) or point-image magnifications (unresolved sources; the
// one at the source centre first), all before the PSF kernels are built, an
// approximate low-supersampling render whose magnification and PSF-convolved
// SNR estimate must come within approxMuMargin and approxSNRMargin of the
// cuts, and an exact bound on the
// PSF-convolved SNR of the full render before the deflector light is made.
// Only candidates that the full cuts would reject are removed by them
// (TestPrescreenConservative); kept lenses come from the full render.
func (w *worker) candidate(dst *Lens, try int) (bool, error) {
	s := w.s
	cfg := &s.cfg
	r := w.rng
	w.lastMu, w.lastSNR = -1, -1
	w.lastApprox, w.lastBound = -1, -1
	w.lastMuA = -1
	w.lastPolar = -1
	w.lastPointC, w.lastPointCoarse = -1, -1
	sys := &w.sys
	// All of the candidate's random numbers are drawn here, in the same
	// order as always, but the arithmetic the cheap cuts below do not need
	// is left for those that pass them: the deflector's light and the
	// source's magnitudes (population.Finish) and the sky and exposure
	// times (condSampler.finish).
	def := s.pop.DrawLazy(r, sys)
	s.conds.draw(r, w.condU, w.cond)
	d, src := &sys.Deflector, &sys.Source
	keep := cfg.Cuts.Disabled
	screen := !keep && !w.noPrescreen

	// Resolution cut, necessary form: the best band's seeing is at least the
	// smallest one.
	if !keep && cfg.Cuts.Resolved {
		minSee := math.Inf(1)
		for b := range s.bands {
			minSee = min(minSee, w.cond[b].Seeing)
		}
		if sys.ThetaE*sys.ThetaE <= src.Re*src.Re+minSee*minSee/4 {
			return w.reject(0)
		}
	}

	// Source flux (FluxRate of the catalogue magnitudes, tabulated by the
	// population) and noise per band; the SNR cap at the magnification
	// bound with an upper bound on each kernel's ksq from the table (the
	// kernels are built only for the candidates that pass), tried first with
	// an upper bound on 1/background (setInvBkgHi, no math.Pow; snrCapAt >=
	// snrCap), the exact background computed only for those that pass.
	fl := s.pop.SourceFluxes(src.CatIndex)
	for b := range s.bands {
		w.flux[b] = fl[b]
		w.ksq[b] = s.ksq.bound(w.cond[b].Seeing / s.pix)
	}
	const bn1 = 1.6783469900166612 // b_n of an exponential profile
	h := src.Re / bn1              // scale length along the major axis
	hMinor := h * src.Q
	i0a := s.pix * s.pix / (2 * math.Pi * h * h) // unit-flux central SB x pixel area
	s.conds.finish(w.condU, w.cond)
	var muBound float64
	if screen {
		muBound = magnificationBound(sys)
		w.setInvBkgHi()
		if w.snrCapAt(muBound, i0a, w.invBkgHi) < cfg.Cuts.MinSNR*(1-snrCapMargin) {
			return w.reject(1)
		}
	}
	for b := range s.bands {
		band := &cfg.Preset.Bands[b]
		perFlux, bkg := cfg.Preset.PixelVariance(band, w.cond[b])
		w.perFlux[b], w.bkg[b] = perFlux, bkg
		w.invBkg[b] = 1 / bkg
	}
	if screen {
		if w.snrCap(muBound, i0a) < cfg.Cuts.MinSNR {
			return w.reject(1)
		}
		// The analytic polar bound on the exact magnification, with
		// muPolarMargin for the renderers' discretisation.
		w.lastPolar = polarBound(sys)
		if mp := muPolarMargin * w.lastPolar; mp < cfg.Cuts.MinMagnification || w.snrCap(mp, i0a) < cfg.Cuts.MinSNR {
			return w.reject(2)
		}
	}
	s.pop.Finish(sys, def)

	lm := lensing.Model{
		SIE:   lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
		Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2},
	}
	point := unresolved(hMinor, s.pix, cfg.Supersample)
	if point && !w.pointCentre(lm, src, screen, i0a) {
		return w.reject(3)
	}
	if !point && screen {
		// Analytic pre-screens of resolved sources, no rendering: the SNR
		// cap (snrCap, with the table's bounds on the kernels' ksq) at the
		// polar-integral magnification (muPolar) with a margin for the
		// renderer's discretisation; first on the coarse rule, with
		// polarCoarseMargin on top (polarCoarseReject).
		if k := w.polarCoarseReject(&lm, sys, h, i0a); k >= 0 {
			return w.reject(k)
		}
		muA, muB := w.muPolarAfterCoarse(sys, h)
		mp := muPolarMargin * muA
		if mp < cfg.Cuts.MinMagnification || w.snrCap(mp, i0a) < cfg.Cuts.MinSNR {
			return w.reject(4)
		}
		if w.snrSq(muPolarMargin*muB, h) < cfg.Cuts.MinSNR {
			return w.reject(5)
		}
	}

	// Kernels and the margin the widest one needs.
	margin := 0
	for b := range s.bands {
		w.kern[b] = survey.GaussianKernel1D(w.cond[b].Seeing/s.pix, w.kern[b][:0])
		k := w.kern[b]
		h := len(k) / 2
		if h > margin {
			margin = h
		}
		var sq float64
		for _, v := range k {
			sq += v * v
		}
		w.ksq[b] = sq * sq
		w.fluxL[b] = cfg.Preset.Bands[b].FluxRate(d.Mags[b])
	}
	n := cfg.Size + 2*margin
	np := n * n
	w.src = grow(w.src, np)
	w.lens = grow(w.lens, np)
	w.tmp = grow(w.tmp, np)
	for b := range s.bands {
		w.srcC[b] = grow(w.srcC[b], cfg.Size*cfg.Size)
		w.lenC[b] = grow(w.lenC[b], cfg.Size*cfg.Size)
	}

	sersicSrc := light.NewSersic(1, src.Re, 1, src.Q, src.Phi, src.X, src.Y)

	// Lensed source, unit total flux. Only pixels that can receive light are
	// ray-traced: the images of an extended source lie within
	// theta_E + |beta| + R_cut of the deflector (plus slack for ellipticity
	// and shear).
	beta := math.Hypot(src.X-d.X, src.Y-d.Y)
	rcut := 5 * src.Re / math.Sqrt(src.Q) // 99.8% of an exponential disc's light
	rimg := 1.3*(sys.ThetaE+beta+rcut) + 2*s.pix

	ss := int(math.Ceil(2 * s.pix / hMinor))
	ss = max(2, min(ss, cfg.Supersample))
	if cfg.Supersample == 1 {
		ss = 1
	}
	var mu float64
	if point {
		// Point-source mode: the finest sub-pixel is more than twice the
		// source's minor-axis scale length, so sampling the source plane at
		// sub-pixel centres would be dominated by sampling noise. The
		// lensed source is built from the images of a quadrature of the
		// source profile instead (exact magnifications, finite-source
		// effects included).
		var ok bool
		mu, ok = w.renderPoint(lm, src, n, screen, i0a)
		if !ok {
			return w.reject(3)
		}
	} else {
		// Approximate render: one sample per pixel for sources resolved by
		// the pixel grid, 2 x 2 sub-pixels otherwise. Reject candidates
		// whose magnification or SNR bounds from it are far below the cuts
		// (approxMuMargin on its magnification, 2x on the unconvolved SNR
		// bound, approxSNRMargin on its PSF-convolved SNR estimate;
		// TestPrescreenConservative checks that nothing it rejects would
		// pass the full cuts and measures the ratios).
		if !keep {
			ssA, rssA := 1, 0.0
			if hMinor < 0.5*s.pix && ss > 1 {
				ssA, rssA = 2, 4*h
			}
			muA := w.renderSource(lm, sersicSrc, src.X, src.Y, n, d.X, d.Y, rimg, rssA, ssA)
			w.lastMuA = muA
			if screen && (approxMuMargin*muA < cfg.Cuts.MinMagnification || 2*w.snrBound() < cfg.Cuts.MinSNR ||
				w.snrCap(approxMuMargin*muA, i0a) < cfg.Cuts.MinSNR) {
				return w.reject(6)
			}
			need := 0.0
			if screen {
				need = cfg.Cuts.MinSNR / approxSNRMargin
			}
			_, w.lastApprox = w.convolvedBound(n, margin, need)
			if screen && approxSNRMargin*w.lastApprox < cfg.Cuts.MinSNR {
				return w.reject(7)
			}
		}
		// Full render: sub-pixels fine enough for the source's minor-axis
		// scale length, in the pixels whose centre maps within 4 scale
		// lengths (plus the pixel's footprint) of the source centre.
		mu = w.renderSource(lm, sersicSrc, src.X, src.Y, n, d.X, d.Y, rimg, 4*h, ss)
	}
	w.lastMu = mu
	if !keep && mu < cfg.Cuts.MinMagnification {
		return w.reject(8)
	}
	// Cheap upper bounds on the SNR before the PSF (both exact bounds).
	if !keep && (w.snrCap(mu, i0a) < cfg.Cuts.MinSNR || w.snrBound() < cfg.Cuts.MinSNR) {
		return w.reject(9)
	}

	// PSF-convolved source in every band, and an exact bound on the SNR
	// from it before the deflector light is rendered.
	need := 0.0
	if screen {
		need = cfg.Cuts.MinSNR
	}
	w.lastBound, _ = w.convolvedBound(n, margin, need)
	if screen && w.lastBound < cfg.Cuts.MinSNR {
		return w.reject(10)
	}
	w.convolveSkipped(n, margin)

	// Deflector light (unit flux), PSF convolution and the exact SNR.
	sersicLens := light.NewSersic(1, d.Re, 4, d.Q, d.Phi, d.X, d.Y)
	w.renderLensLight(sersicLens, d.X, d.Y, n, ss)
	best, bestSNR := 0, -1.0
	for b := range s.bands {
		convolveCrop(w.lenC[b], w.lens[:np], n, margin, cfg.Size, w.kern[b], w.tmp)
		perFlux, bkg := w.perFlux[b], w.bkg[b]
		fs, fl := w.flux[b], w.fluxL[b]
		lenC := w.lenC[b][:len(w.srcC[b])]
		var sig, vsum float64
		// the source stamp's box only (outside it se = 0 fails the
		// threshold), in the order of a full scan
		c0, c1, r0, r1 := w.outBox(b, margin)
		for j := r0; j < r1; j++ {
			for i := j*cfg.Size + c0; i < j*cfg.Size+c1; i++ {
				se := fs * w.srcC[b][i]
				v := perFlux*(se+fl*lenC[i]) + bkg
				if se*se > v {
					sig += se
					vsum += v
				}
			}
		}
		snr := 0.0
		if vsum > 0 {
			snr = sig / math.Sqrt(vsum)
		}
		w.snr[b] = snr
		if snr > bestSNR {
			best, bestSNR = b, snr
		}
	}
	w.lastSNR = bestSNR
	if !keep {
		if bestSNR < cfg.Cuts.MinSNR {
			return w.reject(11)
		}
		if cfg.Cuts.Resolved {
			half := w.cond[best].Seeing / 2
			if sys.ThetaE*sys.ThetaE <= src.Re*src.Re+half*half {
				return w.reject(12)
			}
		}
	}

	// Observe: model in e-/s per pixel, then noise.
	npix := cfg.Size * cfg.Size
	for b := range s.bands {
		band := &cfg.Preset.Bands[b]
		fs, fl := w.flux[b], w.fluxL[b]
		for i := 0; i < npix; i++ {
			w.model[i] = fs*w.srcC[b][i] + fl*w.lenC[b][i]
		}
		off := b * npix
		cfg.Preset.AddNoise(r, band, w.model[:npix], w.cond[b], dst.Images[off:off+npix], dst.Variance[off:off+npix])
	}
	w.fillParams(dst.Params, sys, mu, best, try)
	return true, nil
}

// rejectStages names the places where candidate rejects a candidate, in the
// order of w.stats.
var rejectStages = [...]string{
	"resolution (best seeing)",
	"SNR cap at the magnification bound",
	"polar magnification bound or its SNR cap",
	"point mode (centre / coarse-rule estimates and PSF bounds)",
	"muPolar magnification or SNR cap",
	"snrSq at muPolar(h/2)",
	"approximate render: magnification or unconvolved SNR",
	"approximate render: convolved SNR",
	"magnification cut",
	"SNR caps of the full render",
	"convolved SNR bound of the full render",
	"SNR cut",
	"resolution cut (best band)",
}

// reject counts a rejection at stage k (an index of rejectStages) and
// returns candidate's "not kept" result.
func (w *worker) reject(k int) (bool, error) {
	w.stats[k]++
	return false, nil
}

// approxSNRMargin multiplies the approximate render's SNR estimate in the
// pre-screen (convolvedBound's est: the thresholded SNR of the PSF-convolved
// coarse render without the deflector's variance). The full render's exact
// SNR differs from it by the coarse render's sampling error and the
// deflector light, which only lowers it (TestPrescreenConservative measures
// the largest ratio).
const approxSNRMargin = 1.2

// approxMuMargin multiplies the approximate render's magnification in the
// pre-screen (TestPrescreenConservative measures the largest ratio of the
// full render's magnification to it among candidates that pass the
// magnification cut and the exact SNR caps).
const approxMuMargin = 1.5

// convolvedBound convolves the unit-flux source map in w.src (padded grid of
// side n) with every band's PSF into w.srcC, restricted to the rows and
// columns that hold flux, and returns an exact upper bound on the best
// band's thresholded SNR of the full cuts: with S_i the source signal,
// v0_i = perFlux S_i + bkg <= var_i (the deflector only adds variance), and
// A the pixels with S_i^2 > var_i (a subset of A0, where S_i^2 > v0_i),
// sum_A S_i / sqrt(sum_A var_i) <= sqrt(sum_A S_i^2 / var_i) (Cauchy-Schwarz)
// <= sqrt(sum_A0 S_i^2 / v0_i). It also returns est, the best band's
// thresholded SNR sum_A0 S_i / sqrt(sum_A0 v0_i) without the deflector's
// variance: an estimate of the exact SNR (not a bound), used with a margin
// on the approximate render.
//
// Bands whose unconvolved bound flux_b sqrt(sum S^2 / bkg_b) (snrBound's,
// above both the band's convolved bound and its est) is below need are not
// convolved: they are marked in w.skipped and left out of bound and est
// (convolveSkipped convolves them later); need = 0 convolves every band.
func (w *worker) convolvedBound(n, margin int, need float64) (bound, est float64) {
	size := w.s.cfg.Size
	x0, x1, y0, y1 := bbox(w.src[:n*n], n)
	w.box = [4]int{x0, x1, y0, y1}
	var sumsq float64
	if need > 0 {
		for j := y0; j < y1; j++ {
			for _, v := range w.src[j*n+x0 : j*n+x1] {
				sumsq += v * v
			}
		}
	}
	best, est := 0.0, 0.0
	for b := range w.s.bands {
		w.skipped[b] = need > 0 && w.flux[b]*math.Sqrt(sumsq*w.invBkg[b]) < need
		if w.skipped[b] {
			continue
		}
		out := w.srcC[b][:size*size]
		convolveCropBox(out, w.src[:n*n], n, margin, size, w.kern[b], w.tmp, x0, x1, y0, y1)
		fs, perFlux, bkg := w.flux[b], w.perFlux[b], w.bkg[b]
		var acc, sig, vs float64
		// only the stamp's box can hold signal (a zero pixel never passes
		// the threshold: 0 > bkg is false), in the same order as a full scan
		c0, c1, r0, r1 := w.outBox(b, margin)
		for j := r0; j < r1; j++ {
			for _, sv := range out[j*size+c0 : j*size+c1] {
				se := fs * sv
				if v := perFlux*se + bkg; se*se > v {
					acc += se * se / v
					sig += se
					vs += v
				}
			}
		}
		best = math.Max(best, math.Sqrt(acc))
		if vs > 0 {
			est = math.Max(est, sig/math.Sqrt(vs))
		}
	}
	return best, est
}

// outBox returns the columns [c0, c1) and rows [r0, r1) of the size x size
// stamp that band b's convolution of the source map (box w.box of the
// padded grid, margin as given) can make non-zero: convolveCropBox's output
// box (the whole stamp where the kernel is wider than the margin; empty for
// an empty map).
func (w *worker) outBox(b, margin int) (c0, c1, r0, r1 int) {
	size := w.s.cfg.Size
	x0, x1, y0, y1 := w.box[0], w.box[1], w.box[2], w.box[3]
	h := len(w.kern[b]) / 2
	if margin < h {
		return 0, size, 0, size
	}
	if x0 >= x1 || y0 >= y1 {
		return 0, 0, 0, 0
	}
	c0, c1 = max(0, x0-h-margin), min(size, x1+h-margin)
	r0, r1 = max(0, y0-h-margin), min(size, y1+h-margin)
	if c0 >= c1 || r0 >= r1 {
		return 0, 0, 0, 0
	}
	return c0, c1, r0, r1
}

// convolveSkipped convolves the bands that the last convolvedBound skipped
// (the same box and arithmetic, so the result is what it would have given).
func (w *worker) convolveSkipped(n, margin int) {
	size := w.s.cfg.Size
	x0, x1, y0, y1 := w.box[0], w.box[1], w.box[2], w.box[3]
	for b := range w.s.bands {
		if w.skipped[b] {
			convolveCropBox(w.srcC[b][:size*size], w.src[:n*n], n, margin, size, w.kern[b], w.tmp, x0, x1, y0, y1)
			w.skipped[b] = false
		}
	}
}

// bbox returns the half-open column and row ranges [x0, x1) x [y0, y1) of
// the non-zero pixels of the n x n image in (empty ranges for a blank one).
func bbox(in []float64, n int) (x0, x1, y0, y1 int) {
	x0, x1, y0, y1 = n, 0, n, 0
	for j := 0; j < n; j++ {
		row := in[j*n : (j+1)*n]
		lo := -1
		for i, v := range row {
			if v != 0 {
				lo = i
				break
			}
		}
		if lo < 0 {
			continue
		}
		hi := lo
		for i := n - 1; i > lo; i-- {
			if row[i] != 0 {
				hi = i
				break
			}
		}
		x0, x1 = min(x0, lo), max(x1, hi+1)
		y0, y1 = min(y0, j), max(y1, j+1)
	}
	return x0, x1, y0, y1
}

// snrBound returns an upper bound on the best band's thresholded SNR from
// the unconvolved source map in w.src: sum(S)/sqrt(sum(var)) over pixels with
// S > sigma is at most sqrt(sum S^2 / bkg) (Cauchy-Schwarz, and every pixel's
// variance is at least the background's), and convolution with a normalised
// PSF cannot increase sum S^2.
func (w *worker) snrBound() float64 {
	var sumsq float64
	for _, v := range w.src {
		sumsq += v * v
	}
	best := 0.0
	for b := range w.s.bands {
		best = math.Max(best, w.flux[b]*math.Sqrt(sumsq*w.invBkg[b]))
	}
	return best
}

// renderSource fills w.src (padded grid of side n) with the lensed source's
// flux per pixel for a unit-flux exponential source sr and returns the total
// magnification. Pixels whose centre maps within rss of the source centre,
// plus the pixel's footprint in the source plane, get ss x ss samples; others
// one sample. Beyond 16 scale lengths the profile is taken as zero. Rays are
// shot and the surface brightness (expSource) evaluated in batches by
// rayKernel: a row's pixel centres, then each supersampled pixel's
// sub-pixels, summed in row-major order. The pixel centres' results are kept
// for the next call with the same lens, source, grid and radius (the full
// render after the approximate one), which reuses them.
func (w *worker) renderSource(lm lensing.Model, sr light.Sersic, sx, sy float64, n int, lx, ly, rimg, rss float64, ss int) float64 {
	s := w.s
	pix := s.pix
	area := pix * pix
	c := float64(n-1) / 2
	src := w.src[:n*n]
	clear(src)
	kappaSlack := 0.75 * pix
	rimg2 := rimg * rimg
	// Beyond 16 scale lengths (elliptical radius) the exponential profile is
	// below 1e-7 of its peak: skip it.
	rfar := 16 * sr.Re() / 1.6783469900166612 / math.Sqrt(sr.Q())
	k := newRayKernel(lm, newExpSource(sr, rfar))
	inv := 1 / float64(ss)
	// sub-pixel centre offsets
	w.offs = grow(w.offs, ss)
	for si := range w.offs {
		w.offs[si] = ((float64(si)+0.5)*inv - 0.5) * pix
	}
	w.rowX, w.rowY = grow(w.rowX, n), grow(w.rowY, n)
	w.rowBX, w.rowBY, w.rowV = grow(w.rowBX, n), grow(w.rowBY, n), grow(w.rowV, n)
	w.rowI = growInt(w.rowI, n)
	w.subX, w.subY, w.subV = grow(w.subX, ss*ss), grow(w.subY, ss*ss), grow(w.subV, ss*ss)
	// The pixel centres' images and values depend on these arguments only:
	// a render repeating the last one's (the full render after the
	// approximate one) reuses them.
	key := renderKey{lm: lm, sr: sr, sx: sx, sy: sy, n: n, lx: lx, ly: ly, rimg: rimg}
	reuse := w.centresValid && w.centresKey == key
	w.centresValid = false
	w.cenBX, w.cenBY, w.cenV = grow(w.cenBX, n*n), grow(w.cenBY, n*n), grow(w.cenV, n*n)
	total := 0.0
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * pix
		dy := y - ly
		// the row's pixels that can receive light, shot as one batch
		cnt := 0
		for i := 0; i < n; i++ {
			x := (float64(i) - c) * pix
			dx := x - lx
			if dx*dx+dy*dy > rimg2 {
				continue
			}
			w.rowX[cnt], w.rowY[cnt], w.rowI[cnt] = x, y, i
			cnt++
		}
		row := j * n
		if reuse {
			for m, i := range w.rowI[:cnt] {
				w.rowBX[m], w.rowBY[m], w.rowV[m] = w.cenBX[row+i], w.cenBY[row+i], w.cenV[row+i]
			}
		} else {
			k.shoot(w.rowX, w.rowY, w.rowBX, w.rowBY, w.rowV[:cnt])
			for m, i := range w.rowI[:cnt] {
				w.cenBX[row+i], w.cenBY[row+i], w.cenV[row+i] = w.rowBX[m], w.rowBY[m], w.rowV[m]
			}
		}
		for m := 0; m < cnt; m++ {
			x := w.rowX[m]
			dsx, dsy := w.rowBX[m]-sx, w.rowBY[m]-sy
			var v float64
			if ss > 1 && supersample(dsx, dsy, rss, kappaSlack, lm, x, y) {
				p := 0
				for sj := 0; sj < ss; sj++ {
					yy := y + w.offs[sj]
					for si := 0; si < ss; si++ {
						w.subX[p], w.subY[p] = x+w.offs[si], yy
						p++
					}
				}
				k.values(w.subX, w.subY, w.subV[:p])
				for _, u := range w.subV[:p] {
					v += u
				}
				v *= area * inv * inv
			} else {
				v = w.rowV[m] * area
			}
			src[j*n+w.rowI[m]] = v
			total += v
		}
	}
	w.centresKey, w.centresValid = key, true
	return total
}

// renderKey holds the arguments of renderSource that determine the pixel
// centres' images and values.
type renderKey struct {
	lm           lensing.Model
	sr           light.Sersic
	sx, sy       float64
	n            int
	lx, ly, rimg float64
}

// supersample reports whether a pixel centred at (x, y), mapping to offset
// (dsx, dsy) from the source centre, needs sub-pixel sampling.
func supersample(dsx, dsy, rss, slack float64, lm lensing.Model, x, y float64) bool {
	d2 := dsx*dsx + dsy*dsy
	if d2 < rss*rss {
		return true
	}
	// A pixel's footprint in the source plane spans at most
	// ~pix*(1 + 2 kappa + |gamma|) for an isothermal lens.
	reach := rss + slack*(1.2+2*lm.SIE.Convergence(x, y))
	return d2 < reach*reach
}

// renderLensLight fills w.lens with the deflector's unit-flux light,
// supersampling the core where the de Vaucouleurs profile is steep. The
// profile is evaluated in batches (devKernel): a row's pixel centres, then
// each core pixel's sub-pixels, summed in row-major order.
func (w *worker) renderLensLight(sl light.Sersic, lx, ly float64, n int, ss int) {
	pix := w.s.pix
	area := pix * pix
	c := float64(n-1) / 2
	out := w.lens[:n*n]
	core := 4 * pix
	inv := 1 / float64(ss)
	subArea := area * inv * inv
	k := newDevKernel(sl)
	w.offs = grow(w.offs, ss)
	for si := range w.offs {
		w.offs[si] = ((float64(si)+0.5)*inv - 0.5) * pix
	}
	w.rowX, w.rowY, w.rowV = grow(w.rowX, n), grow(w.rowY, n), grow(w.rowV, n)
	w.subX, w.subY, w.subV = grow(w.subX, ss*ss), grow(w.subY, ss*ss), grow(w.subV, ss*ss)
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * pix
		for i := 0; i < n; i++ {
			w.rowX[i], w.rowY[i] = (float64(i)-c)*pix, y
		}
		k.values(w.rowX, w.rowY, w.rowV[:n])
		o := out[j*n : (j+1)*n]
		for i := 0; i < n; i++ {
			x := w.rowX[i]
			dx, dy := x-lx, y-ly
			if ss > 1 && dx*dx+dy*dy < core*core {
				p := 0
				for sj := 0; sj < ss; sj++ {
					yy := y + w.offs[sj]
					for si := 0; si < ss; si++ {
						w.subX[p], w.subY[p] = x+w.offs[si], yy
						p++
					}
				}
				k.values(w.subX, w.subY, w.subV[:p])
				var v float64
				for _, u := range w.subV[:p] {
					v += u
				}
				o[i] = v * subArea
			} else {
				o[i] = w.rowV[i] * area
			}
		}
	}
}

// convolveCrop convolves the padded n x n image in with the separable kernel k
// and writes the central size x size stamp to out. tmp holds n*size values.
// Each output is summed over the kernel's taps in order (convRow, convCols);
// a kernel wider than the margin is cut at the image's edges
// (convolveCropEdges).
func convolveCrop(out, in []float64, n, margin, size int, k []float64, tmp []float64) {
	h := len(k) / 2
	if margin < h {
		convolveCropEdges(out, in, n, margin, size, k, tmp)
		return
	}
	// Pass 1, along x: all n rows, only the size output columns.
	t := tmp[:n*size]
	for j := 0; j < n; j++ {
		convRow(t[j*size:(j+1)*size], in[j*n+margin-h:(j+1)*n], k)
	}
	// Pass 2, along y: the size output rows.
	for j := 0; j < size; j++ {
		convCols(out[j*size:(j+1)*size], t[(j+margin-h)*size:], size, k)
	}
}

// convolveCropEdges is convolveCrop for kernels wider than the margin: the
// windows are cut at the image's edges. tmp holds n*size values.
func convolveCropEdges(out, in []float64, n, margin, size int, k []float64, tmp []float64) {
	h := len(k) / 2
	// Pass 1, along x: all n rows, only the size output columns.
	t := tmp[:n*size]
	for j := 0; j < n; j++ {
		row := in[j*n : (j+1)*n]
		dstRow := t[j*size : (j+1)*size]
		for i := 0; i < size; i++ {
			ci := i + margin
			lo, hi := ci-h, ci+h
			var acc float64
			kk := 0
			if lo < 0 {
				kk = -lo
				lo = 0
			}
			if hi > n-1 {
				hi = n - 1
			}
			for p := lo; p <= hi; p++ {
				acc += float64(row[p] * k[kk])
				kk++
			}
			dstRow[i] = acc
		}
	}
	// Pass 2, along y: the size output rows.
	for j := 0; j < size; j++ {
		cj := j + margin
		lo, hi := cj-h, cj+h
		kk := 0
		if lo < 0 {
			kk = -lo
			lo = 0
		}
		if hi > n-1 {
			hi = n - 1
		}
		o := out[j*size : (j+1)*size]
		clear(o)
		for p := lo; p <= hi; p++ {
			kv := k[kk]
			kk++
			src := t[p*size : (p+1)*size]
			for i := range o {
				o[i] += float64(kv * src[i])
			}
		}
	}
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func growInt(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

// magnificationBound is a generous upper estimate of the total magnification
// of the exponential source of sys: twice the SIS value 2 theta_E / d + 2,
// with d the source's distance from a region around the lens centre that
// contains the caustics of the SIE + shear (radius theta_E (2 eps + 2 gamma),
// eps = (1-q)/(1+q)), but never less than the source's minor-axis scale
// length (an extended source cannot sit closer than that to a point
// caustic). TestPrescreenConservative checks the bound on simulated lenses.
func magnificationBound(sys *population.System) float64 {
	d, src := &sys.Deflector, &sys.Source
	const bn1 = 1.6783469900166612
	h := src.Re / bn1 * src.Q
	eps := (1 - d.Q) / (1 + d.Q)
	gam := math.Hypot(sys.Gamma1, sys.Gamma2)
	rc := sys.ThetaE * (2*eps + 2*gam)
	beta := math.Hypot(src.X-d.X, src.Y-d.Y)
	dist := math.Max(beta-rc, h)
	return 2 * (2*sys.ThetaE/dist + 2)
}

// convolveCropBox is convolveCrop for an input that is zero outside the
// columns [x0, x1) and rows [y0, y1): only the output pixels the box can
// reach are computed (the rest are set to zero), and in the pass along y
// only the box's rows are summed, in the same order as convolveCrop, so the
// result is bit-identical to convolveCrop's (the skipped terms, and the
// terms outside the box that the pass along x sums, are exact zeros, and
// adding +0 to a non-negative sum leaves it unchanged).
func convolveCropBox(out, in []float64, n, margin, size int, k []float64, tmp []float64, x0, x1, y0, y1 int) {
	out = out[:size*size]
	if x0 >= x1 || y0 >= y1 {
		clear(out)
		return
	}
	h := len(k) / 2
	if margin < h {
		convolveCropEdges(out, in, n, margin, size, k, tmp)
		return
	}
	// output columns / rows whose window meets the box
	c0, c1 := max(0, x0-h-margin), min(size, x1+h-margin)
	r0, r1 := max(0, y0-h-margin), min(size, y1+h-margin)
	if c0 >= c1 || r0 >= r1 {
		clear(out)
		return
	}
	// Pass 1, along x: rows y0..y1-1, output columns c0..c1-1.
	t := tmp[:n*size]
	for j := y0; j < y1; j++ {
		convRow(t[j*size+c0:j*size+c1], in[j*n+c0+margin-h:(j+1)*n], k)
	}
	// Pass 2, along y: output rows r0..r1-1, columns c0..c1-1.
	clear(out[:r0*size])
	clear(out[r1*size:])
	for j := r0; j < r1; j++ {
		cj := j + margin
		lo, hi := max(cj-h, y0), min(cj+h, y1-1)
		o := out[j*size : (j+1)*size]
		clear(o[:c0])
		clear(o[c1:])
		kk := lo - (cj - h)
		if hi < lo {
			clear(o[c0:c1])
			continue
		}
		convCols(o[c0:c1], t[lo*size+c0:], size, k[kk:kk+hi-lo+1])
	}
}
