// Package light holds the surface-brightness profiles of lens and source
// galaxies (elliptical Sersic profiles) and the pixel-integration helpers that
// turn a profile into an image (PHYSICS.md section 3).
//
// Conventions (shared with the SIE mass model, as in lenstronomy):
//
//   - angles on the sky in arcsec, x to the right (+RA direction on the pixel
//     grid's columns), y up (rows);
//   - an elliptical profile with axis ratio q = b/a <= 1 and position angle phi
//     (major axis, radians, counter-clockwise from +x) is evaluated at the
//     elliptical radius R = sqrt(q x'^2 + y'^2/q), where (x', y') are the
//     coordinates in the major-axis frame:
//     x' = cos(phi) dx + sin(phi) dy, y' = -sin(phi) dx + cos(phi) dy;
//   - with this R the isophote R = const encloses the area pi R^2 whatever q is,
//     so the half-light radius is the "circularised" radius sqrt(a b) and the
//     total flux does not depend on q.
package light

import (
	"math"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// cbMinN is the smallest Sersic index for which SersicBn uses the Ciotti &
// Bertin (1999) asymptotic series; below it the exact root is used.
const cbMinN = 0.36

// SersicBn returns the Sersic constant b_n, defined by P(2n, b_n) = 1/2 where P
// is the regularised lower incomplete gamma function, so that the half-light
// radius R_e encloses half of the total flux.
//
// For n >= 0.36 it evaluates the asymptotic series of Ciotti & Bertin (1999,
// A&A 352, 447, eq. 18):
//
//	b_n = 2n - 1/3 + 4/(405 n) + 46/(25515 n^2) + 131/(1148175 n^3)
//	      - 2194697/(30690717750 n^4)
//
// Its relative error against the exact root (measured in TestSersicBnExact) is
// 5.3e-4 at n = 0.4, 3.6e-4 at n = 0.5, 2.5e-5 at n = 1, 1.3e-6 at n = 2,
// 7e-8 at n = 4 and 4e-9 at n = 8. The total flux of a profile is exact
// whatever the b_n error, because I_e is derived from the flux with the same
// b_n; what the error shifts is the fraction of light inside R_e, which is
// P(2n, b_n) = 1/2 to within 1.3e-4 (n = 0.5) and 1.3e-5 (n = 1). For
// 0 < n < 0.36 the series degrades, so the exact root is computed instead with
// gonum's inverse of the regularised incomplete gamma function (see
// SersicBnExact). For n <= 0, NaN or infinite n it returns NaN.
func SersicBn(n float64) float64 {
	if !(n > 0) || math.IsInf(n, 0) {
		return math.NaN()
	}
	if n < cbMinN {
		return SersicBnExact(n)
	}
	in := 1 / n
	return 2*n - 1.0/3 + in*(4.0/405+in*(46.0/25515+in*(131.0/1148175-in*2194697.0/30690717750)))
}

// SersicBnExact returns the exact b_n, the root of P(2n, b) = 1/2, computed
// with gonum's inverse regularised incomplete gamma function. It is slower than
// SersicBn and exists for reference and for very small n. For n <= 0 it
// returns NaN.
func SersicBnExact(n float64) float64 {
	if !(n > 0) || math.IsInf(n, 0) {
		return math.NaN()
	}
	return mathext.GammaIncRegInv(2*n, 0.5)
}

// SersicTotalFluxFactor returns L / I_e for a Sersic profile of index n and
// half-light radius re: 2 pi n re^2 e^(b_n) Gamma(2n) / b_n^(2n). It is
// evaluated in log space so that it stays finite for large n.
func SersicTotalFluxFactor(n, re float64) float64 {
	bn := SersicBn(n)
	lg, _ := math.Lgamma(2 * n)
	return 2 * math.Pi * n * re * re * math.Exp(bn+lg-2*n*math.Log(bn))
}

// profile kinds with fast paths in Intensity.
const (
	kindGeneral = iota
	kindExp     // n = 1: exp(-b r)
	kindDeV     // n = 4: exp(-b r^(1/4)) with sqrt(sqrt(r))
	kindGauss   // n = 0.5: exp(-b r^2), no square root needed
)

// Sersic is an elliptical Sersic profile with every per-pixel constant
// precomputed (1/R_e, cos and sin of the position angle, b_n, 1/n, I_e). The
// zero value is a profile of zero flux; build one with NewSersic. A Sersic is
// a small value type: copy it freely, use it from many goroutines.
type Sersic struct {
	x0, y0     float64 // centre, arcsec
	cosPhi     float64
	sinPhi     float64
	q, invQ    float64
	invRe      float64 // 1/R_e
	invRe2     float64 // 1/R_e^2
	n, invN    float64
	bn         float64
	ie         float64 // I_e: surface brightness at R_e
	amp        float64 // I_e e^(b_n): central surface brightness
	flux, re   float64
	kind       int
	cuspJ      float64 // RectFlux substitution r ~ w^(n cuspJ): see triangleFlux
	degenerate bool    // re <= 0 or flux == 0: Intensity returns 0
}

// NewSersic builds an elliptical Sersic profile of total flux flux (any unit;
// Intensity returns that unit per arcsec^2), half-light radius re (arcsec,
// circularised convention: R = sqrt(q x'^2 + y'^2/q), the same ellipticity
// convention as the SIE mass model and lenstronomy), Sersic index n, axis ratio
// q = b/a in (0, 1] (values above 1 are replaced by 1/q with the position angle
// turned by 90 degrees), major-axis position angle phi (radians,
// counter-clockwise from +x) and centre (x0, y0) in arcsec.
//
// The amplitude is I_e = flux / (2 pi n re^2 e^(b_n) Gamma(2n) / b_n^(2n)).
// Non-positive re, n or q, or non-finite inputs, give a profile whose Intensity
// is 0 everywhere (check with Valid).
func NewSersic(flux, re, n, q, phi, x0, y0 float64) Sersic {
	s := Sersic{x0: x0, y0: y0, flux: flux, re: re, n: n, q: q}
	if !(re > 0) || !(n > 0) || !(q > 0) || math.IsInf(re, 0) || math.IsInf(n, 0) ||
		math.IsInf(q, 0) || math.IsNaN(flux) || math.IsInf(flux, 0) ||
		math.IsNaN(phi) || math.IsInf(phi, 0) || math.IsNaN(x0) || math.IsNaN(y0) {
		s.degenerate = true
		return s
	}
	if q > 1 {
		q = 1 / q
		phi += math.Pi / 2
		s.q = q
	}
	s.cosPhi, s.sinPhi = math.Cos(phi), math.Sin(phi)
	s.invQ = 1 / q
	s.invRe = 1 / re
	s.invRe2 = s.invRe * s.invRe
	s.invN = 1 / n
	s.bn = SersicBn(n)
	s.ie = flux / SersicTotalFluxFactor(n, re)
	s.amp = s.ie * math.Exp(s.bn)
	switch n {
	case 1:
		s.kind = kindExp
	case 4:
		s.kind = kindDeV
	case 0.5:
		s.kind = kindGauss
	default:
		s.kind = kindGeneral
	}
	// smallest j with w^(2nj-1) smooth enough for Gauss-Legendre (an integer
	// power, or a power >= 3)
	s.cuspJ = 1
	if p := 2*n - 1; !(p >= 3 || (p >= 0 && p == math.Trunc(p))) {
		s.cuspJ = math.Ceil(2 / n)
	}
	if math.IsInf(s.amp, 0) || math.IsNaN(s.amp) {
		s.degenerate = true
	}
	return s
}

// Valid reports whether the profile was built from usable parameters (positive
// finite re, n and q, finite flux).
func (s Sersic) Valid() bool { return !s.degenerate }

// Ie returns I_e, the surface brightness at the half-light radius (flux units
// per arcsec^2), from L = 2 pi n R_e^2 I_e e^(b_n) Gamma(2n) / b_n^(2n).
func (s Sersic) Ie() float64 { return s.ie }

// Bn returns the profile's b_n.
func (s Sersic) Bn() float64 { return s.bn }

// Flux returns the total flux the profile was built with.
func (s Sersic) Flux() float64 { return s.flux }

// Re returns the half-light radius [arcsec].
func (s Sersic) Re() float64 { return s.re }

// Q returns the axis ratio b/a (in (0, 1] for a valid profile).
func (s Sersic) Q() float64 { return s.q }

// N returns the Sersic index.
func (s Sersic) N() float64 { return s.n }

// Center returns the profile's centre [arcsec].
func (s Sersic) Center() (x, y float64) { return s.x0, s.y0 }

// Axes returns the cosine and sine of the major axis's position angle (as
// Intensity uses them).
func (s Sersic) Axes() (cos, sin float64) { return s.cosPhi, s.sinPhi }

// Intensity returns the surface brightness (flux units per arcsec^2) at sky
// position (x, y) in arcsec:
//
//	I = I_e exp(-b_n ((R/R_e)^(1/n) - 1)),  R = sqrt(q x'^2 + y'^2/q).
//
// n = 1 (exponential), n = 4 (de Vaucouleurs, via sqrt(sqrt)) and n = 0.5
// (Gaussian) avoid math.Pow. It does not allocate.
func (s Sersic) Intensity(x, y float64) float64 {
	if s.degenerate {
		return 0
	}
	dx, dy := x-s.x0, y-s.y0
	xr := s.cosPhi*dx + s.sinPhi*dy
	yr := -s.sinPhi*dx + s.cosPhi*dy
	r2 := (s.q*xr*xr + s.invQ*yr*yr) * s.invRe2 // (R/R_e)^2
	switch s.kind {
	case kindExp:
		return s.amp * math.Exp(-s.bn*math.Sqrt(r2))
	case kindDeV:
		return s.amp * math.Exp(-s.bn*math.Sqrt(math.Sqrt(math.Sqrt(r2))))
	case kindGauss:
		return s.amp * math.Exp(-s.bn*r2)
	default:
		if r2 == 0 {
			return s.amp
		}
		return s.amp * math.Exp(-s.bn*math.Pow(r2, 0.5*s.invN))
	}
}

// Gauss-Legendre nodes and weights on [0, 1] for the cusp-safe integrals.
var (
	glT, glTW = gaussLegendre01(16) // along the triangle's far edge (RectFlux)
	// cheaper rule along the far edge for RenderSersic's pixel-sized triangles
	glTFast, glTWFast = gaussLegendre01(10)
	glW, glWW         = gaussLegendre01(8) // from the apex (profile centre) outwards, per panel
	// used instead of glW when the profile is compact compared with the triangle
	glW16, glWW16 = gaussLegendre01(16)
)

// radial panels of triangleFlux, as fractions of the cut-off wMax: graded
// towards the centre, where the integrand peaks when the profile is compact
// compared with the triangle.
var glPanels = [...]float64{0, 1.0 / 16, 1.0 / 4, 1}

func gaussLegendre01(n int) (x, w []float64) {
	x = make([]float64, n)
	w = make([]float64, n)
	quad.Legendre{}.FixedLocations(x, w, 0, 1)
	return x, w
}

// triangleFlux integrates the profile over the triangle whose apex is the
// profile centre and whose far edge runs from (ax, ay) to (bx, by) (offsets
// from the centre). A point of the triangle is v P(t) with P(t) on the edge,
// t, v in [0, 1], area element |cross| v dv dt. Substituting v = w^m with
// m = n j (j a small integer, cuspJ) turns the radial integrand into
// m w^(2m-1) exp(-b_n k w^j), smooth even at the n = 4 cusp, and the w range is
// cut where the exponent passes 70 and split into three graded panels, so
// fixed Gauss-Legendre rules (16 x 24 evaluations per triangle, 16 x 48 when
// the profile is compact compared with the triangle) reach ~1e-8 relative
// accuracy on pixel-sized triangles.
func (s Sersic) triangleFlux(ax, ay, bx, by float64, tNodes, tWeights []float64) float64 {
	cross := math.Abs(ax*by - ay*bx)
	if cross == 0 {
		return 0
	}
	m := s.n * s.cuspJ
	fast := s.cuspJ == 1 && (s.kind == kindExp || s.kind == kindDeV)
	total := 0.0
	for it, t := range tNodes {
		px, py := ax+t*(bx-ax), ay+t*(by-ay)
		// exponent along the ray: b_n (R/R_e)^(1/n) = b_n k w^j with
		// k = (R_edge/R_e)^(1/n); beyond b_n k w^j = 70 the integrand is negligible
		xr := s.cosPhi*px + s.sinPhi*py
		yr := -s.sinPhi*px + s.cosPhi*py
		k := math.Pow((s.q*xr*xr+s.invQ*yr*yr)*s.invRe2, 0.5*s.invN)
		wMax := 1.0
		nodes, weights := glW, glWW
		e := s.bn * k
		if e > 70 {
			wMax = math.Pow(70/e, 1/s.cuspJ)
		}
		if e > 20 {
			nodes, weights = glW16, glWW16
		}
		acc := 0.0
		for p := 0; p+1 < len(glPanels); p++ {
			lo, width := glPanels[p]*wMax, (glPanels[p+1]-glPanels[p])*wMax
			pacc := 0.0
			for iw, g := range nodes {
				w := lo + g*width
				var v, jac float64
				switch {
				case fast && s.kind == kindExp:
					v, jac = w, w
				case fast && s.kind == kindDeV:
					w2 := w * w
					w3 := w2 * w
					v, jac = w2*w2, 4*w3*w3*w
				default:
					v = math.Pow(w, m)
					jac = m * v * v / w
				}
				pacc += weights[iw] * jac * s.Intensity(s.x0+v*px, s.y0+v*py)
			}
			acc += pacc * width
		}
		total += tWeights[it] * acc
	}
	return cross * total
}

// cornerFlux is the signed integral of the profile over the axis-aligned
// rectangle spanned by the profile centre and the point (a, b): the integral of
// I over x from x0 to a and y from y0 to b, counted negative when exactly one
// of a < x0, b < y0 holds.
func (s Sersic) cornerFlux(a, b float64, tNodes, tWeights []float64) float64 {
	dx, dy := a-s.x0, b-s.y0
	if dx == 0 || dy == 0 {
		return 0
	}
	// two triangles from the centre: to the edge x = a, and to the edge y = b
	f := s.triangleFlux(dx, 0, dx, dy, tNodes, tWeights) + s.triangleFlux(0, dy, dx, dy, tNodes, tWeights)
	if (dx < 0) != (dy < 0) {
		return -f
	}
	return f
}

// RectFlux returns the flux of the profile inside the axis-aligned rectangle
// [x1, x2] x [y1, y2] (arcsec), integrated accurately even when the rectangle
// contains or touches the profile's centre (the n = 4 cusp), by splitting it
// into triangles with their apex at the centre. It is meant for small
// rectangles near the centre (pixels); far from the centre the four signed
// corner terms cancel and lose relative precision. Zero for an invalid
// profile or an empty rectangle.
func (s Sersic) RectFlux(x1, x2, y1, y2 float64) float64 {
	if s.degenerate || !(x2 > x1) || !(y2 > y1) {
		return 0
	}
	return s.cornerFlux(x2, y2, glT, glTW) - s.cornerFlux(x1, y2, glT, glTW) -
		s.cornerFlux(x2, y1, glT, glTW) + s.cornerFlux(x1, y1, glT, glTW)
}
