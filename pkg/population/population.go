// Package population draws galaxy-galaxy strong-lens systems following LensPop
// (Collett 2015, ApJ 811, 20): deflectors from the Choi, Park & Vogeley (2007)
// velocity-dispersion function spread over comoving volume, deflector light from
// the Hyde & Bernardi (2009) fundamental-plane relations, sources from the LSST
// 1 deg^2 catalogue, and the lensing cross-section pi theta_E^2.
//
// Two samplers produce the same population. DrawBruteForce is LensPop's own
// procedure: draw a deflector and a source independently, scatter the source
// uniformly over a box on the sky, and keep the pair when the source falls
// inside the Einstein radius. Draw is exact and efficient: theta_E^2
// factorises into sigma^4 times the squared distance ratio (D_ls/D_s)^2, so
// Draw takes sigma from VDF x sigma^4, z_l from dV/dz x <(D_ls/D_s)^2> (the
// catalogue mean, computed exactly), the source in proportion to (D_ls/D_s)^2
// by rejection, and the source position uniformly inside the Einstein
// circle. The statistical equivalence of the two is a test of this package.
//
// DrawLazy and Finish split Draw for callers that reject most systems on
// their lensing configuration alone: DrawLazy draws every random number but
// leaves the deflector's light and the source's magnitudes to Finish, which
// then gives Draw's system bit for bit.
//
// Detectability cuts need rendered images and live in the simulate package.
package population

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/lenssbi/lenssbi/pkg/cosmology"
	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/photometry"
)

// Choi, Park & Vogeley (2007) velocity-dispersion function parameters (no
// redshift evolution, as in LensPop).
const (
	VDFPhiStar   = 8e-3  // h^3 Mpc^-3
	VDFSigmaStar = 161.0 // km/s
	VDFAlpha     = 2.32
	VDFBeta      = 2.67
)

// Config holds the population's tunable choices. The zero value is not
// useful; start from DefaultConfig.
type Config struct {
	// SigmaMin and SigmaMax bound the deflector velocity dispersion [km/s].
	// LensPop's survey runs use a 200 km/s floor. The Hyde & Bernardi
	// magnitude relation has no real solution above ~540 km/s, so SigmaMax
	// must stay below that; the VDF x sigma^4 weight above 400 km/s is ~1e-3
	// of its peak.
	SigmaMin, SigmaMax float64
	// ZLensMax is the largest deflector redshift (LensPop: 2).
	ZLensMax float64
	// ShearSigma is the standard deviation of each external-shear component
	// (0 disables shear).
	ShearSigma float64
	// CentreJitter is the half-width [arcsec] of the uniform offset of the
	// deflector centre from the cutout centre in x and y.
	CentreJitter float64
	// MagScatter is the scatter [mag] of the deflector absolute magnitude about
	// the Hyde & Bernardi relation (LensPop: 0.15/2.4).
	MagScatter float64
	// ReScatterDex is the scatter [dex] of the deflector effective radius
	// (LensPop: 0.11).
	ReScatterDex float64
	// SourceReScatterDex is the log-normal scatter [dex] of source sizes
	// (LensPop: 0.35).
	SourceReScatterDex float64
	// SourceQRayleigh is the Rayleigh scale of source ellipticity e = 1 - q
	// (LensPop: 0.3).
	SourceQRayleigh float64
	// MinQ is the smallest axis ratio kept for deflectors and sources (0.2).
	MinQ float64
	// BruteForceBox is the half-side [arcsec] of the square over which
	// DrawBruteForce scatters sources; it must exceed every possible theta_E.
	BruteForceBox float64
}

// DefaultConfig returns LensPop's choices with a small external shear.
func DefaultConfig() Config {
	return Config{
		SigmaMin:           200,
		SigmaMax:           400,
		ZLensMax:           2,
		ShearSigma:         0.05,
		CentreJitter:       0.1315, // half a DECam pixel
		MagScatter:         0.15 / 2.4,
		ReScatterDex:       0.11,
		SourceReScatterDex: 0.35,
		SourceQRayleigh:    0.3,
		MinQ:               0.2,
		BruteForceBox:      6,
	}
}

// Validate reports the first inconsistent setting.
func (c Config) Validate() error {
	switch {
	case !(c.SigmaMin > 0) || !(c.SigmaMax > c.SigmaMin):
		return fmt.Errorf("population: need 0 < SigmaMin < SigmaMax, got %g, %g", c.SigmaMin, c.SigmaMax)
	case c.SigmaMax >= 540:
		return fmt.Errorf("population: SigmaMax %g km/s is beyond the Hyde & Bernardi relation's range (< 540)", c.SigmaMax)
	case !(c.ZLensMax > 0) || c.ZLensMax > 5:
		return fmt.Errorf("population: ZLensMax %g outside (0, 5]", c.ZLensMax)
	case c.ShearSigma < 0 || c.CentreJitter < 0 || c.MagScatter < 0 || c.ReScatterDex < 0 || c.SourceReScatterDex < 0:
		return errors.New("population: scatters and jitters must be >= 0")
	case !(c.SourceQRayleigh > 0) || c.SourceQRayleigh > 0.5:
		return fmt.Errorf("population: SourceQRayleigh %g outside (0, 0.5]", c.SourceQRayleigh)
	case !(c.MinQ > 0) || c.MinQ >= 0.9:
		return fmt.Errorf("population: MinQ %g outside (0, 0.9)", c.MinQ)
	case !(c.BruteForceBox > 0):
		return fmt.Errorf("population: BruteForceBox %g must be > 0", c.BruteForceBox)
	}
	return nil
}

// Deflector is the lens galaxy: mass and light share centre, axis ratio and
// position angle.
type Deflector struct {
	SigmaV float64 // velocity dispersion [km/s]
	Z      float64 // redshift
	MAbsR  float64 // absolute r magnitude [AB mag]
	ReKpc  float64 // effective radius [kpc]
	Re     float64 // effective radius [arcsec]
	Q      float64 // axis ratio b/a
	Phi    float64 // major-axis position angle, counter-clockwise from +x [rad]
	X, Y   float64 // centre [arcsec] relative to the cutout centre
	Mags   []float64
}

// Source is the lensed background galaxy (an exponential disc, Sersic n = 1).
type Source struct {
	CatIndex int     // row in the LSST source table
	Z        float64 // redshift
	MAbsR    float64 // absolute r magnitude from the catalogue
	ReKpc    float64 // effective radius [kpc]
	Re       float64 // effective radius [arcsec]
	Q        float64 // axis ratio
	Phi      float64 // position angle [rad]
	X, Y     float64 // unlensed position [arcsec] relative to the cutout centre
	Mags     []float64
}

// System is one deflector-source pair that satisfies the lensing condition
// (source inside the Einstein radius).
type System struct {
	Deflector Deflector
	Source    Source
	ThetaE    float64 // Einstein radius [arcsec]
	Gamma1    float64 // external shear components
	Gamma2    float64
}

// Population draws lens systems. It is safe for concurrent use: all state is
// read-only after New; randomness comes from the caller's generator.
type Population struct {
	cfg     Config
	cosmo   *cosmology.FlatLambdaCDM
	bands   []string
	cat     *photometry.SourceCatalog
	colours *photometry.ColourTable

	catDC   []float64   // comoving distance of each catalogue source [Mpc]
	catMags [][]float64 // per source, per requested band
	// per source, packed so that a draw reads one cache line: catStride
	// values from catSrc[i*catStride], catZ, catAbsMagR, catRe (LensPop's
	// mean effective radius [kpc], SourceReKpc), catKpc (proper kpc per
	// arcsec at the source's redshift), then from catFlux the fluxes
	// WithSourceFluxes tabulates (if any), then padding
	catSrc    []float64
	catStride int
	nFlux     int // fluxes per source in catSrc (0 or len(bands))
	zSrcMax   float64
	dcMax     float64

	sigmaPrior, sigmaWeighted *invCDF
	zPrior, zWeighted         *invCDF
	// Tabulated deflector colour and distance modulus on a fine z grid.
	zGrid    []float64
	dmGrid   []float64
	colGrid  [][]float64 // [band][iz]
	kpcGrid  []float64
	thetaMax float64 // largest possible theta_E [arcsec]
}

// New prepares a population for the given cosmology and bands. Bands must be
// among the LSST catalogue's g r i z.
func New(cfg Config, cosmo *cosmology.FlatLambdaCDM, bands []string) (*Population, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cosmo == nil {
		return nil, errors.New("population: nil cosmology")
	}
	if len(bands) == 0 {
		return nil, errors.New("population: no bands")
	}
	cat, err := photometry.LSSTSources()
	if err != nil {
		return nil, fmt.Errorf("population: loading source catalogue: %w", err)
	}
	colours, err := photometry.DeflectorColours()
	if err != nil {
		return nil, fmt.Errorf("population: loading deflector colours: %w", err)
	}
	p := &Population{cfg: cfg, cosmo: cosmo, bands: append([]string(nil), bands...), cat: cat, colours: colours}

	// Catalogue sources: distances and magnitudes in the requested bands.
	n := cat.Len()
	if n == 0 {
		return nil, errors.New("population: empty source catalogue")
	}
	p.catDC = make([]float64, n)
	p.catMags = make([][]float64, n)
	p.catStride = catFlux
	p.catSrc = make([]float64, n*p.catStride)
	for i := 0; i < n; i++ {
		z := cat.Z[i]
		p.catDC[i] = cosmo.ComovingDistance(z)
		c := p.catSrc[i*p.catStride:]
		c[catZ], c[catAbsMagR] = z, cat.AbsMagR[i]
		c[catRe], c[catKpc] = SourceReKpc(cat.AbsMagR[i], z), cosmo.KpcPerArcsec(z)
		if z > p.zSrcMax {
			p.zSrcMax = z
		}
		m := make([]float64, len(bands))
		for b, name := range bands {
			v, err := cat.Mag(name, i)
			if err != nil {
				return nil, fmt.Errorf("population: source magnitudes: %w", err)
			}
			m[b] = v
		}
		p.catMags[i] = m
	}
	p.dcMax = cosmo.ComovingDistance(p.zSrcMax)
	if cfg.ZLensMax >= p.zSrcMax {
		return nil, fmt.Errorf("population: ZLensMax %g is beyond the most distant source (z = %g)", cfg.ZLensMax, p.zSrcMax)
	}

	// Velocity dispersion: VDF and VDF x sigma^4 on [SigmaMin, SigmaMax].
	vdf := func(s float64) float64 { return VDF(s) }
	p.sigmaPrior = newInvCDF(cfg.SigmaMin, cfg.SigmaMax, 4096, vdf)
	p.sigmaWeighted = newInvCDF(cfg.SigmaMin, cfg.SigmaMax, 4096, func(s float64) float64 {
		return vdf(s) * s * s * s * s
	})
	// Deflector redshift: dV/dz (constant comoving density) and dV/dz x the
	// squared distance ratio for the most distant source.
	dV := func(z float64) float64 { return cosmo.DifferentialComovingVolume(z) }
	p.zPrior = newInvCDF(0, cfg.ZLensMax, 4096, dV)
	// The lensing weight of a deflector at z is the catalogue mean of
	// ratio^2 = (1 - D_C(z)/D_C(z_s))^2 over sources behind it; suffix sums of
	// 1/D_C and 1/D_C^2 over the sorted sources give it exactly.
	sorted := append([]float64(nil), p.catDC...)
	sort.Float64s(sorted)
	s1 := make([]float64, n+1)
	s2 := make([]float64, n+1)
	for i := n - 1; i >= 0; i-- {
		s1[i] = s1[i+1] + 1/sorted[i]
		s2[i] = s2[i+1] + 1/(sorted[i]*sorted[i])
	}
	meanRatio2 := func(z float64) float64 {
		dl := cosmo.ComovingDistance(z)
		k := sort.SearchFloat64s(sorted, dl)
		for k < n && sorted[k] <= dl {
			k++
		}
		cnt := float64(n - k)
		return (cnt - 2*dl*s1[k] + dl*dl*s2[k]) / float64(n)
	}
	p.zWeighted = newInvCDF(0, cfg.ZLensMax, 4096, func(z float64) float64 {
		return dV(z) * meanRatio2(z)
	})

	// Deflector photometry tables.
	const nz = 2001
	p.zGrid = make([]float64, nz)
	p.dmGrid = make([]float64, nz)
	p.kpcGrid = make([]float64, nz)
	p.colGrid = make([][]float64, len(bands))
	for b := range bands {
		p.colGrid[b] = make([]float64, nz)
	}
	for k := 0; k < nz; k++ {
		z := cfg.ZLensMax * float64(k) / float64(nz-1)
		if k == 0 {
			z = 1e-4
		}
		p.zGrid[k] = z
		p.dmGrid[k] = cosmo.DistanceModulus(z)
		p.kpcGrid[k] = cosmo.KpcPerArcsec(z)
		for b, name := range bands {
			c, err := colours.Colour(name, z)
			if err != nil {
				return nil, fmt.Errorf("population: deflector colour: %w", err)
			}
			p.colGrid[b][k] = c
		}
	}
	p.thetaMax = lensing.EinsteinRadius(cfg.SigmaMax, 1, 1)
	if p.thetaMax >= cfg.BruteForceBox {
		return nil, fmt.Errorf("population: BruteForceBox %g arcsec is smaller than the largest Einstein radius %.2f", cfg.BruteForceBox, p.thetaMax)
	}
	return p, nil
}

// VDF is the Choi, Park & Vogeley (2007) velocity-dispersion function
// phi(sigma) [h^3 Mpc^-3 (km/s)^-1].
func VDF(sigma float64) float64 {
	x := sigma / VDFSigmaStar
	return VDFPhiStar * math.Pow(x, VDFAlpha) * math.Exp(-math.Pow(x, VDFBeta)) * VDFBeta / math.Gamma(VDFAlpha/VDFBeta) / sigma
}

// HydeBernardiMr returns the mean absolute r magnitude of an early-type galaxy
// of velocity dispersion sigma [km/s] (Hyde & Bernardi 2009, as used in LensPop).
func HydeBernardiMr(sigma float64) float64 {
	v := math.Log10(sigma)
	return (-0.37 + math.Sqrt(0.37*0.37-4*0.006*(2.97+v))) / (2 * 0.006)
}

// HydeBernardiLogRe returns the mean log10 effective radius [kpc] for velocity
// dispersion sigma [km/s] (Hyde & Bernardi 2009 via LensPop).
func HydeBernardiLogRe(sigma float64) float64 {
	v := math.Log10(sigma)
	return 2.46 - 2.79*v + 0.84*v*v
}

// SourceReKpc returns LensPop's mean source effective radius [kpc] for
// absolute r magnitude mr at redshift z.
func SourceReKpc(mr, z float64) float64 {
	return math.Pow(10, -(mr+18)/4) * math.Pow((1+z)/1.6, -1.2)
}

// Bands returns the bands magnitudes are drawn for, in order.
func (p *Population) Bands() []string { return p.bands }

// Config returns the configuration the population was built with.
func (p *Population) Config() Config { return p.cfg }

// Cosmology returns the cosmology the population was built with.
func (p *Population) Cosmology() *cosmology.FlatLambdaCDM { return p.cosmo }

// MaxThetaE is the largest Einstein radius [arcsec] the population can draw.
func (p *Population) MaxThetaE() float64 { return p.thetaMax }

// Draw returns one lens system from the efficient exact sampler.
func (p *Population) Draw(r *rand.Rand) System {
	var s System
	p.DrawInto(r, &s)
	return s
}

// DrawInto is Draw writing into dst: it draws the same system from the same
// random numbers, reusing the capacity of dst's magnitude slices, so
// repeated draws into one System do not allocate. Every field of dst is
// overwritten.
func (p *Population) DrawInto(r *rand.Rand, dst *System) {
	def := p.DrawLazy(r, dst)
	p.Finish(dst, def)
}

// Deferred is what DrawLazy leaves for Finish: the two standard normal
// deviates it drew for the scatter of the deflector's absolute magnitude and
// effective radius.
type Deferred struct {
	magDev, reDev float64
}

// DrawLazy draws the same system as DrawInto from the same random numbers (it
// consumes exactly the numbers DrawInto does, so the generator is left in the
// same state) but skips the deterministic arithmetic of the fields that no
// lensing quantity depends on: dst's Deflector.MAbsR, ReKpc and Re are left
// zero and Deflector.Mags and Source.Mags empty (their capacity is kept).
// Every other field is final. Finish(dst, def), with the returned def, fills
// them in; dst is then what DrawInto would have written, bit for bit. Callers
// that reject most systems on their lensing configuration alone (the
// simulator's cheap detectability pre-screens) call Finish only for the
// survivors.
func (p *Population) DrawLazy(r *rand.Rand, dst *System) Deferred {
	for {
		sigma := p.sigmaWeighted.sample(r)
		zl := p.zWeighted.sample(r)
		dcl := p.cosmo.ComovingDistance(zl)
		rmax := 1 - dcl/p.dcMax
		// Source: uniform over the catalogue, kept with probability
		// (theta_E/theta_E,max)^2 = (ratio/rmax)^2.
		var si int
		var ratio float64
		for tries := 0; ; tries++ {
			si = r.IntN(len(p.catDC))
			ratio = 1 - dcl/p.catDC[si]
			if ratio > 0 && r.Float64()*rmax*rmax < ratio*ratio {
				break
			}
			if tries > 100000 { // only when zl is beyond almost every source
				si = -1
				break
			}
		}
		if si < 0 {
			continue
		}
		thetaE := lensing.EinsteinRadius(sigma, ratio, 1)
		rad := thetaE * math.Sqrt(r.Float64())
		ang := 2 * math.Pi * r.Float64()
		return p.completeLazy(r, sigma, zl, si, thetaE, rad*math.Cos(ang), rad*math.Sin(ang), dst)
	}
}

// DrawBruteForce returns one lens system drawn as LensPop does: independent
// deflector and source, the source scattered uniformly over a box of
// half-side BruteForceBox, kept when inside theta_E. It also returns the number
// of pairs tried. It fails after maxTries pairs.
func (p *Population) DrawBruteForce(r *rand.Rand, maxTries int) (System, int, error) {
	L := p.cfg.BruteForceBox
	for t := 1; t <= maxTries; t++ {
		sigma := p.sigmaPrior.sample(r)
		zl := p.zPrior.sample(r)
		si := r.IntN(len(p.catDC))
		x := L * (2*r.Float64() - 1)
		y := L * (2*r.Float64() - 1)
		ratio := 1 - p.cosmo.ComovingDistance(zl)/p.catDC[si]
		if ratio <= 0 {
			continue
		}
		thetaE := lensing.EinsteinRadius(sigma, ratio, 1)
		if x*x+y*y < thetaE*thetaE {
			var s System
			def := p.completeLazy(r, sigma, zl, si, thetaE, x, y, &s)
			p.Finish(&s, def)
			return s, t, nil
		}
	}
	return System{}, maxTries, fmt.Errorf("population: no lens in %d brute-force draws", maxTries)
}

// completeLazy draws everything that does not enter the lensing condition
// into s (every field overwritten; the magnitude slices' capacity is
// reused), except what Finish computes from the returned deviates. sx, sy
// are the source offset from the deflector centre.
func (p *Population) completeLazy(r *rand.Rand, sigma, zl float64, si int, thetaE, sx, sy float64, s *System) Deferred {
	cfg := p.cfg
	dMags, sMags := s.Deflector.Mags, s.Source.Mags
	*s = System{}
	s.ThetaE = thetaE
	d := &s.Deflector
	d.SigmaV = sigma
	d.Z = zl
	var def Deferred
	def.magDev = r.NormFloat64()
	def.reDev = r.NormFloat64()
	scale := 0.378 - 0.000572*sigma
	for {
		e := rayleigh(r, scale)
		d.Q = 1 - e
		if d.Q >= cfg.MinQ && d.Q <= 1 {
			break
		}
	}
	d.Phi = math.Pi * r.Float64()
	d.X = cfg.CentreJitter * (2*r.Float64() - 1)
	d.Y = cfg.CentreJitter * (2*r.Float64() - 1)
	d.Mags = dMags[:0]

	src := &s.Source
	c := p.catSrc[si*p.catStride : si*p.catStride+catFlux]
	src.CatIndex = si
	src.Z = c[catZ]
	src.MAbsR = c[catAbsMagR]
	src.ReKpc = c[catRe] * math.Pow(10, cfg.SourceReScatterDex*r.NormFloat64())
	src.Re = src.ReKpc / c[catKpc]
	for {
		src.Q = 1 - rayleigh(r, cfg.SourceQRayleigh)
		if src.Q >= cfg.MinQ && src.Q <= 1 {
			break
		}
	}
	src.Phi = math.Pi * r.Float64()
	src.X = d.X + sx
	src.Y = d.Y + sy
	src.Mags = sMags[:0]

	if cfg.ShearSigma > 0 {
		s.Gamma1 = cfg.ShearSigma * r.NormFloat64()
		s.Gamma2 = cfg.ShearSigma * r.NormFloat64()
	}
	return def
}

// Finish completes a system drawn by DrawLazy (def is DrawLazy's result):
// the deflector's absolute magnitude, effective radius in kpc and arcsec and
// apparent magnitudes, and the source's magnitudes (copied from its
// catalogue entry). It draws no random numbers. The magnitude slices'
// capacity is reused.
func (p *Population) Finish(s *System, def Deferred) {
	cfg := p.cfg
	d := &s.Deflector
	sigma := d.SigmaV
	d.MAbsR = HydeBernardiMr(sigma) + cfg.MagScatter*def.magDev
	d.ReKpc = math.Pow(10, HydeBernardiLogRe(sigma)+cfg.ReScatterDex*def.reDev)
	k, f := p.zIndex(d.Z)
	kpc := lerp(p.kpcGrid, k, f)
	d.Re = d.ReKpc / kpc
	dm := lerp(p.dmGrid, k, f)
	d.Mags = growMags(d.Mags, len(p.bands))
	for b := range p.bands {
		d.Mags[b] = d.MAbsR + dm - lerp(p.colGrid[b], k, f)
	}
	s.Source.Mags = append(s.Source.Mags[:0], p.catMags[s.Source.CatIndex]...)
}

// WithSourceFluxes returns a copy of p that also holds flux(b, m) for the
// magnitude m of every catalogue source in every band b (an index into
// Bands), for SourceFluxes. The table sits next to the source data a draw
// reads (one cache line for four bands), so a caller that needs the drawn
// source's fluxes gets them without another cache miss. p is unchanged; the
// copy draws exactly what p draws.
func (p *Population) WithSourceFluxes(flux func(b int, mag float64) float64) *Population {
	q := *p
	nb := len(p.bands)
	q.nFlux = nb
	q.catStride = (catFlux + nb + 3) &^ 3 // whole 32-byte blocks
	n := len(p.catDC)
	q.catSrc = make([]float64, n*q.catStride)
	for i := range n {
		c := q.catSrc[i*q.catStride:]
		copy(c[:catFlux], p.catSrc[i*p.catStride:])
		for b := range nb {
			c[catFlux+b] = flux(b, p.catMags[i][b])
		}
	}
	return &q
}

// SourceFluxes returns the fluxes WithSourceFluxes tabulated for catalogue
// source i, one per band (nil for a population without them). The slice
// belongs to p and must not be modified.
func (p *Population) SourceFluxes(i int) []float64 {
	if p.nFlux == 0 {
		return nil
	}
	o := i*p.catStride + catFlux
	return p.catSrc[o : o+p.nFlux : o+p.nFlux]
}

// NumSources returns the number of entries of the source catalogue
// (the range of Source.CatIndex).
func (p *Population) NumSources() int { return len(p.catMags) }

// SourceMag returns the apparent magnitude of catalogue entry i in band b
// (an index into Bands): the value a drawn Source with CatIndex i carries in
// Mags[b].
func (p *Population) SourceMag(i, b int) float64 { return p.catMags[i][b] }

// growMags returns b resized to n, reallocated only when too small.
func growMags(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func (p *Population) zIndex(z float64) (int, float64) {
	g := p.zGrid
	if z <= g[0] {
		return 0, 0
	}
	n := len(g)
	if z >= g[n-1] {
		return n - 2, 1
	}
	k := sort.SearchFloat64s(g, z) - 1
	if k < 0 {
		k = 0
	}
	return k, (z - g[k]) / (g[k+1] - g[k])
}

// Offsets of a catalogue source's values in Population.catSrc.
const (
	catZ = iota
	catAbsMagR
	catRe
	catKpc
	catFlux // the first flux, if any
)

func lerp(t []float64, k int, f float64) float64 { return t[k] + f*(t[k+1]-t[k]) }

func rayleigh(r *rand.Rand, scale float64) float64 {
	u := r.Float64()
	return scale * math.Sqrt(-2*math.Log1p(-u))
}

// invCDF samples a 1-D density tabulated on a grid by inverting its
// trapezoid-integrated CDF with linear interpolation.
type invCDF struct {
	x, cdf []float64
	// guide[g] is the number of cdf entries below g / invGuideLen, so the
	// first entry >= u in [g, g+1) / invGuideLen lies in
	// [guide[g], guide[g+1]] (quantile's search starts there)
	guide []int32
}

// invGuideLen is the number of cells of invCDF's guide table (a power of 2,
// so that u * invGuideLen and g / invGuideLen are exact).
const invGuideLen = 4096

func newInvCDF(lo, hi float64, n int, pdf func(float64) float64) *invCDF {
	t := &invCDF{x: make([]float64, n), cdf: make([]float64, n)}
	prev := 0.0
	for i := 0; i < n; i++ {
		x := lo + (hi-lo)*float64(i)/float64(n-1)
		t.x[i] = x
		v := pdf(x)
		if !(v > 0) || math.IsInf(v, 0) {
			v = 0
		}
		if i > 0 {
			t.cdf[i] = t.cdf[i-1] + 0.5*(v+prev)*(x-t.x[i-1])
		}
		prev = v
	}
	total := t.cdf[n-1]
	for i := range t.cdf {
		t.cdf[i] /= total
	}
	t.guide = make([]int32, invGuideLen+1)
	m := 0
	for g := range t.guide {
		edge := float64(g) / invGuideLen
		for m < n && t.cdf[m] < edge {
			m++
		}
		t.guide[g] = int32(m)
	}
	return t
}

func (t *invCDF) sample(r *rand.Rand) float64 { return t.quantile(r.Float64()) }

// quantile inverts the CDF by linear interpolation between grid nodes (4096
// nodes: the density is resolved far below the sampling noise of any test).
func (t *invCDF) quantile(u float64) float64 {
	i := t.search(u)
	if i <= 0 {
		return t.x[0]
	}
	if i >= len(t.x) {
		return t.x[len(t.x)-1]
	}
	c0, c1 := t.cdf[i-1], t.cdf[i]
	if c1 <= c0 {
		return t.x[i]
	}
	return t.x[i-1] + (u-c0)/(c1-c0)*(t.x[i]-t.x[i-1])
}

// search returns sort.SearchFloat64s(t.cdf, u), the first entry >= u (the
// number of entries below u), for u in [0, 1) from the guide table and a
// linear scan (N / invGuideLen steps on average for uniform u), otherwise by
// bisection.
func (t *invCDF) search(u float64) int {
	if !(u >= 0 && u < 1) {
		return sort.SearchFloat64s(t.cdf, u)
	}
	g := int(u * invGuideLen) // exact: g / invGuideLen <= u < (g+1) / invGuideLen
	i, hi := int(t.guide[g]), int(t.guide[g+1])
	for i < hi && t.cdf[i] < u {
		i++
	}
	return i
}

// CDF evaluates the tabulated cumulative distribution at x (for tests).
func (t *invCDF) CDF(x float64) float64 {
	if x <= t.x[0] {
		return 0
	}
	n := len(t.x)
	if x >= t.x[n-1] {
		return 1
	}
	i := sort.SearchFloat64s(t.x, x)
	f := (x - t.x[i-1]) / (t.x[i] - t.x[i-1])
	return t.cdf[i-1] + f*(t.cdf[i]-t.cdf[i-1])
}
