package survey

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
)

// PSFPixelFractions writes into dst the fraction of a point source's flux that
// falls in each pixel of a size x size stamp (size = 2h+1, row-major, source
// at the centre of the central pixel) under the preset's PSF at seeing
// fwhmArcsec, and returns it with size. A Gaussian PSF is integrated exactly
// over each pixel (products of error-function differences) out to 8 sigma, a
// Moffat PSF point-sampled on its MoffatKernel2D grid. The fractions of a
// Gaussian sum to 1 to 1e-14.
func (p *Preset) PSFPixelFractions(fwhmArcsec float64, dst []float64) ([]float64, int) {
	f := fwhmArcsec / p.PixelScale
	if p.PSF == PSFMoffat {
		return MoffatKernel2D(f, p.MoffatBeta, 0, dst)
	}
	sigma := f * FWHMToSigma
	if !(sigma > 0) {
		if cap(dst) < 1 {
			dst = make([]float64, 1)
		}
		dst = dst[:1]
		dst[0] = 1
		return dst, 1
	}
	h := max(int(math.Ceil(8*sigma)), 1)
	s := 2*h + 1
	if cap(dst) < s*s {
		dst = make([]float64, s*s)
	}
	dst = dst[:s*s]
	inv := 1 / (sigma * math.Sqrt2)
	// 1-D pixel fractions in the first row, then the outer product
	var oneD [256]float64
	var fr []float64
	if s <= len(oneD) {
		fr = oneD[:s]
	} else {
		fr = make([]float64, s)
	}
	for a := -h; a <= h; a++ {
		fr[a+h] = 0.5 * (math.Erf((float64(a)+0.5)*inv) - math.Erf((float64(a)-0.5)*inv))
	}
	for b := 0; b < s; b++ {
		for a := 0; a < s; a++ {
			dst[b*s+a] = fr[a] * fr[b]
		}
	}
	return dst, s
}

// pointSourceFlux returns the flux (e-/s) of a point source detected at
// nsigma by the optimal (PSF-weighted) linear estimator, given the distinct
// pixel fractions fr with their multiplicities mult (nil: all 1) and the
// variance model var = perFlux*S + bkg: the root F of
// g(F) = F^2 sum_i mult_i fr_i^2 / (perFlux F fr_i + bkg) = nsigma^2.
// g increases monotonically from 0; Newton steps from the background-limited
// guess, kept inside a bisection bracket, converge in a handful of iterations.
func pointSourceFlux(fr, mult []float64, perFlux, bkg, nsigma float64) float64 {
	g := func(F float64) (val, deriv float64) {
		s, ds := 0.0, 0.0
		for i, q := range fr {
			if q <= 0 {
				continue
			}
			m := 1.0
			if mult != nil {
				m = mult[i]
			}
			d := perFlux*F*q + bkg
			s += m * q * q / d
			ds -= m * q * q * perFlux * q / (d * d)
		}
		return F * F * s, 2*F*s + F*F*ds
	}
	target := nsigma * nsigma
	s0 := 0.0
	for i, q := range fr {
		m := 1.0
		if mult != nil {
			m = mult[i]
		}
		s0 += m * q * q
	}
	F := nsigma * math.Sqrt(bkg/s0) // background-limited guess: g(F) <= target
	if !(F > 0) {
		F = target / perFlux
	}
	lo, hi := F, F
	for v, _ := g(lo); v > target; v, _ = g(lo) {
		lo /= 2
	}
	for v, _ := g(hi); v < target; v, _ = g(hi) {
		hi *= 2
	}
	F = 0.5 * (lo + hi)
	for range 100 {
		v, dv := g(F)
		if v < target {
			lo = F
		} else {
			hi = F
		}
		next := F - (v-target)/dv
		if !(next > lo && next < hi) {
			next = 0.5 * (lo + hi)
		}
		if math.Abs(next-F) <= 1e-13*F {
			return next
		}
		F = next
	}
	return F
}

// gaussianOctant fills fr and mult with the distinct pixel fractions of a
// pixel-centred Gaussian PSF of sigma pixels (out to 8 sigma) and their
// multiplicities: by symmetry f(i, j) = f(|i|, |j|) = f(|j|, |i|), so only
// 0 <= j <= i need be kept.
func gaussianOctant(sigma float64, fr, mult []float64) ([]float64, []float64) {
	h := max(int(math.Ceil(8*sigma)), 1)
	var oneD [512]float64
	a := oneD[:0]
	if h+1 > len(oneD) {
		a = make([]float64, 0, h+1)
	}
	inv := 1 / (sigma * math.Sqrt2)
	for i := 0; i <= h; i++ {
		a = append(a, 0.5*(math.Erf((float64(i)+0.5)*inv)-math.Erf((float64(i)-0.5)*inv)))
	}
	fr, mult = fr[:0], mult[:0]
	for i := 0; i <= h; i++ {
		for j := 0; j <= i; j++ {
			m := 8.0
			switch {
			case i == 0:
				m = 1
			case j == 0 || j == i:
				m = 4
			}
			fr = append(fr, a[i]*a[j])
			mult = append(mult, m)
		}
	}
	return fr, mult
}

// PointSourceDepth returns the nsigma limiting AB magnitude of a point source
// in band b under conditions c: the magnitude at which the optimal,
// PSF-weighted flux estimate of an isolated point source, centred on a pixel,
// has signal-to-noise nsigma. With pixel fractions f_i of the pixelised PSF
// (PSFPixelFractions) and pixel variances perFlux*F*f_i + background
// (PixelVariance: source Poisson noise, sky, read noise), the estimator
// F_hat = sum(w_i d_i)/sum(w_i f_i), w_i = f_i/var_i, has
// SNR^2 = F^2 sum_i f_i^2/var_i, solved for SNR = nsigma. This is the ideal
// limit a pipeline's PSF photometry approaches; aperture photometry is
// shallower. NaN for invalid conditions.
func PointSourceDepth(p *Preset, b *Band, c Conditions, nsigma float64) float64 {
	var w depthWork
	return w.depth(p, b, c, nsigma)
}

// depthWork holds reusable buffers for repeated depth computations.
type depthWork struct{ fr, mult []float64 }

func (w *depthWork) depth(p *Preset, b *Band, c Conditions, nsigma float64) float64 {
	if !(c.ExpTime > 0) || c.NExp < 1 || !(c.Seeing > 0) || !(nsigma > 0) {
		return math.NaN()
	}
	var mult []float64
	if p.PSF == PSFMoffat {
		w.fr, _ = p.PSFPixelFractions(c.Seeing, w.fr)
	} else {
		w.fr, w.mult = gaussianOctant(c.Seeing/p.PixelScale*FWHMToSigma, w.fr, w.mult)
		mult = w.mult
	}
	perFlux, bkg := p.PixelVariance(b, c)
	return b.Magnitude(pointSourceFlux(w.fr, mult, perFlux, bkg, nsigma))
}

// DepthRow is one band's line of a depth table.
type DepthRow struct {
	Band string
	// Median conditions (marginal medians of the preset's distributions).
	Seeing, SkyMag, ExpTime float64
	NExp                    int
	// SkyRate is the sky in e-/s per pixel at the median sky brightness.
	SkyRate float64
	// DepthAtMedian is the limiting magnitude at the median conditions.
	DepthAtMedian float64
	// DepthMedian, Depth16 and Depth84 are the median and 16th/84th
	// percentiles of the limiting magnitude over draws of the conditions.
	DepthMedian, Depth16, Depth84 float64
}

// DepthTable computes, for every band of p, the nsigma point-source depth at
// the median conditions and its distribution over draws random draws of the
// conditions (seeded with seed, so the table is reproducible).
func DepthTable(p *Preset, nsigma float64, draws int, seed uint64) []DepthRow {
	med := p.MedianConditions()
	rows := make([]DepthRow, len(p.Bands))
	var w depthWork
	for i := range p.Bands {
		b := &p.Bands[i]
		c := med[i]
		rows[i] = DepthRow{Band: b.Name, Seeing: c.Seeing, SkyMag: c.SkyMag, ExpTime: c.ExpTime, NExp: c.NExp,
			SkyRate:       p.SkyRatePerPixel(b, c.SkyMag),
			DepthAtMedian: w.depth(p, b, c, nsigma)}
	}
	if draws > 0 {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		depths := make([][]float64, len(p.Bands))
		conds := make([]Conditions, len(p.Bands))
		for range draws {
			conds = p.SampleConditions(r, conds)
			for i := range p.Bands {
				depths[i] = append(depths[i], w.depth(p, &p.Bands[i], conds[i], nsigma))
			}
		}
		for i := range rows {
			d := depths[i]
			slices.Sort(d)
			q := func(f float64) float64 { return d[int(math.Round(f*float64(len(d)-1)))] }
			rows[i].DepthMedian, rows[i].Depth16, rows[i].Depth84 = q(0.5), q(0.16), q(0.84)
		}
	} else {
		for i := range rows {
			rows[i].DepthMedian, rows[i].Depth16, rows[i].Depth84 = math.NaN(), math.NaN(), math.NaN()
		}
	}
	return rows
}

// WriteDepthTable prints the preset's 5-sigma point-source depth table (what
// `lenssbi depth --preset NAME` shows): per band the median seeing, sky,
// exposure time, number of exposures, sky rate, the depth at median conditions
// and the median and 16-84% range of the depth over 10,000 draws of the
// conditions.
func WriteDepthTable(w io.Writer, p *Preset) error {
	const nsigma, draws = 5, 10000
	rows := DepthTable(p, nsigma, draws, 1)
	fmt.Fprintf(w, "preset %s (%s): %g-sigma point-source depth, PSF-weighted, %s PSF, %s noise, pixel %g\"\n",
		p.Name, p.Source, float64(nsigma), p.PSF, p.NoiseModel, p.PixelScale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "band\tzp\tseeing\"\tsky mag/\"2\texp s\tn_exp\tsky e-/s/pix\tdepth@median\tmedian depth\t16-84%\t")
	for i, r := range rows {
		fmt.Fprintf(tw, "%s\t%.3f\t%.2f\t%.2f\t%.1f\t%d\t%.3g\t%.2f\t%.2f\t%.2f-%.2f\t\n",
			r.Band, p.Bands[i].ZeroPoint, r.Seeing, r.SkyMag, r.ExpTime, r.NExp, r.SkyRate,
			r.DepthAtMedian, r.DepthMedian, r.Depth16, r.Depth84)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing depth table: %w", err)
	}
	return nil
}
