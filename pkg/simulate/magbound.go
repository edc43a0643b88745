package simulate

import (
	"math"
	"sync"

	"github.com/lenssbi/lenssbi/pkg/population"
)

// Analytic magnification bound (the "polar bound"), a pre-screen between the
// generous magnificationBound and the polar integral muPolar.
//
// Put the lens centre at the origin and write an image-plane ray as
// theta = r e(phi), r > 0. The SIE deflection depends on phi only,
// alpha_S(phi) = alpha_SIE(e(phi)), and the shear's is Gamma theta, so the
// source-plane offset from the source centre s is affine in r along each ray:
// beta - s = r u - v with u = (1 - Gamma) e and v = alpha_S + s. The total
// magnification of a unit-flux source of surface brightness I is
//
//	mu = int_0^{2 pi} dphi int_0^inf r dr I(r u - v).
//
// The exponential source (scale length h along the major axis, axis ratio
// q_s, I = I0 exp(-N(x)/h), I0 = 1/(2 pi h^2), N the elliptical radius) obeys
// I(x) <= I0 exp(-|x|/H) with H = h/sqrt(q_s), because N(x) >= sqrt(q_s)|x|.
// Along the ray |r u - v|^2 = |u|^2 (r - r0)^2 + D^2, with r0 = u.v/|u|^2
// and D = |u_hat x v| the line's distance from the source centre, and the
// radial integral is at most (muPolarPair's derivation, circular profile)
//
//	(H/|u|^2) [ (|v| + H) exp(-|v|/H) + 2 (u_hat.v)^+ g(D/H) ],
//
// g(t) = t K_1(t) decreasing. |u| >= 1 - gamma (the singular values of
// 1 - Gamma are 1 +- gamma), and |v| >= D, so the bracket is at most
// F_P(D) = (D + H) exp(-D/H) + 2 P g(D/H) with P >= (u_hat.v)^+, F_P
// decreasing in D and increasing in P.
//
// Bounds on D and P without the deflection: u_hat is e(phi) turned by an
// angle eta with |eta| <= delta = atan(gamma/(1 - gamma)) (the shear's
// component along e is at most gamma, across it at most gamma). Write
// x = phi - phi_s, phi_s the direction of s, |s| = S, and split alpha_S into
// its radial and tangential parts (alpha_r, alpha_t) along e(phi). Then
//
//	|u_hat x s| >= S (|sin x| - delta)          (sin is 1-Lipschitz),
//	|u_hat x alpha_S| <= T + A sin(delta),      (|u_hat x e| = |sin eta|)
//	u_hat.v <= A + S (cos x + delta),
//
// with A = max |alpha_S| and T = max |alpha_t| over directions (tabulated
// per axis ratio, polarTables). Hence D >= Dl(x) = max(0, S |sin x| - Delta),
// Delta = S delta + T + A sin(delta), and
//
//	mu <= I0 H/(1 - gamma)^2 int_0^{2 pi} F_{P(x)}(Dl(x)) dx,  P(x) = A + S (cos x + delta).
//
// The x integral is bounded on segments of [0, pi] (the integrand is even in
// x): on each segment P is taken at its left end (cos decreases) and sin x at
// its chord (sin is concave on [0, pi], so the chord lies below it), which
// makes Dl's lower bound linear in x and the segment's integral closed-form:
// the exponential part has the antiderivative -H (y + 2H) exp(-y/H), and
// int g = H (C(a/H) - C(b/H)) with C(t) = int_t^inf g(t') dt' tabulated
// (polarTables; read at the grid points that enlarge the difference).
//
// For a point-like source the bound is dominated by Delta (the ellipticity
// and shear blur where the images can lie); for an SIS (Delta = 0) and
// S >> H it is 2 theta_E / S up to a few per cent, the exact value. The
// bound is for the exact continuous magnification; the rendered one differs
// by the renderer's discretisation and the point mode's quadrature, so the
// caller multiplies it by muPolarMargin (TestPrescreenConservative measures
// the largest rendered mu / polarBound).

// polarSegments is the number of chord segments of [0, pi].
const polarSegments = 12

// polarQMin is the smallest deflector axis ratio polarTables covers; below
// it (or for gamma >= 0.5) polarBound gives no bound (+Inf).
const polarQMin = 0.02

// polarQBins is the number of axis-ratio bins of the A and T tables.
const polarQBins = 512

type polarTab struct {
	a, t []float64 // per q bin: upper bounds on A/theta_E and T/theta_E
	seg  [polarSegments + 1]struct{ x, sin, cos float64 }
}

var (
	polarOnce sync.Once
	polarTabs polarTab
)

// sieUnitDeflection returns the radial and tangential components of the SIE
// deflection (theta_E = 1, axis ratio q < 1, major axis along x) at the unit
// vector of direction phi, from the closed form with math.Atan/math.Atanh.
func sieUnitDeflection(q, phi float64) (ar, at float64) {
	e := math.Sqrt((1 - q) * (1 + q))
	sn, cs := math.Sincos(phi)
	psi := math.Sqrt(q*q*cs*cs + sn*sn)
	b := math.Sqrt(q) / e
	ax := b * math.Atan(e*cs/psi)
	ay := b * math.Atanh(e*sn/psi)
	return ax*cs + ay*sn, ay*cs - ax*sn
}

// polarTables returns the tables of polarBound. A(q) and T(q) are sampled at
// the bin edges q_k over 4097 directions of a quadrant (the deflection has
// the lens's two mirror symmetries); a bin's bound is the larger of its two
// edge values plus their difference (a smooth function's excursion within a
// bin of width 0.002 is far below that) plus 1e-4 for the direction sampling.
// TestPolarTables checks the bounds against dense samples inside the bins.
func polarTables() *polarTab {
	polarOnce.Do(func() {
		t := &polarTabs
		edgeA := make([]float64, polarQBins+1)
		edgeT := make([]float64, polarQBins+1)
		for k := range edgeA {
			q := polarQMin + (1-polarQMin)*float64(k)/polarQBins
			if k == polarQBins {
				edgeA[k], edgeT[k] = 1, 0 // the SIS: alpha = e(phi)
				continue
			}
			edgeA[k], edgeT[k] = sieUnitMax(q, 4096)
		}
		t.a = make([]float64, polarQBins)
		t.t = make([]float64, polarQBins)
		for k := range t.a {
			a0, a1 := edgeA[k], edgeA[k+1]
			t0, t1 := edgeT[k], edgeT[k+1]
			t.a[k] = math.Max(a0, a1) + math.Abs(a1-a0) + 1e-4
			t.t[k] = math.Max(t0, t1) + math.Abs(t1-t0) + 1e-4
		}
		for i := range t.seg {
			x := math.Pi * float64(i) / polarSegments
			t.seg[i].x = x
			t.seg[i].sin, t.seg[i].cos = math.Sincos(x)
		}
		t.seg[0].sin, t.seg[polarSegments].sin = 0, 0
		t.seg[polarSegments/2].sin, t.seg[polarSegments/2].cos = 1, 0
	})
	return &polarTabs
}

// sieUnitMax returns the largest |alpha| and |alpha_t| of the unit SIE of
// axis ratio q over n+1 equally spaced directions of the first quadrant.
func sieUnitMax(q float64, n int) (a, t float64) {
	for i := 0; i <= n; i++ {
		ar, at := sieUnitDeflection(q, 0.5*math.Pi*float64(i)/float64(n))
		a = math.Max(a, math.Hypot(ar, at))
		t = math.Max(t, math.Abs(at))
	}
	return a, t
}

// polarBound returns an upper bound on the exact total magnification of the
// exponential source of sys behind its SIE + shear (derivation above), or
// +Inf where the tables do not apply.
func polarBound(sys *population.System) float64 {
	d, src := &sys.Deflector, &sys.Source
	q := d.Q
	if q > 1 {
		q = 1 / q
	}
	gam := math.Hypot(sys.Gamma1, sys.Gamma2)
	if !(q >= polarQMin) || !(gam < 0.5) || !(sys.ThetaE > 0) {
		return math.Inf(1)
	}
	tab := polarTables()
	A, T := sys.ThetaE, 0.0 // the SIS: alpha = theta_E e(phi)
	if q < 1 {
		k := min(int((q-polarQMin)/(1-polarQMin)*polarQBins), polarQBins-1)
		A, T = sys.ThetaE*tab.a[k], sys.ThetaE*tab.t[k]
	}
	const bn1 = 1.6783469900166612
	h := src.Re / bn1
	H := h / math.Sqrt(src.Q)
	S := math.Hypot(src.X-d.X, src.Y-d.Y)
	delta := math.Atan(gam / (1 - gam))
	sinDelta := gam / math.Hypot(1-gam, gam)
	Delta := S*delta + T + A*sinDelta
	iH := 1 / H
	cTab := tK1C()
	var sum float64
	for i := 0; i < polarSegments; i++ {
		s0, s1 := &tab.seg[i], &tab.seg[i+1]
		w := s1.x - s0.x
		P := math.Max(0, A+S*(s0.cos+delta))
		// Dl >= y(x) = S chord(x) - Delta, linear from ya to yb.
		ya, yb := S*s0.sin-Delta, S*s1.sin-Delta
		lo, hi := math.Min(ya, yb), math.Max(ya, yb)
		if hi <= 0 {
			sum += w * (H + 2*P) // F_P(0)
			continue
		}
		m := (hi - lo) / w // |slope| of y(x)
		if m*w < 1e-9*H {
			y := math.Max(lo, 0)
			sum += w * ((y+H)*fastExp(-y*iH) + 2*P*gUpper(y*iH))
			continue
		}
		// int over the segment of F_P(max(0, y)) = (1/m) int_lo^hi F_P(max(0, y)) dy
		var acc float64
		if lo < 0 {
			acc = -lo * (H + 2*P)
			lo = 0
		}
		// exponential part: H (lo + 2H) e^{-lo/H} - H (hi + 2H) e^{-hi/H}
		acc += H * ((lo+2*H)*fastExp(-lo*iH) - (hi+2*H)*fastExp(-hi*iH))
		// g part: 2 P H (C(lo/H) - C(hi/H)), C decreasing: C at the grid
		// point below lo/H and above hi/H
		acc += 2 * P * H * (cTabAt(cTab, lo*iH, false) - cTabAt(cTab, hi*iH, true))
		sum += acc / m
	}
	return 2 * sum * H / (2 * math.Pi * h * h * (1 - gam) * (1 - gam))
}

// gUpper returns an upper bound on g(t) = t K_1(t) from the table (g
// decreases, so the grid point below t).
func gUpper(t float64) float64 {
	g := tK1()
	if idx := int(t * tK1Step); idx < tK1Len {
		return g[idx]
	}
	return g[tK1Len-1]
}

// cTabAt reads the tail integral C(t) = int_t^inf g at the grid point below t
// (up = false: an upper bound, C decreasing) or above it (up = true: a lower
// bound; zero beyond the table).
func cTabAt(c []float64, t float64, up bool) float64 {
	x := t * tK1Step
	if !up {
		if x >= tK1Len-1 {
			return c[tK1Len-1]
		}
		return c[int(x)]
	}
	idx := int(math.Ceil(x))
	if idx >= tK1Len {
		return 0
	}
	return c[idx]
}

var (
	tK1COnce  sync.Once
	tK1CTable []float64
)

// tK1C tabulates C(t) = int_t^inf g(t') dt' (g(t) = t K_1(t), C(0) = pi/2)
// on tK1's grid. Swapping the integrals in g(t) = int_0^inf t cosh(u)
// exp(-t cosh u) du gives C(t) = int_0^inf (1 + t cosh u) exp(-t cosh u) /
// cosh(u) du, evaluated with tK1's trapezoid rule.
func tK1C() []float64 {
	tK1COnce.Do(func() {
		t := make([]float64, tK1Len)
		t[0] = math.Pi / 2
		for k := 1; k < tK1Len; k++ {
			x := float64(k) / tK1Step
			const du = 1.0 / 256
			sum := 0.5 * (1 + x) * math.Exp(-x)
			for i := 1; ; i++ {
				ch := math.Cosh(float64(i) * du)
				if x*ch > x+60 {
					break
				}
				sum += (1 + x*ch) * math.Exp(-x*ch) / ch
			}
			t[k] = sum * du
		}
		tK1CTable = t
	})
	return tK1CTable
}
