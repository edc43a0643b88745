package plot

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// EfficiencyOptions configures Efficiency. The zero value gives the defaults.
type EfficiencyOptions struct {
	Style Style
	// Title is the figure title; may be empty.
	Title string
	// Label names the quantity, e.g. "ln θE" (default "ln θE").
	Label string
	// Bins is the number of bins of the running median (default 8).
	Bins int
}

// Default panel size of Efficiency.
const efficiencyPanel = 5.6 * vg.Inch

// Efficiency compares an estimator's posterior widths with the best the
// data allow: bound[k] is lens k's Cramér-Rao bound and width[k] its
// posterior width (both standard deviations, or 68% half-widths, of the
// same quantity). One log-log panel shows every lens as a point, the 1:1
// line (a posterior at the bound) and the running median of the widths in
// bins of the bound; a note gives the median width / bound ratio. Points
// above the line are wider than the data allow; points below it use
// information beyond the image (a prior). Lenses with a non-finite or
// non-positive bound or width (a singular Fisher matrix, say) are left out
// and counted in the note. The axes span the 0.5th to 99.5th percentiles of
// both; the few lenses beyond are drawn at the edge and counted too.
func Efficiency(bound, width []float64, opt EfficiencyOptions) (*Figure, error) {
	const fig = "efficiency"
	if len(bound) != len(width) {
		return nil, fmt.Errorf("%s: %d bounds but %d widths", fig, len(bound), len(width))
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	var b, w, ratio []float64
	for k := range bound {
		if bound[k] > 0 && width[k] > 0 && !math.IsInf(bound[k], 0) && !math.IsInf(width[k], 0) {
			b, w = append(b, bound[k]), append(w, width[k])
			ratio = append(ratio, width[k]/bound[k])
		}
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%s: %d of %d lenses have a finite positive bound and width, want at least 2", fig, len(b), len(bound))
	}
	label := opt.Label
	if label == "" {
		label = "ln θE"
	}
	bins := opt.Bins
	if bins <= 0 {
		bins = 8
	}
	st := opt.Style.withDefaults()
	// Axes: from the 0.5th to the 99.5th percentile of both, so that a few
	// lenses with enormous bounds (nearly unmeasured) do not squash the
	// rest; lenses beyond are pinned to the edge and counted.
	sb, sw := slices.Clone(b), slices.Clone(w)
	slices.Sort(sb)
	slices.Sort(sw)
	lo := math.Min(sb[len(sb)/200], sw[len(sw)/200]) / 1.3
	hi := math.Max(sb[len(sb)-1-len(sb)/200], sw[len(sw)-1-len(sw)/200]) * 1.3
	pin := func(v float64) float64 { return math.Min(math.Max(v, lo), hi) }
	pinned := 0

	pl := st.NewPlot("", "Cramér-Rao bound on "+label, "posterior width of "+label)
	pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = lo, hi, lo, hi
	pl.X.Scale, pl.X.Tick.Marker = gplot.LogScale{}, logTicks{}
	pl.Y.Scale, pl.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
	pl.Add(tickGrid{Style: draw.LineStyle{Color: colGrid, Width: 0.8 * st.AxisWidth}, X: pl.X.Tick.Marker, Y: pl.Y.Tick.Marker})

	alpha, radius := 0.85, 0.22*st.TickSize
	if len(b) > 300 {
		alpha, radius = 0.45, 0.16*st.TickSize
	}
	pts := marker{Glyph: draw.GlyphStyle{Color: withAlpha(st.Color(0), alpha), Radius: radius, Shape: draw.CircleGlyph{}}}
	for k := range b {
		x, y := pin(b[k]), pin(w[k])
		if x != b[k] || y != w[k] {
			pinned++
		}
		pts.X, pts.Y = append(pts.X, x), append(pts.Y, y)
	}
	one := curve{X: []float64{lo, hi}, Y: []float64{lo, hi}, Style: st.line(colBlack, 0.75, []vg.Length{3 * st.LineWidth, 2 * st.LineWidth})}

	// Running median in bins holding equal numbers of lenses.
	idx := make([]int, len(b))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmp.Compare(b[i], b[j]) })
	bins = min(bins, len(b)/2)
	run := curve{Style: st.line(st.Color(1), 1.6, nil)}
	for k := range bins {
		part := idx[k*len(idx)/bins : (k+1)*len(idx)/bins]
		xs, ys := make([]float64, len(part)), make([]float64, len(part))
		for i, j := range part {
			xs[i], ys[i] = b[j], w[j]
		}
		run.X = append(run.X, median(xs))
		run.Y = append(run.Y, median(ys))
	}
	pl.Add(one, pts, run)

	txt := fmt.Sprintf("median width / bound = %.2f\nN = %d", median(ratio), len(b))
	if left := len(bound) - len(b); left > 0 {
		txt += fmt.Sprintf(" (%d without a bound)", left)
	}
	if pinned > 0 {
		txt += fmt.Sprintf("\n%d beyond the axes, drawn at their edge", pinned)
	}
	ns := st.textStyle(st.LegendSize)
	ns.XAlign, ns.YAlign = draw.XLeft, draw.YTop
	pl.Add(note{Text: txt, RelX: 0, RelY: 1, Inset: 0.5 * st.LegendSize, Style: ns, Box: withAlpha(colWhite, 0.8)})

	pts.Glyph.Color = withAlpha(st.Color(0), 0.85)
	pts.Glyph.Radius = 0.22 * st.TickSize
	legend := []LegendEntry{{"lens", pts}, {"running median", run}, {"at the bound", one}}
	f := &Figure{Panels: [][]*gplot.Plot{{pl}}, Title: opt.Title, Legend: legend, Style: st}
	f.sizeFor(efficiencyPanel, efficiencyPanel)
	return f, nil
}
