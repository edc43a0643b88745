package simulate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// TestPolarTables: the tabulated A(q) and T(q) bound the largest deflection
// and tangential deflection of the unit SIE at axis ratios inside the bins
// (dense direction sampling), and the tail integral C(t) of g = t K_1(t)
// has C(0) = pi/2, C' = -g (finite differences) and decreases.
func TestPolarTables(t *testing.T) {
	tab := polarTables()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		q := polarQMin + (1-polarQMin)*r.Float64()
		if q > 0.9999 {
			continue
		}
		k := min(int((q-polarQMin)/(1-polarQMin)*polarQBins), polarQBins-1)
		a, tt := sieUnitMax(q, 20000)
		if a > tab.a[k] || tt > tab.t[k] {
			t.Fatalf("q=%.5f: max |alpha| %.6f, |alpha_t| %.6f above the table's %.6f, %.6f", q, a, tt, tab.a[k], tab.t[k])
		}
		// and not wastefully loose where the population lies (q >= 0.2)
		if q >= 0.1 && (tab.a[k]-a > 0.01 || tab.t[k]-tt > 0.01) {
			t.Errorf("q=%.5f: table bounds %.4f, %.4f far above %.4f, %.4f", q, tab.a[k], tab.t[k], a, tt)
		}
	}
	// the SIS limit: |alpha| = 1, no tangential part
	if a, tt := sieUnitMax(1-1e-9, 100); math.Abs(a-1) > 1e-6 || tt > 1e-6 {
		t.Errorf("near-SIS unit deflection max %.8f, tangential %.3g", a, tt)
	}
	c, g := tK1C(), tK1()
	if c[0] != math.Pi/2 {
		t.Errorf("C(0) = %v", c[0])
	}
	for k := 1; k < tK1Len-1; k++ {
		if c[k] > c[k-1] {
			t.Fatalf("C increases at k=%d", k)
		}
		if k < 8 {
			continue // g's t^2 log t term spoils the difference quotient at small t
		}
		d := (c[k-1] - c[k+1]) * tK1Step / 2 // -C'(t_k)
		if math.Abs(d-g[k]) > 2e-4*math.Max(g[k], 1e-12) && math.Abs(d-g[k]) > 1e-15 {
			t.Fatalf("C'(%.3f) = %.6g, g = %.6g", float64(k)/tK1Step, -d, g[k])
		}
	}
}

// TestPolarBoundSIS: for a round source behind an SIS far from the centre
// the polar bound lies just above the exact 2 theta_E / beta (within 8%),
// and it never lies below the magnification of the polar integral
// (muPolar, a close upper estimate) for population systems.
func TestPolarBoundSIS(t *testing.T) {
	for _, beta := range []float64{0.3, 0.5, 0.8} {
		sys := population.System{ThetaE: 1.2}
		sys.Deflector.Q = 1
		sys.Source = population.Source{Re: 0.01, Q: 1, X: beta}
		b := polarBound(&sys)
		want := 2 * sys.ThetaE / beta
		t.Logf("SIS beta=%.1f: polar bound / exact %.4f", beta, b/want)
		if b < want || b > 1.08*want {
			t.Errorf("beta=%.1f: polar bound %.4f, SIS %.4f", beta, b, want)
		}
	}
	s := newSim(t, "delve", nil)
	r := rand.New(rand.NewPCG(7, 8))
	worst := 0.0
	const bn1 = 1.6783469900166612
	for i := 0; i < 3000; i++ {
		sys := s.pop.Draw(r)
		d, src := &sys.Deflector, &sys.Source
		lm := lensing.Model{SIE: lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
			Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2}}
		mp, _ := muPolarN(&lm, &sys, src.Re/bn1, 4, nil)
		worst = math.Max(worst, mp/polarBound(&sys))
	}
	t.Logf("3000 population systems: max muPolar / polar bound %.3f", worst)
	if worst > 1 {
		t.Errorf("polar integral %.3f x the polar bound", worst)
	}
}
