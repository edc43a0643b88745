package cosmology

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

func mustNew(t testing.TB, h0, om0 float64) *FlatLambdaCDM {
	t.Helper()
	c, err := New(h0, om0)
	if err != nil {
		t.Fatalf("New(%g, %g): %v", h0, om0, err)
	}
	return c
}

// TestGaussLegendreExactness checks the 10-point rule integrates x^k exactly
// for k <= 19 (the defining property of an n-point Gauss rule: degree 2n-1).
func TestGaussLegendreExactness(t *testing.T) {
	for k := 0; k <= 19; k++ {
		s := 0.0
		for i, x := range gl10.x {
			s += gl10.w[i] * math.Pow(x, float64(k))
		}
		want := 0.0
		if k%2 == 0 {
			want = 2 / float64(k+1)
		}
		if math.Abs(s-want) > 1e-14 {
			t.Errorf("int_-1^1 x^%d = %.16g, want %.16g", k, s, want)
		}
	}
	// Degree 20 must NOT be exact (proves the rule has exactly 10 points).
	s := 0.0
	for i, x := range gl10.x {
		s += gl10.w[i] * math.Pow(x, 20)
	}
	if math.Abs(s-2.0/21) < 1e-10 {
		t.Errorf("x^20 integrated exactly (%g): rule is not a 10-point rule", s)
	}
}

// TestAstropyPublishedValues compares with astropy's
// FlatLambdaCDM(H0=70, Om0=0.3) (Tcmb0=0) values as commonly quoted to the
// printed precision: D_C(1) = 3303.83 Mpc, D_A(1) = 1651.91 Mpc,
// D_L(1) = 6607.66 Mpc, DM(1) = 44.10 mag, D_C(0.5) = 1888.63 Mpc,
// kpc_proper_per_arcmin(1) = 480.52 kpc.
func TestAstropyPublishedValues(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"D_C(1)", c.ComovingDistance(1), 3303.83, 0.006},
		{"D_A(1)", c.AngularDiameterDistance(1), 1651.91, 0.006},
		{"D_L(1)", c.LuminosityDistance(1), 6607.66, 0.006},
		{"DM(1)", c.DistanceModulus(1), 44.10, 0.006},
		{"D_C(0.5)", c.ComovingDistance(0.5), 1888.63, 0.006},
		{"kpc/arcmin(1)", 60 * c.KpcPerArcsec(1), 480.52, 0.006},
	}
	for _, ck := range checks {
		if math.Abs(ck.got-ck.want) > ck.tol {
			t.Errorf("%s = %.6f, want %.2f +- %g", ck.name, ck.got, ck.want, ck.tol)
		}
	}
}

// Reference values for H0=70, Om0=0.3 computed independently with mpmath
// (30 significant digits, mpmath.quad tanh-sinh integration of 1/E(z)):
//
//	DH = 299792.458/70; E = lambda z: sqrt(0.3*(1+z)**3 + 0.7)
//	DC = lambda z: DH*quad(lambda x: 1/E(x), [0, z])
var mpmathDC = []struct{ z, dc float64 }{
	{0.001, 4.2817855728468920505},
	{0.0123, 52.531648869477822946},
	{0.1, 418.45448762770742},
	{0.3, 1194.3968697152264931},
	{0.5, 1888.6253959334059267},
	{0.7123, 2541.3035514327700341},
	{1, 3303.8288058874681105},
	{1.5, 4363.8557662336031324},
	{2, 5179.8620744093732018},
	{3, 6355.6854362974651792},
	{4.321, 7382.8004048502542809},
	{5, 7775.37049546286514},
	{9.999, 9440.0354743544018781},
	{10, 9440.2496264002341854},
	{25, 11087.900055241654653},
	{1100, 13683.510509942073062},
	{-0.5, -2342.5154988996379186},
}

func TestComovingDistanceHighPrecision(t *testing.T) {
	c := Default()
	for _, r := range mpmathDC {
		if e := relErr(c.ComovingDistanceQuad(r.z), r.dc); e > 1e-12 {
			t.Errorf("ComovingDistanceQuad(%g) = %.15g, want %.15g (rel err %.2g)", r.z, c.ComovingDistanceQuad(r.z), r.dc, e)
		}
		if e := relErr(c.ComovingDistance(r.z), r.dc); e > 1e-12 {
			t.Errorf("ComovingDistance(%g) = %.15g, want %.15g (rel err %.2g)", r.z, c.ComovingDistance(r.z), r.dc, e)
		}
	}
	// Particle horizon: DH * int_0^1 da / sqrt(Om a + (1-Om) a^4) (mpmath).
	if e := relErr(c.ComovingDistance(math.Inf(1)), 14154.811521268438674); e > 1e-12 {
		t.Errorf("D_C(+Inf) = %.12g, want 14154.8115212684 (rel %.2g)", c.ComovingDistance(math.Inf(1)), e)
	}
	// A different cosmology, to prove the parameters are used: H0=67.7,
	// Om0=0.05, z=2 (mpmath, same recipe).
	c2 := mustNew(t, 67.7, 0.05)
	if e := relErr(c2.ComovingDistance(2), 7529.7051694157029274); e > 1e-10 {
		t.Errorf("H0=67.7 Om0=0.05: D_C(2) = %.12g, want 7529.70516941570 (rel %.2g)", c2.ComovingDistance(2), e)
	}
}

// TestDerivedQuantities checks D_A, D_L, DM, dV/dz/dOmega and kpc/arcsec
// against mpmath values derived from the same integral.
func TestDerivedQuantities(t *testing.T) {
	c := Default()
	ref := []struct{ z, da, dl, dm, dv, kpc float64 }{
		{0.1, 380.41317057064310909, 460.299936390478162, 38.31520457439094181, 715255174.47528551051, 1.8442950956690329087},
		{0.3, 918.76682285786653316, 1552.715930629794441, 40.955460044114401509, 5240759976.0748113026, 4.4543072547103525057},
		{1, 1651.9144029437340553, 6607.657611774936221, 44.100237655543724134, 26550755712.253192703, 8.0087070256901302867},
		{2, 1726.6206914697910673, 15539.586223228119605, 45.95719725271018536, 38736262797.681139736, 8.3708933331136182061},
		{5, 1295.89508257714419, 46652.22297277719084, 48.344361713275294929, 31992206727.38835555, 6.2826766531597139668},
	}
	for _, r := range ref {
		for _, ck := range []struct {
			name      string
			got, want float64
		}{
			{"D_A", c.AngularDiameterDistance(r.z), r.da},
			{"D_L", c.LuminosityDistance(r.z), r.dl},
			{"DM", c.DistanceModulus(r.z), r.dm},
			{"dV/dz/dOmega", c.DifferentialComovingVolume(r.z), r.dv},
			{"kpc/arcsec", c.KpcPerArcsec(r.z), r.kpc},
		} {
			if e := relErr(ck.got, ck.want); e > 1e-10 {
				t.Errorf("%s(%g) = %.15g, want %.15g (rel %.2g)", ck.name, r.z, ck.got, ck.want, e)
			}
		}
		if e := relErr(c.ArcsecPerKpc(r.z)*c.KpcPerArcsec(r.z), 1); e > 1e-15 {
			t.Errorf("ArcsecPerKpc is not the inverse of KpcPerArcsec at z=%g", r.z)
		}
	}
}

// TestEinsteinDeSitter checks the Om0=1 limit against the analytic
// D_C = 2 D_H (1 - 1/sqrt(1+z)) (Hogg 1999, eq. 16 with Omega_k = 0 and the
// integral done in closed form), including negative z and the particle
// horizon 2 D_H.
func TestEinsteinDeSitter(t *testing.T) {
	for _, h0 := range []float64{50, 70, 100} {
		c := mustNew(t, h0, 1)
		dh := SpeedOfLight / h0
		if relErr(c.HubbleDistance(), dh) > 1e-15 {
			t.Fatalf("HubbleDistance = %g, want %g", c.HubbleDistance(), dh)
		}
		for _, z := range []float64{-0.9, -0.3, 1e-6, 0.01, 0.3, 0.77, 1, 2.5, 6.123, 9.9999, 10, 12, 100, 3000} {
			// 1 - 1/sqrt(1+z) written without cancellation at small z.
			sq := math.Sqrt(1 + z)
			want := 2 * dh * z / (sq * (1 + sq))
			if e := relErr(c.ComovingDistance(z), want); e > 1e-11 {
				t.Errorf("H0=%g EdS D_C(%g) = %.15g, want %.15g (rel %.2g)", h0, z, c.ComovingDistance(z), want, e)
			}
			if e := relErr(c.ComovingDistanceQuad(z), want); e > 1e-12 {
				t.Errorf("H0=%g EdS quad D_C(%g) = %.15g, want %.15g (rel %.2g)", h0, z, c.ComovingDistanceQuad(z), want, e)
			}
			if e := relErr(c.E(z), math.Pow(1+z, 1.5)); e > 1e-14 {
				t.Errorf("EdS E(%g) = %g, want (1+z)^1.5", z, c.E(z))
			}
		}
		if e := relErr(c.ComovingDistance(math.Inf(1)), 2*dh); e > 1e-12 {
			t.Errorf("EdS particle horizon = %g, want %g", c.ComovingDistance(math.Inf(1)), 2*dh)
		}
	}
}

// TestInterpolationMatchesQuadrature compares the table interpolation with
// direct quadrature at random redshifts, at table nodes, mid-intervals and
// near z = 0 (the brief asks for 1e-6; the Hermite table is far better).
func TestInterpolationMatchesQuadrature(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, om := range []float64{0.05, 0.3, 0.7, 1} {
		c := mustNew(t, 70, om)
		zs := []float64{1e-9, 1e-6, 1e-4, tableStep, 1.5 * tableStep, 0.5, 1, TableZMax - tableStep/3, TableZMax}
		for i := 0; i < 2000; i++ {
			zs = append(zs, TableZMax*rng.Float64())
		}
		worst := 0.0
		for _, z := range zs {
			e := relErr(c.ComovingDistance(z), c.ComovingDistanceQuad(z))
			worst = max(worst, e)
			if e > 1e-6 {
				t.Fatalf("Om0=%g z=%g: interp %.15g vs quad %.15g (rel %.2g > 1e-6)", om, z, c.ComovingDistance(z), c.ComovingDistanceQuad(z), e)
			}
		}
		if worst > 1e-13 {
			t.Errorf("Om0=%g: worst interpolation error %.3g, expected < 1e-13 with a quintic Hermite table", om, worst)
		}
		t.Logf("Om0=%g: worst relative interpolation error %.3g", om, worst)
	}
}

// TestAboveTableFallsBackToQuadrature checks continuity at TableZMax and that
// redshifts above it use the quadrature.
func TestAboveTableFallsBackToQuadrature(t *testing.T) {
	c := Default()
	lo, hi := c.ComovingDistance(TableZMax), c.ComovingDistance(math.Nextafter(TableZMax, 20))
	if relErr(hi, lo) > 1e-12 {
		t.Errorf("discontinuity at TableZMax: %.15g vs %.15g", lo, hi)
	}
	for _, z := range []float64{10.001, 11, 50, 1100} {
		if c.ComovingDistance(z) != c.ComovingDistanceQuad(z) {
			t.Errorf("z=%g above the table: %g != quad %g", z, c.ComovingDistance(z), c.ComovingDistanceQuad(z))
		}
	}
	// Monotonic increase across the boundary.
	prev := c.ComovingDistance(9.9)
	for z := 9.91; z < 10.2; z += 0.01 {
		d := c.ComovingDistance(z)
		if !(d > prev) {
			t.Fatalf("D_C not increasing at z=%g: %g <= %g", z, d, prev)
		}
		prev = d
	}
}

// TestAngularDiameterDistance12 checks D_A(0,z) = D_A(z), the comoving
// composition (1+z3) D_13 = (1+z2) D_12 + (1+z3) D_23 of flat space, the
// zero for z2 <= z1 and D_12 < D_A(z2).
func TestAngularDiameterDistance12(t *testing.T) {
	c := Default()
	for _, z := range []float64{0.1, 0.5, 1, 3} {
		if e := relErr(c.AngularDiameterDistance12(0, z), c.AngularDiameterDistance(z)); e > 1e-14 {
			t.Errorf("D_A(0,%g) != D_A(%g) (rel %.2g)", z, z, e)
		}
	}
	triples := [][3]float64{{0.1, 0.5, 1}, {0.3, 1, 2}, {0.2, 0.21, 4}, {0.5, 2, 12}}
	for _, tr := range triples {
		z1, z2, z3 := tr[0], tr[1], tr[2]
		lhs := (1 + z3) * c.AngularDiameterDistance12(z1, z3)
		rhs := (1+z2)*c.AngularDiameterDistance12(z1, z2) + (1+z3)*c.AngularDiameterDistance12(z2, z3)
		if e := relErr(lhs, rhs); e > 1e-12 {
			t.Errorf("composition %v: %.15g vs %.15g", tr, lhs, rhs)
		}
		if !(c.AngularDiameterDistance12(z1, z3) < c.AngularDiameterDistance(z3)) {
			t.Errorf("D_A(%g,%g) >= D_A(%g)", z1, z3, z3)
		}
	}
	// Lens z=0.3, source z=1 from the mpmath reference values.
	want := (3303.8288058874681105 - 1194.3968697152264931) / 2
	if e := relErr(c.AngularDiameterDistance12(0.3, 1), want); e > 1e-10 {
		t.Errorf("D_A(0.3,1) = %.12g, want %.12g", c.AngularDiameterDistance12(0.3, 1), want)
	}
	for _, p := range [][2]float64{{1, 1}, {1, 0.5}, {2, 0}} {
		if d := c.AngularDiameterDistance12(p[0], p[1]); d != 0 {
			t.Errorf("D_A(%g,%g) = %g, want 0 for z2 <= z1", p[0], p[1], d)
		}
	}
}

// TestLowRedshiftHubbleLaw checks D_C -> c z/H0 and the second-order
// expansions D_C = D_H (z - (1+q0) z^2/2), D_L = D_H (z + (1-q0) z^2/2) with
// the deceleration parameter q0 = 3 Om0/2 - 1 (Weinberg 1972; Hogg 1999).
func TestLowRedshiftHubbleLaw(t *testing.T) {
	for _, om := range []float64{0.3, 1} {
		c := mustNew(t, 70, om)
		q0 := 1.5*om - 1
		for _, z := range []float64{1e-8, 1e-5, 1e-3} {
			dh := c.HubbleDistance()
			if e := relErr(c.ComovingDistance(z), dh*z); e > 2*z {
				t.Errorf("Om0=%g: D_C(%g)=%g deviates from cz/H0 by %.2g", om, z, c.ComovingDistance(z), e)
			}
			// Third-order terms are O(z^2) relative.
			if e := relErr(c.ComovingDistance(z), dh*(z-(1+q0)*z*z/2)); e > 2*z*z+1e-13 {
				t.Errorf("Om0=%g: D_C(%g) second order: rel %.2g", om, z, e)
			}
			if e := relErr(c.LuminosityDistance(z), dh*(z+(1-q0)*z*z/2)); e > 2*z*z+1e-13 {
				t.Errorf("Om0=%g: D_L(%g) second order: rel %.2g", om, z, e)
			}
		}
	}
	if c := Default(); c.ComovingDistance(0) != 0 || c.ComovingDistanceQuad(0) != 0 {
		t.Errorf("D_C(0) = %g / %g, want 0", c.ComovingDistance(0), c.ComovingDistanceQuad(0))
	}
}

// TestDifferentialComovingVolume checks dV/dz/dOmega against a centred finite
// difference of the all-sky comoving volume divided by 4 pi.
func TestDifferentialComovingVolume(t *testing.T) {
	c := Default()
	for _, z := range []float64{0.05, 0.3, 1, 2.7, 8} {
		h := 1e-5
		fd := (c.ComovingVolume(z+h) - c.ComovingVolume(z-h)) / (2 * h) / (4 * math.Pi)
		if e := relErr(c.DifferentialComovingVolume(z), fd); e > 1e-7 {
			t.Errorf("dV/dz/dOmega(%g) = %.10g, finite difference %.10g (rel %.2g)", z, c.DifferentialComovingVolume(z), fd, e)
		}
	}
}

func TestNewRejectsBadParameters(t *testing.T) {
	bad := []struct {
		h0, om0 float64
		word    string
	}{
		{0, 0.3, "H0"}, {-70, 0.3, "H0"}, {math.NaN(), 0.3, "H0"}, {math.Inf(1), 0.3, "H0"},
		{70, 0, "Om0"}, {70, -0.1, "Om0"}, {70, 1.0001, "Om0"}, {70, math.NaN(), "Om0"},
	}
	for _, b := range bad {
		c, err := New(b.h0, b.om0)
		if err == nil || c != nil {
			t.Errorf("New(%g, %g) = %v, %v; want an error", b.h0, b.om0, c, err)
			continue
		}
		if !strings.Contains(err.Error(), b.word) {
			t.Errorf("New(%g, %g) error %q does not name %s", b.h0, b.om0, err, b.word)
		}
	}
	if _, err := New(70, 1); err != nil {
		t.Errorf("New(70, 1) (Einstein-de Sitter) failed: %v", err)
	}
}

func TestInvalidRedshifts(t *testing.T) {
	c := Default()
	for _, z := range []float64{-1, -2, math.NaN(), math.Inf(-1)} {
		if d := c.ComovingDistance(z); !math.IsNaN(d) {
			t.Errorf("D_C(%g) = %g, want NaN", z, d)
		}
	}
}

func TestDefaultIsSharedAndConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	got := make([]*FlatLambdaCDM, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = Default()
			_ = got[i].ComovingDistance(1)
		}()
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("Default returned different instances")
		}
	}
	c := got[0]
	if c.H0() != 70 || c.Om0() != 0.3 || math.Abs(c.Ode0()-0.7) > 1e-15 {
		t.Errorf("Default = %v, want H0=70 Om0=0.3", c)
	}
	if c.String() != "FlatLambdaCDM(H0=70, Om0=0.3)" {
		t.Errorf("String = %q", c.String())
	}
	if e := relErr(c.E(1), math.Sqrt(0.3*8+0.7)); e > 1e-15 {
		t.Errorf("E(1) = %g", c.E(1))
	}
}

func BenchmarkComovingDistance(b *testing.B) {
	c := Default()
	z := 0.0
	s := 0.0
	for b.Loop() {
		z += 0.37
		if z > 9 {
			z -= 9
		}
		s += c.ComovingDistance(z)
	}
	_ = s
}

func BenchmarkComovingDistanceQuad(b *testing.B) {
	c := Default()
	s := 0.0
	for b.Loop() {
		s += c.ComovingDistanceQuad(1.3)
	}
	_ = s
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(70, 0.3); err != nil {
			b.Fatal(err)
		}
	}
}
