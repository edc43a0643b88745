package photometry

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// sharedData is the reference data directory relative to this package
// (module root/../shared/data); tests that need it skip when it is absent.
const sharedData = "../../../shared/data"

func needShared(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedData, "filters")); err != nil {
		t.Skipf("shared reference data not available at %s", sharedData)
	}
	return sharedData
}

// trapezoidBand is a synthetic bandpass on a 5 Angstrom grid: zero below lo,
// rising linearly over ramp, flat at peak, falling over ramp to zero at hi.
func trapezoidBand(name string, lo, hi, ramp, peak float64) Bandpass {
	bp := Bandpass{Name: name}
	for w := lo - 50; w <= hi+50+1e-9; w += 5 {
		var t float64
		switch {
		case w <= lo || w >= hi:
			t = 0
		case w < lo+ramp:
			t = peak * (w - lo) / ramp
		case w > hi-ramp:
			t = peak * (hi - w) / ramp
		default:
			t = peak
		}
		bp.Wavelength = append(bp.Wavelength, w)
		bp.Response = append(bp.Response, t)
	}
	return bp
}

// syntheticDECam imitates the DECam g r i z passbands.
func syntheticDECam() []Bandpass {
	return []Bandpass{
		trapezoidBand("g", 3900, 5600, 150, 0.5),
		trapezoidBand("r", 5600, 7200, 150, 0.6),
		trapezoidBand("i", 6900, 8600, 150, 0.6),
		trapezoidBand("z", 8300, 10100, 200, 0.5),
	}
}

// flatFNu returns a SED with constant f_nu = fnu (erg/s/cm^2/Hz), i.e.
// f_lambda = fnu c / lambda^2, tabulated every step Angstrom on [lo, hi].
func flatFNu(fnu, lo, hi, step float64) SED {
	s := SED{Name: "flat-fnu"}
	n := int(math.Round((hi - lo) / step))
	for k := 0; k <= n; k++ {
		w := lo + float64(k)*step
		s.Wavelength = append(s.Wavelength, w)
		s.FLambda = append(s.FLambda, fnu*SpeedOfLightAngstrom/(w*w))
	}
	return s
}

func readDECam(t testing.TB, dir string) map[string]Bandpass {
	t.Helper()
	out := map[string]Bandpass{}
	for _, b := range []string{"g", "r", "i", "z"} {
		bp, err := ReadBandpassECSV(filepath.Join(dir, "filters", "decamDR1-"+b+".ecsv"))
		if err != nil {
			t.Fatal(err)
		}
		if bp.Name != b {
			t.Fatalf("band_name %q, want %q", bp.Name, b)
		}
		out[b] = bp
	}
	return out
}

func TestABMagConversions(t *testing.T) {
	if m := ABMagFromFNu(ABZeroFNu); m != 0 {
		t.Errorf("ABMagFromFNu(3631 Jy) = %v, want 0", m)
	}
	// 3631 Jy is 48.60 AB magnitudes brighter than 1 erg/s/cm^2/Hz (Oke & Gunn 1983).
	if m := ABMagFromFNu(1); math.Abs(m+48.600) > 1e-3 {
		t.Errorf("ABMagFromFNu(1 cgs) = %v, want -48.600", m)
	}
	for _, m := range []float64{-5, 0, 12.3, 27} {
		if got := ABMagFromFNu(FNuFromABMag(m)); math.Abs(got-m) > 1e-12 {
			t.Errorf("round trip of %v gave %v", m, got)
		}
	}
}

// A flat f_nu spectrum of 3631 Jy has AB magnitude 0 in every band.
func TestFlatFNu3631JyIsZero(t *testing.T) {
	s := flatFNu(ABZeroFNu, 3000, 11000, 2)
	for _, bp := range syntheticDECam() {
		m, err := SyntheticABMagnitude(s, bp)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m) > 1e-4 {
			t.Errorf("band %s: m = %.6f, want 0", bp.Name, m)
		}
	}
	// A flat spectrum 10x brighter is 2.5 mag brighter.
	s10 := flatFNu(10*ABZeroFNu, 3000, 11000, 2)
	if m := ABMagnitude(s10, syntheticDECam()[1]); math.Abs(m+2.5) > 1e-4 {
		t.Errorf("10x 3631 Jy: m = %v, want -2.5", m)
	}
}

// The k-correction of a flat f_nu spectrum is the bandwidth term alone:
// m(z) - m(0) = -2.5 log10(1+z) (Hogg et al. 2002, eq. 13 with constant f_nu).
func TestFlatFNuBandwidthTerm(t *testing.T) {
	s := flatFNu(1e-29, 500, 12000, 1)
	for _, bp := range syntheticDECam() {
		m0 := ABMagnitude(s, bp)
		for _, z := range []float64{0.05, 0.3, 1, 2, 3} {
			mz, err := SyntheticABMagnitude(s.Redshift(z), bp)
			if err != nil {
				t.Fatal(err)
			}
			want := -2.5 * math.Log10(1+z)
			if d := mz - m0 - want; math.Abs(d) > 1e-4 {
				t.Errorf("band %s z=%v: m(z)-m(0) = %.6f, want %.6f", bp.Name, z, mz-m0, want)
			}
			// So the deflector colour of a flat-f_nu spectrum is c = m_r(0) - m_band(0) + 2.5 log10(1+z).
			c := DeflectorColour(s, bp, syntheticDECam()[1], z)
			wantC := ABMagnitude(s, syntheticDECam()[1]) - m0 + 2.5*math.Log10(1+z)
			if math.Abs(c-wantC) > 1e-4 {
				t.Errorf("band %s z=%v: colour %.6f, want %.6f", bp.Name, z, c, wantC)
			}
		}
	}
}

// A linear f_lambda through a ramp response on grids that do not line up is
// integrated exactly (the integrand is a cubic on every union interval).
func TestBandIntegralExactForPiecewiseLinear(t *testing.T) {
	a, b := 5000.0, 6000.0
	bp := Bandpass{Name: "ramp", Wavelength: []float64{a, b, b + 1}, Response: []float64{0, 1, 0}}
	alpha, beta := 3.0, 2e-3
	s := SED{Name: "linear"}
	for w := 4321.7; w < 7000; w += 37.3 {
		s.Wavelength = append(s.Wavelength, w)
		s.FLambda = append(s.FLambda, alpha+beta*w)
	}
	// Exact integrals over [a, b] with T = (w-a)/(b-a), plus the tiny
	// falling ramp on [b, b+1] with T = b+1-w.
	poly := func(w0, w1 float64, c []float64) float64 { // int sum c_k w^k
		s := 0.0
		for k, ck := range c {
			p := float64(k + 1)
			s += ck * (math.Pow(w1, p) - math.Pow(w0, p)) / p
		}
		return s
	}
	h := b - a
	// f T w on [a,b]: (alpha + beta w)(w - a) w / h
	num := poly(a, b, []float64{0, -alpha * a / h, (alpha - beta*a) / h, beta / h})
	// on [b,b+1]: (alpha + beta w)(b+1-w) w
	num += poly(b, b+1, []float64{0, alpha * (b + 1), beta*(b+1) - alpha, -beta})
	den := (h-a*math.Log(b/a))/h + ((b+1)*math.Log((b+1)/b) - 1)
	want := num / (SpeedOfLightAngstrom * den)
	got, err := BandFluxDensity(s, bp)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got/want-1) > 1e-10 { // the reference itself loses ~1e-12 to cancellation
		t.Errorf("band flux density %.15g, want %.15g (rel err %.2e)", got, want, got/want-1)
	}
}

func TestPivotWavelength(t *testing.T) {
	bp := trapezoidBand("sym", 6000, 7000, 100, 1)
	// lambda_p^2 = int T w / int T/w: for a band symmetric about 6500 the
	// pivot lies a little below the centre (a top-hat on [6000, 7000] has
	// sqrt(6.5e6 / ln(7/6)) = 6493.6).
	p := bp.PivotWavelength()
	if p < 6493 || p > 6497 {
		t.Errorf("pivot %v, want just below 6500 (~6494)", p)
	}
}

func TestABMagnitudeErrors(t *testing.T) {
	bp := syntheticDECam()[0]
	short := flatFNu(ABZeroFNu, 4500, 11000, 5) // misses the blue half of g
	if _, err := SyntheticABMagnitude(short, bp); err == nil {
		t.Error("SED not covering the band: no error")
	}
	if m := ABMagnitude(short, bp); !math.IsNaN(m) {
		t.Errorf("ABMagnitude of uncovered band = %v, want NaN", m)
	}
	s := flatFNu(ABZeroFNu, 3000, 11000, 5)
	if _, err := SyntheticABMagnitude(s.Redshift(-1), bp); err == nil {
		t.Error("z = -1: no error")
	}
	if _, err := DeflectorColourChecked(s, bp, bp, math.NaN()); err == nil {
		t.Error("z = NaN: no error")
	}
	zero := Bandpass{Name: "dead", Wavelength: []float64{4000, 5000}, Response: []float64{0, 0}}
	if _, err := SyntheticABMagnitude(s, zero); err == nil {
		t.Error("all-zero bandpass: no error")
	}
	dark := SED{Name: "dark", Wavelength: []float64{1000, 20000}, FLambda: []float64{0, 0}}
	if m, err := SyntheticABMagnitude(dark, bp); err != nil || !math.IsInf(m, 1) {
		t.Errorf("zero-flux SED: m = %v, err = %v; want +Inf, nil", m, err)
	}
}

func TestRedshiftDoesNotModify(t *testing.T) {
	s := flatFNu(1, 1000, 2000, 100)
	w0, f0 := s.Wavelength[3], s.FLambda[3]
	r := s.Redshift(1.5)
	if s.Wavelength[3] != w0 || s.FLambda[3] != f0 {
		t.Fatal("Redshift modified its receiver")
	}
	if r.Wavelength[3] != w0*2.5 || math.Abs(r.FLambda[3]-f0/2.5) > 1e-15*f0 {
		t.Errorf("redshifted node (%v, %v), want (%v, %v)", r.Wavelength[3], r.FLambda[3], w0*2.5, f0/2.5)
	}
}

// The Bruzual & Charlot old population through the DECam DR1 bandpasses gives
// the familiar reddening of early types with redshift (PHYSICS.md 4).
func TestBCTemplateColours(t *testing.T) {
	dir := needShared(t)
	s, err := ReadSED(filepath.Join(dir, "seds", "BC_Z=1.0_age=10.00gyr.sed"))
	if err != nil {
		t.Fatal(err)
	}
	bands := readDECam(t, dir)
	for _, c := range []struct{ z, gr, ri float64 }{{0, 0.83, 0.33}, {0.3, 1.74, 0.59}, {0.5, 2.06, 0.87}} {
		m := map[string]float64{}
		for b, bp := range bands {
			v, err := SyntheticABMagnitude(s.Redshift(c.z), bp)
			if err != nil {
				t.Fatal(err)
			}
			m[b] = v
		}
		gr, ri := m["g"]-m["r"], m["r"]-m["i"]
		t.Logf("z=%.1f g-r=%.4f r-i=%.4f", c.z, gr, ri)
		if math.Abs(gr-c.gr) > 0.05 || math.Abs(ri-c.ri) > 0.05 {
			t.Errorf("z=%v: g-r=%.3f r-i=%.3f, want ~%.2f ~%.2f", c.z, gr, ri, c.gr, c.ri)
		}
	}
}

// The flat-f_nu checks through the real DECam DR1 bandpasses.
func TestFlatFNuRealDECam(t *testing.T) {
	dir := needShared(t)
	bands := readDECam(t, dir)
	s := flatFNu(ABZeroFNu, 500, 12000, 1)
	for b, bp := range bands {
		m0 := ABMagnitude(s, bp)
		if math.Abs(m0) > 1e-4 {
			t.Errorf("band %s: 3631 Jy gives m = %.6f, want 0", b, m0)
		}
		for _, z := range []float64{0.5, 2} {
			d := ABMagnitude(s.Redshift(z), bp) - m0
			if want := -2.5 * math.Log10(1+z); math.Abs(d-want) > 1e-4 {
				t.Errorf("band %s z=%v: m(z)-m(0) = %.6f, want %.6f", b, z, d, want)
			}
		}
	}
	// Pivot wavelengths of the DECam DR1 g r i z passbands (~4810, 6420, 7810, 9170 Angstrom).
	for b, want := range map[string]float64{"g": 4810, "r": 6420, "i": 7815, "z": 9170} {
		if p := bands[b].PivotWavelength(); math.Abs(p-want) > 30 {
			t.Errorf("band %s pivot %.1f, want ~%v", b, p, want)
		}
	}
}

func BenchmarkABMagnitudeBC(b *testing.B) {
	dir := needShared(b)
	s, err := ReadSED(filepath.Join(dir, "seds", "BC_Z=1.0_age=10.00gyr.sed"))
	if err != nil {
		b.Fatal(err)
	}
	bp := readDECam(b, dir)["r"]
	b.ReportAllocs()
	for b.Loop() {
		ABMagnitude(s, bp)
	}
}
