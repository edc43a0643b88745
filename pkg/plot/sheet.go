package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font/liberation"
)

// Tile is one cell of a contact sheet: an image and the lines of text
// printed under it, e.g. []string{`θE=1.23" zl=0.45 zs=1.80`}.
type Tile struct {
	Image image.Image
	Lines []string
}

// Colours of a contact sheet.
var (
	sheetBackground = color.RGBA{0x14, 0x16, 0x1a, 0xff}
	sheetFrame      = color.RGBA{0x3c, 0x42, 0x4c, 0xff}
	sheetText       = color.RGBA{0xe4, 0xe6, 0xea, 0xff}
	sheetTitle      = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// Limits of a contact sheet.
const (
	minLabelPx    = 10      // smallest label font (pixels per em)
	maxPixels     = 1 << 27 // refuse sheets larger than this (512 MiB of RGBA)
	maxTitleScale = 1.5     // title font relative to the largest label font
)

// SheetLayout is the geometry of a contact sheet in pixels, as computed by
// LayoutSheet. Tiles are placed row by row, left to right, top to bottom.
//
//	W = Pad + Cols*(CellW + Pad)
//	H = TitleH + Pad + Rows*(CellH + Pad)
//	CellW = TileSize, CellH = TileSize + Lines*LineH
//
// TitleH is 0 without a title.
type SheetLayout struct {
	Cols, Rows   int // grid size
	TileSize     int // side of the square each tile image is scaled into
	Pad          int // outer margin and gap between cells
	LabelPx      int // label font size, pixels per em
	LineH        int // distance between label lines
	Lines        int // label lines under each tile (the most any tile has)
	TitlePx      int // title font size, pixels per em (0 without a title)
	TitleH       int // height of the title band (0 without a title)
	CellW, CellH int // size of one cell: tile plus labels
	W, H         int // size of the whole sheet
}

// Cell returns the rectangle of tile k's image inside the sheet.
func (l SheetLayout) Cell(k int) image.Rectangle {
	c, r := k%l.Cols, k/l.Cols
	x := l.Pad + c*(l.CellW+l.Pad)
	y := l.TitleH + l.Pad + r*(l.CellH+l.Pad)
	return image.Rect(x, y, x+l.TileSize, y+l.TileSize)
}

// fonts holds the parsed Liberation Sans faces shared by all sheets.
var fonts struct {
	once          sync.Once
	regular, bold *opentype.Font
	err           error
}

func loadFonts() (regular, bold *opentype.Font, err error) {
	fonts.once.Do(func() {
		for _, f := range liberation.Collection() {
			if f.Font.Variant != "Sans" || f.Font.Style != font.StyleNormal {
				continue
			}
			switch f.Font.Weight {
			case font.WeightNormal:
				fonts.regular = f.Face
			case font.WeightBold:
				fonts.bold = f.Face
			}
		}
		if fonts.regular == nil || fonts.bold == nil {
			fonts.err = errors.New("liberation sans regular/bold not found in gonum plot's font collection")
		}
	})
	return fonts.regular, fonts.bold, fonts.err
}

// newFace returns a hinted face of the given size in pixels per em.
func newFace(f *opentype.Font, px int) (font.Face, error) {
	return opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
}

// textWidth is the advance width of s at 1 pixel per em (unhinted).
func textWidth(f *opentype.Font, s string) (float64, error) {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 100, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return 0, err
	}
	defer face.Close()
	return float64(font.MeasureString(face, s)) / 64 / 100, nil
}

// glyphFallback spells out the symbols our labels use when a font lacks them.
var glyphFallback = map[rune]string{
	'θ': "theta", 'σ': "sigma", 'μ': "mu", 'φ': "phi", 'γ': "gamma",
	'″': `"`, '′': "'", '…': "...", '±': "+/-", '×': "x", '−': "-",
}

// renderable replaces every rune of s that f has no glyph for: by the
// spelling in glyphFallback, or else by '?'.
func renderable(f *opentype.Font, s string) string {
	var buf sfnt.Buffer
	has := func(r rune) bool {
		g, err := f.GlyphIndex(&buf, r)
		return err == nil && g != 0
	}
	ok := true
	for _, r := range s {
		if !has(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case has(r):
			b.WriteRune(r)
		case glyphFallback[r] != "":
			b.WriteString(glyphFallback[r])
		default:
			b.WriteRune('?')
		}
	}
	return b.String()
}

// truncate shortens s with a trailing ellipsis so that it is at most w
// pixels wide in face.
func truncate(face font.Face, s string, w int) string {
	limit := fixed.I(w)
	if font.MeasureString(face, s) <= limit {
		return s
	}
	const ell = "…"
	for len(s) > 0 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
		if font.MeasureString(face, s+ell) <= limit {
			return s + ell
		}
	}
	return ""
}

// LayoutSheet computes the geometry ContactSheet uses for the given tiles.
// cols is capped at len(tiles). The label font is the largest size, up to
// tileSize/8 pixels per em, at which every label line fits under its tile,
// but not below 10 px (longer lines are then cut with an ellipsis); the
// title is up to 1.5 times the label size, shrunk to fit the sheet width.
func LayoutSheet(tiles []Tile, cols, tileSize int, title string) (SheetLayout, error) {
	var l SheetLayout
	if len(tiles) == 0 {
		return l, errors.New("contact sheet: no tiles")
	}
	if cols <= 0 {
		return l, fmt.Errorf("contact sheet: cols = %d, want > 0", cols)
	}
	if tileSize < 8 {
		return l, fmt.Errorf("contact sheet: tile size %d px, want >= 8", tileSize)
	}
	regular, bold, err := loadFonts()
	if err != nil {
		return l, fmt.Errorf("contact sheet: %w", err)
	}
	l.Cols = min(cols, len(tiles))
	l.Rows = (len(tiles) + l.Cols - 1) / l.Cols
	l.TileSize = tileSize
	l.Pad = max(6, tileSize/20)

	maxPx := max(minLabelPx, tileSize/8)
	l.LabelPx = maxPx
	for k, t := range tiles {
		if t.Image == nil {
			return l, fmt.Errorf("contact sheet: tile %d has no image", k)
		}
		if t.Image.Bounds().Empty() {
			return l, fmt.Errorf("contact sheet: tile %d has an empty image (%v)", k, t.Image.Bounds())
		}
		l.Lines = max(l.Lines, len(t.Lines))
		for _, s := range t.Lines {
			w, err := textWidth(regular, renderable(regular, s))
			if err != nil {
				return l, fmt.Errorf("contact sheet: measuring label of tile %d: %w", k, err)
			}
			if w > 0 {
				// 0.97: margin for hinting, which can widen advances slightly.
				l.LabelPx = min(l.LabelPx, int(0.97*float64(tileSize)/w))
			}
		}
	}
	l.LabelPx = max(l.LabelPx, minLabelPx)
	l.LineH = int(math.Ceil(1.3 * float64(l.LabelPx)))
	l.CellW = tileSize
	l.CellH = tileSize + l.Lines*l.LineH
	if l.Lines > 0 {
		l.CellH += l.Pad / 2 // breathing room between the tile and its first line
	}
	l.W = l.Pad + l.Cols*(l.CellW+l.Pad)
	if title != "" {
		w, err := textWidth(bold, renderable(bold, title))
		if err != nil {
			return l, fmt.Errorf("contact sheet: measuring title: %w", err)
		}
		l.TitlePx = int(maxTitleScale * float64(max(l.LabelPx, 14)))
		if w > 0 {
			l.TitlePx = min(l.TitlePx, int(0.97*float64(l.W-2*l.Pad)/w))
		}
		l.TitlePx = max(l.TitlePx, minLabelPx)
		l.TitleH = l.Pad + int(math.Ceil(1.4*float64(l.TitlePx)))
	}
	l.H = l.TitleH + l.Pad + l.Rows*(l.CellH+l.Pad)
	if int64(l.W)*int64(l.H) > maxPixels {
		return l, fmt.Errorf("contact sheet: %dx%d pixels is too large (limit %d pixels); use fewer tiles or a smaller tile size",
			l.W, l.H, maxPixels)
	}
	return l, nil
}

// ContactSheet draws tiles on a grid of cols columns on a dark background,
// each image scaled into a tileSize x tileSize square (nearest neighbour,
// keeping its aspect ratio, centred) with its label lines printed under it
// in Liberation Sans (from gonum plot's font collection), and the title, if
// not empty, in bold across the top. The geometry is that of LayoutSheet.
// Characters the font lacks are spelled out (θ -> theta) or shown as '?'.
func ContactSheet(tiles []Tile, cols, tileSize int, title string) (*image.RGBA, error) {
	l, err := LayoutSheet(tiles, cols, tileSize, title)
	if err != nil {
		return nil, err
	}
	regular, bold, err := loadFonts()
	if err != nil {
		return nil, fmt.Errorf("contact sheet: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, l.W, l.H))
	xdraw.Draw(img, img.Bounds(), image.NewUniform(sheetBackground), image.Point{}, xdraw.Src)

	if title != "" {
		face, err := newFace(bold, l.TitlePx)
		if err != nil {
			return nil, fmt.Errorf("contact sheet: title font: %w", err)
		}
		s := truncate(face, renderable(bold, title), l.W-2*l.Pad)
		m := face.Metrics()
		// Centre the text's ascent+descent vertically in the band below the top margin.
		base := l.Pad + (l.TitleH-l.Pad+m.Ascent.Ceil()-m.Descent.Ceil())/2
		d := font.Drawer{Dst: img, Src: image.NewUniform(sheetTitle), Face: face, Dot: fixed.P(l.Pad, base)}
		d.DrawString(s)
		face.Close()
	}

	var face font.Face
	if l.Lines > 0 {
		face, err = newFace(regular, l.LabelPx)
		if err != nil {
			return nil, fmt.Errorf("contact sheet: label font: %w", err)
		}
		defer face.Close()
	}
	frame := image.NewUniform(sheetFrame)
	text := image.NewUniform(sheetText)
	for k, t := range tiles {
		cell := l.Cell(k)
		// A 1 px frame just outside the tile separates black tiles from the background.
		xdraw.Draw(img, cell.Inset(-1), frame, image.Point{}, xdraw.Src)
		xdraw.Draw(img, cell, image.Black, image.Point{}, xdraw.Src)
		xdraw.NearestNeighbor.Scale(img, fit(t.Image.Bounds(), cell), t.Image, t.Image.Bounds(), xdraw.Src, nil)
		if len(t.Lines) == 0 {
			continue
		}
		m := face.Metrics()
		top := cell.Max.Y + l.Pad/2
		lead := (l.LineH - m.Ascent.Ceil() - m.Descent.Ceil()) / 2
		for j, s := range t.Lines {
			s = truncate(face, renderable(regular, s), l.CellW)
			base := top + j*l.LineH + lead + m.Ascent.Ceil()
			d := font.Drawer{Dst: img, Src: text, Face: face, Dot: fixed.P(cell.Min.X, base)}
			d.DrawString(s)
		}
	}
	return img, nil
}

// fit returns the largest rectangle with src's aspect ratio centred in dst.
func fit(src, dst image.Rectangle) image.Rectangle {
	sw, sh := src.Dx(), src.Dy()
	dw, dh := dst.Dx(), dst.Dy()
	w, h := dw, dh
	if sw*dh > sh*dw { // wider than dst
		h = max(1, int(math.Round(float64(dw)*float64(sh)/float64(sw))))
	} else {
		w = max(1, int(math.Round(float64(dh)*float64(sw)/float64(sh))))
	}
	x := dst.Min.X + (dw-w)/2
	y := dst.Min.Y + (dh-h)/2
	return image.Rect(x, y, x+w, y+h)
}
