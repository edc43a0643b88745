package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Style is the one look shared by every figure of the package: fonts, line
// widths, resolution and colours. The zero value of any field means its
// default (see DefaultStyle), so Style{} is the default style and
// Style{DPI: 300} only changes the resolution.
//
// Sizes are in points (1/72 inch) at the figure's nominal size; the
// defaults keep all text at 12 pt or more and lines at 2 pt, so a figure
// shown on a slide at roughly its nominal width stays readable.
type Style struct {
	// Font is the typeface (its Size is ignored). Default: Liberation Sans.
	Font font.Font
	// TitleSize, LabelSize, TickSize and LegendSize are the font sizes of
	// panel titles, axis labels, tick labels and legend entries.
	// Defaults: 15, 15, 13 and 13 pt.
	TitleSize, LabelSize, TickSize, LegendSize vg.Length
	// LineWidth is the width of data lines. Default: 2 pt.
	LineWidth vg.Length
	// AxisWidth is the width of axis lines and ticks. Default: 1.2 pt.
	AxisWidth vg.Length
	// DPI is the resolution of PNG output. Default: 150.
	DPI int
	// Colors is the cycle of series colours. Default: the Okabe & Ito
	// (2008) colour-blind-safe palette.
	Colors []color.Color
}

// Default values of Style.
const (
	defaultTitleSize  = 15
	defaultLabelSize  = 15
	defaultTickSize   = 13
	defaultLegendSize = 13
	defaultLineWidth  = 2
	defaultAxisWidth  = 1.2
	defaultDPI        = 150
)

// Named colours of the default palette (Okabe & Ito 2008) and the greys
// used for reference lines and bands.
var (
	colBlue       = color.NRGBA{0x00, 0x72, 0xB2, 0xFF}
	colVermillion = color.NRGBA{0xD5, 0x5E, 0x00, 0xFF}
	colGreen      = color.NRGBA{0x00, 0x9E, 0x73, 0xFF}
	colOrange     = color.NRGBA{0xE6, 0x9F, 0x00, 0xFF}
	colPurple     = color.NRGBA{0xCC, 0x79, 0xA7, 0xFF}
	colSky        = color.NRGBA{0x56, 0xB4, 0xE9, 0xFF}
	colYellow     = color.NRGBA{0xF0, 0xE4, 0x42, 0xFF}
	colBlack      = color.NRGBA{0x00, 0x00, 0x00, 0xFF}
	colWhite      = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	colBand       = color.NRGBA{0x80, 0x80, 0x80, 0x50} // translucent grey
	colGrid       = color.NRGBA{0xDD, 0xDD, 0xDD, 0xFF}
)

// DefaultStyle returns the package's default style with every field set.
func DefaultStyle() Style {
	return Style{}.withDefaults()
}

// withDefaults fills the zero fields of s.
func (s Style) withDefaults() Style {
	if s.Font.Typeface == "" {
		s.Font = font.Font{Typeface: "Liberation", Variant: "Sans"}
	}
	setLen := func(v *vg.Length, d vg.Length) {
		if *v == 0 {
			*v = d
		}
	}
	setLen(&s.TitleSize, defaultTitleSize)
	setLen(&s.LabelSize, defaultLabelSize)
	setLen(&s.TickSize, defaultTickSize)
	setLen(&s.LegendSize, defaultLegendSize)
	setLen(&s.LineWidth, defaultLineWidth)
	setLen(&s.AxisWidth, defaultAxisWidth)
	if s.DPI == 0 {
		s.DPI = defaultDPI
	}
	if len(s.Colors) == 0 {
		s.Colors = []color.Color{colBlue, colVermillion, colGreen, colOrange, colPurple, colSky, colBlack, colYellow}
	}
	return s
}

// Validate reports whether s (after defaults) can be used.
func (s Style) Validate() error {
	s = s.withDefaults()
	for _, f := range []struct {
		name string
		v    vg.Length
	}{{"TitleSize", s.TitleSize}, {"LabelSize", s.LabelSize}, {"TickSize", s.TickSize},
		{"LegendSize", s.LegendSize}, {"LineWidth", s.LineWidth}, {"AxisWidth", s.AxisWidth}} {
		if !(f.v > 0) || math.IsInf(float64(f.v), 0) {
			return fmt.Errorf("style: %s = %v, want a finite size > 0", f.name, f.v)
		}
	}
	if s.DPI < 10 || s.DPI > 2400 {
		return fmt.Errorf("style: DPI = %d, want 10..2400", s.DPI)
	}
	if !font.DefaultCache.Has(s.Font) {
		return fmt.Errorf("style: font %q %q is not in the font cache", s.Font.Typeface, s.Font.Variant)
	}
	for i, c := range s.Colors {
		if c == nil {
			return fmt.Errorf("style: Colors[%d] is nil", i)
		}
	}
	return nil
}

// Color returns the i-th colour of the cycle.
func (s Style) Color(i int) color.Color {
	s = s.withDefaults()
	return s.Colors[((i%len(s.Colors))+len(s.Colors))%len(s.Colors)]
}

// dash patterns cycled together with colours so that series stay
// distinguishable in greyscale.
func (s Style) dashes(i int) []vg.Length {
	w := s.withDefaults().LineWidth
	switch i % 4 {
	case 1:
		return []vg.Length{4 * w, 2 * w}
	case 2:
		return []vg.Length{1.2 * w, 1.5 * w}
	case 3:
		return []vg.Length{4 * w, 1.5 * w, 1.2 * w, 1.5 * w}
	}
	return nil
}

// handler is the text handler of all figure text.
var handler = scriptText{Fonts: font.DefaultCache}

// textStyle returns a text style of the given size.
func (s Style) textStyle(size vg.Length) text.Style {
	f := s.Font
	f.Size = size
	return text.Style{Color: color.Black, Font: f, Handler: handler}
}

// line returns a data line style of colour c, with width factor k.
func (s Style) line(c color.Color, k float64, dashes []vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: s.LineWidth * vg.Length(k), Dashes: dashes}
}

// NewPlot returns an empty gonum plot in the style: fonts and sizes set,
// the package's tick marker on both axes (about 5 labelled ticks with a
// common number of decimals), and the given title and axis labels.
// Labels accept the sub- and superscript syntax "θ_E", "10^{-3}" (see
// the package documentation).
func (s Style) NewPlot(title, xlabel, ylabel string) *gplot.Plot {
	s = s.withDefaults()
	p := gplot.New()
	p.TextHandler = handler
	p.Title.Text = title
	p.Title.TextStyle = s.textStyle(s.TitleSize)
	p.Title.TextStyle.XAlign = draw.XCenter
	p.Title.TextStyle.YAlign = draw.YTop
	p.Title.Padding = 0.5 * s.TitleSize
	for i, ax := range []*gplot.Axis{&p.X, &p.Y} {
		ax.LineStyle = draw.LineStyle{Color: color.Black, Width: s.AxisWidth}
		ax.Padding = 0
		ax.Label.TextStyle = s.textStyle(s.LabelSize)
		ax.Label.TextStyle.XAlign = draw.XCenter
		ax.Label.TextStyle.YAlign = draw.YBottom
		ax.Label.Padding = 0.3 * s.LabelSize
		ax.Tick.Label = s.textStyle(s.TickSize)
		if i == 0 {
			ax.Tick.Label.XAlign, ax.Tick.Label.YAlign = draw.XCenter, draw.YTop
		} else {
			ax.Tick.Label.XAlign, ax.Tick.Label.YAlign = draw.XRight, draw.YCenter
		}
		ax.Tick.LineStyle = draw.LineStyle{Color: color.Black, Width: s.AxisWidth}
		ax.Tick.Length = 0.45 * s.TickSize
		ax.Tick.Marker = niceTicks{N: 5}
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.TextStyle = s.textStyle(s.LegendSize)
	p.Legend.ThumbnailWidth = 2.2 * s.LegendSize
	p.Legend.Padding = 0.25 * s.LegendSize
	p.Legend.XOffs = -0.4 * s.LegendSize
	p.Legend.YOffs = -0.3 * s.LegendSize
	return p
}

// Param describes one inferred parameter for axis labels: a symbol (with
// the sub/superscript syntax, e.g. "θ_E") and a unit ("arcsec"; empty for
// dimensionless quantities).
type Param struct {
	Symbol string
	Unit   string
}

// Label returns "symbol [unit]", or the bare symbol without a unit.
func (p Param) Label() string {
	if p.Unit == "" {
		return p.Symbol
	}
	return p.Symbol + " [" + p.Unit + "]"
}

// LensParams returns the labels of the four lens parameters inferred by
// the project's NPE, in its order: Einstein radius θ_E [arcsec], lens
// redshift z_lens, velocity dispersion σ_v [km/s], source redshift z_source.
// (The redshifts are spelled out: a sans-serif subscript l reads as I.)
func LensParams() []Param {
	return []Param{
		{Symbol: "θ_E", Unit: "arcsec"},
		{Symbol: "z_{lens}"},
		{Symbol: "σ_v", Unit: "km/s"},
		{Symbol: "z_{source}"},
	}
}

// ParamFor returns the label of a dataset column name (THETA_E, Z_LENS,
// SIGMA_V, Z_SOURCE and a few more; case-insensitive) with the given
// unit; an unknown name is used as the symbol with underscores escaped.
func ParamFor(name, unit string) Param {
	sym := map[string]string{
		"THETA_E":  "θ_E",
		"Z_LENS":   "z_{lens}",
		"Z_L":      "z_{lens}",
		"SIGMA_V":  "σ_v",
		"Z_SOURCE": "z_{source}",
		"Z_S":      "z_{source}",
		"Q_LENS":   "q_l",
		"GAMMA":    "γ",
		"E1":       "e_1",
		"E2":       "e_2",
		"MAG_SRC":  "m_s",
		"R_EFF":    "R_{eff}",
	}[strings.ToUpper(name)]
	if sym == "" {
		sym = escapeScripts(name)
	}
	return Param{Symbol: sym, Unit: unit}
}

// escapeScripts escapes the characters that scriptText interprets.
func escapeScripts(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `_`, `\_`, `^`, `\^`)
	return r.Replace(s)
}

// niceTicks places major ticks at multiples of a round step (1, 2, 2.5 or
// 5 times a power of ten) chosen to give about N of them, with minor ticks
// in between, and labels them all with the same number of decimals.
type niceTicks struct {
	N int
}

// niceStep returns a round step giving about n intervals over span.
func niceStep(span float64, n int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(max(n, 1))
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*0.999 {
			return m * p
		}
	}
	return 10 * p
}

// Ticks implements gplot.Ticker.
func (t niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	step := niceStep(hi-lo, t.N)
	mant := step / math.Pow(10, math.Floor(math.Log10(step)))
	extra, minorDiv := 0, 5.0
	switch {
	case math.Abs(mant-2.5) < 1e-6:
		extra = 1 // 0.25, 2.5
	case math.Abs(mant-2) < 1e-6:
		minorDiv = 4
	}
	dec := max(0, extra-int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []gplot.Tick
	minor := step / minorDiv
	k0 := math.Ceil(lo/minor - 1e-9)
	k1 := math.Floor(hi/minor + 1e-9)
	if k1-k0 > 1000 {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	for k := k0; k <= k1; k++ {
		v := k * minor
		if math.Abs(math.Remainder(v, step)) < 1e-6*step {
			v = math.Round(v/step) * step
			lab := strconv.FormatFloat(v, 'f', dec, 64)
			if strings.Trim(lab, "-0.") == "" {
				lab = strconv.FormatFloat(0, 'f', dec, 64)
			}
			ticks = append(ticks, gplot.Tick{Value: v, Label: strings.Replace(lab, "-", "−", 1)})
		} else {
			ticks = append(ticks, gplot.Tick{Value: v})
		}
	}
	return ticks
}

// unlabelled keeps a ticker's positions and drops its labels.
type unlabelled struct{ gplot.Ticker }

// Ticks implements gplot.Ticker.
func (u unlabelled) Ticks(lo, hi float64) []gplot.Tick {
	ts := u.Ticker.Ticks(lo, hi)
	for i := range ts {
		ts[i].Label = ""
	}
	return ts
}

// logTicks marks a log axis: decades labelled 10^{k} (every few decades
// over wide ranges), with minor ticks at 2..9 times each decade; over
// less than two decades the 2x and 5x ticks (and 3x below one decade) are
// labelled too, as plain numbers.
type logTicks struct{}

// Ticks implements gplot.Ticker.
func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	var ticks []gplot.Tick
	k0, k1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	stride := 1
	if k1-k0 > 6 {
		stride = (k1 - k0 + 5) / 6
	}
	labelled := map[int]bool{1: true}
	switch ratio := hi / lo; {
	case ratio < 10:
		labelled[2], labelled[3], labelled[5] = true, true, true
	case ratio < 100:
		labelled[2], labelled[5] = true, true
	}
	plainLabels := len(labelled) > 1
	for k := k0; k <= k1; k++ {
		d := math.Pow(10, float64(k))
		for m := 1; m <= 9; m++ {
			v := float64(m) * d
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			tk := gplot.Tick{Value: v}
			switch {
			case plainLabels && labelled[m]:
				tk.Label = logLabel(m, k)
			case m == 1 && (k-k0)%stride == 0:
				tk.Label = "10^{" + strings.Replace(strconv.Itoa(k), "-", "−", 1) + "}"
			}
			if m == 1 || stride == 1 {
				ticks = append(ticks, tk)
			}
		}
	}
	return ticks
}

// logLabel formats m x 10^k as a plain number, or as "m×10^{k}" when that
// would need more than 3 zeros.
func logLabel(m, k int) string {
	if k < -3 || k > 3 {
		return strconv.Itoa(m) + "×10^{" + strings.Replace(strconv.Itoa(k), "-", "−", 1) + "}"
	}
	return strconv.FormatFloat(float64(m)*math.Pow(10, float64(k)), 'f', max(0, -k), 64)
}

// formatValue formats v with about sig significant digits relative to the
// scale ref (so that 245.3 and 0.812 both get sensible decimals), using
// a Unicode minus sign.
func formatValue(v, ref float64, sig int) string {
	dec := 0
	if ref = math.Abs(ref); ref > 0 && !math.IsInf(ref, 0) {
		dec = max(0, sig-1-int(math.Floor(math.Log10(ref))))
	}
	dec = min(dec, 8)
	return strings.Replace(strconv.FormatFloat(v, 'f', dec, 64), "-", "−", 1)
}

// withAlpha returns c with opacity a in [0,1].
func withAlpha(c color.Color, a float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(math.Round(255 * a))}
}

// lighten mixes c with white; f = 0 keeps c, 1 gives white.
func lighten(c color.Color, f float64) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8(math.Round(float64(v>>8)*(1-f) + 255*f)) }
	return color.NRGBA{mix(r), mix(g), mix(b), 0xFF}
}
