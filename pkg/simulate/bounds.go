package simulate

import (
	"math"
	"sync"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// Pre-screen bounds. The detectability cuts need the rendered magnification
// mu and the best band's thresholded SNR; both are expensive. The functions
// here bound them from above cheaply, so a candidate whose bound misses the
// cuts can be rejected without rendering (TestPrescreenConservative checks
// empirically that nothing the full cuts keep is lost).

// snrCap bounds the best band's thresholded SNR for a source of total
// (unconvolved, lensed) flux mu F_b per band. Let S_i be the PSF-convolved
// source in pixel i, A the pixels with S_i^2 > var_i, and T = sum_A S_i. Every
// var_i >= bkg, so SNR = T / sqrt(sum_A var_i) <= T / sqrt(|A| bkg), and
// |A| >= T / S_max, hence SNR <= sqrt(T S_max / bkg) <= sqrt(S_tot S_max / bkg).
// The convolved peak S_max is at most K_max S_tot, K_max the largest tap of
// the normalised 2-D kernel (a discrete convolution is a weighted sum of the
// unconvolved pixels with weights <= K_max), and at most the central surface
// brightness times the pixel area, i0a F_b (lensing conserves surface
// brightness, pixels average it and the kernel is normalised). Also
// sum_i S_i^2 = ||K * s||_2^2 <= ||K||_2^2 ||s||_1^2 (Young's inequality, s
// the unconvolved map of total mu F_b), so K_max may be replaced by
// ||K||_2^2 = sum of the squared taps of the 2-D kernel (<= K_max). So
//
//	SNR <= mu F_b sqrt(min(||K||_2^2, i0a / mu) / bkg).
func (w *worker) snrCap(mu, i0a float64) float64 {
	return w.snrCapAt(mu, i0a, w.invBkg)
}

// tK1 tabulates g(t) = t K_1(t) = integral_0^inf exp(-sqrt(x^2 + t^2)) dx on
// t = k / tK1Step, k = 0 .. tK1Len-1 (g decreases from 1 at t = 0).
const (
	tK1Step = 32
	tK1Len  = 40*tK1Step + 1
)

var (
	tK1Once  sync.Once
	tK1Table []float64
)

func tK1() []float64 {
	tK1Once.Do(func() {
		t := make([]float64, tK1Len)
		t[0] = 1
		for k := 1; k < tK1Len; k++ {
			x := float64(k) / tK1Step
			// x = t sinh u: integrand t cosh(u) exp(-t cosh u), trapezoid
			// rule (exponentially convergent for this smooth, rapidly
			// decaying integrand) until t cosh u > t + 60.
			const du = 1.0 / 256
			sum := 0.5 * x * math.Exp(-x)
			for i := 1; ; i++ {
				ch := math.Cosh(float64(i) * du)
				if x*ch > x+60 {
					break
				}
				sum += x * ch * math.Exp(-x*ch)
			}
			t[k] = sum * du
		}
		tK1Table = t
	})
	return tK1Table
}

// muPolarPair estimates the total magnification of the exponential source
// of sys (scale length h along the major axis) by integrating the lensed
// surface brightness in polar coordinates about the lens centre,
// mu = (1/F) int dphi int r dr I_s(beta(r, phi)), and returns it together
// with the same integral for the profile at half the scale length (muHalf,
// the integral of the squared surface brightness, see snrSq). The SIE
// deflection depends on the direction phi only and the shear's is linear in
// r, so along each ray the source-plane position is affine in r:
// beta - beta_s = r u(phi) - a(phi), u = (1 - Gamma) e_phi,
// a = beta_s - centre + alpha_SIE(e_phi). With N the source's elliptical norm
// (I_s = I0 exp(-N/h)), N(r u - a)^2 = N(u)^2 (r - r0)^2 + D^2 and the radial
// integral is, with x = N(u)(r - r0),
//
//	(1/N(u)^2) [ h (N(a) + h) exp(-N(a)/h) + N(u) r0 int_{-N(u) r0}^inf exp(-sqrt(x^2+D^2)/h) dx ],
//
// the first term exact, the second bounded by extending the range to the
// whole line (2 h g(D/h), g(t) = t K_1(t), tabulated and read at the grid
// point below D/h, g decreasing) and dropped where r0 < 0 (it is negative).
// The angular integral is a periodic trapezoid rule with steps finer than the
// source's minor-axis scale length seen from the lens, which converges
// exponentially fast; the result bounds the exact extended-source
// magnification from above up to that quadrature error, and the caller adds
// a margin for the renderer's own discretisation
// (TestPrescreenConservative measures both on rendered candidates).
//
// The two integrals share the rays' deflections and one exponential per ray
// (exp(-2N/h) = exp(-N/h)^2, evaluated with fastExp); rays whose source-plane
// line stays more than 40 scale lengths from the source centre add nothing.
func (w *worker) muPolarPair(lm *lensing.Model, sys *population.System, h float64) (mu, muHalf float64) {
	return muPolarN(lm, sys, h, 1, &w.polar)
}

// polarScratch holds muPolarN's per-direction arrays: the unit vectors, the
// SIE's deflections there and polarTerms' outputs.
type polarScratch struct {
	ce, se, alx, aly []float64
	j, jh, c, t, inu []float64
}

// muPolarN is muPolarPair with the number of directions multiplied by fine
// (the tests use a finer rule as the reference of the quadrature error),
// using the scratch memory sc (nil: allocated). The deflections of all
// directions are computed first, in one rayKernel batch, then the terms
// that need no table (polarTerms), then the tails from the table g
// (polarSum).
func muPolarN(lm *lensing.Model, sys *population.System, h float64, fine int, sc *polarScratch) (mu, muHalf float64) {
	kern := newRayKernel(*lm, expSource{})
	return muPolarKern(&kern, sys, h, fine, sc)
}

// muPolarKern is muPolarN with the rayKernel of the lens model.
func muPolarKern(kern *rayKernel, sys *population.System, h float64, fine int, sc *polarScratch) (mu, muHalf float64) {
	if sc == nil {
		sc = &polarScratch{}
	}
	nphi := polarDirections(sys, h) * fine
	sc.unitVectors(nphi)
	return polarSum(kern, sys, h, sc.ce[:nphi], sc.se[:nphi], sc)
}

// polarDirections returns the number of directions of muPolarPair's
// angular rule (see rmaxFactor).
func polarDirections(sys *population.System, h float64) int {
	d, src := &sys.Deflector, &sys.Source
	hMinor := h * src.Q
	beta := math.Hypot(src.X-d.X, src.Y-d.Y)
	rmax := rmaxFactor*(sys.ThetaE+beta) + rmaxScales*h/math.Sqrt(src.Q)
	nphi := int(math.Ceil(2 * math.Pi * rmax / hMinor))
	return max(64, min(nphi, 8192))
}

// unitVectors sets sc.ce[k], sc.se[k] to the cosine and sine of
// phi_k = 2 pi k / nphi, k < nphi, rotating the vector incrementally from
// exact values every 64 directions.
func (sc *polarScratch) unitVectors(nphi int) {
	dphi := 2 * math.Pi / float64(nphi)
	sd, cd := math.Sincos(dphi)
	sc.ce, sc.se = grow(sc.ce, nphi), grow(sc.se, nphi)
	ce, se := 1.0, 0.0
	for k := 0; k < nphi; k++ {
		if k&63 == 0 { // re-anchor the recurrence
			se, ce = math.Sincos(float64(k) * dphi)
		}
		sc.ce[k], sc.se[k] = ce, se
		ce, se = ce*cd-se*sd, se*cd+ce*sd
	}
}

// polarSum evaluates muPolarPair's two integrals with the periodic
// trapezoid rule of the nphi = len(ce) directions (ce[k], se[k]) (the unit
// vectors of phi_k = 2 pi k / nphi), for the lens of kern, using the
// scratch memory sc (not its ce and se).
func polarSum(kern *rayKernel, sys *population.System, h float64, ce, se []float64, sc *polarScratch) (mu, muHalf float64) {
	d, src := &sys.Deflector, &sys.Source
	nphi := len(ce)
	se = se[:nphi]
	g := tK1()
	ax, ay := src.X-d.X, src.Y-d.Y // source centre relative to the lens
	dphi := 2 * math.Pi / float64(nphi)
	sn, cs := math.Sincos(src.Phi)
	q, iq := src.Q, 1/src.Q
	g1, g2 := sys.Gamma1, sys.Gamma2
	ih := 1 / h
	sc.alx, sc.aly = grow(sc.alx, nphi), grow(sc.aly, nphi)
	kern.deflect(ce, se, sc.alx, sc.aly)
	hh := 0.5 * h
	pc := polarConsts{g1: g1, g2: g2, ax: ax, ay: ay, cs: cs, sn: sn, q: q, iq: iq, h: h, hh: hh, ih: ih}
	sc.j, sc.jh, sc.c = grow(sc.j, nphi), grow(sc.jh, nphi), grow(sc.c, nphi)
	sc.t, sc.inu = grow(sc.t, nphi), grow(sc.inu, nphi)
	polarTerms(&pc, ce, se, sc.alx, sc.aly, sc.j, sc.jh, sc.c, sc.t, sc.inu)
	var total, totalH float64
	for k := 0; k < nphi; k++ {
		j, jh := sc.j[k], sc.jh[k]
		if c := sc.c[k]; c > 0 {
			t := sc.t[k]
			if idx := int(t * tK1Step); idx < tK1Len {
				j += c * h * g[idx]
				if idx2 := int(2 * t * tK1Step); idx2 < tK1Len {
					jh += c * hh * g[idx2]
				}
			}
		}
		total += j * sc.inu[k]
		totalH += jh * sc.inu[k]
	}
	return total * dphi / (2 * math.Pi * h * h), totalH * dphi / (2 * math.Pi * hh * hh)
}

// The angular step of muPolarPair is hMinor / rmax with
// rmax = rmaxFactor (theta_E + beta) + rmaxScales h / sqrt(q): a step finer
// than the source's minor-axis scale length at the radius of the outermost
// image light.
const (
	rmaxFactor = 1.0
	rmaxScales = 8.0
)

// muPolarMargin multiplies muPolar in the pre-screen: the rendered
// magnification differs from the exact integral by the renderer's sampling
// error (TestPrescreenConservative measures the largest ratio).
const muPolarMargin = 1.3

// snrSq bounds the best band's thresholded SNR through the sum of squared
// pixel values: SNR <= sqrt(sum_i S_i^2 / bkg) (Cauchy-Schwarz, var_i >= bkg;
// a normalised PSF cannot increase sum S^2), and sum_i S_i^2 <= A int I^2
// (Cauchy-Schwarz within each pixel of area A). For the unit-flux exponential
// source, I^2 = I0^2 exp(-N/(h/2)), so int I^2 = I0^2 2 pi (h/2)^2 mu_{h/2},
// with mu_{h/2} the magnification of the same source at half the scale length
// (muHalf), and
//
//	SNR <= F_b sqrt(A mu_{h/2} / (8 pi h^2 bkg)).
func (w *worker) snrSq(muHalf, h float64) float64 {
	best := 0.0
	c := w.s.pix * w.s.pix * muHalf / (8 * math.Pi * h * h)
	for b := range w.s.bands {
		best = math.Max(best, w.flux[b]*math.Sqrt(c*w.invBkg[b]))
	}
	return best
}

// fastExp returns e^x for x <= 0 with a relative error below 1e-12
// (TestFastExp): x = (k + r) ln2 / 64 with k integer and |r| <= 1/2, e^x =
// 2^(k/64) e^(r ln2/64), the first from a 64-entry table and a shift of the
// exponent, the second from its degree-4 Taylor polynomial
// (|r ln2/64| < 0.0055). Below -700 it returns 0.
func fastExp(x float64) float64 {
	if x < -700 {
		return 0
	}
	const shift = 1.5 * (1 << 52) // adding and subtracting rounds to an integer
	t := x * (64 / math.Ln2)
	kf := (t + shift) - shift
	y := (t - kf) * (math.Ln2 / 64)
	p := 1 + y*(1+y*(0.5+y*(1.0/6+y*(1.0/24))))
	k := int64(kf)
	m := exp2Table[k&63]
	return math.Float64frombits(math.Float64bits(m*p) + uint64(k>>6)<<52)
}

// exp2Table holds 2^(j/64), j = 0 .. 63.
var exp2Table = func() (t [64]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return t
}()
