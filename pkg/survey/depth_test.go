package survey_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// dr1 holds DELVE DR1's median 5-sigma point-source depths (Drlica-Wagner et
// al. 2021, ApJS 256, 2).
var dr1 = map[string]float64{"g": 24.3, "r": 23.9, "i": 23.3, "z": 22.8}

// TestDelveDepthMatchesDR1 checks the analytic 5-sigma depth of the default
// preset at median conditions against DELVE DR1 (within 0.5 mag) and against
// PHYSICS.md's independent sanity check for one exposure (within 0.1 mag).
func TestDelveDepthMatchesDR1(t *testing.T) {
	p := mustLoad(t, "delve")
	physics := map[string]float64{"g": 24.2, "r": 23.8, "i": 23.4, "z": 22.8}
	rows := survey.DepthTable(p, 5, 4000, 1)
	for i, c := range p.MedianConditions() {
		b := &p.Bands[i]
		d := survey.PointSourceDepth(p, b, c, 5)
		t.Logf("delve %s: seeing %.3f\" sky %.3f exp %.1f s x %d: 5-sigma depth %.3f (DR1 %.1f); over draws median %.2f, 16-84%% %.2f-%.2f",
			b.Name, c.Seeing, c.SkyMag, c.ExpTime, c.NExp, d, dr1[b.Name], rows[i].DepthMedian, rows[i].Depth16, rows[i].Depth84)
		if math.Abs(d-dr1[b.Name]) > 0.5 {
			t.Errorf("%s: depth %.2f, DR1 %.1f", b.Name, d, dr1[b.Name])
		}
		if math.Abs(rows[i].DepthMedian-dr1[b.Name]) > 0.5 {
			t.Errorf("%s: median depth over draws %.2f, DR1 %.1f", b.Name, rows[i].DepthMedian, dr1[b.Name])
		}
		if c.NExp == 1 && math.Abs(d-physics[b.Name]) > 0.1 {
			t.Errorf("%s: one-exposure depth %.2f, PHYSICS.md says %.1f", b.Name, d, physics[b.Name])
		}
		if rows[i].DepthAtMedian != d {
			t.Errorf("%s: DepthTable disagrees with PointSourceDepth", b.Name)
		}
	}
}

// TestDepthScalings checks the depth against limits it must obey.
func TestDepthScalings(t *testing.T) {
	p := mustLoad(t, "delve")
	b := &p.Bands[2]
	c := survey.Conditions{Seeing: 1.1, SkyMag: 19.7, ExpTime: 90, NExp: 1}
	d1 := survey.PointSourceDepth(p, b, c, 5)
	// 4x the time: 2.5 log10(2) deeper when background-limited (F ~ T^-1/2),
	// a little more because the source's own Poisson noise matters less at the
	// fainter limit (source-limited: F ~ 1/T)
	c4 := c
	c4.NExp = 4
	d4 := survey.PointSourceDepth(p, b, c4, 5)
	if dd := d4 - d1; dd < 2.5*math.Log10(2) || dd > 2.5*math.Log10(2)+0.02 {
		t.Errorf("4 exposures gain %.4f mag, want just over %.4f", dd, 2.5*math.Log10(2))
	}
	// 10 sigma is 2.5 log10(2) brighter than 5 sigma in the background limit, a little more with source noise
	if dd := d1 - survey.PointSourceDepth(p, b, c, 10); dd < 2.5*math.Log10(2) || dd > 2.5*math.Log10(2)+0.05 {
		t.Errorf("5 vs 10 sigma: %.4f mag", dd)
	}
	// without read noise the physical model depends on ExpTime*NExp only
	p0 := *p
	p0.Bands = append([]survey.Band(nil), p.Bands...)
	p0.Bands[2].ReadNoise = 0
	ca, cb2 := c, c
	ca.ExpTime, ca.NExp = 360, 1
	cb2.ExpTime, cb2.NExp = 90, 4
	if a, bb := survey.PointSourceDepth(&p0, &p0.Bands[2], ca, 5), survey.PointSourceDepth(&p0, &p0.Bands[2], cb2, 5); math.Abs(a-bb) > 1e-9 {
		t.Errorf("1 x 360 s vs 4 x 90 s without read noise: %.6f vs %.6f", a, bb)
	}
	// worse seeing and brighter sky are shallower
	cs := c
	cs.Seeing = 1.6
	cb := c
	cb.SkyMag = 19.0
	if survey.PointSourceDepth(p, b, cs, 5) >= d1 || survey.PointSourceDepth(p, b, cb, 5) >= d1 {
		t.Error("worse conditions did not reduce the depth")
	}
	// analytic background limit for a Gaussian PSF much wider than a pixel:
	// sum f_i^2 -> 1/(4 pi sigma^2), F = 5 sqrt(bkg 4 pi sigma^2)
	cw := survey.Conditions{Seeing: 3.0, SkyMag: 18, ExpTime: 90, NExp: 1}
	_, bkg := p.PixelVariance(b, cw)
	sigma := 3.0 / 0.263 / 2.3548200450309493
	want := b.Magnitude(5 * math.Sqrt(bkg*4*math.Pi*(sigma*sigma+1.0/12)))
	if got := survey.PointSourceDepth(p, b, cw, 5); math.Abs(got-want) > 0.01 {
		t.Errorf("background-limited wide PSF: depth %.4f, analytic %.4f", got, want)
	}
	// presets: des (10 x 90 s) is deeper than delve; delve-seed much deeper still
	des := mustLoad(t, "des")
	seed := mustLoad(t, "delve-seed")
	dd := survey.DepthTable(des, 5, 0, 1)
	ds := survey.DepthTable(seed, 5, 2000, 1)
	dv := survey.DepthTable(p, 5, 2000, 1)
	for i := range dv {
		t.Logf("%s: delve %.2f, des %.2f, delve-seed %.2f (median over draws)", dv[i].Band, dv[i].DepthMedian, dd[i].DepthAtMedian, ds[i].DepthMedian)
		if !(dd[i].DepthAtMedian > dv[i].DepthMedian && ds[i].DepthMedian > dv[i].DepthMedian+3) {
			t.Errorf("%s: depth ordering delve %.2f < des %.2f, delve-seed %.2f > delve + 3", dv[i].Band,
				dv[i].DepthMedian, dd[i].DepthAtMedian, ds[i].DepthMedian)
		}
	}
}

// TestDepthInjection injects point sources at the analytic 5-sigma depth into
// noise drawn by the preset's noise model and measures the signal-to-noise of
// the optimal PSF-weighted flux estimate over many realisations.
func TestDepthInjection(t *testing.T) {
	const draws = 3000
	for _, tc := range []struct {
		preset string
		band   int
	}{{"delve", 0}, {"delve", 3}, {"delve-seed", 1}, {"des", 2}} {
		p := mustLoad(t, tc.preset)
		b := &p.Bands[tc.band]
		c := p.MedianConditions()[tc.band]
		mag := survey.PointSourceDepth(p, b, c, 5)
		F := b.FluxRate(mag)
		fr, _ := p.PSFPixelFractions(c.Seeing, nil)
		model := make([]float64, len(fr))
		for i, q := range fr {
			model[i] = F * q
		}
		r := rand.New(rand.NewPCG(uint64(41+tc.band), 42))
		img, v := make([]float32, len(fr)), make([]float32, len(fr))
		sum, sum2 := 0.0, 0.0
		for range draws {
			p.AddNoise(r, b, model, c, img, v)
			num, den := 0.0, 0.0
			for i, q := range fr {
				w := q / float64(v[i])
				num += w * float64(img[i])
				den += w * q
			}
			est := num / den
			sum += est
			sum2 += est * est
		}
		mean := sum / draws
		sd := math.Sqrt(sum2/draws - mean*mean)
		snr := mean / sd
		t.Logf("%s %s: injected m = %.3f (F = %.4g e-/s) -> mean estimate %.4g, SNR %.3f over %d realisations",
			tc.preset, b.Name, mag, F, mean, snr, draws)
		// sampling error of the SNR: ~ 5 sqrt(1/n + 1/(2n)) ~ 0.11
		if math.Abs(snr-5) > 0.35 {
			t.Errorf("%s %s: SNR %.3f at the 5-sigma depth", tc.preset, b.Name, snr)
		}
		if math.Abs(mean/F-1) > 4*0.2/math.Sqrt(draws) {
			t.Errorf("%s %s: flux estimate biased: %.4g vs %.4g", tc.preset, b.Name, mean, F)
		}
	}
}

func TestPSFPixelFractions(t *testing.T) {
	p := mustLoad(t, "delve")
	for _, see := range []float64{0.7, 1.2, 2.0} {
		fr, s := p.PSFPixelFractions(see, nil)
		sum := 0.0
		for _, q := range fr {
			sum += q
		}
		if math.Abs(sum-1) > 1e-13 || s%2 != 1 || len(fr) != s*s {
			t.Errorf("seeing %g: fractions sum %.15f, size %d", see, sum, s)
		}
		// the central pixel holds erf(0.5/(sqrt2 sigma))^2 of the flux
		sigma := see / 0.263 / 2.3548200450309493
		c := math.Erf(0.5 / (math.Sqrt2 * sigma))
		if got := fr[(s/2)*s+s/2]; math.Abs(got-c*c) > 1e-14 {
			t.Errorf("seeing %g: central fraction %g, want %g", see, got, c*c)
		}
	}
}

func TestWriteDepthTable(t *testing.T) {
	for _, name := range survey.PresetNames() {
		p := mustLoad(t, name)
		var buf bytes.Buffer
		if err := survey.WriteDepthTable(&buf, p); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		t.Logf("\n%s", out)
		if !strings.Contains(out, "preset "+name) || strings.Count(out, "\n") != 2+len(p.Bands) || strings.Contains(out, "NaN") {
			t.Errorf("depth table for %s:\n%s", name, out)
		}
	}
}

func BenchmarkPointSourceDepth(b *testing.B) {
	p := mustLoad(b, "delve")
	c := p.MedianConditions()[0]
	for b.Loop() {
		survey.PointSourceDepth(p, &p.Bands[0], c, 5)
	}
}
