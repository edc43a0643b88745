// Package cosmology computes distances and volumes in a flat Lambda-CDM
// universe (PHYSICS.md section 1): the expansion rate E(z), comoving,
// angular-diameter and luminosity distances, the distance modulus and the
// comoving volume element.
//
// Radiation and neutrinos are neglected (astropy's FlatLambdaCDM with
// Tcmb0 = 0), which is the model LensPop uses. Comoving distances are
// tabulated once per cosmology on a fine redshift grid and evaluated by quintic
// Hermite interpolation (the tabulated derivatives dD_C/dz = D_H/E(z) and
// d2D_C/dz2 are exact), so that per-lens calls in the simulator cost a few
// nanoseconds.
//
// Distances are in Mpc, H0 in km/s/Mpc, volumes in Mpc^3.
package cosmology

import (
	"fmt"
	"math"
	"sync"
)

// SpeedOfLight is the speed of light in vacuum in km/s.
const SpeedOfLight = 299792.458

// ArcsecPerRadian is the number of arcseconds in one radian (180*3600/pi).
const ArcsecPerRadian = 206264.80624709636

// TableZMax is the highest redshift covered by the comoving-distance table;
// above it ComovingDistance falls back to direct quadrature.
const TableZMax = 10.0

// tableStep is the redshift spacing of the comoving-distance table. With the
// exact first and second derivatives at every node, the quintic Hermite
// interpolation error is below h^6 max|D_C^(6)|/46080, under 1e-14 of D_C.
const tableStep = 0.005

// Default cosmological parameters (LensPop's choice).
const (
	DefaultH0  = 70.0
	DefaultOm0 = 0.3
)

// FlatLambdaCDM is a spatially flat Lambda-CDM cosmology with matter density
// Om0 and cosmological constant 1 - Om0. A value is immutable after New and is
// safe for concurrent use.
type FlatLambdaCDM struct {
	h0, om0, ol0 float64
	dh           float64   // Hubble distance c/H0 in Mpc
	dc           []float64 // D_C at z_i = i*tableStep, Mpc
	ddc          []float64 // h * dD_C/dz = h D_H/E(z_i) at the nodes, Mpc
	d2dc         []float64 // h^2/2 * d2D_C/dz2 at the nodes, Mpc
}

// New returns a flat Lambda-CDM cosmology with Hubble constant h0 (km/s/Mpc)
// and matter density parameter om0. It checks 0 < h0 < Inf and 0 < om0 <= 1
// and builds the comoving-distance table (2001 nodes up to z = 10).
func New(h0, om0 float64) (*FlatLambdaCDM, error) {
	if !(h0 > 0) || math.IsInf(h0, 1) {
		return nil, fmt.Errorf("cosmology: H0 must be positive and finite, got %g km/s/Mpc", h0)
	}
	if !(om0 > 0 && om0 <= 1) {
		return nil, fmt.Errorf("cosmology: Om0 must lie in (0, 1] for a flat LambdaCDM model, got %g", om0)
	}
	c := &FlatLambdaCDM{h0: h0, om0: om0, ol0: 1 - om0, dh: SpeedOfLight / h0}
	c.buildTable()
	return c, nil
}

var defaultCosmology = sync.OnceValue(func() *FlatLambdaCDM {
	c, err := New(DefaultH0, DefaultOm0)
	if err != nil {
		// Unreachable: the default parameters are valid constants.
		panic(err)
	}
	return c
})

// Default returns the shared H0 = 70 km/s/Mpc, Om0 = 0.3 cosmology. The table
// is built on first use; the returned value is shared and safe for concurrent
// use.
func Default() *FlatLambdaCDM { return defaultCosmology() }

// H0 returns the Hubble constant in km/s/Mpc.
func (c *FlatLambdaCDM) H0() float64 { return c.h0 }

// Om0 returns the present-day matter density parameter.
func (c *FlatLambdaCDM) Om0() float64 { return c.om0 }

// Ode0 returns the present-day dark-energy density parameter, 1 - Om0.
func (c *FlatLambdaCDM) Ode0() float64 { return c.ol0 }

// String describes the cosmology, e.g. "FlatLambdaCDM(H0=70, Om0=0.3)".
func (c *FlatLambdaCDM) String() string {
	return fmt.Sprintf("FlatLambdaCDM(H0=%g, Om0=%g)", c.h0, c.om0)
}

// E returns the dimensionless Hubble rate H(z)/H0 = sqrt(Om0 (1+z)^3 + 1 - Om0).
func (c *FlatLambdaCDM) E(z float64) float64 {
	a := 1 + z
	return math.Sqrt(c.om0*a*a*a + c.ol0)
}

// HubbleDistance returns c/H0 in Mpc.
func (c *FlatLambdaCDM) HubbleDistance() float64 { return c.dh }

// ComovingDistance returns the line-of-sight comoving distance D_C(z) in Mpc.
// For 0 <= z <= TableZMax it interpolates the precomputed table (relative
// error ~1e-15 against quadrature); otherwise it integrates directly (see
// ComovingDistanceQuad). It returns NaN for z <= -1 or NaN.
func (c *FlatLambdaCDM) ComovingDistance(z float64) float64 {
	if !(z >= 0 && z <= TableZMax) {
		return c.ComovingDistanceQuad(z)
	}
	u := z * (1 / tableStep)
	i := int(u)
	if i >= len(c.dc)-1 {
		i = len(c.dc) - 2
	}
	t := u - float64(i)
	t2 := t * t
	t3 := t2 * t
	// Quintic Hermite basis on [0, 1]; the table stores h*D' and h^2*D''/2.
	h5 := t3 * (10 + t*(6*t-15))    // value at the right node
	h0 := 1 - h5                    // value at the left node
	h1 := t + t3*(-6+t*(8-3*t))     // slope, left
	h4 := t3 * (-4 + t*(7-3*t))     // slope, right
	h2 := t2 * (1 + t*(-3+t*(3-t))) // curvature, left (times 2)
	h3 := t3 * (1 + t*(t-2))        // curvature, right (times 2)
	return h0*c.dc[i] + h5*c.dc[i+1] + h1*c.ddc[i] + h4*c.ddc[i+1] + h2*c.d2dc[i] + h3*c.d2dc[i+1]
}

// ComovingDistanceQuad returns D_C(z) in Mpc by direct Gauss-Legendre
// quadrature, bypassing the table. The integral int_0^z dz'/E(z') is taken in
// u = ln(1+z), where the integrand (1+z)/E(z) is analytic within |Im u| < pi/3
// for every Om0, so 10-point panels of width 1/4 give close to machine
// precision (well below 1e-12 relative). Negative redshifts above -1 give the
// (negative) signed integral; z <= -1 or NaN give NaN; z = +Inf gives the
// comoving particle horizon (the integral is cut at 1+z = e^80, where the
// remaining tail is below 1e-17 of the total).
func (c *FlatLambdaCDM) ComovingDistanceQuad(z float64) float64 {
	if math.IsNaN(z) || z <= -1 {
		return math.NaN()
	}
	if z == 0 {
		return 0
	}
	umax := math.Log1p(z)
	if umax > 80 {
		umax = 80
	}
	return c.dh * c.integrateU(0, umax)
}

// integrateU returns int_{u0}^{u1} e^u / E(e^u - 1) du with composite
// 10-point Gauss-Legendre panels no wider than 0.25.
func (c *FlatLambdaCDM) integrateU(u0, u1 float64) float64 {
	n := int(math.Ceil(math.Abs(u1-u0)/0.25)) + 1
	w := (u1 - u0) / float64(n)
	sum := 0.0
	for p := 0; p < n; p++ {
		a := u0 + float64(p)*w
		sum += c.panelU(a, a+w)
	}
	return sum
}

// panelU integrates e^u/E(e^u-1) over [a, b] with 10-point Gauss-Legendre.
func (c *FlatLambdaCDM) panelU(a, b float64) float64 {
	mid, half := 0.5*(a+b), 0.5*(b-a)
	s := 0.0
	for k, x := range gl10.x {
		u := mid + half*x
		ez := math.Exp(u) // 1+z
		s += gl10.w[k] * ez / math.Sqrt(c.om0*ez*ez*ez+c.ol0)
	}
	return s * half
}

// buildTable fills the comoving-distance table by integrating 1/E over each
// table interval with 10-point Gauss-Legendre and accumulating, and stores the
// exact derivatives dD_C/dz = D_H/E and d2D_C/dz2 = -1.5 D_H Om0 (1+z)^2/E^3 (scaled by
// h and h^2/2 for the interpolation).
func (c *FlatLambdaCDM) buildTable() {
	n := int(math.Round(TableZMax/tableStep)) + 1
	c.dc = make([]float64, n)
	c.ddc = make([]float64, n)
	c.d2dc = make([]float64, n)
	acc := 0.0
	for i := 0; i < n; i++ {
		z := float64(i) * tableStep
		if i > 0 {
			a := float64(i-1) * tableStep
			mid, half := 0.5*(a+z), 0.5*(z-a)
			s := 0.0
			for k, x := range gl10.x {
				s += gl10.w[k] / c.E(mid+half*x)
			}
			acc += s * half
		}
		e := c.E(z)
		c.dc[i] = c.dh * acc
		c.ddc[i] = tableStep * c.dh / e
		c.d2dc[i] = 0.5 * tableStep * tableStep * (-1.5 * c.dh * c.om0 * (1 + z) * (1 + z) / (e * e * e))
	}
}

// AngularDiameterDistance returns D_A(z) = D_C(z)/(1+z) in Mpc.
func (c *FlatLambdaCDM) AngularDiameterDistance(z float64) float64 {
	return c.ComovingDistance(z) / (1 + z)
}

// AngularDiameterDistance12 returns the angular-diameter distance between
// redshifts z1 < z2 (flat universe): (D_C(z2) - D_C(z1))/(1+z2), in Mpc. It is
// the D_ds of lensing with z1 the lens and z2 the source; it returns 0 when
// z2 <= z1.
func (c *FlatLambdaCDM) AngularDiameterDistance12(z1, z2 float64) float64 {
	if !(z2 > z1) {
		return 0
	}
	return (c.ComovingDistance(z2) - c.ComovingDistance(z1)) / (1 + z2)
}

// LuminosityDistance returns D_L(z) = (1+z) D_C(z) in Mpc.
func (c *FlatLambdaCDM) LuminosityDistance(z float64) float64 {
	return c.ComovingDistance(z) * (1 + z)
}

// DistanceModulus returns 5 log10(D_L / 10 pc) in magnitudes (-Inf at z = 0).
func (c *FlatLambdaCDM) DistanceModulus(z float64) float64 {
	return 5*math.Log10(c.LuminosityDistance(z)) + 25
}

// DifferentialComovingVolume returns dV_C/dz/dOmega = D_H D_C(z)^2 / E(z) in
// Mpc^3 per unit redshift per steradian.
func (c *FlatLambdaCDM) DifferentialComovingVolume(z float64) float64 {
	d := c.ComovingDistance(z)
	return c.dh * d * d / c.E(z)
}

// ComovingVolume returns the comoving volume within redshift z over the whole
// sky, 4 pi D_C^3 / 3, in Mpc^3.
func (c *FlatLambdaCDM) ComovingVolume(z float64) float64 {
	d := c.ComovingDistance(z)
	return 4 * math.Pi / 3 * d * d * d
}

// KpcPerArcsec returns the proper transverse distance in kpc subtended by one
// arcsecond at redshift z: D_A(z) * 1000 / ArcsecPerRadian.
func (c *FlatLambdaCDM) KpcPerArcsec(z float64) float64 {
	return c.AngularDiameterDistance(z) * 1000 / ArcsecPerRadian
}

// ArcsecPerKpc returns the angle in arcsec subtended by 1 proper kpc at z.
func (c *FlatLambdaCDM) ArcsecPerKpc(z float64) float64 {
	return 1 / c.KpcPerArcsec(z)
}
