package population

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/cosmology"
)

func newPop(t testing.TB) *Population {
	t.Helper()
	p, err := New(DefaultConfig(), cosmology.Default(), []string{"g", "r", "i", "z"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ksTwoSample returns the two-sample Kolmogorov-Smirnov statistic and its
// asymptotic p-value.
func ksTwoSample(a, b []float64) (d, p float64) {
	a = append([]float64(nil), a...)
	b = append([]float64(nil), b...)
	sort.Float64s(a)
	sort.Float64s(b)
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x := math.Min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		if v := math.Abs(float64(i)/float64(len(a)) - float64(j)/float64(len(b))); v > d {
			d = v
		}
	}
	ne := float64(len(a)*len(b)) / float64(len(a)+len(b))
	return d, kolmogorovQ((math.Sqrt(ne) + 0.12 + 0.11/math.Sqrt(ne)) * d)
}

// kolmogorovQ is the survival function of the Kolmogorov distribution.
func kolmogorovQ(l float64) float64 {
	if l < 0.2 {
		return 1
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		s += 2 * math.Pow(-1, float64(k-1)) * math.Exp(-2*float64(k*k)*l*l)
	}
	return math.Max(0, math.Min(1, s))
}

type sample struct{ thetaE, zl, zs, sigma, srcI, betaRel, srcRe, lensQ []float64 }

func (s *sample) add(sys System) {
	s.thetaE = append(s.thetaE, sys.ThetaE)
	s.zl = append(s.zl, sys.Deflector.Z)
	s.zs = append(s.zs, sys.Source.Z)
	s.sigma = append(s.sigma, sys.Deflector.SigmaV)
	s.srcI = append(s.srcI, sys.Source.Mags[2])
	b := math.Hypot(sys.Source.X-sys.Deflector.X, sys.Source.Y-sys.Deflector.Y)
	s.betaRel = append(s.betaRel, b/sys.ThetaE)
	s.srcRe = append(s.srcRe, sys.Source.Re)
	s.lensQ = append(s.lensQ, sys.Deflector.Q)
}

func (s *sample) columns() map[string][]float64 {
	return map[string][]float64{"theta_E": s.thetaE, "z_l": s.zl, "z_s": s.zs, "sigma_v": s.sigma,
		"src_i": s.srcI, "beta/theta_E": s.betaRel, "src_Re": s.srcRe, "lens_q": s.lensQ}
}

// TestSamplersAgree is the statistical test that the efficient sampler draws
// the same lens population as LensPop's brute-force procedure, with a
// negative control proving the test can tell a wrongly weighted sampler.
func TestSamplersAgree(t *testing.T) {
	p := newPop(t)
	const n = 3000
	r1 := rand.New(rand.NewPCG(1, 2))
	r2 := rand.New(rand.NewPCG(3, 4))
	var fast, brute, wrong sample
	totalTries := 0
	for i := 0; i < n; i++ {
		fast.add(p.Draw(r1))
		sys, tries, err := p.DrawBruteForce(r2, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		totalTries += tries
		brute.add(sys)
	}
	t.Logf("brute force: %.0f pairs per lens", float64(totalTries)/n)
	// Negative control: theta_E^1 instead of theta_E^2 weighting, made by
	// thinning the fast sampler with probability thetaMin/theta_E.
	r3 := rand.New(rand.NewPCG(5, 6))
	for len(wrong.thetaE) < n {
		sys := p.Draw(r3)
		if r3.Float64() < 0.3/sys.ThetaE {
			wrong.add(sys)
		}
	}
	fc, bc, wc := fast.columns(), brute.columns(), wrong.columns()
	// 8 comparisons: Bonferroni-style threshold.
	for name := range fc {
		d, pv := ksTwoSample(fc[name], bc[name])
		t.Logf("%-13s KS D=%.4f p=%.3f (fast vs brute force)", name, d, pv)
		if pv < 0.001 {
			t.Errorf("%s: fast and brute-force samplers differ: D=%.4f p=%.2g", name, d, pv)
		}
	}
	d, pv := ksTwoSample(wc["theta_E"], bc["theta_E"])
	t.Logf("negative control theta_E KS D=%.4f p=%.2g", d, pv)
	if pv > 1e-4 {
		t.Errorf("KS test failed to reject a theta_E^1-weighted sampler: p=%.3g", pv)
	}
}

// TestVDFSampling checks the velocity-dispersion draws against the Choi et
// al. VDF integrated independently with Simpson's rule.
func TestVDFSampling(t *testing.T) {
	p := newPop(t)
	cfg := p.Config()
	cdf := func(x float64) float64 {
		integ := func(a, b float64) float64 {
			const m = 400
			h := (b - a) / m
			s := VDF(a) + VDF(b)
			for k := 1; k < m; k++ {
				w := 2.0
				if k%2 == 1 {
					w = 4
				}
				s += w * VDF(a+float64(k)*h)
			}
			return s * h / 3
		}
		return integ(cfg.SigmaMin, x) / integ(cfg.SigmaMin, cfg.SigmaMax)
	}
	r := rand.New(rand.NewPCG(7, 8))
	const n = 5000
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = p.sigmaPrior.sample(r)
	}
	sort.Float64s(xs)
	d := 0.0
	for i, x := range xs {
		c := cdf(x)
		d = math.Max(d, math.Max(math.Abs(c-float64(i)/n), math.Abs(c-float64(i+1)/n)))
	}
	pv := kolmogorovQ((math.Sqrt(n) + 0.12 + 0.11/math.Sqrt(n)) * d)
	if pv < 0.001 {
		t.Errorf("sigma draws do not follow the VDF: D=%.4f p=%.2g", d, pv)
	}
	// The VDF falls steeply: most deflectors above the 200 km/s floor sit
	// just above it. Median from the analytic CDF by bisection.
	lo, hi := cfg.SigmaMin, cfg.SigmaMax
	for k := 0; k < 60; k++ {
		m := (lo + hi) / 2
		if cdf(m) < 0.5 {
			lo = m
		} else {
			hi = m
		}
	}
	if med := xs[n/2]; math.Abs(med-lo) > 2 {
		t.Errorf("median sigma %.1f, analytic %.1f", med, lo)
	}
}

// TestLensRedshiftFollowsVolume: without weighting, deflector redshifts
// follow dV/dz; the ratio of counts in two shells matches the volume ratio.
func TestLensRedshiftFollowsVolume(t *testing.T) {
	p := newPop(t)
	c := p.Cosmology()
	vol := func(z1, z2 float64) float64 {
		d1, d2 := c.ComovingDistance(z1), c.ComovingDistance(z2)
		return (d2*d2*d2 - d1*d1*d1) / 3
	}
	r := rand.New(rand.NewPCG(9, 10))
	const n = 200000
	var a, b int
	for i := 0; i < n; i++ {
		z := p.zPrior.sample(r)
		switch {
		case z < 0.5:
			a++
		case z >= 1 && z < 2:
			b++
		}
	}
	want := vol(0, 0.5) / vol(1, 2)
	got := float64(a) / float64(b)
	sigma := got * math.Sqrt(1/float64(a)+1/float64(b))
	if math.Abs(got-want) > 4*sigma {
		t.Errorf("N(z<0.5)/N(1<z<2) = %.4f, comoving volume ratio %.4f (+-%.4f)", got, want, sigma)
	}
}

func TestDrawInvariants(t *testing.T) {
	p := newPop(t)
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 5000; i++ {
		s := p.Draw(r)
		d, src := s.Deflector, s.Source
		if !(src.Z > d.Z) {
			t.Fatalf("source at z=%g not behind deflector at z=%g", src.Z, d.Z)
		}
		beta := math.Hypot(src.X-d.X, src.Y-d.Y)
		if beta >= s.ThetaE {
			t.Fatalf("source outside the Einstein radius: beta=%g theta_E=%g", beta, s.ThetaE)
		}
		if d.Q < 0.2 || d.Q > 1 || src.Q < 0.2 || src.Q > 1 {
			t.Fatalf("axis ratios out of range: %g %g", d.Q, src.Q)
		}
		if d.SigmaV < 200 || d.SigmaV > 400 || d.Z <= 0 || d.Z > 2 {
			t.Fatalf("deflector out of range: %+v", d)
		}
		for _, m := range append(d.Mags, src.Mags...) {
			if math.IsNaN(m) || m < 10 || m > 40 {
				t.Fatalf("implausible magnitude %g", m)
			}
		}
		if !(d.Re > 0) || !(src.Re > 0) || math.IsInf(src.Re, 0) {
			t.Fatalf("bad sizes: %g %g", d.Re, src.Re)
		}
	}
}

// TestDrawIntoMatchesDraw: DrawInto consumes the same random numbers and
// gives the same systems as Draw, whatever dst held before, and does not
// allocate once dst's slices have capacity.
func TestDrawIntoMatchesDraw(t *testing.T) {
	p := newPop(t)
	r1 := rand.New(rand.NewPCG(21, 22))
	r2 := rand.New(rand.NewPCG(21, 22))
	dst := System{ThetaE: 99, Gamma1: 1, Deflector: Deflector{Mags: make([]float64, 7), Z: 5}, Source: Source{Mags: []float64{1}, CatIndex: -3}}
	for i := 0; i < 3000; i++ {
		want := p.Draw(r1)
		p.DrawInto(r2, &dst)
		if !reflect.DeepEqual(want, dst) {
			t.Fatalf("draw %d: DrawInto gave %+v, Draw %+v", i, dst, want)
		}
	}
	if r1.Uint64() != r2.Uint64() {
		t.Fatal("DrawInto consumed a different number of random values")
	}
	if a := testing.AllocsPerRun(200, func() { p.DrawInto(r2, &dst) }); a != 0 {
		t.Errorf("DrawInto allocates %.1f times per call", a)
	}
}

// digestSystem feeds every field of s, bit for bit, to h.
func digestSystem(h hash.Hash64, s *System) {
	var b [8]byte
	put := func(v float64) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	d, src := &s.Deflector, &s.Source
	for _, v := range []float64{d.SigmaV, d.Z, d.MAbsR, d.ReKpc, d.Re, d.Q, d.Phi, d.X, d.Y,
		float64(src.CatIndex), src.Z, src.MAbsR, src.ReKpc, src.Re, src.Q, src.Phi, src.X, src.Y,
		s.ThetaE, s.Gamma1, s.Gamma2} {
		put(v)
	}
	for _, v := range d.Mags {
		put(v)
	}
	for _, v := range src.Mags {
		put(v)
	}
}

// TestDrawGolden pins the samplers' output bit for bit: digests of 20,000
// Draw and 200 DrawBruteForce systems from fixed seeds, and the generator's
// next number after them (the number of random values consumed). The
// digests were computed before the lazy draw (DrawLazy / Finish), the packed
// catalogue data and the guide table of invCDF were introduced, which must
// not change a single bit; a deliberate change of the population's
// arithmetic or random draws changes them, and they must then be updated
// (the simulator's output changes with them).
func TestDrawGolden(t *testing.T) {
	p := newPop(t)
	h := fnv.New64a()
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		s := p.Draw(r)
		digestSystem(h, &s)
	}
	hb := fnv.New64a()
	rb := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 200; i++ {
		s, _, err := p.DrawBruteForce(rb, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		digestSystem(hb, &s)
	}
	const wantDraw, wantBrute, wantNext = 0x4d5d2a17861c961d, 0x8167707968715649, 0xe9267139b8f772e9
	if got := h.Sum64(); got != wantDraw {
		t.Errorf("Draw digest %016x, want %016x", got, uint64(wantDraw))
	}
	if got := hb.Sum64(); got != wantBrute {
		t.Errorf("DrawBruteForce digest %016x, want %016x", got, uint64(wantBrute))
	}
	if got := r.Uint64(); got != wantNext {
		t.Errorf("next number after the draws %016x, want %016x", got, uint64(wantNext))
	}
}

// TestDrawLazyFinish: DrawLazy leaves exactly the documented fields unset,
// consumes the numbers DrawInto does, and Finish then gives DrawInto's
// system bit for bit, for many seeds, with and without a flux table
// (WithSourceFluxes), without allocating.
func TestDrawLazyFinish(t *testing.T) {
	base := newPop(t)
	withFlux := base.WithSourceFluxes(func(b int, m float64) float64 { return float64(b) - m })
	for _, p := range []*Population{base, withFlux} {
		for seed := uint64(0); seed < 20; seed++ {
			r1 := rand.New(rand.NewPCG(seed, 99))
			r2 := rand.New(rand.NewPCG(seed, 99))
			var lazy System
			for i := 0; i < 500; i++ {
				want := base.Draw(r1)
				def := p.DrawLazy(r2, &lazy)
				d, src := &lazy.Deflector, &lazy.Source
				if d.MAbsR != 0 || d.ReKpc != 0 || d.Re != 0 || len(d.Mags) != 0 || len(src.Mags) != 0 {
					t.Fatalf("seed %d draw %d: DrawLazy set deferred fields: %+v", seed, i, lazy)
				}
				// the fields DrawLazy sets are final
				part := want
				part.Deflector.MAbsR, part.Deflector.ReKpc, part.Deflector.Re = 0, 0, 0
				part.Deflector.Mags, part.Source.Mags = d.Mags, src.Mags
				if !reflect.DeepEqual(part, lazy) {
					t.Fatalf("seed %d draw %d: DrawLazy gave %+v, want %+v", seed, i, lazy, part)
				}
				p.Finish(&lazy, def)
				if !reflect.DeepEqual(want, lazy) {
					t.Fatalf("seed %d draw %d: DrawLazy + Finish gave %+v, Draw %+v", seed, i, lazy, want)
				}
			}
			if r1.Uint64() != r2.Uint64() {
				t.Fatalf("seed %d: DrawLazy consumed a different number of random values", seed)
			}
			if a := testing.AllocsPerRun(100, func() { p.Finish(&lazy, p.DrawLazy(r2, &lazy)) }); a != 0 {
				t.Errorf("DrawLazy + Finish allocate %.1f times per call", a)
			}
		}
	}
}

// TestWithSourceFluxes: the copy tabulates the given function of every
// catalogue magnitude, the original has no table, and both draw the same.
func TestWithSourceFluxes(t *testing.T) {
	p := newPop(t)
	f := func(b int, m float64) float64 { return math.Pow(10, -0.4*(m-25-float64(b))) }
	q := p.WithSourceFluxes(f)
	if p.SourceFluxes(0) != nil {
		t.Error("the original population has a flux table")
	}
	if p.NumSources() != q.NumSources() || p.NumSources() < 1000 {
		t.Fatalf("catalogue sizes %d, %d", p.NumSources(), q.NumSources())
	}
	for i := 0; i < q.NumSources(); i++ {
		fl := q.SourceFluxes(i)
		if len(fl) != len(q.Bands()) {
			t.Fatalf("source %d: %d fluxes", i, len(fl))
		}
		for b := range fl {
			if want := f(b, q.SourceMag(i, b)); fl[b] != want {
				t.Fatalf("source %d band %d: %v, want %v", i, b, fl[b], want)
			}
		}
	}
	r1, r2 := rand.New(rand.NewPCG(3, 3)), rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 1000; i++ {
		a, b := p.Draw(r1), q.Draw(r2)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("draw %d differs: %+v, %+v", i, a, b)
		}
		for k, m := range a.Source.Mags {
			if m != p.SourceMag(a.Source.CatIndex, k) {
				t.Fatalf("draw %d: magnitude %v, catalogue %v", i, m, p.SourceMag(a.Source.CatIndex, k))
			}
		}
	}
}

// TestInvCDFSearch: the guide-table search finds what a bisection of the
// whole CDF finds, for uniform numbers on the table's entries and cell edges
// (and a few units in the last place either side), at random, and outside
// [0, 1).
func TestInvCDFSearch(t *testing.T) {
	p := newPop(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, tab := range []*invCDF{p.sigmaPrior, p.sigmaWeighted, p.zPrior, p.zWeighted} {
		var us []float64
		for _, c := range tab.cdf {
			us = append(us, c)
		}
		for g := 0; g <= invGuideLen; g++ {
			us = append(us, float64(g)/invGuideLen)
		}
		for i := 0; i < 100000; i++ {
			us = append(us, r.Float64())
		}
		us = append(us, -1, 1, 2, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64)
		for _, u0 := range us {
			u := u0
			for k := 0; k < 4; k++ {
				u = math.Nextafter(u, math.Inf(-1))
			}
			for k := 0; k < 9; k++ {
				if got, want := tab.search(u), sort.SearchFloat64s(tab.cdf, u); got != want {
					t.Fatalf("u = %v: search %d, bisection %d", u, got, want)
				}
				u = math.Nextafter(u, math.Inf(1))
			}
		}
	}
}

// TestHydeBernardi checks the fundamental-plane relations at a familiar
// point: a 250 km/s elliptical has M_r ~ -23.3 and R_e ~ 4 kpc, brighter and
// larger for larger sigma.
func TestHydeBernardi(t *testing.T) {
	if m := HydeBernardiMr(250); math.Abs(m+23.3) > 0.2 {
		t.Errorf("M_r(250 km/s) = %.2f, want ~ -23.3", m)
	}
	if re := math.Pow(10, HydeBernardiLogRe(250)); re < 3 || re > 5 {
		t.Errorf("R_e(250 km/s) = %.2f kpc, want ~4", re)
	}
	if !(HydeBernardiMr(300) < HydeBernardiMr(200)) || !(HydeBernardiLogRe(300) > HydeBernardiLogRe(200)) {
		t.Error("relations not monotone in sigma")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := DefaultConfig()
	bad.SigmaMax = 600
	if _, err := New(bad, cosmology.Default(), []string{"g"}); err == nil {
		t.Error("SigmaMax beyond the Hyde & Bernardi range accepted")
	}
	if _, err := New(DefaultConfig(), cosmology.Default(), []string{"u"}); err == nil {
		t.Error("band without source magnitudes accepted")
	}
	small := DefaultConfig()
	small.BruteForceBox = 2
	if _, err := New(small, cosmology.Default(), []string{"g"}); err == nil {
		t.Error("brute-force box smaller than the largest Einstein radius accepted")
	}
}

func BenchmarkDraw(b *testing.B) {
	p := newPop(b)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		p.Draw(r)
	}
}
