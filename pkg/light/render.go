package light

import "math"

// Pixel grid convention (shared by the simulator and everything that reads its
// images):
//
//   - An image of nx columns and ny rows is stored row-major: pixel (i, j),
//     column i in [0, nx), row j in [0, ny), is element j*nx + i.
//   - Pixel (0, 0) is the bottom-left pixel; x grows with the column index i,
//     y grows with the row index j (FITS / matplotlib origin="lower" order).
//   - Pixel centres sit at
//     x_i = (i - (nx-1)/2) * pixScale,  y_j = (j - (ny-1)/2) * pixScale  (arcsec),
//     so (0, 0) arcsec is the image centre: the centre of the middle pixel when
//     nx (ny) is odd, the corner shared by the four middle pixels when even.
//   - Pixel (i, j) covers [x_i - pixScale/2, x_i + pixScale/2] x [y_j - pixScale/2, y_j + pixScale/2].
//   - Supersampling by ss (>= 1) splits every pixel into ss x ss sub-pixels
//     whose centres are x_i + ((a + 1/2)/ss - 1/2) * pixScale, a = 0..ss-1
//     (likewise in y). The set of all sub-pixel centres is itself a regular
//     grid of nx*ss x ny*ss "fine pixels" of size pixScale/ss with the same
//     centre convention, stored row-major: fine pixel (I, J) = (i*ss + a,
//     j*ss + b) is sample J*(nx*ss) + I. SubpixelGrid returns the samples in
//     that order and BinSubpixels reduces them.
//   - A pixel value is the flux falling on the pixel: the mean of its ss x ss
//     surface-brightness samples times the pixel area pixScale^2 (midpoint-rule
//     integration). Surface brightness in flux/arcsec^2 therefore becomes flux
//     per pixel.

// PixelCenter returns the sky position (arcsec) of the centre of pixel (i, j)
// in an nx x ny image with pixel scale pixScale (see the grid convention above).
func PixelCenter(i, j, nx, ny int, pixScale float64) (x, y float64) {
	return (float64(i) - 0.5*float64(nx-1)) * pixScale, (float64(j) - 0.5*float64(ny-1)) * pixScale
}

// RenderPixels fills dst (length >= nx*ny, row-major, pixel (0,0) bottom-left)
// with the pixel-integrated flux of the surface-brightness function f (flux per
// arcsec^2 at sky position (x, y) arcsec): the mean of ss x ss sub-pixel
// samples times the pixel area pixScale^2. ss < 1 is treated as 1. It
// overwrites dst and does not allocate; nothing is written when dst is too
// short or nx, ny < 1.
//
// Accuracy: for smooth profiles the error falls fast with ss (an exponential
// disc of R_e = 2 pixels: 5e-3 of the flux at ss=1, 1e-4 at ss=4, 1e-6 at
// ss=16). A de Vaucouleurs (n = 4) profile hides a spike at its centre (0.4%
// of the flux within 0.01 R_e) that no uniform supersampling resolves: with
// R_e = 1 pixel the pixel sum overestimates the flux by 9% at ss=1, 2.4% at
// ss=4 and 0.5% at ss=16; with R_e = 3 pixels by 0.5% at ss=4 (see
// TestRenderConvergesToFlux).
func RenderPixels(dst []float64, nx, ny int, pixScale float64, ss int, f func(x, y float64) float64) {
	if nx < 1 || ny < 1 || len(dst) < nx*ny {
		return
	}
	if ss < 1 {
		ss = 1
	}
	sub := pixScale / float64(ss)
	norm := pixScale * pixScale / float64(ss*ss)
	// offset of the first sub-pixel centre from the pixel centre
	off := (0.5/float64(ss) - 0.5) * pixScale
	cx := 0.5 * float64(nx-1)
	cy := 0.5 * float64(ny-1)
	for j := 0; j < ny; j++ {
		y0 := (float64(j)-cy)*pixScale + off
		row := dst[j*nx : j*nx+nx]
		for i := 0; i < nx; i++ {
			x0 := (float64(i)-cx)*pixScale + off
			sum := 0.0
			for b := 0; b < ss; b++ {
				y := y0 + float64(b)*sub
				for a := 0; a < ss; a++ {
					sum += f(x0+float64(a)*sub, y)
				}
			}
			row[i] = sum * norm
		}
	}
}

// SubpixelGrid returns the sky coordinates (arcsec) of every sub-pixel sample
// of an nx x ny image supersampled ss times, in the order BinSubpixels expects:
// the row-major fine grid of nx*ss x ny*ss samples described in the package's
// grid convention. Callers that evaluate a model at many positions (ray
// shooting through a lens) use it once per image size and reuse the slices.
func SubpixelGrid(nx, ny int, pixScale float64, ss int) (xs, ys []float64) {
	if ss < 1 {
		ss = 1
	}
	if nx < 1 || ny < 1 {
		return nil, nil
	}
	n := nx * ss * ny * ss
	xs = make([]float64, n)
	ys = make([]float64, n)
	FillSubpixelGrid(xs, ys, nx, ny, pixScale, ss)
	return xs, ys
}

// FillSubpixelGrid is SubpixelGrid writing into caller-owned slices of length
// >= (nx*ss)*(ny*ss); it does not allocate and writes nothing if they are too
// short.
func FillSubpixelGrid(xs, ys []float64, nx, ny int, pixScale float64, ss int) {
	if ss < 1 {
		ss = 1
	}
	fx, fy := nx*ss, ny*ss
	if nx < 1 || ny < 1 || len(xs) < fx*fy || len(ys) < fx*fy {
		return
	}
	sub := pixScale / float64(ss)
	cx := 0.5 * float64(fx-1)
	cy := 0.5 * float64(fy-1)
	for J := 0; J < fy; J++ {
		y := (float64(J) - cy) * sub
		for I := 0; I < fx; I++ {
			k := J*fx + I
			xs[k] = (float64(I) - cx) * sub
			ys[k] = y
		}
	}
}

// BinSubpixels reduces surface-brightness samples laid out as SubpixelGrid
// returns them (row-major fine grid of nx*ss x ny*ss) to pixel fluxes: dst[j*nx+i]
// is the mean of pixel (i, j)'s ss x ss samples times pixArea (pixScale^2). It
// overwrites dst, does not allocate, and writes nothing if a slice is too short.
func BinSubpixels(dst []float64, samples []float64, nx, ny, ss int, pixArea float64) {
	if ss < 1 {
		ss = 1
	}
	fx := nx * ss
	if nx < 1 || ny < 1 || len(dst) < nx*ny || len(samples) < fx*ny*ss {
		return
	}
	norm := pixArea / float64(ss*ss)
	if ss == 1 {
		for k := 0; k < nx*ny; k++ {
			dst[k] = samples[k] * norm
		}
		return
	}
	for j := 0; j < ny; j++ {
		row := dst[j*nx : j*nx+nx]
		for i := range row {
			row[i] = 0
		}
		for b := 0; b < ss; b++ {
			fine := samples[(j*ss+b)*fx : (j*ss+b)*fx+fx]
			for i := 0; i < nx; i++ {
				blk := fine[i*ss : i*ss+ss]
				s := 0.0
				for _, v := range blk {
					s += v
				}
				row[i] += s
			}
		}
		for i := range row {
			row[i] *= norm
		}
	}
}

// sersicCoreHalf is the half-width, in pixels, of the block around a Sersic
// profile's centre that RenderSersic integrates exactly (3 x 3 pixels).
const sersicCoreHalf = 1

// RenderSersic is RenderPixels for a Sersic profile, with the pixels around the
// profile's centre integrated exactly. Uniform supersampling cannot resolve the
// spike at the centre of a steep profile (a de Vaucouleurs profile holds 0.4%
// of its flux within 0.01 R_e): a sample that lands close to the centre
// inflates the pixel sum (an n = 4 profile centred on an odd-sized image at
// ss = 1 comes out 100 times too bright), a sample that misses it deflates it
// by a few percent. RenderSersic renders the image with ss x ss samples per
// pixel and then replaces the 3 x 3 pixels around the centre (those inside the
// image) by their flux integrated with the cusp-safe rule of Sersic.RectFlux
// (16 shared pixel corners, ~8,000 profile evaluations: about 0.2 ms). It
// does not allocate. Measured (TestRenderSersicCusp, n = 4, R_e = 1 and 3
// pixels, any centre): the pixel sum matches the flux in the stamp to 1% at
// ss=1, 0.3% at ss=2 and 0.07% at ss=4.
func RenderSersic(dst []float64, nx, ny int, pixScale float64, ss int, s Sersic) {
	RenderPixels(dst, nx, ny, pixScale, ss, s.Intensity)
	if nx < 1 || ny < 1 || len(dst) < nx*ny || !s.Valid() || !(pixScale > 0) {
		return
	}
	// pixel containing the centre
	ci := int(math.Floor(s.x0/pixScale + 0.5*float64(nx-1) + 0.5))
	cj := int(math.Floor(s.y0/pixScale + 0.5*float64(ny-1) + 0.5))
	// signed corner integrals on the (2h+2) x (2h+2) grid of pixel corners of
	// the block, shared by neighbouring pixels
	const m = 2*sersicCoreHalf + 2
	var corner [m][m]float64
	for b := 0; b < m; b++ {
		j := cj - sersicCoreHalf + b
		if j < 0 || j > ny {
			continue
		}
		_, y := PixelCenter(0, j, nx, ny, pixScale)
		y -= 0.5 * pixScale // bottom edge of row j
		for a := 0; a < m; a++ {
			i := ci - sersicCoreHalf + a
			if i < 0 || i > nx {
				continue
			}
			x, _ := PixelCenter(i, 0, nx, ny, pixScale)
			x -= 0.5 * pixScale // left edge of column i
			corner[b][a] = s.cornerFlux(x, y, glTFast, glTWFast)
		}
	}
	for b := 0; b+1 < m; b++ {
		j := cj - sersicCoreHalf + b
		if j < 0 || j >= ny {
			continue
		}
		for a := 0; a+1 < m; a++ {
			i := ci - sersicCoreHalf + a
			if i < 0 || i >= nx {
				continue
			}
			dst[j*nx+i] = corner[b+1][a+1] - corner[b+1][a] - corner[b][a+1] + corner[b][a]
		}
	}
}
