package lensing

import "math"

// Shear is an external shear (gamma1, gamma2) acting about the lens centre:
// alpha_x = gamma1 dx + gamma2 dy, alpha_y = gamma2 dx - gamma1 dy, with
// (dx, dy) the offset from the centre. The zero value is no shear.
type Shear struct {
	Gamma1, Gamma2 float64
}

// ShearFromPolar returns the shear of strength gamma whose stretching axis
// lies at angle psi (radians, counter-clockwise from +x):
// gamma1 = gamma cos 2psi, gamma2 = gamma sin 2psi.
func ShearFromPolar(gamma, psi float64) Shear {
	s, c := math.Sincos(2 * psi)
	return Shear{Gamma1: gamma * c, Gamma2: gamma * s}
}

// Polar returns the shear strength sqrt(gamma1^2 + gamma2^2) and its angle
// atan2(gamma2, gamma1)/2 in radians.
func (g Shear) Polar() (gamma, psi float64) {
	return math.Hypot(g.Gamma1, g.Gamma2), 0.5 * math.Atan2(g.Gamma2, g.Gamma1)
}

// Deflection returns the shear deflection at offset (dx, dy) from the centre.
func (g Shear) Deflection(dx, dy float64) (ax, ay float64) {
	return g.Gamma1*dx + g.Gamma2*dy, g.Gamma2*dx - g.Gamma1*dy
}

// Model is an SIE plus an external shear centred on the SIE's centre: the
// lens model of the simulator. A Model is a small immutable value and safe for
// concurrent use.
type Model struct {
	SIE   SIE
	Shear Shear
}

// Convergence returns kappa at (x, y) (the shear adds none).
func (m Model) Convergence(x, y float64) float64 { return m.SIE.Convergence(x, y) }

// Potential returns the lensing potential at (x, y) in arcsec^2: the SIE's
// plus (gamma1 (dx^2 - dy^2) + 2 gamma2 dx dy)/2.
func (m Model) Potential(x, y float64) float64 {
	dx, dy := x-m.SIE.x0, y-m.SIE.y0
	return m.SIE.Potential(x, y) + 0.5*m.Shear.Gamma1*(dx*dx-dy*dy) + m.Shear.Gamma2*dx*dy
}

// Deflection returns the total deflection (alpha_x, alpha_y) in arcsec at
// (x, y).
func (m Model) Deflection(x, y float64) (ax, ay float64) {
	ax, ay = m.SIE.Deflection(x, y)
	sx, sy := m.Shear.Deflection(x-m.SIE.x0, y-m.SIE.y0)
	return ax + sx, ay + sy
}

// RayShoot maps an image-plane position theta = (x, y) to the source plane:
// beta = theta - alpha(theta).
func (m Model) RayShoot(x, y float64) (bx, by float64) {
	ax, ay := m.Deflection(x, y)
	return x - ax, y - ay
}

// RayShootGrid ray-shoots many positions at once: (bx[i], by[i]) =
// RayShoot(x[i], y[i]). It processes min(len(x), len(y), len(bx), len(by))
// points (like copy), allocates nothing, and is the simulator's hot path.
// bx and by may alias x and y.
func (m Model) RayShootGrid(x, y, bx, by []float64) {
	n := min(len(x), len(y), len(bx), len(by))
	x, y, bx, by = x[:n], y[:n], bx[:n], by[:n]
	s := &m.SIE
	g1, g2 := m.Shear.Gamma1, m.Shear.Gamma2
	x0, y0 := s.x0, s.y0
	c, sn := s.cos, s.sin
	if s.b == 0 { // massless SIE: shear only
		for i := range x {
			xi, yi := x[i], y[i]
			dx, dy := xi-x0, yi-y0
			bx[i], by[i] = xi-(g1*dx+g2*dy), yi-(g2*dx-g1*dy)
		}
		return
	}
	if s.series {
		for i := range x {
			xi, yi := x[i], y[i]
			dx, dy := xi-x0, yi-y0
			ax, ay := g1*dx+g2*dy, g2*dx-g1*dy
			r2 := dx*dx + dy*dy
			if r2 >= tinyR2 {
				xp := c*dx + sn*dy
				yp := -sn*dx + c*dy
				axp, ayp := s.seriesMajor(xp, yp, math.Sqrt(s.q2*xp*xp+yp*yp))
				ax += c*axp - sn*ayp
				ay += sn*axp + c*ayp
			}
			bx[i], by[i] = xi-ax, yi-ay
		}
		return
	}
	// Closed form, inlined from SIE.deflectionMajor.
	q2, e, be := s.q2, s.e, s.be
	for i := range x {
		xi, yi := x[i], y[i]
		dx, dy := xi-x0, yi-y0
		ax, ay := g1*dx+g2*dy, g2*dx-g1*dy
		r2 := dx*dx + dy*dy
		if r2 >= tinyR2 {
			xp := c*dx + sn*dy
			yp := -sn*dx + c*dy
			psi := math.Sqrt(q2*xp*xp + yp*yp)
			q2r2 := q2 * r2
			inv := 1 / (psi * q2r2)
			axp := be * math.Atan(e*xp*(inv*q2r2))
			t := psi + e*math.Abs(yp)
			ayp := 0.5 * be * fastLog(t*t*(inv*psi))
			if yp < 0 {
				ayp = -ayp
			}
			ax += c*axp - sn*ayp
			ay += sn*axp + c*ayp
		}
		bx[i], by[i] = xi-ax, yi-ay
	}
}

// Hessian returns the second derivatives of the total potential
// (f_xx, f_xy, f_yy) at (x, y): the SIE's plus the shear's
// (gamma1, gamma2, -gamma1).
func (m Model) Hessian(x, y float64) (fxx, fxy, fyy float64) {
	fxx, fxy, fyy = m.SIE.Hessian(x, y)
	return fxx + m.Shear.Gamma1, fxy + m.Shear.Gamma2, fyy - m.Shear.Gamma1
}

// Magnification returns the signed magnification mu = 1/det(I - H) at (x, y),
// with H the Hessian of the potential; negative values mark images of
// negative parity. It is +-Inf on critical curves and 0 at the SIE centre.
func (m Model) Magnification(x, y float64) float64 {
	fxx, fxy, fyy := m.Hessian(x, y)
	if math.IsInf(fxx, 0) || math.IsInf(fyy, 0) {
		return 0
	}
	return 1 / ((1-fxx)*(1-fyy) - fxy*fxy)
}
