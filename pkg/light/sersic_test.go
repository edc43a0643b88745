package light

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// TestSersicBnExact checks b_n against the exact root of P(2n, b) = 1/2, found
// here by bisection on gonum's regularised incomplete gamma function (not by
// its inverse, which SersicBnExact uses).
func TestSersicBnExact(t *testing.T) {
	root := func(n float64) float64 {
		lo, hi := 1e-12, 4*n+10
		for k := 0; k < 200; k++ {
			mid := 0.5 * (lo + hi)
			if mathext.GammaIncReg(2*n, mid) < 0.5 {
				lo = mid
			} else {
				hi = mid
			}
		}
		return 0.5 * (lo + hi)
	}
	worst, worstN := 0.0, 0.0
	for n := 0.5; n <= 8.0001; n += 0.05 {
		want := root(n)
		got := SersicBn(n)
		rel := math.Abs(got-want) / want
		if rel > worst {
			worst, worstN = rel, n
		}
		// stated accuracy of the series (see SersicBn)
		tol := 6e-4
		switch {
		case n >= 4:
			tol = 1e-7
		case n >= 2:
			tol = 2e-6
		case n >= 1:
			tol = 3e-5
		}
		if rel > tol {
			t.Errorf("n=%.2f: b_n=%.12g, exact %.12g, rel err %.3g > %.0g", n, got, want, rel, tol)
		}
	}
	t.Logf("Ciotti-Bertin series, n in [0.5, 8]: worst relative error %.3g at n=%.2f", worst, worstN)
	// below the switch-over point SersicBn is exact; SersicBnExact everywhere
	for _, n := range []float64{0.1, 0.2, 0.3, 0.35, 0.5, 1, 4, 8} {
		want := root(n)
		got := SersicBnExact(n)
		if n < 0.36 && SersicBn(n) != got {
			t.Errorf("n=%g: SersicBn should use the exact root below 0.36", n)
		}
		if rel := math.Abs(got-want) / want; rel > 1e-10 {
			t.Errorf("n=%.2f: b_n=%.10g, exact %.10g, rel err %.3g", n, got, want, rel)
		}
	}
	// familiar values: b_1 = 1.67835, b_4 = 7.66925
	if b := SersicBnExact(1); math.Abs(b-1.67834699) > 1e-8 {
		t.Errorf("exact b_1 = %.8f, want 1.67834699", b)
	}
	if b := SersicBn(4); math.Abs(b-7.66924944) > 1e-6 {
		t.Errorf("b_4 = %.8f, want 7.66924944", b)
	}
	for _, n := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if !math.IsNaN(SersicBn(n)) {
			t.Errorf("SersicBn(%v) should be NaN", n)
		}
	}
}

// glNodes returns n-point Gauss-Legendre nodes and weights on [0, 1].
func glNodes(n int) (x, w []float64) {
	x = make([]float64, n)
	w = make([]float64, n)
	quad.Legendre{}.FixedLocations(x, w, 0, 1)
	return x, w
}

// sersicFluxNumeric integrates I(x, y) over the plane in polar coordinates
// centred on the profile: for every angle the radius is substituted as
// r = R_e s^n so that the integrand in s is smooth even for the de Vaucouleurs
// cusp; s is integrated with 12-point Gauss-Legendre on 300 panels out to where
// the profile is negligible (exp(-50) and below), the angle with the
// (spectrally accurate) periodic trapezoid rule.
func sersicFluxNumeric(s Sersic, re, n, q, x0, y0 float64) float64 {
	const nTheta, panels = 256, 300
	gx, gw := glNodes(12)
	bn := SersicBn(n)
	sMax := (50 + 8*n) / (bn * math.Pow(math.Sqrt(q), 1/n))
	h := sMax / panels
	total := 0.0
	for k := 0; k < nTheta; k++ {
		th := 2 * math.Pi * float64(k) / nTheta
		c, si := math.Cos(th), math.Sin(th)
		acc := 0.0
		for p := 0; p < panels; p++ {
			for g := range gx {
				u := (float64(p) + gx[g]) * h
				r := re * math.Pow(u, n)
				dr := re * n * math.Pow(u, n-1)
				acc += gw[g] * h * s.Intensity(x0+r*c, y0+r*si) * r * dr
			}
		}
		total += acc
	}
	return total * 2 * math.Pi / nTheta
}

func TestSersicTotalFlux(t *testing.T) {
	for _, tc := range []struct{ n, q, phi float64 }{
		{0.5, 1, 0}, {1, 0.6, 0.3}, {1.7, 0.8, -1.1}, {2.5, 0.45, 2.0}, {4, 0.7, 0.9}, {4, 0.25, -0.4}, {6, 0.9, 0.1},
	} {
		const flux, re, x0, y0 = 123.4, 0.8, 0.3, -0.2
		s := NewSersic(flux, re, tc.n, tc.q, tc.phi, x0, y0)
		got := sersicFluxNumeric(s, re, tc.n, tc.q, x0, y0)
		if rel := math.Abs(got-flux) / flux; rel > 1e-6 {
			t.Errorf("n=%g q=%g: numeric flux %.9g, want %.9g (rel %.2g)", tc.n, tc.q, got, flux, rel)
		} else {
			t.Logf("n=%g q=%g: numeric flux / L - 1 = %.2g", tc.n, tc.q, got/flux-1)
		}
		// I_e consistency: I(R_e along the major axis) = I_e
		xr := re / math.Sqrt(tc.q) // q x'^2 = re^2
		ie := s.Intensity(x0+xr*math.Cos(tc.phi), y0+xr*math.Sin(tc.phi))
		if math.Abs(ie-s.Ie())/s.Ie() > 1e-12 {
			t.Errorf("n=%g: I(R_e) = %g, Ie() = %g", tc.n, ie, s.Ie())
		}
	}
}

// TestSersicHalfLight integrates the circular profile out to R_e and checks
// the enclosed fraction is P(2n, b_n) for the b_n in use (the identity behind
// the flux formula), which is 1/2 to within the series' error.
func TestSersicHalfLight(t *testing.T) {
	for _, n := range []float64{0.5, 1, 2, 4} {
		s := NewSersic(1, 1, n, 1, 0, 0, 0)
		gx, gw := glNodes(12)
		half := 0.0
		const panels = 200
		for p := 0; p < panels; p++ {
			for g := range gx {
				// substitute r = u^n (R_e = 1) to smooth the cusp
				u := (float64(p) + gx[g]) / panels
				r := math.Pow(u, n)
				half += gw[g] / panels * 2 * math.Pi * r * s.Intensity(r, 0) * n * math.Pow(u, n-1)
			}
		}
		want := mathext.GammaIncReg(2*n, s.Bn())
		if math.Abs(half-want) > 1e-10 {
			t.Errorf("n=%g: flux inside R_e = %.12f, want P(2n, b_n) = %.12f", n, half, want)
		}
		if math.Abs(half-0.5) > 2e-4 {
			t.Errorf("n=%g: flux inside R_e = %.9f, want 0.5 within 2e-4", n, half)
		}
	}
}

func TestSersicEllipseConvention(t *testing.T) {
	const q, phi, x0, y0 = 0.55, 0.7, 0.2, -0.1
	for _, n := range []float64{1, 4, 2.3} {
		s := NewSersic(10, 1.1, n, q, phi, x0, y0)
		for _, c := range []float64{0.3, 1, 2.5} {
			// points on q x'^2 + y'^2/q = c^2 in the major-axis frame
			want := s.Intensity(x0+c/math.Sqrt(q)*math.Cos(phi), y0+c/math.Sqrt(q)*math.Sin(phi))
			for k := 0; k < 16; k++ {
				t0 := 2 * math.Pi * float64(k) / 16
				xp, yp := c/math.Sqrt(q)*math.Cos(t0), c*math.Sqrt(q)*math.Sin(t0)
				x := x0 + xp*math.Cos(phi) - yp*math.Sin(phi)
				y := y0 + xp*math.Sin(phi) + yp*math.Cos(phi)
				if got := s.Intensity(x, y); math.Abs(got-want) > 1e-12*want {
					t.Errorf("n=%g c=%g t=%.2f: I=%.15g, want %.15g", n, c, t0, got, want)
				}
			}
			// the major axis is along phi: brighter along it than along the minor axis at equal distance
			d := c
			major := s.Intensity(x0+d*math.Cos(phi), y0+d*math.Sin(phi))
			minor := s.Intensity(x0-d*math.Sin(phi), y0+d*math.Cos(phi))
			if !(major > minor) {
				t.Errorf("n=%g: I(major)=%g not > I(minor)=%g", n, major, minor)
			}
		}
	}
}

func TestSersicRotation(t *testing.T) {
	const q = 0.6
	for _, n := range []float64{1, 4, 1.5} {
		base := NewSersic(5, 0.7, n, q, 0, 0, 0)
		for _, alpha := range []float64{0.3, 1.2, -2.5} {
			rot := NewSersic(5, 0.7, n, q, alpha, 0, 0)
			flip := NewSersic(5, 0.7, n, q, alpha+math.Pi, 0, 0)
			for _, p := range [][2]float64{{0.3, 0.1}, {-0.5, 0.9}, {1.4, -0.2}} {
				// rotating the profile by alpha equals rotating the point by -alpha
				xr := p[0]*math.Cos(alpha) + p[1]*math.Sin(alpha)
				yr := -p[0]*math.Sin(alpha) + p[1]*math.Cos(alpha)
				want := base.Intensity(xr, yr)
				if got := rot.Intensity(p[0], p[1]); math.Abs(got-want) > 1e-12*want {
					t.Errorf("n=%g alpha=%g: rotated I=%g, want %g", n, alpha, got, want)
				}
				if got := flip.Intensity(p[0], p[1]); math.Abs(got-want) > 1e-12*want {
					t.Errorf("n=%g: phi+pi changed I: %g vs %g", n, got, want)
				}
			}
		}
		// q = 1 is circular: any angle, radius only
		c1 := NewSersic(5, 0.7, n, 1, 0.4, 0, 0)
		a, b := c1.Intensity(0.5, 0), c1.Intensity(0.3, 0.4)
		if math.Abs(a-b) > 1e-12*a {
			t.Errorf("n=%g: circular profile not isotropic: %g vs %g", n, a, b)
		}
	}
	// q > 1 is the same profile as 1/q turned by 90 degrees
	s1 := NewSersic(1, 1, 1, 2, 0, 0, 0)
	s2 := NewSersic(1, 1, 1, 0.5, math.Pi/2, 0, 0)
	if a, b := s1.Intensity(0.3, 0.7), s2.Intensity(0.3, 0.7); math.Abs(a-b) > 1e-12*a {
		t.Errorf("q=2 vs q=0.5 rotated: %g vs %g", a, b)
	}
}

func TestSersicFastPathsMatchGeneral(t *testing.T) {
	for _, n := range []float64{0.5, 1, 4} {
		fast := NewSersic(3, 0.9, n, 0.7, 0.2, 0.1, 0)
		gen := fast
		gen.kind = kindGeneral
		for _, p := range [][2]float64{{0, 0}, {0.1, 0}, {0.5, -0.3}, {2, 1}, {5, 3}} {
			a, b := fast.Intensity(p[0], p[1]), gen.Intensity(p[0], p[1])
			if math.Abs(a-b) > 1e-13*math.Max(a, 1e-300) {
				t.Errorf("n=%g at %v: fast %g, pow %g", n, p, a, b)
			}
		}
	}
}

func TestSersicDegenerate(t *testing.T) {
	for _, s := range []Sersic{
		NewSersic(1, 0, 1, 1, 0, 0, 0),
		NewSersic(1, 1, -1, 1, 0, 0, 0),
		NewSersic(1, 1, 1, 0, 0, 0, 0),
		NewSersic(math.NaN(), 1, 1, 1, 0, 0, 0),
		{},
	} {
		if v := s.Intensity(0.1, 0.1); v != 0 {
			t.Errorf("degenerate profile gives %g", v)
		}
	}
	if NewSersic(1, 0, 1, 1, 0, 0, 0).Valid() {
		t.Error("re=0 reported valid")
	}
	if !NewSersic(1, 1, 1, 1, 0, 0, 0).Valid() {
		t.Error("valid profile reported invalid")
	}
}

func BenchmarkIntensityN1(b *testing.B) {
	s := NewSersic(1, 0.5, 1, 0.7, 0.3, 0, 0)
	x, sum := 0.01, 0.0
	for b.Loop() {
		sum += s.Intensity(x, 0.3)
		x += 1e-6
	}
	_ = sum
}

func BenchmarkIntensityN4(b *testing.B) {
	s := NewSersic(1, 0.5, 4, 0.7, 0.3, 0, 0)
	x, sum := 0.01, 0.0
	for b.Loop() {
		sum += s.Intensity(x, 0.3)
		x += 1e-6
	}
	_ = sum
}

func BenchmarkIntensityGeneral(b *testing.B) {
	s := NewSersic(1, 0.5, 2.3, 0.7, 0.3, 0, 0)
	x, sum := 0.01, 0.0
	for b.Loop() {
		sum += s.Intensity(x, 0.3)
		x += 1e-6
	}
	_ = sum
}
