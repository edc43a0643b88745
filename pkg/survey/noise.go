package survey

import (
	"math"
	"math/rand/v2"
)

// PoissonNormalThreshold is the expected count above which AddNoise draws
// Poisson electrons from the normal approximation N(lambda, lambda) instead of
// exactly. At lambda = 100 the Poisson distribution's skewness is 0.1 and its
// mean and variance equal the normal's; DECam sky pixels hold several hundred
// electrons per exposure, so the exact branches serve faint skies and short
// exposures.
const PoissonNormalThreshold = 100

// Poisson draws a Poisson-distributed count with mean lambda (>= 0): by
// inversion (multiplying uniforms) below 10, by Hormann's transformed
// rejection PTRS (W. Hormann 1993, "The transformed rejection method for
// generating Poisson random variables", Insurance: Mathematics and Economics
// 12, 39) from 10 up. Both are exact. A non-positive or NaN lambda gives 0.
func Poisson(r *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	if lambda < 10 {
		// inversion by sequential multiplication (Knuth)
		limit := math.Exp(-lambda)
		k := 0.0
		prod := r.Float64()
		for prod > limit {
			k++
			prod *= r.Float64()
		}
		return k
	}
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// AddNoise draws a noisy, sky-subtracted image under the physical noise model
// (PHYSICS.md section 5). model holds the expected source + lens signal per
// pixel in e-/s (already PSF-convolved), skyRate the sky in e-/s per pixel
// (Preset.SkyRatePerPixel), c the exposure (ExpTime per exposure, NExp
// exposures) and readNoise the read noise in e- per exposure. With
// T = ExpTime*NExp and lambda = max(S + B, 0) T expected electrons in a pixel:
//
//	counts  ~ Poisson(lambda) + N(0, readNoise^2 NExp)
//	img      = (counts - B T) / T                      (e-/s, sky-subtracted)
//	variance = (lambda + readNoise^2 NExp) / T^2        (expected, (e-/s)^2)
//
// Poisson(lambda) is exact below PoissonNormalThreshold expected electrons
// and N(lambda, lambda) above. The variance is the model's (not estimated
// from the noisy pixel), the inverse of the weight map a pipeline ships.
// It processes len(model) pixels (fewer if img is shorter); variance may be
// nil. It does not allocate.
func AddNoise(r *rand.Rand, model []float64, skyRate float64, c Conditions, readNoise float64, img, variance []float32) {
	n := min(len(model), len(img))
	withVar := len(variance) >= n
	nexp := float64(c.NExp)
	T := c.ExpTime * nexp
	if !(T > 0) {
		return
	}
	invT := 1 / T
	rn2 := readNoise * readNoise * nexp
	rn := math.Sqrt(rn2)
	skyCounts := skyRate * T
	for i := 0; i < n; i++ {
		lambda := (model[i] + skyRate) * T
		if !(lambda > 0) {
			lambda = 0
		}
		var counts float64
		if lambda >= PoissonNormalThreshold {
			counts = lambda + math.Sqrt(lambda)*r.NormFloat64()
		} else {
			counts = Poisson(r, lambda)
		}
		counts += rn * r.NormFloat64()
		img[i] = float32((counts - skyCounts) * invT)
		if withVar {
			variance[i] = float32((lambda + rn2) * invT * invT)
		}
	}
}

// AddNoiseDeeplenstronomy reproduces the noise of deeplenstronomy's images.
// What deeplenstronomy does (deepskies/deeplenstronomy,
// deeplenstronomy/image_generator.py, ImageGenerator.sim_image, read at commit
// 5d790d5; issue #139 reports the same code path for the PyPI release
// 0.0.2.3; the "delve" distributions, sky brightness in magnitudes, are in
// deeplenstronomy/distributions.py):
//
//	image_sim = ImageModel.image(...)                       # e-/s, noise-free, PSF-convolved
//	poisson   = image_util.add_poisson(image_sim, exp_time=exposure_time)
//	sigma_bkg = data_util.bkg_noise(read_noise, exposure_time, sky_brightness,
//	                                pixel_scale, num_exposures)
//	bkg       = image_util.add_background(image_sim, sigma_bkd=sigma_bkg)
//	image     = image_sim + bkg + poisson
//
// and lenstronomy (lenstronomy/Util/image_util.py, data_util.py) defines
// add_poisson as Gaussian noise of sigma sqrt(|image| / exp_time), bkg_noise as
// sqrt(num_exposures read_noise^2 + exposure_time num_exposures sky_brightness
// pixel_scale^2) / (exposure_time num_exposures), and add_background as
// Gaussian noise of that sigma. The sky_brightness handed to bkg_noise is the
// preset's magnitude (e.g. 21.9), which bkg_noise takes as counts/s/arcsec^2
// (deeplenstronomy issue #139); no sky level is added to the image, the gain
// is never used (issue #131: lenstronomy's default data_count_unit is e-) and
// the zero points are the preset's (31.55, 31.28, 31.61, 31.26 for delve),
// used as per-second zero points by SimAPI.magnitude2amplitude.
//
// So, per pixel, with S = model (e-/s, from magnitudes with those zero points),
// B = skyRate (= skyMag * pixscale^2, Preset.SkyRatePerPixel) and T = ExpTime*NExp:
//
//	img      = S + N(0, |S|/ExpTime + (readNoise^2 NExp + B T)/T^2)
//	variance = |S|/ExpTime + (readNoise^2 NExp + B T)/T^2
//
// (deeplenstronomy draws the two Gaussians separately; their sum is one
// Gaussian with the summed variance, drawn here with one number from r).
// It processes len(model) pixels (fewer if img is shorter); variance may be
// nil. It does not allocate.
func AddNoiseDeeplenstronomy(r *rand.Rand, model []float64, skyRate float64, c Conditions, readNoise float64, img, variance []float32) {
	n := min(len(model), len(img))
	withVar := len(variance) >= n
	nexp := float64(c.NExp)
	T := c.ExpTime * nexp
	if !(T > 0) || !(c.ExpTime > 0) {
		return
	}
	bkg := (readNoise*readNoise*nexp + skyRate*T) / (T * T)
	invT1 := 1 / c.ExpTime
	for i := 0; i < n; i++ {
		s := model[i]
		v := math.Abs(s)*invT1 + bkg
		img[i] = float32(s + math.Sqrt(v)*r.NormFloat64())
		if withVar {
			variance[i] = float32(v)
		}
	}
}

// AddNoise draws the noisy image of band b under conditions c with the
// preset's noise model (AddNoise or AddNoiseDeeplenstronomy) and the band's
// sky rate and read noise; see those functions for the arguments. It does not
// allocate.
func (p *Preset) AddNoise(r *rand.Rand, b *Band, model []float64, c Conditions, img, variance []float32) {
	sky := p.SkyRatePerPixel(b, c.SkyMag)
	if p.NoiseModel == NoiseDeeplenstronomy {
		AddNoiseDeeplenstronomy(r, model, sky, c, b.ReadNoise, img, variance)
		return
	}
	AddNoise(r, model, sky, c, b.ReadNoise, img, variance)
}
