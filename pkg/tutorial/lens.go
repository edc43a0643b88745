package tutorial

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
)

// DetA returns det A = det(d beta / d theta) = (1 - f_xx)(1 - f_yy) - f_xy^2 of
// model m at (x, y): the inverse of the signed magnification, zero on the
// critical curves.
func DetA(m lensing.Model, x, y float64) float64 {
	fxx, fxy, fyy := m.Hessian(x, y)
	return (1-fxx)*(1-fyy) - fxy*fxy
}

// CriticalCurves returns the critical curves of m inside the square
// [-half, half]^2 around the lens centre: the contour det A = 0 of the
// Jacobian determinant sampled on n x n nodes (n even, so that no node falls
// on the singular centre). For an SIE plus shear this is the tangential
// critical curve; the radial one shrinks to the centre.
func CriticalCurves(m lensing.Model, half float64, n int) ([]plotter.XYs, error) {
	if n%2 == 1 {
		n++
	}
	cx, cy := m.SIE.Center()
	g, err := SampleGrid(func(x, y float64) float64 { return DetA(m, x, y) },
		n, n, cx-half, cx+half, cy-half, cy+half)
	if err != nil {
		return nil, fmt.Errorf("critical curves: %w", err)
	}
	return g.Contour(0), nil
}

// Caustics maps curves from the image plane to the source plane through the
// lens equation beta = theta - alpha(theta): applied to the critical curves it
// gives the caustics.
func Caustics(m lensing.Model, curves []plotter.XYs) []plotter.XYs {
	out := make([]plotter.XYs, len(curves))
	for k, c := range curves {
		out[k] = make(plotter.XYs, len(c))
		for i, p := range c {
			out[k][i].X, out[k][i].Y = m.RayShoot(p.X, p.Y)
		}
	}
	return out
}

// Cut returns the cut (pseudo-caustic) of a singular isothermal lens: the
// image in the source plane of an infinitesimal circle around the centre,
// where the deflection depends only on the direction. Sources outside it
// have no image near the centre. n points, closed.
func Cut(m lensing.Model, n int) plotter.XYs {
	if n < 3 {
		n = 3
	}
	cx, cy := m.SIE.Center()
	const eps = 1e-9
	out := make(plotter.XYs, n+1)
	for k := range n + 1 {
		phi := 2 * math.Pi * float64(k) / float64(n)
		out[k].X, out[k].Y = m.RayShoot(cx+eps*math.Cos(phi), cy+eps*math.Sin(phi))
	}
	return out
}

// DeflectionField is the deflection of a lens model on a regular grid, for
// gonum's plotter.NewField (it implements plotter.FieldXY). Each arrow is
// alpha(theta) times Scale.
type DeflectionField struct {
	Model          lensing.Model
	N              int
	Min, Max       float64
	Scale          float64
	alphaX, alphaY []float64
}

// NewDeflectionField tabulates the deflection of m at n x n points covering
// [min, max]^2 (cell centres), arrows scaled by scale.
func NewDeflectionField(m lensing.Model, n int, min, max, scale float64) *DeflectionField {
	f := &DeflectionField{Model: m, N: n, Min: min, Max: max, Scale: scale,
		alphaX: make([]float64, n*n), alphaY: make([]float64, n*n)}
	for r := range n {
		for c := range n {
			f.alphaX[r*n+c], f.alphaY[r*n+c] = m.Deflection(f.X(c), f.Y(r))
		}
	}
	return f
}

// Dims returns the grid size (plotter.FieldXY).
func (f *DeflectionField) Dims() (c, r int) { return f.N, f.N }

// Vector returns the scaled deflection at column c, row r (plotter.FieldXY).
func (f *DeflectionField) Vector(c, r int) plotter.XY {
	return plotter.XY{X: f.Scale * f.alphaX[r*f.N+c], Y: f.Scale * f.alphaY[r*f.N+c]}
}

// X returns the x coordinate of column c (plotter.FieldXY).
func (f *DeflectionField) X(c int) float64 {
	return f.Min + (float64(c)+0.5)*(f.Max-f.Min)/float64(f.N)
}

// Y returns the y coordinate of row r (plotter.FieldXY).
func (f *DeflectionField) Y(r int) float64 { return f.X(r) }

// LensedImage renders the Sersic source src seen through the lens m on an
// n x n image of pixel scale pixScale (arcsec, centred on the origin),
// with ss x ss samples per pixel: each sample theta is ray-shot to the source
// plane and takes the source's surface brightness there (surface brightness
// is conserved by lensing). Row-major, row 0 at the bottom.
func LensedImage(m lensing.Model, src light.Sersic, n int, pixScale float64, ss int) []float64 {
	img := make([]float64, n*n)
	light.RenderPixels(img, n, n, pixScale, ss, func(x, y float64) float64 {
		bx, by := m.RayShoot(x, y)
		return src.Intensity(bx, by)
	})
	return img
}

// ColorImage maps the nx x ny array v (row-major, row 0 at the bottom, as the
// renderers produce) to an image through the colour map cmap, values
// clipped to [lo, hi]. Row 0 becomes the bottom row of the picture, so the
// image can be placed on axes with plotter.NewImage. NaN pixels are
// transparent.
func ColorImage(v []float64, nx, ny int, lo, hi float64, cmap palette.ColorMap) (*image.RGBA, error) {
	if len(v) < nx*ny || nx < 1 || ny < 1 {
		return nil, fmt.Errorf("tutorial.ColorImage: %d values for a %dx%d image", len(v), nx, ny)
	}
	if !(hi > lo) {
		return nil, fmt.Errorf("tutorial.ColorImage: empty range [%g, %g]", lo, hi)
	}
	cmap.SetMin(lo)
	cmap.SetMax(hi)
	img := image.NewRGBA(image.Rect(0, 0, nx, ny))
	for j := range ny {
		for i := range nx {
			z := v[j*nx+i]
			if math.IsNaN(z) {
				img.Set(i, ny-1-j, color.Transparent)
				continue
			}
			z = min(max(z, lo), hi)
			c, err := cmap.At(z)
			if err != nil {
				return nil, fmt.Errorf("tutorial.ColorImage: value %g: %w", z, err)
			}
			img.Set(i, ny-1-j, c)
		}
	}
	return img, nil
}
