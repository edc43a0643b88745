package notebook

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"slices"
)

// HStack places images side by side, left to right, with gap pixels between
// them and around them, each centred vertically, on a background of colour
// bg (nil: white). It is the way to show, for example, a lens's colour image
// beside its corner plot as one PNG output: turn a figure into an image with
// plot.Figure.Image first. Nil images and a negative gap are errors.
func HStack(gap int, bg color.Color, imgs ...image.Image) (*image.RGBA, error) {
	if len(imgs) == 0 {
		return nil, errors.New("notebook: hstack: no images")
	}
	if gap < 0 {
		return nil, fmt.Errorf("notebook: hstack: negative gap %d", gap)
	}
	if bg == nil {
		bg = color.White
	}
	w, h := gap, 0
	for i, im := range imgs {
		if im == nil {
			return nil, fmt.Errorf("notebook: hstack: image %d is nil", i)
		}
		b := im.Bounds()
		w += b.Dx() + gap
		h = max(h, b.Dy())
	}
	h += 2 * gap
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	x := gap
	for _, im := range imgs {
		b := im.Bounds()
		y := (h - b.Dy()) / 2
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), im, b.Min, draw.Over)
		x += b.Dx() + gap
	}
	return out, nil
}

// RGBBands picks the i, r and g planes (red, green, blue, the DECam colour
// convention of package plot) out of a band-major cutout img ([band][y][x],
// nx*ny pixels per band, bands naming the planes), ready for plot.Composite
// and plot.AutoLupton. The planes share img's memory. A missing band or a
// size mismatch is an error.
func RGBBands(img []float32, bands []string, nx, ny int) ([3][]float32, error) {
	var out [3][]float32
	npix := nx * ny
	if nx <= 0 || ny <= 0 || len(img) != len(bands)*npix {
		return out, fmt.Errorf("notebook: %d values for %d bands of %dx%d pixels", len(img), len(bands), nx, ny)
	}
	for c, name := range []string{"i", "r", "g"} {
		k := slices.Index(bands, name)
		if k < 0 {
			return out, fmt.Errorf("notebook: no %s band among %v (a g r i composite needs all three)", name, bands)
		}
		out[c] = img[k*npix : (k+1)*npix : (k+1)*npix]
	}
	return out, nil
}
