package plot

import (
	"fmt"
	"math"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// MarginalOptions configures Marginals. The zero value gives the defaults.
type MarginalOptions struct {
	Style Style
	// Bins is the number of histogram bins per panel; 0 chooses it from
	// the samples (Freedman-Diaconis, 12 to 60 bins).
	Bins int
	// NoKDE drops the kernel density curve; the 68% interval is then
	// shaded under the histogram.
	NoKDE bool
	// Cols is the number of panels per row; 0: one row up to 3
	// parameters, else a near-square grid.
	Cols int
	// Title is the figure title (e.g. the lens identifier); may be empty.
	Title string
}

// Default panel sizes of Marginals.
const (
	marginalPanelW = 4.6 * vg.Inch
	marginalPanelH = 3.7 * vg.Inch
)

// checkSamples validates per-parameter sample sets and their labels:
// same count of parameters and labels, at least 2 finite samples each,
// and (sameLen) equal lengths. truth may be nil.
func checkSamples(fig string, samples [][]float64, truth []float64, params []Param, sameLen bool) error {
	if len(samples) == 0 {
		return fmt.Errorf("%s: no parameters (samples is empty)", fig)
	}
	if len(params) != len(samples) {
		return fmt.Errorf("%s: %d parameter labels for %d sample sets", fig, len(params), len(samples))
	}
	for p, s := range samples {
		if len(s) < 2 {
			return fmt.Errorf("%s: samples[%d] (%s) has %d samples, want at least 2", fig, p, params[p].Symbol, len(s))
		}
		if sameLen && len(s) != len(samples[0]) {
			return fmt.Errorf("%s: samples[%d] (%s) has %d samples, samples[0] has %d; a joint posterior needs equal counts",
				fig, p, params[p].Symbol, len(s), len(samples[0]))
		}
		if err := checkFinite(fig, fmt.Sprintf("samples[%d] (%s)", p, params[p].Symbol), s); err != nil {
			return err
		}
	}
	if truth != nil {
		if err := checkSeries(fig, "truth", truth, len(samples)); err != nil {
			return err
		}
	}
	return nil
}

// intervalTitle formats "sym = med^{+up}_{−down} unit" with decimals set by
// the smaller error bar.
func intervalTitle(p Param, c credible) string {
	up, down := c.hi-c.med, c.med-c.lo
	ref := min(up, down)
	if !(ref > 0) {
		ref = max(up, down, math.Abs(c.med)*1e-3)
	}
	s := fmt.Sprintf("%s = %s^{+%s}_{−%s}", p.Symbol,
		formatValue(c.med, ref, 2), formatValue(up, ref, 2), formatValue(down, ref, 2))
	if p.Unit != "" {
		s += " " + p.Unit
	}
	return s
}

// densityLabel is the y label of a probability density of p.
func densityLabel(p Param) string {
	if p.Unit == "" {
		return "posterior density"
	}
	u := p.Unit
	if strings.ContainsAny(u, "/ ") {
		u = "(" + u + ")"
	}
	return "posterior density [" + u + "^{−1}]"
}

// Marginals draws the 1-D marginal posteriors of one lens, one panel per
// parameter: samples[p] holds the posterior draws of parameter p, labelled
// params[p]. Each panel shows a density histogram, a Gaussian KDE
// (Silverman bandwidth), the central 68% credible interval (16th to 84th
// percentile) shaded under the curve, the median (dashed) and, when truth
// is not nil, the true value (vermillion line). The panel title gives
// median^{+err}_{−err}. The x range is the central 99.5% of the samples
// (widened to show the truth).
func Marginals(samples [][]float64, truth []float64, params []Param, opt MarginalOptions) (*Figure, error) {
	const fig = "marginals"
	if err := checkSamples(fig, samples, truth, params, false); err != nil {
		return nil, err
	}
	if opt.Bins < 0 || opt.Bins > 1000 {
		return nil, fmt.Errorf("%s: Bins = %d, want 0 (auto) or 1..1000", fig, opt.Bins)
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	blue := st.Color(0)
	truthCol := colVermillion
	var (
		panels  []*gplot.Plot
		legend  []LegendEntry
		kdeLine curve
		ciBand  band
		medLine vline
		trLine  vline
		histBar band
	)
	for p, raw := range samples {
		s := sortedCopy(raw)
		tr := math.NaN()
		if truth != nil {
			tr = truth[p]
		}
		lo, hi := axisRange(s, tr)
		nb := opt.Bins
		if nb == 0 {
			nb = autoBins(s, lo, hi)
		}
		edges, counts := histogram(s, nb, lo, hi)
		w := (hi - lo) / float64(nb)
		ymax := 0.0
		for i := range counts {
			counts[i] /= float64(len(s)) * w
			ymax = max(ymax, counts[i])
		}
		c := summarize(s)

		pl := st.NewPlot(intervalTitle(params[p], c), params[p].Label(), densityLabel(params[p]))
		pl.X.Min, pl.X.Max = lo, hi
		pl.Y.Min = 0

		histBar = stepBand(edges, make([]float64, nb), counts)
		histBar.Color = lighten(blue, 0.8)
		pl.Add(histBar)

		if !opt.NoKDE {
			xs, ys := kde(s, silverman(s), lo, hi, 256)
			for _, y := range ys {
				ymax = max(ymax, y)
			}
			ciBand = underCurve(xs, ys, c.lo, c.hi)
			ciBand.Color = withAlpha(blue, 0.45)
			kdeLine = curve{X: xs, Y: ys, Style: st.line(blue, 1, nil)}
			pl.Add(ciBand, kdeLine)
		} else {
			ciBand = underStep(edges, counts, c.lo, c.hi)
			ciBand.Color = withAlpha(blue, 0.45)
			kdeLine = stepCurve(edges, counts, st.line(blue, 0.75, nil))
			pl.Add(ciBand, kdeLine)
		}
		pl.Y.Max = 1.08 * ymax
		if !(pl.Y.Max > 0) {
			pl.Y.Max = 1
		}
		medLine = vline{X: c.med, Style: st.line(colBlack, 0.8, []vg.Length{3 * st.LineWidth, 2 * st.LineWidth})}
		pl.Add(medLine)
		if truth != nil {
			trLine = vline{X: tr, Style: st.line(truthCol, 1.25, nil)}
			pl.Add(trLine)
		}
		panels = append(panels, pl)
	}
	if opt.NoKDE {
		legend = append(legend, LegendEntry{"histogram", thumbs{histBar, kdeLine}})
	} else {
		legend = append(legend, LegendEntry{"histogram", histBar}, LegendEntry{"KDE", kdeLine})
	}
	legend = append(legend,
		LegendEntry{"68% credible interval", ciBand},
		LegendEntry{"median", medLine},
	)
	if truth != nil {
		legend = append(legend, LegendEntry{"truth", trLine})
	}
	cols := opt.Cols
	if cols <= 0 {
		cols = defaultCols(len(panels))
	}
	f := &Figure{Panels: grid(panels, cols), Title: opt.Title, Legend: legend, Style: st}
	f.sizeFor(marginalPanelW, marginalPanelH)
	return f, nil
}

// underStep returns the part of the histogram (edges, heights) over
// [a, b] as a band from 0, cutting the end bins at a and b.
func underStep(edges, h []float64, a, b float64) band {
	var bd band
	for i := range h {
		x0, x1 := max(edges[i], a), min(edges[i+1], b)
		if x0 >= x1 {
			continue
		}
		bd.X = append(bd.X, x0, x1)
		bd.Hi = append(bd.Hi, h[i], h[i])
	}
	bd.Lo = make([]float64, len(bd.X))
	return bd
}

// underCurve returns the band between 0 and the curve (xs, ys) for x in
// [a, b], with the end points interpolated.
func underCurve(xs, ys []float64, a, b float64) band {
	interp := func(x float64) float64 {
		for i := 1; i < len(xs); i++ {
			if x <= xs[i] {
				t := (x - xs[i-1]) / (xs[i] - xs[i-1])
				return ys[i-1] + t*(ys[i]-ys[i-1])
			}
		}
		return ys[len(ys)-1]
	}
	a, b = max(a, xs[0]), min(b, xs[len(xs)-1])
	bd := band{X: []float64{a}, Hi: []float64{interp(a)}}
	for i, x := range xs {
		if x > a && x < b {
			bd.X = append(bd.X, x)
			bd.Hi = append(bd.Hi, ys[i])
		}
	}
	bd.X = append(bd.X, b)
	bd.Hi = append(bd.Hi, interp(b))
	bd.Lo = make([]float64, len(bd.X))
	return bd
}
