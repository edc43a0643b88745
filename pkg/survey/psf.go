package survey

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FWHMToSigma converts a Gaussian FWHM to its standard deviation:
// sigma = FWHM / (2 sqrt(2 ln 2)) = FWHM / 2.35482.
const FWHMToSigma = 0.42466090014400953

// GaussianTruncation is the radius, in units of sigma, at which
// GaussianKernel1D truncates the Gaussian (a 1-D fraction 5.7e-7 of the
// flux lies beyond it, before renormalisation).
const GaussianTruncation = 5

// PSF convolution conventions (shared with the simulator):
//
//   - images are row-major nx x ny grids as in package light (pixel (i, j) is
//     element j*nx + i); kernels are odd-sized and centred: a 1-D kernel k of
//     length 2h+1 has its centre at k[h], a 2-D kernel of size s x s at
//     element (s/2)*s + s/2;
//   - the image is taken to be zero outside the grid (zero padding), so flux
//     within the kernel's half-width of the edge leaks out; the simulator
//     renders a margin of at least the kernel's half-width (GaussianHalfWidth,
//     Preset.PSFHalfWidth, PSFConvolver.HalfWidth) around the cutout,
//     convolves, and crops (Crop), so cutout pixels see the full PSF;
//   - kernels are point samples of the PSF at pixel centres, normalised to sum
//     to 1: the rendered model is already integrated over pixels (package
//     light), so sampling the PSF rather than integrating it over a pixel
//     avoids applying the pixel response twice. By Poisson summation, point
//     sampling a Gaussian of sigma >= 1 pixel (FWHM >= 0.62" with DECam
//     pixels) preserves its second moment to ~1e-7, less than the 1.5e-5 the
//     5-sigma truncation removes; for sigma < 0.5 pixel the kernel
//     degenerates towards a delta function.

// GaussianHalfWidth returns the half-width h (pixels) of the kernel
// GaussianKernel1D builds for a PSF of FWHM fwhmPix pixels:
// ceil(GaussianTruncation * sigma), at least 1; 0 for fwhmPix <= 0.
func GaussianHalfWidth(fwhmPix float64) int {
	if !(fwhmPix > 0) {
		return 0
	}
	h := int(math.Ceil(GaussianTruncation * fwhmPix * FWHMToSigma))
	return max(h, 1)
}

// GaussianKernel1D returns the normalised 1-D Gaussian kernel for a PSF of FWHM
// fwhmPix pixels (sigma = FWHM/2.35482), point-sampled at integer offsets
// -h..h with h = GaussianHalfWidth(fwhmPix) (truncation at >= 5 sigma) and
// divided by its sum, so it sums to 1. The 2-D Gaussian PSF is the outer
// product of two such kernels (ConvolveSeparable). It reuses dst's storage
// when cap(dst) >= 2h+1 (no allocation). A non-positive or NaN fwhmPix gives
// the identity kernel [1].
func GaussianKernel1D(fwhmPix float64, dst []float64) []float64 {
	h := GaussianHalfWidth(fwhmPix)
	n := 2*h + 1
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	if h == 0 {
		dst[0] = 1
		return dst
	}
	sigma := fwhmPix * FWHMToSigma
	c := -0.5 / (sigma * sigma)
	sum := 0.0
	for i := -h; i <= h; i++ {
		v := math.Exp(c * float64(i*i))
		dst[i+h] = v
		sum += v
	}
	inv := 1 / sum
	for i := range dst {
		dst[i] *= inv
	}
	return dst
}

// ConvolveSeparable convolves the nx x ny image img in place with the
// separable kernel k (x) k (odd length, centred; e.g. GaussianKernel1D), with
// zero padding outside the image. tmp is scratch space of length >= nx*ny
// (allocated if shorter); with it the call does not allocate. Cost:
// 2 nx ny len(k) multiply-adds.
func ConvolveSeparable(img []float64, nx, ny int, k []float64, tmp []float64) {
	if nx < 1 || ny < 1 || len(img) < nx*ny || len(k)%2 == 0 {
		return
	}
	if len(tmp) < nx*ny {
		tmp = make([]float64, nx*ny)
	}
	h := len(k) / 2
	// rows: tmp[i] = sum_m img[i-m] k[h+m], as shifted multiply-adds over
	// contiguous slices
	for j := 0; j < ny; j++ {
		src := img[j*nx : j*nx+nx]
		out := tmp[j*nx : j*nx+nx]
		for i := range out {
			out[i] = 0
		}
		for m := -h; m <= h; m++ {
			a, b := max(0, m), min(nx, nx+m) // out indices with a valid source i-m
			if a >= b {
				continue
			}
			axpy(out[a:b], src[a-m:b-m], k[h+m])
		}
	}
	// columns: tmp -> img
	for j := 0; j < ny; j++ {
		out := img[j*nx : j*nx+nx]
		for i := range out {
			out[i] = 0
		}
		for m := -h; m <= h; m++ {
			jj := j - m
			if jj < 0 || jj >= ny {
				continue
			}
			axpy(out, tmp[jj*nx:jj*nx+nx], k[h+m])
		}
	}
}

// axpy sets dst[i] += w * src[i]; len(src) >= len(dst).
func axpy(dst, src []float64, w float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += w * v
	}
}

// MoffatEnclosed is the fraction of a Moffat PSF's flux that MoffatKernel2D's
// truncation radius encloses (before renormalisation), unless capped.
const MoffatEnclosed = 0.999

// MoffatAlpha returns the Moffat scale alpha for a given FWHM and index beta
// (> 1): the profile is (1 + (r/alpha)^2)^(-beta) and
// FWHM = 2 alpha sqrt(2^(1/beta) - 1).
func MoffatAlpha(fwhm, beta float64) float64 {
	return fwhm / (2 * math.Sqrt(math.Pow(2, 1/beta)-1))
}

// MoffatHalfWidth returns the half-width (pixels) of the kernel
// MoffatKernel2D builds: the radius enclosing MoffatEnclosed of the flux,
// 1 - (1 + R^2/alpha^2)^(1-beta) = MoffatEnclosed, rounded up, at least 1, and
// at most maxHalf when maxHalf > 0. 0 for a non-positive FWHM or beta <= 1.
func MoffatHalfWidth(fwhmPix, beta float64, maxHalf int) int {
	if !(fwhmPix > 0) || !(beta > 1) {
		return 0
	}
	alpha := MoffatAlpha(fwhmPix, beta)
	r := alpha * math.Sqrt(math.Pow(1-MoffatEnclosed, 1/(1-beta))-1)
	h := max(int(math.Ceil(r)), 1)
	if maxHalf > 0 && h > maxHalf {
		h = maxHalf
	}
	return h
}

// MoffatKernel2D returns a normalised, point-sampled Moffat PSF kernel of FWHM
// fwhmPix pixels and index beta (> 1; beta ~ 3 for ground-based seeing), of
// size s x s, s = 2h+1 with h = MoffatHalfWidth(fwhmPix, beta, maxHalf),
// row-major with the centre at element h*s + h, divided by its sum (the flux
// beyond the truncation radius is redistributed). It reuses dst's storage when
// cap(dst) >= s*s. A non-positive FWHM or beta <= 1 gives the identity kernel
// [1] (s = 1).
func MoffatKernel2D(fwhmPix, beta float64, maxHalf int, dst []float64) (k []float64, size int) {
	h := MoffatHalfWidth(fwhmPix, beta, maxHalf)
	s := 2*h + 1
	if cap(dst) < s*s {
		dst = make([]float64, s*s)
	}
	dst = dst[:s*s]
	if h == 0 {
		dst[0] = 1
		return dst, 1
	}
	alpha := MoffatAlpha(fwhmPix, beta)
	ia2 := 1 / (alpha * alpha)
	sum := 0.0
	for b := -h; b <= h; b++ {
		for a := -h; a <= h; a++ {
			v := math.Pow(1+float64(a*a+b*b)*ia2, -beta)
			dst[(b+h)*s+a+h] = v
			sum += v
		}
	}
	inv := 1 / sum
	for i := range dst {
		dst[i] *= inv
	}
	return dst, s
}

// Convolve2D writes into dst (length >= nx*ny, not aliasing img) the direct
// 2-D convolution of the nx x ny image img with the size x size kernel k
// (odd size, centred, row-major), with zero padding outside the image:
// dst(i, j) = sum_{a,b} img(i-a, j-b) k(a, b). Cost nx ny size^2; for large
// kernels use FFTConvolver. It does not allocate.
func Convolve2D(dst, img []float64, nx, ny int, k []float64, size int) {
	if nx < 1 || ny < 1 || len(img) < nx*ny || len(dst) < nx*ny || size%2 == 0 || len(k) < size*size {
		return
	}
	h := size / 2
	for i := range dst[:nx*ny] {
		dst[i] = 0
	}
	for b := -h; b <= h; b++ {
		for a := -h; a <= h; a++ {
			w := k[(b+h)*size+a+h]
			if w == 0 {
				continue
			}
			i0, i1 := max(0, a), min(nx, nx+a)
			if i0 >= i1 {
				continue
			}
			for j := max(0, b); j < min(ny, ny+b); j++ {
				axpy(dst[j*nx+i0:j*nx+i1], img[(j-b)*nx+i0-a:(j-b)*nx+i1-a], w)
			}
		}
	}
}

// FFTConvolver convolves nx x ny images with a kernel of up to maxSize x
// maxSize pixels through 2-D FFTs (gonum's dsp/fourier: real transforms along
// rows, complex ones along the px/2+1 columns of the half spectrum), with the
// same zero-padding semantics as Convolve2D: the image is embedded in a grid
// of at least (nx + maxSize/2) x (ny + maxSize/2) zeros, so the circular
// convolution never wraps image pixels onto one another. Build one per image
// size with NewFFTConvolver, set the kernel with SetKernel, then Convolve any
// number of images; after construction nothing allocates. Not safe for
// concurrent use (one per goroutine).
type FFTConvolver struct {
	nx, ny, maxSize int
	px, py, nc      int // padded grid, columns of the half spectrum (px/2+1)
	fx              *fourier.FFT
	fy              *fourier.CmplxFFT
	kf, buf         []complex128 // py x nc half spectra
	col, rowC       []complex128
	rowR            []float64
}

// NewFFTConvolver prepares FFT convolution of nx x ny images with kernels of
// odd size up to maxSize (an even maxSize is rounded up).
func NewFFTConvolver(nx, ny, maxSize int) *FFTConvolver {
	nx, ny = max(nx, 1), max(ny, 1)
	if maxSize < 1 {
		maxSize = 1
	}
	if maxSize%2 == 0 {
		maxSize++
	}
	h := maxSize / 2
	px, py := fftSize(nx+h), fftSize(ny+h)
	nc := px/2 + 1
	return &FFTConvolver{
		nx: nx, ny: ny, maxSize: maxSize, px: px, py: py, nc: nc,
		fx: fourier.NewFFT(px), fy: fourier.NewCmplxFFT(py),
		kf: make([]complex128, py*nc), buf: make([]complex128, py*nc),
		col: make([]complex128, py), rowC: make([]complex128, nc), rowR: make([]float64, px),
	}
}

// fftSize returns the smallest n' >= n whose only prime factors are 2, 3, 5.
func fftSize(n int) int {
	for m := max(n, 1); ; m++ {
		r := m
		for _, p := range []int{2, 3, 5} {
			for r%p == 0 {
				r /= p
			}
		}
		if r == 1 {
			return m
		}
	}
}

// SetKernel sets the size x size kernel (odd size <= the convolver's maxSize,
// centred, row-major). It reports false, leaving the kernel unchanged, if the
// size is unusable.
func (c *FFTConvolver) SetKernel(k []float64, size int) bool {
	if size%2 == 0 || size > c.maxSize || len(k) < size*size {
		return false
	}
	h := size / 2
	for i := range c.kf {
		c.kf[i] = 0
	}
	// kernel rows b = -h..h wrap to padded rows (b + py) % py, columns likewise
	for b := -h; b <= h; b++ {
		for i := range c.rowR {
			c.rowR[i] = 0
		}
		for a := -h; a <= h; a++ {
			c.rowR[(a+c.px)%c.px] = k[(b+h)*size+a+h]
		}
		j := (b + c.py) % c.py
		c.fx.Coefficients(c.kf[j*c.nc:(j+1)*c.nc], c.rowR)
	}
	c.columns(c.kf, false)
	return true
}

// columns transforms the nc columns of a py x nc half spectrum in place.
func (c *FFTConvolver) columns(g []complex128, inverse bool) {
	for u := 0; u < c.nc; u++ {
		for j := 0; j < c.py; j++ {
			c.col[j] = g[j*c.nc+u]
		}
		if inverse {
			c.fy.Sequence(c.col, c.col)
		} else {
			c.fy.Coefficients(c.col, c.col)
		}
		for j := 0; j < c.py; j++ {
			g[j*c.nc+u] = c.col[j]
		}
	}
}

// Convolve replaces the nx x ny image img (length >= nx*ny) by its
// convolution with the kernel. It does not allocate.
func (c *FFTConvolver) Convolve(img []float64) {
	if len(img) < c.nx*c.ny {
		return
	}
	// rows of the image (the padding rows transform to zero)
	for i := range c.rowR {
		c.rowR[i] = 0
	}
	for j := 0; j < c.ny; j++ {
		copy(c.rowR, img[j*c.nx:(j+1)*c.nx])
		c.fx.Coefficients(c.buf[j*c.nc:(j+1)*c.nc], c.rowR)
	}
	for i := c.ny * c.nc; i < len(c.buf); i++ {
		c.buf[i] = 0
	}
	c.columns(c.buf, false)
	for i, v := range c.kf {
		c.buf[i] *= v
	}
	c.columns(c.buf, true)
	norm := 1 / float64(c.px*c.py)
	for j := 0; j < c.ny; j++ {
		copy(c.rowC, c.buf[j*c.nc:(j+1)*c.nc])
		c.fx.Sequence(c.rowR, c.rowC)
		out := img[j*c.nx : (j+1)*c.nx]
		for i := range out {
			out[i] = c.rowR[i] * norm
		}
	}
}

// Crop copies the central nx x ny pixels of src, an (nx+2 margin) x
// (ny+2 margin) image, into dst (length >= nx*ny). The simulator renders and
// convolves with a margin of at least the kernel's half-width, then crops, so
// that zero padding never reaches the cutout. It does not allocate.
func Crop(dst, src []float64, nx, ny, margin int) {
	w := nx + 2*margin
	if nx < 1 || ny < 1 || margin < 0 || len(dst) < nx*ny || len(src) < w*(ny+2*margin) {
		return
	}
	for j := 0; j < ny; j++ {
		copy(dst[j*nx:(j+1)*nx], src[(j+margin)*w+margin:(j+margin)*w+margin+nx])
	}
}

// PSFConvolver convolves nx x ny images with a preset's PSF at a given seeing:
// separable 1-D passes for a Gaussian PSF, FFTs for a Moffat PSF (kernel
// truncated at MoffatEnclosed of the flux, at most the image size). Set the
// seeing per draw with SetSeeing; after construction nothing allocates. Not
// safe for concurrent use (one per goroutine).
type PSFConvolver struct {
	psf        string
	beta       float64
	pixScale   float64
	nx, ny     int
	k1, tmp    []float64
	k2         []float64
	ks         int
	fft        *FFTConvolver
	maxHalf    int
	halfWidth  int
	fwhmPixels float64
}

// NewPSFConvolver prepares PSF convolution of nx x ny images for preset p.
func NewPSFConvolver(p *Preset, nx, ny int) *PSFConvolver {
	c := &PSFConvolver{psf: p.PSF, beta: p.MoffatBeta, pixScale: p.PixelScale, nx: nx, ny: ny,
		tmp: make([]float64, nx*ny)}
	if p.PSF == PSFMoffat {
		c.maxHalf = max(nx, ny) - 1
		c.fft = NewFFTConvolver(nx, ny, 2*c.maxHalf+1)
	}
	c.SetSeeing(1)
	return c
}

// SetSeeing sets the PSF FWHM in arcsec.
func (c *PSFConvolver) SetSeeing(fwhmArcsec float64) {
	c.fwhmPixels = fwhmArcsec / c.pixScale
	if c.psf == PSFMoffat {
		c.k2, c.ks = MoffatKernel2D(c.fwhmPixels, c.beta, c.maxHalf, c.k2)
		c.fft.SetKernel(c.k2, c.ks)
		c.halfWidth = c.ks / 2
		return
	}
	c.k1 = GaussianKernel1D(c.fwhmPixels, c.k1)
	c.halfWidth = len(c.k1) / 2
}

// HalfWidth returns the current kernel's half-width in pixels: the margin to
// render around a cutout so that zero padding does not reach it.
func (c *PSFConvolver) HalfWidth() int { return c.halfWidth }

// Convolve replaces the nx x ny image img by its convolution with the PSF.
func (c *PSFConvolver) Convolve(img []float64) {
	if c.psf == PSFMoffat {
		c.fft.Convolve(img)
		return
	}
	ConvolveSeparable(img, c.nx, c.ny, c.k1, c.tmp)
}

// PSFHalfWidth returns the kernel half-width (pixels) the preset's PSF needs
// at the given seeing, capped at maxHalf for a Moffat PSF when maxHalf > 0.
func (p *Preset) PSFHalfWidth(fwhmArcsec float64, maxHalf int) int {
	f := fwhmArcsec / p.PixelScale
	if p.PSF == PSFMoffat {
		return MoffatHalfWidth(f, p.MoffatBeta, maxHalf)
	}
	return GaussianHalfWidth(f)
}
