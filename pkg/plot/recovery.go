package plot

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// RecoveryOptions configures Recovery. The zero value gives the defaults.
type RecoveryOptions struct {
	Style Style
	// MaxErrorBars is the largest number of lenses drawn with their 68%
	// error bars (an evenly spaced subset when there are more; every
	// lens is still drawn as a point). 0 means 150; negative means none.
	MaxErrorBars int
	// MaxPoints is the largest number of lenses drawn as points (an evenly
	// spaced subset when there are more; R^2 always uses all lenses).
	// 0 means 5000; negative means all.
	MaxPoints int
	// Cols is the number of panels per row; 0: one row up to 3
	// parameters, else a near-square grid.
	Cols int
	// Title is the figure title; may be empty.
	Title string
}

// Default panel size of Recovery.
const recoveryPanel = 4.3 * vg.Inch

// Recovery draws the posterior median against the true value for a test
// set of lenses, one square panel per parameter: truth[p][k], median[p][k],
// lo[p][k] and hi[p][k] are the true value, the posterior median and the
// lower and upper ends of the 68% credible interval of parameter p for
// lens k. Each panel shows the lenses as points (at most opt.MaxPoints), vertical 68% error bars
// for at most opt.MaxErrorBars of them, the 1:1 line, and the
// coefficient of determination R^2 = 1 − Σ(median−truth)^2 / Σ(truth−mean)^2
// with the number of lenses. Both axes share one range, that of the true
// values and medians; error bars are clipped to it.
func Recovery(truth, median, lo, hi [][]float64, params []Param, opt RecoveryOptions) (*Figure, error) {
	const fig = "recovery"
	np := len(truth)
	if np == 0 {
		return nil, fmt.Errorf("%s: no parameters (truth is empty)", fig)
	}
	if len(median) != np || len(lo) != np || len(hi) != np || len(params) != np {
		return nil, fmt.Errorf("%s: parameter counts differ: truth %d, median %d, lo %d, hi %d, params %d",
			fig, np, len(median), len(lo), len(hi), len(params))
	}
	for p := range np {
		n := len(truth[p])
		name := func(a string) string { return fmt.Sprintf("%s[%d] (%s)", a, p, params[p].Symbol) }
		if n < 2 {
			return nil, fmt.Errorf("%s: %s has %d lenses, want at least 2", fig, name("truth"), n)
		}
		for _, a := range []struct {
			n string
			v []float64
		}{{"truth", truth[p]}, {"median", median[p]}, {"lo", lo[p]}, {"hi", hi[p]}} {
			if err := checkSeries(fig, name(a.n), a.v, n); err != nil {
				return nil, err
			}
		}
		for k := range n {
			if lo[p][k] > hi[p][k] {
				return nil, fmt.Errorf("%s: lens %d, %s: lo = %v > hi = %v", fig, k, params[p].Symbol, lo[p][k], hi[p][k])
			}
		}
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	maxBars := opt.MaxErrorBars
	if maxBars == 0 {
		maxBars = 150
	}
	maxPts := opt.MaxPoints
	if maxPts == 0 {
		maxPts = 5000
	}
	if maxPts < 0 {
		maxPts = math.MaxInt
	}
	blue := st.Color(0)

	var (
		panels []*gplot.Plot
		pts    marker
		bars   errorBars
		one    curve
	)
	for p := range np {
		t, m := truth[p], median[p]
		n := len(t)
		a, b := math.Inf(1), math.Inf(-1)
		for k := range n {
			a, b = min(a, t[k], m[k]), max(b, t[k], m[k])
		}
		a, b = padRange(a, b, 0.05)

		pl := st.NewPlot(params[p].Symbol, "true "+params[p].Label(), "posterior median "+params[p].Label())
		pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = a, b, a, b

		// Error bars for an evenly spaced subset.
		bars = errorBars{Style: st.line(withAlpha(blue, 0.45), 0.5, nil)}
		for _, k := range evenSubset(n, maxBars) {
			bars.X = append(bars.X, t[k])
			bars.Lo = append(bars.Lo, lo[p][k])
			bars.Hi = append(bars.Hi, hi[p][k])
		}
		// Points: smaller and translucent when there are many.
		alpha := 0.85
		radius := 0.22 * st.TickSize
		if n > 300 {
			alpha, radius = 0.5, 0.16*st.TickSize
		}
		pts = marker{Glyph: draw.GlyphStyle{Color: withAlpha(blue, alpha), Radius: radius, Shape: draw.CircleGlyph{}}}
		for _, k := range evenSubset(n, maxPts) {
			pts.X, pts.Y = append(pts.X, t[k]), append(pts.Y, m[k])
		}
		one = curve{X: []float64{a, b}, Y: []float64{a, b}, Style: st.line(colBlack, 0.75, []vg.Length{3 * st.LineWidth, 2 * st.LineWidth})}
		pl.Add(bars, one, pts)

		r2 := rSquared(t, m)
		ns := st.textStyle(st.LegendSize)
		ns.XAlign, ns.YAlign = draw.XLeft, draw.YTop
		pl.Add(note{
			Text: fmt.Sprintf("R^2 = %s\nN = %d", formatR2(r2), n),
			RelX: 0, RelY: 1, Inset: 0.5 * st.LegendSize, Style: ns,
			Box: withAlpha(colWhite, 0.8),
		})
		panels = append(panels, pl)
	}
	pts.Glyph.Color = withAlpha(blue, 0.85)
	pts.Glyph.Radius = 0.22 * st.TickSize
	bars.Style.Color = withAlpha(blue, 0.6)
	bars.Style.Width = st.LineWidth * 0.75
	legend := []LegendEntry{{"posterior median", pts}}
	if maxBars > 0 {
		legend[0] = LegendEntry{"posterior median and 68% interval", thumbs{bars, pts}}
	}
	legend = append(legend, LegendEntry{"1:1", one})
	cols := opt.Cols
	if cols <= 0 {
		cols = defaultCols(len(panels))
	}
	f := &Figure{Panels: grid(panels, cols), Title: opt.Title, Legend: legend, Style: st}
	f.sizeFor(recoveryPanel, recoveryPanel)
	return f, nil
}

// evenSubset returns min(n, m) indices spread evenly over [0, n) (none
// for m <= 0).
func evenSubset(n, m int) []int {
	m = min(n, max(m, 0))
	idx := make([]int, m)
	for j := range idx {
		idx[j] = j * n / m
	}
	return idx
}

// formatR2 formats a coefficient of determination with 3 decimals.
func formatR2(r2 float64) string {
	if math.IsNaN(r2) {
		return "n/a"
	}
	return strings.Replace(strconv.FormatFloat(r2, 'f', 3, 64), "-", "−", 1)
}
