package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// RankHist is the simulation-based-calibration (SBC; Talts et al. 2018)
// rank histogram of one parameter: Counts[b] lenses whose true value has
// normalised rank in bin b (bins of equal width on [0, 1]), and the band
// [Lo[b], Hi[b]] expected for uniform ranks (e.g. the 0.5th and 99.5th
// percentiles of Binomial(N, 1/B)).
type RankHist struct {
	// Label names the parameter (panel title), e.g. "θ_E".
	Label          string
	Counts, Lo, Hi []float64
}

// SBCOptions configures SBCRanks. The zero value gives the defaults.
type SBCOptions struct {
	Style Style
	// BandLabel describes the band in the legend; default
	// "99% band for uniform ranks".
	BandLabel string
	// Cols is the number of panels per row; 0: one row up to 3
	// parameters, else a near-square grid.
	Cols int
	// Title is the figure title; may be empty.
	Title string
}

// Default panel size of SBCRanks.
const (
	sbcPanelW = 4.4 * vg.Inch
	sbcPanelH = 3.4 * vg.Inch
)

// SBCRanks draws SBC rank histograms, one panel per parameter: the counts
// as bars over the normalised rank in [0, 1], the band expected for
// uniform ranks shaded grey, and the expected count (the mean of the
// counts) as a dashed line. A calibrated posterior stays inside the band;
// a ∪ shape means over-confidence, a ∩ shape under-confidence and a slope
// a bias.
func SBCRanks(hists []RankHist, opt SBCOptions) (*Figure, error) {
	const fig = "sbc"
	if len(hists) == 0 {
		return nil, fmt.Errorf("%s: no rank histograms", fig)
	}
	for p, h := range hists {
		name := func(a string) string { return fmt.Sprintf("hists[%d] (%s).%s", p, h.Label, a) }
		nb := len(h.Counts)
		if nb == 0 {
			return nil, fmt.Errorf("%s: %s is empty", fig, name("Counts"))
		}
		for _, a := range []struct {
			n string
			v []float64
		}{{"Counts", h.Counts}, {"Lo", h.Lo}, {"Hi", h.Hi}} {
			if err := checkSeries(fig, name(a.n), a.v, nb); err != nil {
				return nil, err
			}
		}
		for b := range nb {
			if h.Counts[b] < 0 {
				return nil, fmt.Errorf("%s: %s[%d] = %v, want >= 0", fig, name("Counts"), b, h.Counts[b])
			}
			if h.Lo[b] > h.Hi[b] {
				return nil, fmt.Errorf("%s: bin %d of %s: Lo = %v > Hi = %v", fig, b, h.Label, h.Lo[b], h.Hi[b])
			}
		}
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	blue := st.Color(0)
	bandLabel := opt.BandLabel
	if bandLabel == "" {
		bandLabel = "99% band for uniform ranks"
	}
	var (
		panels []*gplot.Plot
		bars   band
		bd     band
		mean   hline
	)
	for _, h := range hists {
		nb := len(h.Counts)
		edges := make([]float64, nb+1)
		for i := range edges {
			edges[i] = float64(i) / float64(nb)
		}
		var sum, top float64
		for b := range nb {
			sum += h.Counts[b]
			top = max(top, h.Counts[b], h.Hi[b])
		}
		pl := st.NewPlot(h.Label, "normalised rank of the true value", "lenses per bin")
		pl.X.Min, pl.X.Max = 0, 1
		pl.Y.Min, pl.Y.Max = 0, 1.12*max(top, 1)

		bd = stepBand(edges, h.Lo, h.Hi)
		bd.Color = colBand
		bars = stepBand(edges, make([]float64, nb), h.Counts)
		bars.Color = withAlpha(blue, 0.65)
		mean = hline{Y: sum / float64(nb), Style: st.line(colBlack, 0.75, []vg.Length{3 * st.LineWidth, 2 * st.LineWidth})}
		pl.Add(bd, bars)
		if nb <= 40 { // thin white gaps keep the bars apart
			for i := 1; i < nb; i++ {
				pl.Add(clippedVline{vline{X: edges[i], Style: draw.LineStyle{Color: colWhite, Width: 0.8}}, h.Counts})
			}
		}
		pl.Add(mean)
		panels = append(panels, pl)
	}
	legend := []LegendEntry{{"rank counts", bars}, {bandLabel, bd}, {"expected count", mean}}
	cols := opt.Cols
	if cols <= 0 {
		cols = defaultCols(len(panels))
	}
	f := &Figure{Panels: grid(panels, cols), Title: opt.Title, Legend: legend, Style: st}
	f.sizeFor(sbcPanelW, sbcPanelH)
	return f, nil
}

// clippedVline draws a bar separator only up to the taller of the two
// bars it separates.
type clippedVline struct {
	vline
	counts []float64
}

// Plot implements gplot.Plotter.
func (l clippedVline) Plot(c draw.Canvas, p *gplot.Plot) {
	nb := len(l.counts)
	k := int(math.Round(l.X * float64(nb)))
	if k <= 0 || k >= nb {
		return
	}
	tx, ty := p.Transforms(&c)
	x := tx(l.X)
	c.StrokeLine2(l.Style, x, c.Min.Y, x, ty(max(l.counts[k-1], l.counts[k])))
}

// CoverageCurve is the empirical coverage of one parameter: Coverage[i]
// is the fraction of test lenses whose true value lies in the central
// credible interval of level levels[i].
type CoverageCurve struct {
	Label    string
	Coverage []float64
}

// CoverageOptions configures Coverage and TARP. The zero value gives the
// defaults.
type CoverageOptions struct {
	Style Style
	// BandLabel describes the reference band in the legend; defaults:
	// "99% binomial band" (Coverage), "68% bootstrap band" (TARP).
	BandLabel string
	// Title is the figure title; may be empty.
	Title string
}

// Default size of the coverage panel.
const coveragePanel = 5.6 * vg.Inch

// Coverage draws expected-coverage curves: the empirical coverage of each
// parameter against the nominal credibility level, the diagonal of perfect
// calibration, and (when bandLo and bandHi are not nil) the band expected
// from the finite test set, e.g. binomial quantiles. Curves above the
// diagonal are conservative (intervals too wide), below over-confident.
// levels must lie in [0, 1]; the band arrays follow levels.
func Coverage(levels []float64, curves []CoverageCurve, bandLo, bandHi []float64, opt CoverageOptions) (*Figure, error) {
	const fig = "coverage"
	if err := checkSeries(fig, "levels", levels, -1); err != nil {
		return nil, err
	}
	if err := checkUnit(fig, "levels", levels); err != nil {
		return nil, err
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("%s: no coverage curves", fig)
	}
	for i, c := range curves {
		name := fmt.Sprintf("curves[%d] (%s).Coverage", i, c.Label)
		if err := checkSeries(fig, name, c.Coverage, len(levels)); err != nil {
			return nil, err
		}
		if err := checkUnit(fig, name, c.Coverage); err != nil {
			return nil, err
		}
	}
	if err := checkBand(fig, bandLo, bandHi, len(levels)); err != nil {
		return nil, err
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	pl, legend := calibrationPanel(st, "nominal credibility level", "empirical coverage")
	if bandLo != nil {
		label := opt.BandLabel
		if label == "" {
			label = "99% binomial band"
		}
		bd := band{X: levels, Lo: bandLo, Hi: bandHi, Color: colBand}
		pl.Add(bd)
		legend = append([]LegendEntry{{label, bd}}, legend...)
	}
	for i, c := range curves {
		cv := curve{X: levels, Y: c.Coverage, Style: st.line(st.Color(i), 1, st.dashes(i))}
		pl.Add(cv)
		legend = append(legend, LegendEntry{c.Label, cv})
	}
	return calibrationFigure(st, pl, legend, opt.Title), nil
}

// TARPCurve is one TARP test (Lemos et al. 2023): the expected coverage
// probability ECP[i] at credibility level Alpha[i], with an optional
// uncertainty band [Lo[i], Hi[i]] (e.g. from bootstrapping the test set;
// both nil for none).
type TARPCurve struct {
	Label              string
	Alpha, ECP, Lo, Hi []float64
}

// TARP draws the TARP coverage test: ECP against the credibility level α
// (as in Lemos et al. 2023, α is the level, not one minus it) for each
// curve, with its uncertainty band shaded in the curve's colour,
// and the diagonal expected of an accurate posterior estimator.
func TARP(curves []TARPCurve, opt CoverageOptions) (*Figure, error) {
	const fig = "tarp"
	if len(curves) == 0 {
		return nil, fmt.Errorf("%s: no TARP curves", fig)
	}
	for i, c := range curves {
		name := func(a string) string { return fmt.Sprintf("curves[%d] (%s).%s", i, c.Label, a) }
		if err := checkSeries(fig, name("Alpha"), c.Alpha, -1); err != nil {
			return nil, err
		}
		if err := checkSeries(fig, name("ECP"), c.ECP, len(c.Alpha)); err != nil {
			return nil, err
		}
		for _, a := range []struct {
			n string
			v []float64
		}{{"Alpha", c.Alpha}, {"ECP", c.ECP}} {
			if err := checkUnit(fig, name(a.n), a.v); err != nil {
				return nil, err
			}
		}
		if err := checkBand(fmt.Sprintf("%s: curves[%d] (%s)", fig, i, c.Label), c.Lo, c.Hi, len(c.Alpha)); err != nil {
			return nil, err
		}
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	pl, legend := calibrationPanel(st, "credibility level α", "expected coverage probability")
	bandLabel := opt.BandLabel
	if bandLabel == "" {
		bandLabel = "68% bootstrap band"
	}
	for i, c := range curves {
		col := st.Color(i)
		cv := curve{X: c.Alpha, Y: c.ECP, Style: st.line(col, 1, st.dashes(i))}
		if c.Lo != nil {
			bd := band{X: c.Alpha, Lo: c.Lo, Hi: c.Hi, Color: withAlpha(col, 0.25)}
			pl.Add(bd)
			label := c.Label + ", " + bandLabel
			if len(curves) == 1 {
				label = bandLabel
			}
			legend = append(legend, LegendEntry{label, bd})
		}
		pl.Add(cv)
		legend = append(legend, LegendEntry{c.Label, cv})
	}
	return calibrationFigure(st, pl, legend, opt.Title), nil
}

// calibrationPanel returns a unit-square panel with the diagonal, and its
// legend entry.
func calibrationPanel(st Style, xl, yl string) (*gplot.Plot, []LegendEntry) {
	pl := st.NewPlot("", xl, yl)
	pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = 0, 1, 0, 1
	pl.Add(gridLines{Style: draw.LineStyle{Color: colGrid, Width: 0.8 * st.AxisWidth}, Step: 0.2})
	diag := curve{X: []float64{0, 1}, Y: []float64{0, 1}, Style: st.line(colBlack, 0.6, []vg.Length{3 * st.LineWidth, 2 * st.LineWidth})}
	pl.Add(diag)
	return pl, []LegendEntry{{"ideal", diag}}
}

// calibrationFigure wraps a calibration panel in a figure.
func calibrationFigure(st Style, pl *gplot.Plot, legend []LegendEntry, title string) *Figure {
	f := &Figure{Panels: [][]*gplot.Plot{{pl}}, Title: title, Legend: legend, Style: st}
	f.sizeFor(coveragePanel, coveragePanel-0.4*vg.Inch)
	return f
}

// checkUnit reports values outside [0, 1].
func checkUnit(fig, name string, v []float64) error {
	for i, x := range v {
		if x < 0 || x > 1 {
			return fmt.Errorf("%s: %s[%d] = %v, want a value in [0, 1]", fig, name, i, x)
		}
	}
	return nil
}

// checkBand validates an optional band: both nil, or both of length n,
// finite, with lo <= hi.
func checkBand(fig string, lo, hi []float64, n int) error {
	if lo == nil && hi == nil {
		return nil
	}
	if lo == nil || hi == nil {
		return fmt.Errorf("%s: band needs both lo and hi (got lo %d, hi %d values)", fig, len(lo), len(hi))
	}
	if err := checkSeries(fig, "band lo", lo, n); err != nil {
		return err
	}
	if err := checkSeries(fig, "band hi", hi, n); err != nil {
		return err
	}
	for i := range lo {
		if lo[i] > hi[i] {
			return fmt.Errorf("%s: band lo[%d] = %v > hi[%d] = %v", fig, i, lo[i], i, hi[i])
		}
	}
	return nil
}

// gridLines draws a square grid of light lines every Step in data units.
type gridLines struct {
	Style draw.LineStyle
	Step  float64
}

// Plot implements gplot.Plotter.
func (g gridLines) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for v := math.Ceil(p.X.Min/g.Step) * g.Step; v <= p.X.Max+1e-9; v += g.Step {
		c.StrokeLine2(g.Style, tx(v), c.Min.Y, tx(v), c.Max.Y)
	}
	for v := math.Ceil(p.Y.Min/g.Step) * g.Step; v <= p.Y.Max+1e-9; v += g.Step {
		c.StrokeLine2(g.Style, c.Min.X, ty(v), c.Max.X, ty(v))
	}
}
