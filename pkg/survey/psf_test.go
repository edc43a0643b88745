package survey_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

func TestGaussianKernel1D(t *testing.T) {
	for _, fwhm := range []float64{2.5, 4.563, 7.9} { // 0.66", 1.2", 2.08" at 0.263"/pixel
		k := survey.GaussianKernel1D(fwhm, nil)
		if len(k)%2 != 1 {
			t.Fatalf("fwhm %g: even length %d", fwhm, len(k))
		}
		h := len(k) / 2
		sigma := fwhm / 2.3548200450309493
		if float64(h) < 5*sigma || float64(h) > 5*sigma+1 {
			t.Errorf("fwhm %g: half-width %d, want ceil(5 sigma) = ceil(%g)", fwhm, h, 5*sigma)
		}
		sum, m1, m2 := 0.0, 0.0, 0.0
		for i, v := range k {
			x := float64(i - h)
			sum += v
			m1 += v * x
			m2 += v * x * x
		}
		if math.Abs(sum-1) > 1e-14 {
			t.Errorf("fwhm %g: kernel sums to %.16f", fwhm, sum)
		}
		if math.Abs(m1) > 1e-14 {
			t.Errorf("fwhm %g: first moment %g", fwhm, m1)
		}
		// truncation at 5 sigma removes 1.5e-5 of the variance
		if rel := m2/(sigma*sigma) - 1; math.Abs(rel) > 3e-5 {
			t.Errorf("fwhm %g: second moment %g, sigma^2 %g (rel %.2g)", fwhm, m2, sigma*sigma, rel)
		}
		// symmetric and peaked at the centre
		for i := range h {
			if k[i] != k[len(k)-1-i] || k[i] >= k[i+1] {
				t.Errorf("fwhm %g: kernel not symmetric/unimodal at %d", fwhm, i)
			}
		}
		// the FWHM: the continuous profile at +-FWHM/2 is half the peak
		if r := math.Exp(-0.5 * (fwhm / 2) * (fwhm / 2) / (sigma * sigma)); math.Abs(r-0.5) > 1e-12 {
			t.Errorf("FWHM/sigma conversion off: %g", r)
		}
	}
	if k := survey.GaussianKernel1D(0, nil); len(k) != 1 || k[0] != 1 {
		t.Errorf("zero FWHM kernel %v", k)
	}
	buf := make([]float64, 64)
	if a := testing.AllocsPerRun(10, func() { buf = survey.GaussianKernel1D(4.5, buf) }); a != 0 {
		t.Errorf("GaussianKernel1D with capacity allocates %v", a)
	}
}

func outer(k []float64) []float64 {
	s := len(k)
	o := make([]float64, s*s)
	for b := range s {
		for a := range s {
			o[b*s+a] = k[a] * k[b]
		}
	}
	return o
}

func randomImage(r *rand.Rand, n int) []float64 {
	img := make([]float64, n)
	for i := range img {
		img[i] = r.Float64()
	}
	return img
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestConvolveSeparable(t *testing.T) {
	const nx, ny = 48, 40
	r := rand.New(rand.NewPCG(1, 1))
	// an asymmetric kernel catches flipped indices
	asym := []float64{0.1, 0.5, 0.2, 0.15, 0.05}
	for _, k := range [][]float64{survey.GaussianKernel1D(4.563, nil), asym} {
		img := randomImage(r, nx*ny)
		want := make([]float64, nx*ny)
		survey.Convolve2D(want, img, nx, ny, outer(k), len(k))
		got := append([]float64(nil), img...)
		survey.ConvolveSeparable(got, nx, ny, k, make([]float64, nx*ny))
		if d := maxAbsDiff(got, want); d > 1e-13 {
			t.Errorf("separable vs direct 2-D (kernel %d): max diff %g", len(k), d)
		}
	}
	// direct convolution of a delta gives the (flipped) kernel at the right place
	k := asym
	img := make([]float64, nx*ny)
	img[10*nx+20] = 1
	out := make([]float64, nx*ny)
	survey.Convolve2D(out, img, nx, ny, outer(k), len(k))
	if v := out[10*nx+21]; math.Abs(v-k[3]*k[2]) > 1e-15 { // (i-a) = 20 with a = +1 -> k[h+1]
		t.Errorf("delta response at +1 column: %g, want %g", v, k[3]*k[2])
	}
	// flux conservation away from the edges
	src := make([]float64, nx*ny)
	src[20*nx+24] = 3
	src[18*nx+22] = 1.5
	sum0 := 4.5
	survey.ConvolveSeparable(src, nx, ny, survey.GaussianKernel1D(4.563, nil), nil)
	s := 0.0
	for _, v := range src {
		s += v
	}
	if math.Abs(s-sum0) > 1e-12 {
		t.Errorf("flux %g after convolution, want %g", s, sum0)
	}
	tmp := make([]float64, nx*ny)
	kk := survey.GaussianKernel1D(4.563, nil)
	if a := testing.AllocsPerRun(10, func() { survey.ConvolveSeparable(img, nx, ny, kk, tmp) }); a != 0 {
		t.Errorf("ConvolveSeparable allocates %v times", a)
	}
}

func TestMoffatAndFFT(t *testing.T) {
	const beta = 3.0
	for _, fwhm := range []float64{3.0, 4.563} {
		k, s := survey.MoffatKernel2D(fwhm, beta, 0, nil)
		h := s / 2
		sum := 0.0
		for _, v := range k {
			sum += v
		}
		if math.Abs(sum-1) > 1e-13 {
			t.Errorf("Moffat kernel sums to %g", sum)
		}
		// enclosed flux of the continuous profile at the half-width
		alpha := survey.MoffatAlpha(fwhm, beta)
		if enc := 1 - math.Pow(1+float64(h*h)/(alpha*alpha), 1-beta); enc < survey.MoffatEnclosed {
			t.Errorf("half-width %d encloses %g", h, enc)
		}
		// FWHM definition: (1 + (FWHM/2/alpha)^2)^-beta = 1/2
		if v := math.Pow(1+(fwhm/2/alpha)*(fwhm/2/alpha), -beta); math.Abs(v-0.5) > 1e-12 {
			t.Errorf("Moffat alpha inconsistent with FWHM: %g", v)
		}
	}
	// FFT convolution equals direct convolution, edges included
	r := rand.New(rand.NewPCG(2, 2))
	for _, sz := range [][2]int{{48, 48}, {37, 52}} {
		nx, ny := sz[0], sz[1]
		k, s := survey.MoffatKernel2D(4.563, beta, 20, nil)
		img := randomImage(r, nx*ny)
		want := make([]float64, nx*ny)
		survey.Convolve2D(want, img, nx, ny, k, s)
		c := survey.NewFFTConvolver(nx, ny, 41)
		if !c.SetKernel(k, s) {
			t.Fatal("SetKernel refused the kernel")
		}
		got := append([]float64(nil), img...)
		c.Convolve(got)
		if d := maxAbsDiff(got, want); d > 1e-12 {
			t.Errorf("%dx%d: FFT vs direct max diff %g", nx, ny, d)
		}
		// an asymmetric kernel through the FFT path
		ak := []float64{0, 0.1, 0, 0.3, 0.2, 0.05, 0, 0.25, 0.1}
		survey.Convolve2D(want, img, nx, ny, ak, 3)
		c.SetKernel(ak, 3)
		copy(got, img)
		c.Convolve(got)
		if d := maxAbsDiff(got, want); d > 1e-12 {
			t.Errorf("%dx%d: asymmetric FFT vs direct max diff %g", nx, ny, d)
		}
		if c.SetKernel(k, 43) {
			t.Error("kernel larger than maxSize accepted")
		}
		if a := testing.AllocsPerRun(5, func() { c.Convolve(got) }); a != 0 {
			t.Errorf("FFTConvolver.Convolve allocates %v times", a)
		}
	}
}

func TestPSFConvolver(t *testing.T) {
	const n = 48
	r := rand.New(rand.NewPCG(3, 3))
	img := randomImage(r, n*n)
	// Gaussian preset: same as the separable kernel
	g := mustLoad(t, "delve")
	c := survey.NewPSFConvolver(g, n, n)
	c.SetSeeing(1.2)
	got := append([]float64(nil), img...)
	c.Convolve(got)
	k := survey.GaussianKernel1D(1.2/0.263, nil)
	want := make([]float64, n*n)
	survey.Convolve2D(want, img, n, n, outer(k), len(k))
	if d := maxAbsDiff(got, want); d > 1e-13 {
		t.Errorf("Gaussian PSFConvolver vs direct: %g", d)
	}
	if c.HalfWidth() != len(k)/2 || g.PSFHalfWidth(1.2, 0) != len(k)/2 {
		t.Errorf("half-width %d, kernel %d", c.HalfWidth(), len(k))
	}
	// Moffat preset
	m := *g
	m.PSF, m.MoffatBeta = survey.PSFMoffat, 3
	cm := survey.NewPSFConvolver(&m, n, n)
	cm.SetSeeing(1.2)
	copy(got, img)
	cm.Convolve(got)
	mk, ms := survey.MoffatKernel2D(1.2/0.263, 3, n-1, nil)
	survey.Convolve2D(want, img, n, n, mk, ms)
	if d := maxAbsDiff(got, want); d > 1e-12 {
		t.Errorf("Moffat PSFConvolver vs direct: %g", d)
	}
	if a := testing.AllocsPerRun(5, func() { cm.SetSeeing(1.1); cm.Convolve(got); c.SetSeeing(0.9); c.Convolve(got) }); a != 0 {
		t.Errorf("PSFConvolver allocates %v times", a)
	}
	// Crop takes the centre
	big := make([]float64, 6*5)
	for i := range big {
		big[i] = float64(i)
	}
	small := make([]float64, 2*1)
	survey.Crop(small, big, 2, 1, 2)
	if small[0] != 2*6+2 || small[1] != 2*6+3 {
		t.Errorf("Crop gave %v", small)
	}
}

func BenchmarkConvolveSeparable48Seeing1p2(b *testing.B) {
	const n = 48
	img := randomImage(rand.New(rand.NewPCG(1, 1)), n*n)
	tmp := make([]float64, n*n)
	k := survey.GaussianKernel1D(1.2/0.263, nil)
	b.ReportMetric(float64(len(k)), "taps")
	for b.Loop() {
		survey.ConvolveSeparable(img, n, n, k, tmp)
	}
}

func BenchmarkFFTConvolveMoffat48(b *testing.B) {
	const n = 48
	img := randomImage(rand.New(rand.NewPCG(1, 1)), n*n)
	k, s := survey.MoffatKernel2D(1.2/0.263, 3, n-1, nil)
	c := survey.NewFFTConvolver(n, n, 2*n-1)
	c.SetKernel(k, s)
	for b.Loop() {
		c.Convolve(img)
	}
}
