package photometry

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// SpeedOfLightAngstrom is the speed of light in Angstrom per second, the c of
// f_nu = f_lambda lambda^2 / c with lambda in Angstrom.
const SpeedOfLightAngstrom = 2.99792458e18

// ABZeroFNu is the AB reference flux density, 3631 Jy, in erg s^-1 cm^-2 Hz^-1.
const ABZeroFNu = 3631e-23

// ABMagFromFNu returns the AB magnitude of a flux density fnu in erg s^-1 cm^-2 Hz^-1:
// -2.5 log10(fnu / 3631 Jy).
func ABMagFromFNu(fnu float64) float64 { return -2.5 * math.Log10(fnu/ABZeroFNu) }

// FNuFromABMag returns the flux density in erg s^-1 cm^-2 Hz^-1 of AB magnitude m.
func FNuFromABMag(m float64) float64 { return ABZeroFNu * math.Pow(10, -0.4*m) }

// BandNormalization returns int T(lambda) dlambda/lambda over the bandpass
// (dimensionless), the denominator of the AB magnitude up to the constant
// 3631 Jy. With T linear between nodes the integral is evaluated in closed
// form on every interval.
func (bp Bandpass) BandNormalization() float64 {
	den := 0.0
	for k := 1; k < len(bp.Wavelength); k++ {
		den += invLambdaIntegral(bp.Wavelength[k-1], bp.Wavelength[k], bp.Response[k-1], bp.Response[k])
	}
	return den
}

// invLambdaIntegral returns int_{x0}^{x1} T(x)/x dx for T linear from t0 at x0
// to t1 at x1 (0 < x0 < x1):
// t0 ln(x1/x0) + (t1 - t0) (1 - ln(1+u)/u), u = (x1-x0)/x0,
// with the last factor from its series when u is small (no cancellation).
func invLambdaIntegral(x0, x1, t0, t1 float64) float64 {
	u := (x1 - x0) / x0
	l := math.Log1p(u)
	var g float64 // 1 - ln(1+u)/u
	if u < 1e-3 {
		g = u * (1.0/2 - u*(1.0/3-u*(1.0/4-u*(1.0/5-u/6))))
	} else {
		g = 1 - l/u
	}
	return t0*l + (t1-t0)*g
}

// BandFluxDensity returns the band-averaged flux density
// <f_nu> = int f_nu T dnu/nu / int T dnu/nu of the SED through the bandpass, in
// erg s^-1 cm^-2 Hz^-1 when f_lambda is in erg s^-1 cm^-2 Angstrom^-1 (in the
// SED's units times Angstrom^2 s otherwise). The AB magnitude is
// ABMagFromFNu(<f_nu>).
//
// With d(lambda)/lambda weights the numerator is int f_lambda T lambda dlambda / c.
// Both the SED and the response are taken as linear between their own nodes;
// on each interval of the union of the two grids (restricted to the band's
// support) the integrand f_lambda T lambda is then a cubic, which Simpson's rule
// integrates exactly. The SED must cover the band's support (the wavelengths
// where the response is, or is next to, non-zero); otherwise an error is returned.
func BandFluxDensity(s SED, bp Bandpass) (float64, error) {
	if err := s.Validate(); err != nil {
		return math.NaN(), err
	}
	if err := bp.Validate(); err != nil {
		return math.NaN(), err
	}
	num, err := bandNumerator(s, bp)
	if err != nil {
		return math.NaN(), err
	}
	return num / (SpeedOfLightAngstrom * bp.BandNormalization()), nil
}

// bandNumerator returns int f_lambda T lambda dlambda for valid s and bp.
func bandNumerator(s SED, bp Bandpass) (float64, error) {
	ws, fs := s.Wavelength, s.FLambda
	wb, tb := bp.Wavelength, bp.Response
	// Support of the response: [wb[jlo], wb[jhi]].
	jlo, jhi := -1, -1
	for k, t := range tb {
		if t > 0 {
			if jlo < 0 {
				jlo = k
			}
			jhi = k
		}
	}
	if jlo < 0 {
		return 0, fmt.Errorf("bandpass %q: response is zero everywhere", bp.Name)
	}
	if jlo > 0 {
		jlo--
	}
	if jhi < len(tb)-1 {
		jhi++
	}
	lo, hi := wb[jlo], wb[jhi]
	if ws[0] > lo || ws[len(ws)-1] < hi {
		return 0, fmt.Errorf("SED %q covers %g..%g Angstrom, not all of bandpass %q (%g..%g Angstrom)",
			s.Name, ws[0], ws[len(ws)-1], bp.Name, lo, hi)
	}
	// i: last SED node at or below lo (i+1 exists because ws[last] >= hi > lo).
	i := sort.SearchFloat64s(ws, lo)
	if ws[i] > lo {
		i--
	}
	j := jlo
	x0 := lo
	f0 := lerp(ws[i], ws[i+1], fs[i], fs[i+1], x0)
	t0 := tb[j]
	num := 0.0
	for x0 < hi {
		xs, xb := ws[i+1], wb[j+1]
		x1 := min(xs, xb)
		var f1, t1 float64
		if x1 == xs {
			f1 = fs[i+1]
		} else {
			f1 = lerp(ws[i], xs, fs[i], fs[i+1], x1)
		}
		if x1 == xb {
			t1 = tb[j+1]
		} else {
			t1 = lerp(wb[j], xb, tb[j], tb[j+1], x1)
		}
		xm := 0.5 * (x0 + x1)
		num += (x1 - x0) / 6 * (f0*t0*x0 + (f0+f1)*(t0+t1)*xm + f1*t1*x1)
		if x1 == xs {
			i++
		}
		if x1 == xb {
			j++
		}
		x0, f0, t0 = x1, f1, t1
	}
	return num, nil
}

func lerp(x0, x1, y0, y1, x float64) float64 {
	return y0 + (y1-y0)*(x-x0)/(x1-x0)
}

// SyntheticABMagnitude returns the AB magnitude of the SED through the
// bandpass, m = -2.5 log10( int f_nu T dnu/nu / int (3631 Jy) T dnu/nu ), with
// f_nu = f_lambda lambda^2/c and d(lambda)/lambda weights (see
// BandFluxDensity for the integration). f_lambda is read as
// erg s^-1 cm^-2 Angstrom^-1; for templates in arbitrary units the magnitude is
// defined up to an additive constant (-2.5 log10 of the unit), which cancels in
// colours and k-corrections. A SED with no flux in the band gives +Inf.
// Invalid input (malformed SED or bandpass, SED not covering the band) gives an error.
func SyntheticABMagnitude(s SED, bp Bandpass) (float64, error) {
	fnu, err := BandFluxDensity(s, bp)
	if err != nil {
		return math.NaN(), fmt.Errorf("AB magnitude of %q through %q: %w", s.Name, bp.Name, err)
	}
	if fnu <= 0 {
		return math.Inf(1), nil
	}
	return ABMagFromFNu(fnu), nil
}

// ABMagnitude is SyntheticABMagnitude without the error: it returns NaN for
// invalid input (see SyntheticABMagnitude for the definition and units; the
// result for arbitrary-unit SEDs is defined up to an additive constant).
func ABMagnitude(s SED, bp Bandpass) float64 {
	m, err := SyntheticABMagnitude(s, bp)
	if err != nil {
		return math.NaN()
	}
	return m
}

// DeflectorColourChecked returns LensPop's deflector colour
// c_band(z) = -(m_band(SED at z) - m_r(SED at z=0)), where r is the reference
// bandpass. The apparent magnitude of a deflector of absolute r magnitude M_r
// is then m_band(z) = M_r + DM(z) - c_band(z); the additive constant of
// arbitrary-unit SEDs cancels. Errors for z <= -1 or invalid input.
func DeflectorColourChecked(s SED, bp, r Bandpass, z float64) (float64, error) {
	if !(z > -1) || math.IsInf(z, 0) {
		return math.NaN(), fmt.Errorf("deflector colour: redshift %v must be finite and > -1", z)
	}
	mr0, err := SyntheticABMagnitude(s, r)
	if err != nil {
		return math.NaN(), fmt.Errorf("deflector colour reference: %w", err)
	}
	mz, err := SyntheticABMagnitude(s.Redshift(z), bp)
	if err != nil {
		return math.NaN(), fmt.Errorf("deflector colour at z=%g: %w", z, err)
	}
	if math.IsInf(mr0, 0) || math.IsInf(mz, 0) {
		return math.NaN(), errors.New("deflector colour: SED has no flux in a band")
	}
	return -(mz - mr0), nil
}

// DeflectorColour is DeflectorColourChecked returning NaN instead of an error:
// c_band(z) = -(m_band(SED at z) - m_r(SED at z=0)).
func DeflectorColour(s SED, bp Bandpass, r Bandpass, z float64) float64 {
	c, err := DeflectorColourChecked(s, bp, r, z)
	if err != nil {
		return math.NaN()
	}
	return c
}
