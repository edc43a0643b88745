package plot

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
)

// LuptonOptions configures the asinh colour mapping of Lupton et al. (2004,
// PASP 116, 133) used by Composite.
//
// Each band b (index 0 = red, 1 = green, 2 = blue) is first scaled,
// X_b = Scales[b] * (x_b - Minimum[b]); the intensity is the mean
// I = (X_0 + X_1 + X_2)/3, and every channel is multiplied by the same
// factor f(I)/I, so that the colour of a pixel (the ratios X_0:X_1:X_2) is
// kept while its brightness is compressed:
//
//	f(I) = asinh(Q I / Stretch) / asinh(Q)   (Q > 0)
//	f(I) = I / Stretch                       (Q = 0, linear)
//
// A channel above 1 makes the whole pixel be divided by its largest channel,
// which saturates brightness but not hue. Pixels with I <= 0 are black.
//
// The normalisation by asinh(Q) differs from the bare F(x) = asinh(Q x)/Q of
// the paper: here Stretch is the white point (a grey pixel with
// I = Stretch reaches full scale whatever Q is), and Q only sets where the
// response turns from linear to logarithmic, at I ~ Stretch/Q. A larger Q
// shows faint structure (arcs, noise) brighter relative to the cores.
// (astropy's make_lupton_rgb(Q, stretch) has its linear range at
// stretch/Q and reaches full scale where asinh(Q I/stretch) = 10 asinh(Q/10).)
type LuptonOptions struct {
	// Q is the asinh softening parameter; 0 gives a linear mapping. Must be >= 0.
	Q float64
	// Stretch is the scaled intensity (data units after Scales) mapped to
	// full scale. Must be > 0.
	Stretch float64
	// Minimum is the black level of each band in the data's own units
	// (subtracted before scaling). For a single value set all three.
	Minimum [3]float64
	// Scales are multiplicative per-band weights applied after Minimum,
	// in composite order (red, green, blue), i.e. (i, r, g) for DECam.
	Scales [3]float64
}

// Default mapping constants; see DefaultLupton for how they were chosen.
const (
	defaultQ       = 20
	defaultStretch = 40 // e-/s (r-band equivalent after Scales)
)

// DefaultLupton returns a mapping for sky-subtracted DECam g r i cutouts in
// electrons per second (red = i, green = r, blue = g).
//
// How the numbers were chosen. The Scales start from the Legacy Surveys'
// sky viewer weights in nanomaggies (g 6.0, r 3.4, i 3.0; a colour balance
// that shows early-type galaxies yellow-orange and lensed star-forming
// sources blue) converted to e-/s with the DECam per-second zero points
// (g 26.58, r 26.78, i 26.75: 1 nanomaggy = 10^(0.4 (zp - 22.5)) e-/s =
// 42.9, 51.5, 50.1 e-/s), and normalised to r = 1: (i, r, g) = (0.9, 1, 2.1).
// Stretch: a typical deflector (r ~ 19.5, r - i ~ 0.6, g - r ~ 1.6, profile
// width ~1.6 px after 1" seeing at 0.263"/px) peaks at a scaled intensity of
// ~50 e-/s, so Stretch = 40 makes the cores of typical lenses just white.
// Q = 20 puts the end of the linear range at Stretch/Q = 2 e-/s, a few times
// the per-pixel noise of a single 90 s DECam exposure (~0.4 e-/s in r), so
// arcs of ~1-5 e-/s per pixel are clearly visible while the background
// noise stays dark. (The Legacy Surveys' own mapping, Q = 20 on their
// nanomaggy scale, corresponds here to Q ~ 44, Stretch ~ 33 e-/s: a
// brighter background, suited to their deeper coadds.) On synthetic
// single-epoch DECam lenses AutoLupton picks Q ~ 20, Stretch ~ 38, in line
// with these defaults; for a population whose brightness or depth differs,
// use AutoLupton.
func DefaultLupton() LuptonOptions {
	return LuptonOptions{
		Q:       defaultQ,
		Stretch: defaultStretch,
		Scales:  [3]float64{0.9, 1.0, 2.1},
	}
}

// Validate reports whether the options can be used by Composite.
func (o LuptonOptions) Validate() error {
	if !(o.Q >= 0) || math.IsInf(o.Q, 0) {
		return fmt.Errorf("lupton: Q = %v, want a finite value >= 0", o.Q)
	}
	if !(o.Stretch > 0) || math.IsInf(o.Stretch, 0) {
		return fmt.Errorf("lupton: Stretch = %v, want a finite value > 0", o.Stretch)
	}
	for b := range 3 {
		if math.IsNaN(o.Minimum[b]) || math.IsInf(o.Minimum[b], 0) {
			return fmt.Errorf("lupton: Minimum[%d] = %v, want a finite value", b, o.Minimum[b])
		}
		if !(o.Scales[b] >= 0) || math.IsInf(o.Scales[b], 0) {
			return fmt.Errorf("lupton: Scales[%d] = %v, want a finite value >= 0", b, o.Scales[b])
		}
	}
	if o.Scales == [3]float64{} {
		return errors.New("lupton: all Scales are 0 (the zero LuptonOptions is not usable; start from DefaultLupton)")
	}
	return nil
}

// luptonMap holds the precomputed constants of a validated LuptonOptions.
type luptonMap struct {
	min, scale [3]float64
	a          float64 // Q / Stretch (or 1/Stretch when linear)
	norm       float64 // 1/asinh(Q)
	linear     bool
}

func newLuptonMap(o LuptonOptions) luptonMap {
	m := luptonMap{min: o.Minimum, scale: o.Scales}
	// Below Q ~ 1e-4 asinh(Q x)/asinh(Q) equals x to better than 1e-8 relative.
	if o.Q < 1e-4 {
		m.linear = true
		m.a = 1 / o.Stretch
	} else {
		m.a = o.Q / o.Stretch
		m.norm = 1 / math.Asinh(o.Q)
	}
	return m
}

// pixel maps one pixel's three band values to 8-bit channels.
func (m *luptonMap) pixel(r, g, b float32) (uint8, uint8, uint8) {
	x0 := m.scale[0] * (float64(r) - m.min[0])
	x1 := m.scale[1] * (float64(g) - m.min[1])
	x2 := m.scale[2] * (float64(b) - m.min[2])
	i := (x0 + x1 + x2) / 3
	if !(i > 0) || math.IsInf(i, 0) { // also catches NaN
		return 0, 0, 0
	}
	var k float64 // f(I)/I
	if m.linear {
		k = m.a
	} else {
		k = math.Asinh(m.a*i) * m.norm / i
	}
	x0 = max(0, x0*k)
	x1 = max(0, x1*k)
	x2 = max(0, x2*k)
	if mx := max(x0, x1, x2); mx > 1 {
		inv := 1 / mx
		x0 *= inv
		x1 *= inv
		x2 *= inv
	}
	return uint8(x0*255 + 0.5), uint8(x1*255 + 0.5), uint8(x2*255 + 0.5)
}

// Composite renders three bands of an nx-by-ny cutout as an RGB image with
// the Lupton asinh mapping described at LuptonOptions. By convention for
// DECam, red = i, green = r, blue = g. The bands are row-major with pixel
// (0,0) at the bottom-left; the image is flipped so that array row 0 is the
// bottom row of the picture (image row ny-1). Non-finite pixels are black.
func Composite(red, green, blue []float32, nx, ny int, opt LuptonOptions) (*image.RGBA, error) {
	if nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("composite: image size %dx%d, want positive", nx, ny)
	}
	n := nx * ny
	if n/nx != ny {
		return nil, fmt.Errorf("composite: image size %dx%d overflows", nx, ny)
	}
	for b, band := range [3][]float32{red, green, blue} {
		if len(band) != n {
			return nil, fmt.Errorf("composite: band %d (%s) has %d pixels, want nx*ny = %d*%d = %d",
				b, [3]string{"red", "green", "blue"}[b], len(band), nx, ny, n)
		}
	}
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("composite: %w", err)
	}
	m := newLuptonMap(opt)
	img := image.NewRGBA(image.Rect(0, 0, nx, ny))
	for y := range ny {
		row := img.Pix[(ny-1-y)*img.Stride:]
		src := y * nx
		r, g, b := red[src:src+nx], green[src:src+nx], blue[src:src+nx]
		for x := range nx {
			pr, pg, pb := m.pixel(r[x], g[x], b[x])
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = pr, pg, pb, 255
		}
	}
	return img, nil
}

// Constants of AutoLupton.
const (
	// autoPeakRank: the Stretch of a cutout is its autoPeakRank-th brightest
	// scaled intensity, a near-peak value that one hot pixel cannot set.
	autoPeakRank = 5
	// autoStretchFactor: Stretch is this multiple of the typical near-peak
	// value, so that cores keep some shading instead of saturating flat.
	autoStretchFactor = 1.5
	// autoNoiseMult: Q is chosen so that the linear range Stretch/Q spans
	// this many noise sigmas (background noise then stays dark: a 1 sigma
	// pixel maps to ~5% of full scale at Q ~ 15).
	autoNoiseMult = 6
	autoQMin      = 2
	autoQMax      = 50
)

// AutoLupton chooses Stretch and Q from a set of cutouts so that a contact
// sheet of the whole population looks good. Each cutout holds its three bands
// in composite order (red, green, blue); Minimum and Scales are taken from
// base (use DefaultLupton() unless the data need another colour balance).
//
// Stretch is 1.5 times the median over cutouts of each cutout's 5th
// brightest scaled intensity I (see LuptonOptions): the core of a typical
// cutout comes close to white but keeps some shading, brighter ones
// saturate smoothly. Q is set so that the linear range Stretch/Q spans 6
// noise sigmas, with the noise sigma of I estimated per
// cutout from the median absolute difference of neighbouring pixels
// (insensitive to smooth galaxy light) and then taken as the median over
// cutouts; Q is clamped to [2, 50], and base.Q is kept when the data show
// no noise. When no cutout has a positive pixel base.Stretch is kept.
// Non-finite pixels are ignored.
func AutoLupton(base LuptonOptions, cutouts ...[3][]float32) (LuptonOptions, error) {
	if err := base.Validate(); err != nil {
		return base, fmt.Errorf("autolupton: base options: %w", err)
	}
	if len(cutouts) == 0 {
		return base, errors.New("autolupton: no cutouts")
	}
	m := newLuptonMap(base)
	var (
		peaks  = make([]float64, 0, len(cutouts))
		sigmas = make([]float64, 0, len(cutouts))
		diffs  []float64
	)
	for c, cut := range cutouts {
		n := len(cut[0])
		if n == 0 || len(cut[1]) != n || len(cut[2]) != n {
			return base, fmt.Errorf("autolupton: cutout %d has bands of %d, %d, %d pixels, want equal and non-zero",
				c, len(cut[0]), len(cut[1]), len(cut[2]))
		}
		var top [autoPeakRank]float64 // descending
		diffs = diffs[:0]
		prev, havePrev := 0.0, false
		for p := range n {
			i := (m.scale[0]*(float64(cut[0][p])-m.min[0]) +
				m.scale[1]*(float64(cut[1][p])-m.min[1]) +
				m.scale[2]*(float64(cut[2][p])-m.min[2])) / 3
			if math.IsNaN(i) || math.IsInf(i, 0) {
				havePrev = false
				continue
			}
			if i > top[autoPeakRank-1] {
				k := autoPeakRank - 1
				for k > 0 && top[k-1] < i {
					top[k] = top[k-1]
					k--
				}
				top[k] = i
			}
			if havePrev {
				diffs = append(diffs, math.Abs(i-prev))
			}
			prev, havePrev = i, true
		}
		if top[autoPeakRank-1] > 0 {
			peaks = append(peaks, top[autoPeakRank-1])
		}
		if len(diffs) > 0 {
			// For Gaussian noise of sigma s, |difference| has median
			// 0.6745 * sqrt(2) * s.
			sigmas = append(sigmas, median(diffs)/(0.6744897501960817*math.Sqrt2))
		}
	}
	out := base
	if len(peaks) > 0 {
		out.Stretch = autoStretchFactor * median(peaks)
	}
	if len(sigmas) > 0 {
		if s := median(sigmas); s > 0 {
			out.Q = min(max(out.Stretch/(autoNoiseMult*s), autoQMin), autoQMax)
		}
	}
	return out, nil
}

// median returns the median of v, reordering v.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return 0.5 * (v[n/2-1] + v[n/2])
}
