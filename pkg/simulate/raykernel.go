package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/lensing"
)

// rayKernel is the renderer's inner loop: it ray-shoots image-plane points
// through an SIE + external shear and evaluates the unit-flux exponential
// source (expSource) at the source-plane positions, for batches of points.
//
// It evaluates the closed-form SIE deflection of lensing.SIE with its own
// elementary functions (atanRatio, logPoly, expNeg: polynomial and rational
// approximations without tables, accurate to about one ulp), so that the
// same arithmetic runs lane by lane in SIMD registers where the CPU allows
// (raykernel_simd.go: 8 lanes with AVX-512, 4 with AVX2) and element by
// element otherwise. All paths perform the same IEEE operations in the same
// order (the scalar code converts every product that feeds a sum to
// float64, asking the compiler not to fuse them), so their results are
// bit-identical (TestRayKernelPathsIdentical) and the output does not
// depend on the machine. Where the compiler fuses scalar multiply-adds
// regardless (amd64 at GOAMD64=v3 and above: scalarMayFuse), the scalar
// path may differ in the last bit, but such binaries run only on CPUs with
// AVX2 and never take it.
// The results agree with lensing.Model.RayShoot and expSource.at (which use
// math.Atan, a table-based logarithm and fastExp) to about 1e-15 relative
// (TestRayKernelAccuracy).
//
// Lenses for which lensing.SIE uses its near-SIS series (q > 0.99955) or that
// are massless take the generic path: lensing.Model.RayShoot and
// expSource.at, element by element.
type rayKernel struct {
	generic bool
	lm      lensing.Model
	es      expSource
	// lens: centre, rotation to the major-axis frame, q^2, e = sqrt(1-q^2),
	// be = theta_E sqrt(q) / e and hbe = be / 2, shear
	x0, y0, c, s, q2, e, be, hbe, g1, g2 float64
	// the constants broadcast for the SIMD path (raykernel_simd.go)
	vec kernelVec
}

// kernelSeriesLimit mirrors lensing's threshold (sisSeriesLimit) on
// e = sqrt(1-q^2) below which the SIE switches to its series: such lenses take
// the generic path.
const kernelSeriesLimit = 0.03

// newRayKernel prepares the kernel for the lens lm and source es.
func newRayKernel(lm lensing.Model, es expSource) rayKernel {
	k := rayKernel{lm: lm, es: es}
	sie := lm.SIE
	k.x0, k.y0 = sie.Center()
	te, q := sie.ThetaE(), sie.Q()
	e := math.Sqrt((1 - q) * (1 + q))
	if !(te > 0) || e < kernelSeriesLimit {
		k.generic = true
		return k
	}
	k.s, k.c = math.Sincos(sie.Phi())
	k.q2 = q * q
	k.e = e
	k.be = te * math.Sqrt(q) / e
	k.hbe = 0.5 * k.be
	k.g1, k.g2 = lm.Shear.Gamma1, lm.Shear.Gamma2
	k.initVec()
	return k
}

// values sets val[i] to the source's surface brightness at the image of
// (x[i], y[i]) for i < len(val) (x and y at least as long).
func (k *rayKernel) values(x, y, val []float64) {
	n := len(val)
	x, y = x[:n], y[:n]
	if k.generic {
		for i := range val {
			bx, by := k.lm.RayShoot(x[i], y[i])
			val[i] = k.es.at(bx, by)
		}
		return
	}
	i := k.valuesSIMD(x, y, val)
	for ; i < n; i++ {
		_, _, val[i] = k.one(x[i], y[i])
	}
}

// shoot sets (bx[i], by[i]) to the source-plane position of (x[i], y[i]) and
// val[i] to the source's surface brightness there, for i < len(val).
func (k *rayKernel) shoot(x, y, bx, by, val []float64) {
	n := len(val)
	x, y, bx, by = x[:n], y[:n], bx[:n], by[:n]
	if k.generic {
		for i := range val {
			bx[i], by[i] = k.lm.RayShoot(x[i], y[i])
			val[i] = k.es.at(bx[i], by[i])
		}
		return
	}
	i := k.shootSIMD(x, y, bx, by, val)
	for ; i < n; i++ {
		bx[i], by[i], val[i] = k.one(x[i], y[i])
	}
}

// deflect sets (ax[i], ay[i]) to the SIE's deflection (without the shear)
// at the offset (dx[i], dy[i]) from the lens centre, for i < len(ax).
func (k *rayKernel) deflect(dx, dy, ax, ay []float64) {
	n := len(ax)
	dx, dy, ay = dx[:n], dy[:n], ay[:n]
	if k.generic {
		for i := range ax {
			ax[i], ay[i] = k.lm.SIE.Deflection(k.x0+dx[i], k.y0+dy[i])
		}
		return
	}
	i := k.deflectSIMD(dx, dy, ax, ay)
	for ; i < n; i++ {
		ax[i], ay[i] = k.deflectOne(dx[i], dy[i])
	}
}

// deflectOne is the scalar reference of deflect (closed-form lenses), the
// SIE part of one.
func (k *rayKernel) deflectOne(dx, dy float64) (ax, ay float64) {
	r2 := float64(dx*dx) + float64(dy*dy)
	if r2 < tinyR2 {
		return 0, 0
	}
	return k.sieOne(dx, dy, r2)
}

// sieOne is the SIE deflection at (dx, dy) from the lens centre, r2 = dx^2 +
// dy^2 >= tinyR2: atan(e xp / psi) and atanh(e yp / psi) = log(t^2 / (q^2
// r^2)) / 2, t = psi + e |yp| (lensing.SIE.deflectionMajor), rotated back.
func (k *rayKernel) sieOne(dx, dy, r2 float64) (ax, ay float64) {
	xp := float64(k.c*dx) + float64(k.s*dy)
	yp := float64(k.c*dy) - float64(k.s*dx)
	psi := math.Sqrt(float64(float64(k.q2*xp)*xp) + float64(yp*yp))
	q2r2 := float64(k.q2 * r2)
	axp := k.be * atanRatio(k.e*math.Abs(xp), psi)
	t := psi + float64(k.e*math.Abs(yp))
	ayp := k.hbe * logPoly(float64(t*t)/q2r2)
	axp = copySignBits(axp, xp)
	ayp = copySignBits(ayp, yp)
	return float64(k.c*axp) - float64(k.s*ayp), float64(k.s*axp) + float64(k.c*ayp)
}

// one is the scalar reference of the kernel (closed-form lenses): the
// source-plane position of (x, y) and the surface brightness there. The SIMD
// code mirrors it operation by operation.
func (k *rayKernel) one(x, y float64) (bx, by, v float64) {
	dx, dy := x-k.x0, y-k.y0
	ax := float64(k.g1*dx) + float64(k.g2*dy)
	ay := float64(k.g2*dx) - float64(k.g1*dy)
	r2 := float64(dx*dx) + float64(dy*dy)
	if r2 >= tinyR2 {
		sx, sy := k.sieOne(dx, dy, r2)
		ax += sx
		ay += sy
	}
	bx, by = x-ax, y-ay
	return bx, by, k.es.atPoly(bx, by)
}

// tinyR2 is lensing's squared offset below which the SIE deflection is zero.
const tinyR2 = 1e-100

// copySignBits returns v with its sign bit flipped where s's is set (v >= 0
// gives |v| with the sign of s).
func copySignBits(v, s float64) float64 {
	return math.Float64frombits(math.Float64bits(v) ^ math.Float64bits(s)&(1<<63))
}

// atPoly is expSource.at with expNeg in place of fastExp (the kernel's
// exponential).
func (e *expSource) atPoly(bx, by float64) float64 {
	dx, dy := bx-e.x, by-e.y
	if float64(dx*dx)+float64(dy*dy) >= e.rfar2 {
		return 0
	}
	xr := float64(e.cs*dx) + float64(e.sn*dy)
	yr := float64(e.cs*dy) - float64(e.sn*dx)
	nrm := math.Sqrt(float64(float64(e.q*xr)*xr) + float64(float64(e.iq*yr)*yr))
	return e.i0 * expNeg(-(nrm * e.ih))
}

// Coefficients of atanRatio: Cephes' rational approximation of atan on
// [0, 0.66] (Moshier, Cephes Math Library; also Go's math.Atan), with its
// reduction constants.
const (
	atP0      = -8.750608600031904122785e-01
	atP1      = -1.615753718733365076637e+01
	atP2      = -7.500855792314704667340e+01
	atP3      = -1.228866684490136173410e+02
	atP4      = -6.485021904942025371773e+01
	atQ0      = +2.485846490142306297962e+01
	atQ1      = +1.650270098316988542046e+02
	atQ2      = +4.328810604912902668951e+02
	atQ3      = +4.853903996359136964868e+02
	atQ4      = +1.945506571482613964425e+02
	atTan3Pi8 = 2.41421356237309504880 // tan(3 pi / 8)
	atMore    = 6.123233995736765886130e-17
)

// atanRatio returns atan(a/b) for a >= 0, b > 0 (both finite), without
// forming a/b: Cephes' three ranges of the ratio x = a/b (x <= 0.66: z = x;
// x > tan(3 pi/8): pi/2 - atan(b/a); else pi/4 + atan((a-b)/(a+b))) and its
// rational approximation on |z| <= 0.66. Relative error about 1e-16
// (TestKernelFunctions).
func atanRatio(a, b float64) float64 {
	var num, den, off, more float64
	switch {
	case a > float64(atTan3Pi8*b):
		num, den, off, more = -b, a, math.Pi/2, atMore
	case a <= float64(0.66*b):
		num, den, off, more = a, b, 0, 0
	default:
		num, den, off, more = a-b, a+b, math.Pi/4, 0.5*atMore
	}
	z := num / den
	z2 := float64(z * z)
	p := float64(atP0*z2) + atP1
	p = float64(p*z2) + atP2
	p = float64(p*z2) + atP3
	p = float64(p*z2) + atP4
	q := z2 + atQ0
	q = float64(q*z2) + atQ1
	q = float64(q*z2) + atQ2
	q = float64(q*z2) + atQ3
	q = float64(q*z2) + atQ4
	r := float64(z*(float64(z2*p)/q)) + z
	return (off + r) + more
}

// Coefficients of logPoly (fdlibm's e_log.c, also Go's pure-Go math.Log).
const (
	lgL1    = 6.666666666666735130e-01
	lgL2    = 3.999999999940941908e-01
	lgL3    = 2.857142874366239149e-01
	lgL4    = 2.222219843214978396e-01
	lgL5    = 1.818357216161805012e-01
	lgL6    = 1.531383769920937332e-01
	lgL7    = 1.479819860511658591e-01
	lgLn2Hi = 6.93147180369123816490e-01
	lgLn2Lo = 1.90821492927058770002e-10
)

// logPoly returns the natural logarithm of a positive, finite, normal x (no
// checks): fdlibm's algorithm (x = 2^k (1+f), 1+f in [sqrt(2)/2, sqrt(2)),
// log(1+f) from s = f/(2+f) and a degree-14 polynomial), with the exponent
// and mantissa split by bit operations. Error below 1 ulp.
func logPoly(x float64) float64 {
	bits := math.Float64bits(x)
	f1 := math.Float64frombits(bits&(1<<52-1) | 0x3fe<<52) // [0.5, 1)
	k := math.Float64frombits(bits>>52|0x433<<52) - (1 << 52)
	k -= 1022
	if f1 < math.Sqrt2/2 {
		f1 += f1
		k--
	}
	f := f1 - 1
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (lgL1 + float64(s4*(lgL3+float64(s4*(lgL5+float64(s4*lgL7)))))))
	t2 := float64(s4 * (lgL2 + float64(s4*(lgL4+float64(s4*lgL6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*lgLn2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*lgLn2Lo))) - f)
}

// Constants of expNeg: 2^k scaling with a Cody-Waite split of ln 2 (fdlibm's
// ln2HI/ln2LO) and the Taylor coefficients 1/j! of the reduced exponential.
const (
	exShift  = 1.5 * (1 << 52) // adding and subtracting rounds to an integer
	exLog2e  = 1.44269504088896338700e+00
	exLn2Hi  = 6.93147180369123816490e-01
	exLn2Lo  = 1.90821492927058770002e-10
	exC2     = 1.0 / 2
	exC3     = 1.0 / 6
	exC4     = 1.0 / 24
	exC5     = 1.0 / 120
	exC6     = 1.0 / 720
	exC7     = 1.0 / 5040
	exC8     = 1.0 / 40320
	exC9     = 1.0 / 362880
	exC10    = 1.0 / 3628800
	exC11    = 1.0 / 39916800
	exC12    = 1.0 / 479001600
	exC13    = 1.0 / 6227020800
	exMinArg = -700
)

// expNeg returns e^x for x <= 0 (0 below -700): x = k ln2 + r, |r| <=
// ln2/2, e^r from its degree-13 Taylor polynomial (truncation below 5e-18)
// (Estrin's scheme) and 2^k added to the exponent bits. Relative error about 2e-16
// (TestKernelFunctions); no tables, so it vectorises.
func expNeg(x float64) float64 {
	if x < exMinArg {
		return 0
	}
	tb := float64(x*exLog2e) + exShift
	kf := tb - exShift
	r := (x - float64(kf*exLn2Hi)) - float64(kf*exLn2Lo)
	// Estrin's scheme (short dependency chains; the SIMD code does the same)
	r2 := float64(r * r)
	r4 := float64(r2 * r2)
	r8 := float64(r4 * r4)
	a0 := r + 1
	a1 := float64(exC3*r) + exC2
	a2 := float64(exC5*r) + exC4
	a3 := float64(exC7*r) + exC6
	a4 := float64(exC9*r) + exC8
	a5 := float64(exC11*r) + exC10
	a6 := float64(exC13*r) + exC12
	b0 := a0 + float64(r2*a1)
	b1 := a2 + float64(r2*a3)
	b2 := a4 + float64(r2*a5)
	c0 := b0 + float64(r4*b1)
	c1 := b2 + float64(r4*a6)
	p := c0 + float64(r8*c1)
	k := math.Float64bits(tb) - math.Float64bits(exShift)
	return math.Float64frombits(math.Float64bits(p) + k<<52)
}
