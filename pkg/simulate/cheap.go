package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// The cheap front of the candidate cascade (the resolution cut and the SNR
// caps at the magnification and polar bounds) runs for every drawn
// candidate, about 600 per kept DELVE lens, so the sources' flux rates are
// tabulated (population.WithSourceFluxes), and the SNR cap at the
// magnification bound is first tried with a bound on the background from
// math.Exp instead of math.Pow; only the candidates that pass it get the
// exact background (and the exact test).

// snrCapMargin shrinks the SNR threshold of the pre-test with the upper
// bounds on 1/background (snrCapAt with worker.invBkgHi): a candidate is
// rejected early only when its bound falls short of the threshold by more
// than rounding could account for.
const snrCapMargin = 1e-9

// snrCapAt is snrCap with invBkg in place of w.invBkg (w.flux and w.ksq must
// be set): with invBkg[b] >= 1/background for every band it bounds snrCap
// from above.
func (w *worker) snrCapAt(mu, i0a float64, invBkg []float64) float64 {
	best := 0.0
	for b := range w.s.bands {
		f := w.flux[b]
		k := w.ksq[b]
		if mu > 0 && i0a/mu < k {
			k = i0a / mu
		}
		best = max(best, mu*f*math.Sqrt(k*invBkg[b]))
	}
	return best
}

// bkgHiMargin inflates invBkgHi's 1/background: math.Exp(y ln 10) and the
// math.Pow(10, y) of survey.Preset.SkyRatePerPixel differ by a few units in
// the last place times |y ln 10| (both are accurate to a few ulps; the
// product y ln 10 adds its rounding), far below 1e-9 for any sky magnitude.
const bkgHiMargin = 1e-9

// setInvBkgHi sets w.invBkgHi[b], per band, to an upper bound on 1/background
// of survey.Preset.PixelVariance for w.cond[b] (SkyMag and ExpTime set): the
// same survey.Background of a sky rate from math.Exp in place of math.Pow
// (five times cheaper), inflated by bkgHiMargin (TestInvBkgHi).
func (w *worker) setInvBkgHi() {
	p := w.s.cfg.Preset
	a := p.PixelScale * p.PixelScale
	for b := range w.s.bands {
		band := &p.Bands[b]
		c := &w.cond[b]
		B := c.SkyMag * a // NoiseDeeplenstronomy: no power of ten
		if p.NoiseModel != survey.NoiseDeeplenstronomy {
			B = math.Exp(-0.4*(c.SkyMag-band.ZeroPoint)*math.Ln10) * a
		}
		w.invBkgHi[b] = (1 + bkgHiMargin) / survey.Background(band, *c, B)
	}
}
