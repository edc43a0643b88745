package lensing

import (
	"fmt"
	"math"
)

// MinAxisRatio is the smallest axis ratio NewSIE accepts; smaller, zero,
// negative or NaN values are raised to it (NewSIEChecked rejects them).
const MinAxisRatio = 1e-4

// sisSeriesLimit is the value of e = sqrt(1-q^2) (q > 0.99955) below which
// the SIE deflection is evaluated from its Taylor series in e, exact to
// rounding there (the first omitted term is ~e^12/13 < 1e-19), instead of the
// closed form, whose atanh term loses relative precision as e -> 0 and is 0/0
// at q = 1.
const sisSeriesLimit = 0.03

// SIE is a singular isothermal ellipsoid with Einstein radius thetaE (arcsec),
// axis ratio q in (0, 1], major-axis position angle phi (radians, counter-
// clockwise from +x) and centre (x0, y0). Its convergence in the major-axis
// frame is kappa = thetaE / (2 sqrt(q x^2 + y^2/q)) (lenstronomy's SIE). The
// zero value is a massless lens at the origin (zero convergence, deflection
// and Hessian everywhere), as is any SIE with thetaE = 0. An SIE is an immutable value, safe for
// concurrent use; it precomputes the trigonometric and axis-ratio constants
// its per-pixel methods need.
type SIE struct {
	thetaE, q, phi float64
	x0, y0         float64
	cos, sin       float64 // rotation to the major-axis frame
	q2             float64 // q^2
	e              float64 // sqrt(1 - q^2)
	b              float64 // thetaE sqrt(q): kappa = b / (2 sqrt(q^2 x^2 + y^2))
	be             float64 // b / e (0 in the series branch)
	series         bool    // e < sisSeriesLimit: SIS-limit series
}

// NewSIE returns an SIE with Einstein radius thetaE (arcsec), axis ratio q,
// major-axis angle phi (radians, counter-clockwise from +x) and centre
// (x0, y0) in arcsec. An axis ratio q > 1 describes the same lens as 1/q with
// the major axis turned by 90 degrees, and is stored that way. q <= 0 or NaN
// is raised to MinAxisRatio; use NewSIEChecked to reject it instead. q very
// close to 1 (including 1) uses the SIS limit, so no NaN arises.
func NewSIE(thetaE, q, phi, x0, y0 float64) SIE {
	if !(q >= MinAxisRatio) { // also catches NaN
		q = MinAxisRatio
	}
	if q > 1 {
		q = 1 / q
		phi += math.Pi / 2
	}
	s := SIE{thetaE: thetaE, q: q, phi: phi, x0: x0, y0: y0}
	s.sin, s.cos = math.Sincos(phi)
	s.q2 = q * q
	s.e = math.Sqrt((1 - q) * (1 + q))
	s.b = thetaE * math.Sqrt(q)
	if s.e < sisSeriesLimit {
		s.series = true
	} else {
		s.be = s.b / s.e
	}
	return s
}

// NewSIEChecked is NewSIE with validation: it returns an error when thetaE is
// negative or not finite, q is not in (0, 1], or phi, x0 or y0 is not finite.
func NewSIEChecked(thetaE, q, phi, x0, y0 float64) (SIE, error) {
	switch {
	case !(thetaE >= 0) || math.IsInf(thetaE, 1):
		return SIE{}, fmt.Errorf("lensing: SIE Einstein radius must be finite and >= 0, got %g arcsec", thetaE)
	case !(q > 0 && q <= 1):
		return SIE{}, fmt.Errorf("lensing: SIE axis ratio q must lie in (0, 1], got %g", q)
	case math.IsNaN(phi) || math.IsInf(phi, 0):
		return SIE{}, fmt.Errorf("lensing: SIE position angle must be finite, got %g", phi)
	case math.IsNaN(x0) || math.IsInf(x0, 0) || math.IsNaN(y0) || math.IsInf(y0, 0):
		return SIE{}, fmt.Errorf("lensing: SIE centre must be finite, got (%g, %g)", x0, y0)
	case q < MinAxisRatio:
		return SIE{}, fmt.Errorf("lensing: SIE axis ratio q = %g is below the supported minimum %g", q, MinAxisRatio)
	}
	return NewSIE(thetaE, q, phi, x0, y0), nil
}

// ThetaE returns the Einstein radius in arcsec.
func (s SIE) ThetaE() float64 { return s.thetaE }

// Q returns the axis ratio (minor/major, in (0, 1]).
func (s SIE) Q() float64 { return s.q }

// Phi returns the position angle of the major axis in radians, counter-
// clockwise from +x (as given to NewSIE, plus pi/2 if q > 1 was inverted).
func (s SIE) Phi() float64 { return s.phi }

// Center returns the lens centre in arcsec.
func (s SIE) Center() (x0, y0 float64) { return s.x0, s.y0 }

// E1E2 returns the lenstronomy ellipticity components of the SIE.
func (s SIE) E1E2() (e1, e2 float64) { return QPhiToE1E2(s.q, s.phi) }

// Convergence returns kappa at (x, y) (arcsec): thetaE / (2 sqrt(q x'^2 + y'^2/q))
// with (x', y') the offset from the centre in the major-axis frame. It is
// +Inf at the centre.
func (s SIE) Convergence(x, y float64) float64 {
	dx, dy := x-s.x0, y-s.y0
	xp := s.cos*dx + s.sin*dy
	yp := -s.sin*dx + s.cos*dy
	psi := math.Sqrt(s.q2*xp*xp + yp*yp)
	if s.b == 0 {
		return 0
	}
	if psi == 0 {
		return math.Inf(1)
	}
	return 0.5 * s.b / psi
}

// deflectionMajor returns the deflection in the major-axis frame at the
// major-axis-frame offset (xp, yp), given r2 = xp^2 + yp^2 >= tinyR2. The closed
// form (Kormann, Schneider & Bartelmann 1994; Keeton 2001, isothermal
// ellipsoid with zero core) is
//
//	alpha_x' = b/e atan(e x'/psi),  alpha_y' = b/e atanh(e y'/psi),
//
// psi = sqrt(q^2 x'^2 + y'^2), e = sqrt(1-q^2), b = thetaE sqrt(q). The atanh
// is evaluated as sign(y') log((psi + e|y'|)^2 / (q^2 r^2))/2, exact because
// psi^2 - e^2 y'^2 = q^2 r^2, and one reciprocal serves both quotients.
// RayShootGrid inlines the same arithmetic; keep the two in step.
func (s *SIE) deflectionMajor(xp, yp, r2 float64) (ax, ay float64) {
	psi := math.Sqrt(s.q2*xp*xp + yp*yp)
	if s.series {
		return s.seriesMajor(xp, yp, psi)
	}
	q2r2 := s.q2 * r2
	inv := 1 / (psi * q2r2)
	ax = s.be * math.Atan(s.e*xp*(inv*q2r2))
	t := psi + s.e*math.Abs(yp)
	ay = 0.5 * s.be * fastLog(t*t*(inv*psi))
	if yp < 0 {
		ay = -ay
	}
	return ax, ay
}

// seriesMajor evaluates the SIE deflection near q = 1 from
// atan(u)/e = (x/psi) sum_k (-1)^k u^2k/(2k+1) and
// atanh(v)/e = (y/psi) sum_k v^2k/(2k+1), u = e x/psi, v = e y/psi, to k = 5.
func (s *SIE) seriesMajor(xp, yp, psi float64) (ax, ay float64) {
	ip := 1 / psi
	f := s.b * ip
	if s.e == 0 { // q = 1: the SIS, alpha = thetaE x/|x|
		return f * xp, f * yp
	}
	ee := s.e * s.e * ip * ip
	u2 := ee * xp * xp
	v2 := ee * yp * yp
	const c1, c2, c3, c4, c5 = 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11
	su := 1 - u2*(c1-u2*(c2-u2*(c3-u2*(c4-u2*c5))))
	sv := 1 + v2*(c1+v2*(c2+v2*(c3+v2*(c4+v2*c5))))
	return f * xp * su, f * yp * sv
}

// tinyR2 is the squared offset from the centre (arcsec^2) below which the
// deflection is returned as zero: the centre itself, where the isothermal
// deflection has no limit, and offsets under 1e-50 arcsec, where products in
// the closed form could underflow. (Offsets above 1e50 arcsec overflow; no
// image is that large.)
const tinyR2 = 1e-100

// Deflection returns the deflection angle (alpha_x, alpha_y) in arcsec at
// (x, y), from the analytic SIE solution rotated back from the major-axis
// frame. At the centre (within 1e-50 arcsec) it returns (0, 0).
func (s SIE) Deflection(x, y float64) (ax, ay float64) {
	return s.deflectionAt(x-s.x0, y-s.y0)
}

// deflectionAt is Deflection at the offset (dx, dy) from the centre. It is
// exactly odd: the offset -d gives exactly minus the deflection at d (every
// operation is sign-symmetric, math.Atan is odd and the logarithm's argument
// is even).
func (s *SIE) deflectionAt(dx, dy float64) (ax, ay float64) {
	r2 := dx*dx + dy*dy
	if r2 < tinyR2 || s.b == 0 {
		return 0, 0
	}
	xp := s.cos*dx + s.sin*dy
	yp := -s.sin*dx + s.cos*dy
	axp, ayp := s.deflectionMajor(xp, yp, r2)
	return s.cos*axp - s.sin*ayp, s.sin*axp + s.cos*ayp
}

// Potential returns the lensing potential psi at (x, y) in arcsec^2. For an
// isothermal lens (potential homogeneous of degree 1) it is
// (x - x0, y - y0) . alpha, which matches lenstronomy's SIE potential.
func (s SIE) Potential(x, y float64) float64 {
	ax, ay := s.Deflection(x, y)
	return (x-s.x0)*ax + (y-s.y0)*ay
}

// Hessian returns the second derivatives of the potential (f_xx, f_xy, f_yy)
// at (x, y). For the SIE they take the closed form
//
//	f_xx = b dy^2/(r^2 psi), f_yy = b dx^2/(r^2 psi), f_xy = -b dx dy/(r^2 psi),
//
// with (dx, dy) the offset from the centre, r its length and psi evaluated in
// the major-axis frame (the Hessian of an isothermal lens has rank one, along
// the tangential direction). At the centre it returns (+Inf, 0, +Inf).
func (s SIE) Hessian(x, y float64) (fxx, fxy, fyy float64) {
	dx, dy := x-s.x0, y-s.y0
	r2 := dx*dx + dy*dy
	if s.b == 0 {
		return 0, 0, 0
	}
	if r2 < tinyR2 {
		return math.Inf(1), 0, math.Inf(1)
	}
	xp := s.cos*dx + s.sin*dy
	yp := -s.sin*dx + s.cos*dy
	psi := math.Sqrt(s.q2*xp*xp + yp*yp)
	f := s.b / (r2 * psi)
	return f * dy * dy, -f * dx * dy, f * dx * dx
}
