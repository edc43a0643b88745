package survey_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// TestPoisson checks the exact Poisson sampler's distribution against the
// probability mass function (chi-square) on both branches (inversion below
// 10, PTRS above), and its mean and variance.
func TestPoisson(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 200000
	for _, lam := range []float64{0.3, 3, 9.5, 10, 31, 99} {
		kmax := int(lam + 8*math.Sqrt(lam) + 10)
		counts := make([]int, kmax+1)
		sum, sum2 := 0.0, 0.0
		for range n {
			k := survey.Poisson(r, lam)
			if k != math.Trunc(k) || k < 0 {
				t.Fatalf("lambda %g: non-integer draw %g", lam, k)
			}
			sum += k
			sum2 += k * k
			counts[min(int(k), kmax)]++
		}
		mean := sum / n
		v := sum2/n - mean*mean
		if math.Abs(mean-lam) > 5*math.Sqrt(lam/n) {
			t.Errorf("lambda %g: mean %g", lam, mean)
		}
		// var of the sample variance ~ (mu4 - sigma^4)/n = (lam + 2 lam^2)/n
		if math.Abs(v-lam) > 5*math.Sqrt((lam+2*lam*lam)/n) {
			t.Errorf("lambda %g: variance %g", lam, v)
		}
		// chi-square against the pmf, pooling the tail into the last bin
		pois := distuv.Poisson{Lambda: lam}
		probs := make([]float64, kmax+1)
		for k := range kmax {
			probs[k] = pois.Prob(float64(k))
		}
		probs[kmax] = 1 - pois.CDF(float64(kmax-1))
		// pool bins with tiny expectation
		var pc []int
		var pp []float64
		accC, accP := 0, 0.0
		for k := range probs {
			accC += counts[k]
			accP += probs[k]
			if accP*n >= 20 {
				pc, pp = append(pc, accC), append(pp, accP)
				accC, accP = 0, 0
			}
		}
		if len(pp) > 0 {
			pc[len(pc)-1] += accC
			pp[len(pp)-1] += accP
		}
		chi2, dof, pv := chiSquareP(pc, pp, n)
		if pv < 1e-3 {
			t.Errorf("lambda %g: chi2 %.1f for %d dof, p = %.2g", lam, chi2, dof, pv)
		} else {
			t.Logf("lambda %g: mean %.4f var %.4f, chi2 %.1f for %d dof, p = %.2f", lam, mean, v, chi2, dof, pv)
		}
	}
	if survey.Poisson(r, 0) != 0 || survey.Poisson(r, -1) != 0 || survey.Poisson(r, math.NaN()) != 0 {
		t.Error("Poisson of a non-positive mean should be 0")
	}
}

// noiseStats runs draws realisations of noise on model and returns, per
// pixel, the mean and variance of the image, and the mean variance map.
func noiseStats(draws int, model []float64, f func(img, v []float32)) (mean, vari, vmap []float64) {
	n := len(model)
	mean, vari, vmap = make([]float64, n), make([]float64, n), make([]float64, n)
	img, v := make([]float32, n), make([]float32, n)
	for range draws {
		f(img, v)
		for i := range n {
			x := float64(img[i])
			mean[i] += x
			vari[i] += x * x
			vmap[i] += float64(v[i])
		}
	}
	for i := range n {
		mean[i] /= float64(draws)
		vari[i] = vari[i]/float64(draws) - mean[i]*mean[i]
		vmap[i] /= float64(draws)
	}
	return
}

func TestAddNoiseMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const draws = 20000
	for _, tc := range []struct {
		name    string
		sky     float64 // e-/s/pixel
		c       survey.Conditions
		rn      float64
		signals []float64 // e-/s
	}{
		// DECam-like: sky ~5 e-/s, 90 s: all pixels on the normal branch
		{"normal branch", 5.1, survey.Conditions{ExpTime: 90, NExp: 1}, 7, []float64{0, 0.5, 3, 20, 200}},
		// faint sky, short exposures, several co-adds: the exact Poisson branch
		{"Poisson branch", 0.05, survey.Conditions{ExpTime: 2, NExp: 3}, 0.5, []float64{0, 0.3, 1, 4, 15}},
		// negative model pixels (ringing) are clipped at zero expected electrons
		{"negative model", 0.1, survey.Conditions{ExpTime: 10, NExp: 1}, 2, []float64{-1, -0.1, 0}},
	} {
		model := tc.signals
		mean, vari, vmap := noiseStats(draws, model, func(img, v []float32) {
			survey.AddNoise(r, model, tc.sky, tc.c, tc.rn, img, v)
		})
		T := tc.c.ExpTime * float64(tc.c.NExp)
		chi := 0.0
		for i, s := range model {
			lambda := max((s+tc.sky)*T, 0)
			wantVar := (lambda + tc.rn*tc.rn*float64(tc.c.NExp)) / (T * T)
			wantMean := lambda/T - tc.sky
			if math.Abs(vmap[i]-wantVar) > 1e-6*wantVar {
				t.Errorf("%s S=%g: variance map %g, want %g", tc.name, s, vmap[i], wantVar)
			}
			if math.Abs(mean[i]-wantMean) > 5*math.Sqrt(wantVar/draws) {
				t.Errorf("%s S=%g: mean %g, want %g (+- %g)", tc.name, s, mean[i], wantMean, math.Sqrt(wantVar/draws))
			}
			// sample variance within 5 sigma of its sampling error (~sqrt(2/n), Gaussian-like)
			if math.Abs(vari[i]/wantVar-1) > 5*math.Sqrt(2.0/draws)+0.01 {
				t.Errorf("%s S=%g: variance %g, variance map %g (ratio %.4f)", tc.name, s, vari[i], wantVar, vari[i]/wantVar)
			}
			chi += vari[i] / vmap[i]
		}
		chi /= float64(len(model))
		t.Logf("%s: mean chi^2 per pixel (sample variance / variance map) = %.4f", tc.name, chi)
		if math.Abs(chi-1) > 0.03 {
			t.Errorf("%s: chi^2 per pixel %.4f, want 1", tc.name, chi)
		}
	}
}

// TestAddNoiseDeeplenstronomy checks the deeplenstronomy model's moments and
// its variance formula against lenstronomy's functions written out by hand.
func TestAddNoiseDeeplenstronomy(t *testing.T) {
	seed := mustLoad(t, "delve-seed")
	b := &seed.Bands[0]
	c := survey.Conditions{Band: "g", Seeing: 1.3, SkyMag: 21.915, ExpTime: 88.667, NExp: 1}
	model := []float64{0, 5, 60, 3000}
	// add_poisson: sigma = sqrt(|S| / t); bkg_noise: sqrt(n rn^2 + n t sky pix^2)/(n t), sky = 21.915 (the magnitude)
	bkgSigma := math.Sqrt(49+88.667*21.915*0.263*0.263) / 88.667
	r := rand.New(rand.NewPCG(31, 32))
	mean, vari, vmap := noiseStats(20000, model, func(img, v []float32) {
		seed.AddNoise(r, b, model, c, img, v)
	})
	for i, s := range model {
		want := s/88.667 + bkgSigma*bkgSigma
		if math.Abs(vmap[i]-want) > 1e-6*want {
			t.Errorf("S=%g: variance map %g, want %g", s, vmap[i], want)
		}
		if math.Abs(mean[i]-s) > 5*math.Sqrt(want/20000) {
			t.Errorf("S=%g: mean %g (no sky level is added)", s, mean[i])
		}
		if math.Abs(vari[i]/want-1) > 0.05 {
			t.Errorf("S=%g: variance %g, want %g", s, vari[i], want)
		}
	}
	t.Logf("deeplenstronomy delve g background sigma %.4f counts/s (physical model, same conditions: %.4f e-/s)",
		bkgSigma, math.Sqrt((5.1*88.667+49))/88.667)
}

func TestAddNoiseDeterministicAndAllocFree(t *testing.T) {
	model := make([]float64, 48*48)
	for i := range model {
		model[i] = float64(i%7) * 0.3
	}
	a, b := make([]float32, len(model)), make([]float32, len(model))
	v := make([]float32, len(model))
	c := survey.Conditions{ExpTime: 90, NExp: 1}
	survey.AddNoise(rand.New(rand.NewPCG(1, 2)), model, 5, c, 7, a, v)
	survey.AddNoise(rand.New(rand.NewPCG(1, 2)), model, 5, c, 7, b, nil)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different noise")
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	if n := testing.AllocsPerRun(10, func() { survey.AddNoise(r, model, 5, c, 7, a, v) }); n != 0 {
		t.Errorf("AddNoise allocates %v times", n)
	}
}

func BenchmarkAddNoise48(b *testing.B) {
	const n = 48 * 48
	model := make([]float64, n)
	for i := range model {
		model[i] = 0.01 * float64(i%100)
	}
	img, v := make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 1))
	c := survey.Conditions{ExpTime: 90, NExp: 1}
	for b.Loop() {
		survey.AddNoise(r, model, 5.1, c, 7, img, v)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pixel")
}

func BenchmarkAddNoise48PoissonBranch(b *testing.B) {
	const n = 48 * 48
	model := make([]float64, n)
	for i := range model {
		model[i] = 0.01 * float64(i%100)
	}
	img, v := make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 1))
	c := survey.Conditions{ExpTime: 10, NExp: 1} // lambda 0..60: exact Poisson
	for b.Loop() {
		survey.AddNoise(r, model, 5.1, c, 7, img, v)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pixel")
}
