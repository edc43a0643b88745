package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/internal/atomicfile"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// LegendEntry is one item of a figure-level legend: a label and the
// plotter (line, band, marker) whose thumbnail illustrates it.
type LegendEntry struct {
	Label string
	Thumb gplot.Thumbnailer
}

// Figure is a grid of gonum plots drawn as one image, with an optional
// title and a legend row above the grid. Every figure function of the
// package returns one; change Width, Height or Style.DPI before saving to
// get another size. Panels whose axes should line up are aligned with
// gonum's plot.Align, so the data areas of a row (column) share their
// height (width).
type Figure struct {
	// Panels holds rows of panels, top row first; every row has the same
	// length and a nil entry leaves its cell empty.
	Panels [][]*gplot.Plot
	// Title, when not empty, is drawn centred at the top.
	Title string
	// Legend, when not empty, is drawn in rows under the title.
	Legend []LegendEntry
	// Width and Height are the nominal size (1 inch = 72 points); the PNG
	// is Width/inch*DPI by Height/inch*DPI pixels.
	Width, Height vg.Length
	// Style gives the fonts of title and legend and the PNG resolution.
	Style Style
	// EmbedFonts embeds the fonts in SVG output (self-contained files of
	// a few hundred kB; otherwise viewers substitute a local font).
	EmbedFonts bool
	// PadX and PadY are the gaps between panels; zero means a default
	// proportional to the tick label size.
	PadX, PadY vg.Length
}

// PixelSize returns the size in pixels of the figure's PNG rendering.
func (f *Figure) PixelSize() (w, h int) {
	dpi := float64(f.Style.withDefaults().DPI)
	return int(math.Round(float64(f.Width/vg.Inch) * dpi)), int(math.Round(float64(f.Height/vg.Inch) * dpi))
}

// validate checks the figure's layout and size.
func (f *Figure) validate() error {
	if f == nil {
		return errors.New("figure: nil")
	}
	if !(f.Width > 0) || !(f.Height > 0) || math.IsInf(float64(f.Width+f.Height), 0) {
		return fmt.Errorf("figure: size %v x %v pt, want positive", f.Width, f.Height)
	}
	if err := f.Style.Validate(); err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	if w, h := f.PixelSize(); w < 16 || h < 16 || w*h > 100e6 {
		return fmt.Errorf("figure: %d x %d pixels, want 16..10000 per side and at most 1e8 in all", w, h)
	}
	if len(f.Panels) == 0 || len(f.Panels[0]) == 0 {
		return errors.New("figure: no panels")
	}
	for j, row := range f.Panels {
		if len(row) != len(f.Panels[0]) {
			return fmt.Errorf("figure: panel row %d has %d columns, row 0 has %d", j, len(row), len(f.Panels[0]))
		}
	}
	return nil
}

// Draw draws the figure onto c. Gonum panics during drawing (which bad
// plot settings can cause) are returned as errors.
func (f *Figure) Draw(c draw.Canvas) (err error) {
	if err := f.validate(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("figure: drawing failed: %v", r)
		}
	}()
	st := f.Style.withDefaults()
	c.FillPolygon(color.White, []vg.Point{c.Min, {X: c.Min.X, Y: c.Max.Y}, c.Max, {X: c.Max.X, Y: c.Min.Y}})

	margin := st.margin()
	c = draw.Crop(c, margin, -margin, margin, -margin)
	if f.Title != "" {
		ts := st.titleStyle()
		c.FillText(ts, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, f.Title)
		c.Max.Y -= ts.Height(f.Title) + 0.4*st.TitleSize
	}
	if len(f.Legend) > 0 {
		c.Max.Y -= f.drawLegend(c, st) + 0.4*st.LegendSize
	}

	rows, cols := len(f.Panels), len(f.Panels[0])
	padX, padY := f.PadX, f.PadY
	if padX == 0 {
		padX = 1.2 * st.TickSize
	}
	if padY == 0 {
		padY = 1.0 * st.TickSize
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: padX, PadY: padY}
	canvases := gplot.Align(f.Panels, tiles, c)
	for j, row := range f.Panels {
		for i, p := range row {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	return nil
}

// Legend layout constants, in units of Style.LegendSize.
const (
	legendThumbW = 2.2 // thumbnail width
	legendThumbH = 0.8 // thumbnail height
	legendGap    = 0.4 // between thumbnail and label
	legendSep    = 1.4 // between entries
	legendRowH   = 1.4 // row height
)

// legendRows breaks the legend entries into rows that fit width avail and
// returns the entry indices of each row and the rows' widths.
func (f *Figure) legendRows(st Style, avail vg.Length) (rows [][]int, widths []vg.Length) {
	if len(f.Legend) == 0 {
		return nil, nil
	}
	ts := st.textStyle(st.LegendSize)
	var cur []int
	var curW vg.Length
	for i, e := range f.Legend {
		w := (legendThumbW+legendGap)*st.LegendSize + ts.Width(e.Label)
		add := w
		if len(cur) > 0 {
			add += legendSep * st.LegendSize
		}
		if len(cur) > 0 && curW+add > avail {
			rows, widths = append(rows, cur), append(widths, curW)
			cur, curW, add = nil, 0, w
		}
		cur = append(cur, i)
		curW += add
	}
	return append(rows, cur), append(widths, curW)
}

// drawLegend draws the legend entries centred in rows at the top of c and
// returns the height used.
func (f *Figure) drawLegend(c draw.Canvas, st Style) vg.Length {
	ts := st.textStyle(st.LegendSize)
	ts.XAlign, ts.YAlign = draw.XLeft, draw.YCenter
	thumbW, thumbH := legendThumbW*st.LegendSize, legendThumbH*st.LegendSize
	rowH := legendRowH * st.LegendSize
	rows, widths := f.legendRows(st, c.Max.X-c.Min.X)
	y := c.Max.Y - rowH/2
	for r, row := range rows {
		x := (c.Min.X+c.Max.X)/2 - widths[r]/2
		for _, i := range row {
			e := f.Legend[i]
			tc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - thumbH/2}, Max: vg.Point{X: x + thumbW, Y: y + thumbH/2}}}
			if e.Thumb != nil {
				e.Thumb.Thumbnail(&tc)
			}
			x += thumbW + legendGap*st.LegendSize
			c.FillText(ts, vg.Point{X: x, Y: y}, e.Label)
			x += ts.Width(e.Label) + legendSep*st.LegendSize
		}
		y -= rowH
	}
	return vg.Length(len(rows)) * rowH
}

// margin is the blank border around a figure.
func (st Style) margin() vg.Length { return 0.5 * st.TickSize }

// titleStyle is the style of the figure title.
func (st Style) titleStyle() text.Style {
	ts := st.textStyle(st.TitleSize * 1.1)
	ts.XAlign, ts.YAlign = draw.XCenter, draw.YTop
	return ts
}

// HeaderHeight returns the height that the margins, title and legend take
// above (and the margin below) the panel grid at the current Width.
func (f *Figure) HeaderHeight() vg.Length {
	st := f.Style.withDefaults()
	h := 2 * st.margin()
	if f.Title != "" {
		h += st.titleStyle().Height(f.Title) + 0.4*st.TitleSize
	}
	if rows, _ := f.legendRows(st, f.Width-2*st.margin()); len(rows) > 0 {
		h += vg.Length(len(rows))*legendRowH*st.LegendSize + 0.4*st.LegendSize
	}
	return h
}

// sizeFor sets the figure size from a panel size: the grid of panels plus
// the header.
func (f *Figure) sizeFor(panelW, panelH vg.Length) {
	if len(f.Panels) == 0 || len(f.Panels[0]) == 0 {
		return
	}
	f.Width = vg.Length(len(f.Panels[0]))*panelW + 2*f.Style.withDefaults().margin()
	f.Height = vg.Length(len(f.Panels))*panelH + f.HeaderHeight()
}

// Image renders the figure as an RGBA image of PixelSize pixels.
func (f *Figure) Image() (*image.RGBA, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	vc := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(f.Style.withDefaults().DPI))
	if err := f.Draw(draw.New(vc)); err != nil {
		return nil, err
	}
	img, ok := vc.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("figure: renderer returned %T, want *image.RGBA", vc.Image())
	}
	return img, nil
}

// WriteSVG writes the figure as an SVG document.
func (f *Figure) WriteSVG(w io.Writer) error {
	if err := f.validate(); err != nil {
		return err
	}
	vc := vgsvg.NewWith(vgsvg.UseWH(f.Width, f.Height), vgsvg.EmbedFonts(f.EmbedFonts))
	if err := f.Draw(draw.New(vc)); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := vc.WriteTo(&buf); err != nil {
		return fmt.Errorf("figure: writing SVG: %w", err)
	}
	if _, err := svgFixer.WriteString(w, buf.String()); err != nil {
		return fmt.Errorf("figure: writing SVG: %w", err)
	}
	return nil
}

// svgFixer repairs two details of gonum's SVG output: embedded raster
// images (the corner plot's densities) are PNG data labelled image/jpg,
// which strict renderers such as librsvg refuse; and text names only the
// Liberation font, so viewers without it fall back to a font of other
// metrics. Arial and Helvetica have the metrics of Liberation Sans
// (Liberation was designed to match Arial), so listing them keeps the
// layout wherever one of the three is installed.
var svgFixer = strings.NewReplacer(
	"data:image/jpg;base64,iVBOR", "data:image/png;base64,iVBOR",
	"font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;",
	"font-family:Liberation Serif;", "font-family:'Liberation Serif','Times New Roman',Times,serif;",
	"font-family:Liberation Mono;", "font-family:'Liberation Mono','Courier New',Courier,monospace;",
)

// WritePNG writes the figure as a PNG image.
func (f *Figure) WritePNG(w io.Writer) error {
	img, err := f.Image()
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("figure: encoding PNG: %w", err)
	}
	return nil
}

// Save writes the figure to path as PNG or SVG, chosen by the extension
// (.png or .svg, any case). The file is written to a temporary file in
// the same directory and renamed over path, so readers never see a
// partial file; an existing file is replaced.
func (f *Figure) Save(path string) error {
	var enc func(io.Writer) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		enc = f.WritePNG
	case ".svg":
		enc = f.WriteSVG
	default:
		return fmt.Errorf("writing %s: unknown figure format %q, want .png or .svg", path, filepath.Ext(path))
	}
	// Render fully before touching the file system.
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// SaveAll writes stem.png and stem.svg (see Save).
func (f *Figure) SaveAll(stem string) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := f.Save(stem + ext); err != nil {
			return err
		}
	}
	return nil
}

// NewFigure returns a figure of the given rows of panels (top row first;
// nil entries leave cells empty), sized to panelW x panelH per panel plus
// the header. Use it to compose panels from Style.NewPlot or taken from
// other figures; set Title and Legend, then call Resize to update Height.
func NewFigure(rows [][]*gplot.Plot, panelW, panelH vg.Length, st Style) (*Figure, error) {
	f := &Figure{Panels: rows, Style: st, Width: 1, Height: 1}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, errors.New("figure: no panels")
	}
	if !(panelW > 0) || !(panelH > 0) {
		return nil, fmt.Errorf("figure: panel size %v x %v pt, want positive", panelW, panelH)
	}
	f.sizeFor(panelW, panelH)
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Resize sets Width and Height from a panel size, leaving room for the
// current title and legend.
func (f *Figure) Resize(panelW, panelH vg.Length) {
	f.sizeFor(panelW, panelH)
}

// grid arranges panels in rows of cols (the last row padded with nil).
func grid(panels []*gplot.Plot, cols int) [][]*gplot.Plot {
	cols = max(1, min(cols, len(panels)))
	var rows [][]*gplot.Plot
	for i := 0; i < len(panels); i += cols {
		row := make([]*gplot.Plot, cols)
		copy(row, panels[i:min(i+cols, len(panels))])
		rows = append(rows, row)
	}
	return rows
}

// defaultCols returns the number of columns for n panels: one row up to
// three, then a near-square grid.
func defaultCols(n int) int {
	if n <= 3 {
		return max(n, 1)
	}
	return int(math.Ceil(math.Sqrt(float64(n))))
}
