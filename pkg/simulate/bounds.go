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
// brightness, pixels average it and the kernel is normalised). So
//
//	SNR <= mu F_b sqrt(min(K_max, i0a / mu) / bkg).
func (w *worker) snrCap(mu, i0a float64) float64 {
	best := 0.0
	for b := range w.s.bands {
		f := w.flux[b]
		k := w.kmax[b]
		if mu > 0 && i0a/mu < k {
			k = i0a / mu
		}
		best = math.Max(best, mu*f*math.Sqrt(k*w.invBkg[b]))
	}
	return best
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

// muPolar estimates the total magnification of the exponential source of sys
// by integrating the lensed surface brightness in polar coordinates about the
// lens centre, mu = (1/F) int dphi int r dr I_s(beta(r, phi)). The SIE
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
// magnification from above up to that quadrature error (measured ~1e-4), and
// the caller adds a margin for the renderer's own discretisation.
//
// h is the scale length used (src.Re / b_1 for the source itself; half of it
// gives the integral of the squared surface brightness, see snrSq).
func muPolar(lm *lensing.Model, sys *population.System, h float64) float64 {
	d, src := &sys.Deflector, &sys.Source
	hMinor := h * src.Q
	const bn1 = 1.6783469900166612
	h0 := src.Re / bn1
	hMinor = max(hMinor, 0.5*h0*src.Q) // angular step set by the source itself
	g := tK1()
	ax, ay := src.X-d.X, src.Y-d.Y // source centre relative to the lens
	beta := math.Hypot(ax, ay)
	rmax := 1.5*(sys.ThetaE+beta) + 16*h0/math.Sqrt(src.Q)
	nphi := int(math.Ceil(2 * math.Pi * rmax / hMinor))
	nphi = max(64, min(nphi, 8192))
	dphi := 2 * math.Pi / float64(nphi)
	sn, cs := math.Sincos(src.Phi)
	q, iq := src.Q, 1/src.Q
	g1, g2 := sys.Gamma1, sys.Gamma2
	ih := 1 / h
	// rotate (cos, sin) of the ray direction incrementally
	sd, cd := math.Sincos(dphi)
	ce, se := 1.0, 0.0
	total := 0.0
	for k := 0; k < nphi; k++ {
		if k&63 == 0 { // re-anchor the recurrence
			se, ce = math.Sincos(float64(k) * dphi)
		}
		alx, aly := lm.SIE.Deflection(d.X+ce, d.Y+se)
		ux, uy := ce-(g1*ce+g2*se), se-(g2*ce-g1*se)
		vx, vy := ax+alx, ay+aly // a(phi)
		// elliptical-frame components
		u1, u2 := cs*ux+sn*uy, -sn*ux+cs*uy
		v1, v2 := cs*vx+sn*vy, -sn*vx+cs*vy
		nu2 := q*u1*u1 + iq*u2*u2
		uv := q*u1*v1 + iq*u2*v2
		na2 := q*v1*v1 + iq*v2*v2
		na := math.Sqrt(na2)
		j := h * (na + h) * math.Exp(-na*ih)
		if uv > 0 {
			r0 := uv / nu2
			d2 := na2 - uv*r0
			t := 0.0
			if d2 > 0 {
				t = math.Sqrt(d2) * ih
			}
			idx := int(t * tK1Step)
			if idx < tK1Len {
				j += math.Sqrt(nu2) * r0 * 2 * h * g[idx]
			}
		}
		total += j / nu2
		ce, se = ce*cd-se*sd, se*cd+ce*sd
	}
	return total * dphi / (2 * math.Pi * h * h)
}

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
