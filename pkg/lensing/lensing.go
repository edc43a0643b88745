// Package lensing implements the strong-lens mass model of PHYSICS.md
// section 2: a singular isothermal ellipsoid (SIE) plus external shear, with
// analytic deflections, Hessians, magnifications and batch ray shooting.
//
// Conventions follow lenstronomy (Birrer & Amara 2018) exactly:
//   - angles on the sky in arcsec, x to the right, y up;
//   - the SIE convergence in the frame of its major axis is
//     kappa(x, y) = theta_E / (2 sqrt(q x^2 + y^2/q)), with q = b/a <= 1, so
//     theta_E is the "product-averaged" Einstein radius: the tangential
//     critical curve is the ellipse q x^2 + y^2/q = theta_E^2, of area
//     pi theta_E^2, and the mean convergence inside it is 1;
//   - phi is the position angle of the major axis, counter-clockwise from +x,
//     in radians; e1 = (1-q)/(1+q) cos 2phi, e2 = (1-q)/(1+q) sin 2phi;
//   - external shear: alpha_x = gamma1 x + gamma2 y, alpha_y = gamma2 x - gamma1 y
//     (potential (gamma1 (x^2 - y^2) + 2 gamma2 x y)/2);
//   - lens equation beta = theta - alpha(theta).
package lensing

import "math"

// ArcsecPerRadian is the number of arcseconds in one radian (180*3600/pi).
const ArcsecPerRadian = 206264.80624709636

// SpeedOfLight is the speed of light in vacuum in km/s.
const SpeedOfLight = 299792.458

// EinsteinRadius returns the Einstein radius in arcsec of a singular
// isothermal sphere of velocity dispersion sigmaV (km/s), for a source at
// angular-diameter distance ds and a lens-source distance dds (any common
// unit): theta_E = 4 pi (sigmaV/c)^2 dds/ds, converted to arcsec. It returns 0
// when dds <= 0 (source not behind the lens) or ds <= 0, and NaN for NaN input.
func EinsteinRadius(sigmaV, dds, ds float64) float64 {
	if math.IsNaN(sigmaV) || math.IsNaN(dds) || math.IsNaN(ds) {
		return math.NaN()
	}
	if !(dds > 0 && ds > 0) {
		return 0
	}
	b := sigmaV / SpeedOfLight
	return 4 * math.Pi * b * b * dds / ds * ArcsecPerRadian
}

// maxEllipticityModulus caps |e| = (1-q)/(1+q) in E1E2ToQPhi, so that q stays
// positive (q >= 5e-5); lenstronomy applies the same kind of cap.
const maxEllipticityModulus = 0.9999

// QPhiToE1E2 converts an axis ratio q and a position angle phi (radians,
// counter-clockwise from +x) to lenstronomy's ellipticity components
// e1 = (1-q)/(1+q) cos 2phi, e2 = (1-q)/(1+q) sin 2phi.
func QPhiToE1E2(q, phi float64) (e1, e2 float64) {
	e := (1 - q) / (1 + q)
	s, c := math.Sincos(2 * phi)
	return e * c, e * s
}

// E1E2ToQPhi inverts QPhiToE1E2: q = (1-|e|)/(1+|e|), phi = atan2(e2, e1)/2 in
// (-pi/2, pi/2]. The modulus |e| is capped at 0.9999 so that q stays positive.
func E1E2ToQPhi(e1, e2 float64) (q, phi float64) {
	e := math.Min(math.Hypot(e1, e2), maxEllipticityModulus)
	return (1 - e) / (1 + e), 0.5 * math.Atan2(e2, e1)
}

// SISImages returns the two images of a point source at distance beta >= 0
// from a singular isothermal sphere of Einstein radius thetaE, on the axis
// through the source (source on +x): x1 = beta + thetaE (magnification
// mu1 = 1 + thetaE/beta, positive parity) and, when beta < thetaE,
// x2 = beta - thetaE (mu2 = 1 - thetaE/beta, negative parity). When
// beta >= thetaE only one image exists and n = 1 (x2 = mu2 = 0). beta = 0
// (an Einstein ring) gives infinite magnifications.
func SISImages(thetaE, beta float64) (n int, x1, mu1, x2, mu2 float64) {
	x1, mu1 = beta+thetaE, 1+thetaE/beta
	if beta >= thetaE {
		return 1, x1, mu1, 0, 0
	}
	return 2, x1, mu1, beta - thetaE, 1 - thetaE/beta
}
