package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// This file holds small plotters used by the figures. None of them
// implements gplot.DataRanger: the figures set their axis ranges
// explicitly, and reference lines must not stretch them.

// vline is a vertical line at X across the whole data area.
type vline struct {
	X     float64
	Style draw.LineStyle
}

// Plot implements gplot.Plotter.
func (l vline) Plot(c draw.Canvas, p *gplot.Plot) {
	if l.X < p.X.Min || l.X > p.X.Max {
		return
	}
	x := c.X(p.X.Norm(l.X))
	c.StrokeLine2(l.Style, x, c.Min.Y, x, c.Max.Y)
}

// Thumbnail implements gplot.Thumbnailer (a horizontal stroke, as for
// any line, which reads better in a legend than a short vertical bar).
func (l vline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(l.Style, c.Min.X, y, c.Max.X, y)
}

// hline is a horizontal line at Y across the whole data area.
type hline struct {
	Y     float64
	Style draw.LineStyle
}

// Plot implements gplot.Plotter.
func (l hline) Plot(c draw.Canvas, p *gplot.Plot) {
	if l.Y < p.Y.Min || l.Y > p.Y.Max {
		return
	}
	y := c.Y(p.Y.Norm(l.Y))
	c.StrokeLine2(l.Style, c.Min.X, y, c.Max.X, y)
}

// Thumbnail implements gplot.Thumbnailer.
func (l hline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(l.Style, c.Min.X, y, c.Max.X, y)
}

// curve is a polyline in data coordinates, clipped to the data area.
type curve struct {
	X, Y  []float64
	Style draw.LineStyle
}

// Plot implements gplot.Plotter.
func (l curve) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	pts := make([]vg.Point, len(l.X))
	for i := range l.X {
		pts[i] = vg.Point{X: tx(l.X[i]), Y: ty(l.Y[i])}
	}
	c.StrokeLines(l.Style, c.ClipLinesXY(pts)...)
}

// Thumbnail implements gplot.Thumbnailer.
func (l curve) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(l.Style, c.Min.X, y, c.Max.X, y)
}

// band fills the area between Lo(x) and Hi(x).
type band struct {
	X, Lo, Hi []float64
	Color     color.Color
}

// Plot implements gplot.Plotter.
func (b band) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	n := len(b.X)
	pts := make([]vg.Point, 0, 2*n)
	for i := range n {
		pts = append(pts, vg.Point{X: tx(b.X[i]), Y: ty(b.Hi[i])})
	}
	for i := n - 1; i >= 0; i-- {
		pts = append(pts, vg.Point{X: tx(b.X[i]), Y: ty(b.Lo[i])})
	}
	if len(pts) >= 3 {
		c.FillPolygon(b.Color, c.ClipPolygonXY(pts))
	}
}

// Thumbnail implements gplot.Thumbnailer (a filled box).
func (b band) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.Color, []vg.Point{c.Min, {X: c.Min.X, Y: c.Max.Y}, c.Max, {X: c.Max.X, Y: c.Min.Y}})
}

// stepBand turns per-bin values on the given edges into the x, lo, hi
// arrays of a band with flat tops (a histogram-shaped band).
func stepBand(edges, lo, hi []float64) band {
	n := len(lo)
	b := band{X: make([]float64, 0, 2*n), Lo: make([]float64, 0, 2*n), Hi: make([]float64, 0, 2*n)}
	for i := range n {
		b.X = append(b.X, edges[i], edges[i+1])
		b.Lo = append(b.Lo, lo[i], lo[i])
		b.Hi = append(b.Hi, hi[i], hi[i])
	}
	return b
}

// stepCurve returns the outline of a histogram with the given edges and
// heights, starting and ending at 0.
func stepCurve(edges, h []float64, st draw.LineStyle) curve {
	n := len(h)
	cv := curve{X: make([]float64, 0, 2*n+2), Y: make([]float64, 0, 2*n+2), Style: st}
	cv.X = append(cv.X, edges[0])
	cv.Y = append(cv.Y, 0)
	for i := range n {
		cv.X = append(cv.X, edges[i], edges[i+1])
		cv.Y = append(cv.Y, h[i], h[i])
	}
	cv.X = append(cv.X, edges[n])
	cv.Y = append(cv.Y, 0)
	return cv
}

// marker draws glyphs at points.
type marker struct {
	X, Y  []float64
	Glyph draw.GlyphStyle
}

// Plot implements gplot.Plotter.
func (m marker) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range m.X {
		pt := vg.Point{X: tx(m.X[i]), Y: ty(m.Y[i])}
		if c.Contains(pt) {
			c.DrawGlyph(m.Glyph, pt)
		}
	}
}

// Thumbnail implements gplot.Thumbnailer.
func (m marker) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(m.Glyph, c.Center())
}

// errorBars draws vertical bars from Lo to Hi at X.
type errorBars struct {
	X, Lo, Hi []float64
	Style     draw.LineStyle
}

// Plot implements gplot.Plotter.
func (e errorBars) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range e.X {
		x := tx(e.X[i])
		if !c.ContainsX(x) {
			continue
		}
		seg := c.ClipLinesY([]vg.Point{{X: x, Y: ty(e.Lo[i])}, {X: x, Y: ty(e.Hi[i])}})
		c.StrokeLines(e.Style, seg...)
	}
}

// Thumbnail implements gplot.Thumbnailer.
func (e errorBars) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(e.Style, x, c.Min.Y, x, c.Max.Y)
}

// note is text placed at a relative position of the data area: (0,0) is
// the bottom-left corner, (1,1) the top-right; the text is inset by Inset
// and aligned by XAlign/YAlign of its style.
type note struct {
	Text       string
	RelX, RelY float64
	Inset      vg.Length
	Style      text.Style
	// Box, when not nil, fills a rectangle behind the text.
	Box color.Color
}

// Plot implements gplot.Plotter.
func (n note) Plot(c draw.Canvas, _ *gplot.Plot) {
	x := c.Min.X + vg.Length(n.RelX)*(c.Max.X-c.Min.X)
	y := c.Min.Y + vg.Length(n.RelY)*(c.Max.Y-c.Min.Y)
	x += n.Inset * vg.Length(1-2*n.RelX)
	y += n.Inset * vg.Length(1-2*n.RelY)
	if n.Box != nil {
		r := n.Style.Rectangle(n.Text)
		pad := 0.25 * n.Style.Font.Size
		c.FillPolygon(n.Box, []vg.Point{
			{X: x + r.Min.X - pad, Y: y + r.Min.Y - pad}, {X: x + r.Min.X - pad, Y: y + r.Max.Y + pad},
			{X: x + r.Max.X + pad, Y: y + r.Max.Y + pad}, {X: x + r.Max.X + pad, Y: y + r.Min.Y - pad},
		})
	}
	c.FillText(n.Style, vg.Point{X: x, Y: y}, n.Text)
}

// heatGrid is a plotter.GridXYZ over a regular 2-D binning.
type heatGrid struct {
	nx, ny         int
	x0, dx, y0, dy float64
	z              []float64 // row-major, index iy*nx + ix
}

// Dims implements plotter.GridXYZ.
func (g heatGrid) Dims() (c, r int) { return g.nx, g.ny }

// Z implements plotter.GridXYZ.
func (g heatGrid) Z(c, r int) float64 { return g.z[r*g.nx+c] }

// X implements plotter.GridXYZ.
func (g heatGrid) X(c int) float64 { return g.x0 + (float64(c)+0.5)*g.dx }

// Y implements plotter.GridXYZ.
func (g heatGrid) Y(r int) float64 { return g.y0 + (float64(r)+0.5)*g.dy }

// rampPalette is a palette.Palette interpolating linearly between colours.
type rampPalette struct {
	stops []color.NRGBA
	n     int
}

// Colors implements palette.Palette.
func (p rampPalette) Colors() []color.Color {
	out := make([]color.Color, p.n)
	for i := range p.n {
		t := float64(i) / float64(p.n-1) * float64(len(p.stops)-1)
		k := min(int(t), len(p.stops)-2)
		f := t - float64(k)
		a, b := p.stops[k], p.stops[k+1]
		mix := func(u, v uint8) uint8 { return uint8(float64(u)*(1-f) + float64(v)*f + 0.5) }
		out[i] = color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), mix(a.A, b.A)}
	}
	return out
}

// thumbs overlays the legend thumbnails of several plotters.
type thumbs []gplot.Thumbnailer

// Thumbnail implements gplot.Thumbnailer.
func (t thumbs) Thumbnail(c *draw.Canvas) {
	for _, th := range t {
		th.Thumbnail(c)
	}
}
