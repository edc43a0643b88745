package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CornerOptions configures Corner. The zero value gives the defaults.
type CornerOptions struct {
	Style Style
	// Bins is the number of bins per axis of the 2-D histograms and of
	// the diagonal histograms; 0 chooses 20 to 40 from the sample count.
	Bins int
	// Smooth is the width (in bins) of the Gaussian that smooths the 2-D
	// histograms before the density is shaded and contoured; 0 means 1
	// bin, a negative value turns smoothing off.
	Smooth float64
	// PanelSize is the side of each panel; 0 means 2.3 inch.
	PanelSize vg.Length
	// Title is the figure title; may be empty.
	Title string
}

// Maximum number of parameters of a corner plot.
const cornerMaxDim = 12

// Corner draws the joint posterior of one lens as a corner plot: a D x D
// grid whose diagonal holds the 1-D histogram of each parameter (16th,
// 50th and 84th percentiles dashed, truth in vermillion, median and 68%
// interval in the panel title) and whose lower triangle holds the 2-D
// marginal of each pair: the binned, smoothed density as a white-to-blue
// heat map with the 68% (solid) and 95% (dashed) highest-density contours,
// and the truth as crossing lines and a square marker. samples[p] are the
// draws of parameter p (all of equal length, the i-th draws forming one
// joint sample); truth may be nil. Axis labels and tick labels are shown
// on the bottom row and the left column only.
func Corner(samples [][]float64, truth []float64, params []Param, opt CornerOptions) (*Figure, error) {
	const fig = "corner"
	if err := checkSamples(fig, samples, truth, params, true); err != nil {
		return nil, err
	}
	d := len(samples)
	if d > cornerMaxDim {
		return nil, fmt.Errorf("%s: %d parameters, at most %d fit a corner plot", fig, d, cornerMaxDim)
	}
	if opt.Bins < 0 || opt.Bins > 500 || opt.Bins == 1 {
		return nil, fmt.Errorf("%s: Bins = %d, want 0 (auto) or 2..500", fig, opt.Bins)
	}
	if math.IsNaN(opt.Smooth) || math.IsInf(opt.Smooth, 0) || opt.Smooth > 20 {
		return nil, fmt.Errorf("%s: Smooth = %v bins, want a finite value <= 20", fig, opt.Smooth)
	}
	if opt.PanelSize < 0 || math.IsInf(float64(opt.PanelSize), 0) {
		return nil, fmt.Errorf("%s: PanelSize = %v, want >= 0", fig, opt.PanelSize)
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	n := len(samples[0])
	bins := opt.Bins
	if bins == 0 {
		bins = int(min(40, max(20, math.Round(2*math.Cbrt(float64(n))))))
	}
	smooth := opt.Smooth
	if smooth == 0 {
		smooth = 1
	}
	panelSize := opt.PanelSize
	if panelSize == 0 {
		panelSize = 2.3 * vg.Inch
	}

	// Per-parameter ranges and summaries.
	lo, hi := make([]float64, d), make([]float64, d)
	sums := make([]credible, d)
	for p, raw := range samples {
		s := sortedCopy(raw)
		tr := math.NaN()
		if truth != nil {
			tr = truth[p]
		}
		lo[p], hi[p] = axisRange(s, tr)
		sums[p] = summarize(s)
	}

	blue := st.Color(0)
	dark := lighten(blue, 0) // contours
	pal := rampPalette{n: 64, stops: []color.NRGBA{
		{0xFF, 0xFF, 0xFF, 0xFF}, toNRGBA(lighten(blue, 0.75)), toNRGBA(lighten(blue, 0.3)),
	}}
	truthStyle := st.line(colVermillion, 0.75, nil)
	quantStyle := st.line(colBlack, 0.6, []vg.Length{2.5 * st.LineWidth, 1.5 * st.LineWidth})
	c68 := st.line(dark, 0.8, nil)
	c95 := st.line(dark, 0.8, []vg.Length{2.5 * st.LineWidth, 1.5 * st.LineWidth})
	ticker := niceTicks{N: 3}

	panels := make([][]*gplot.Plot, d)
	for i := range d { // row: y parameter
		panels[i] = make([]*gplot.Plot, d)
		for j := 0; j <= i; j++ { // column: x parameter
			var xl, yl string
			if i == d-1 {
				xl = params[j].Label()
			}
			if j == 0 && i > 0 {
				yl = params[i].Label()
			}
			title := ""
			if i == j {
				title = intervalTitle(params[i], sums[i])
			}
			pl := st.NewPlot(title, xl, yl)
			pl.Title.TextStyle.Font.Size = st.TickSize
			pl.X.Tick.Marker, pl.Y.Tick.Marker = ticker, ticker
			if i != d-1 {
				pl.X.Tick.Marker = unlabelled{ticker}
			}
			if j != 0 || i == 0 {
				pl.Y.Tick.Marker = unlabelled{ticker}
			}
			pl.X.Min, pl.X.Max = lo[j], hi[j]
			if i == j {
				edges, counts := histogram(samples[i], bins, lo[i], hi[i])
				top := 0.0
				for _, c := range counts {
					top = max(top, c)
				}
				fill := stepBand(edges, make([]float64, bins), counts)
				fill.Color = lighten(blue, 0.8)
				pl.Add(fill, stepCurve(edges, counts, st.line(blue, 0.75, nil)))
				for _, q := range []float64{sums[i].lo, sums[i].med, sums[i].hi} {
					pl.Add(vline{X: q, Style: quantStyle})
				}
				if truth != nil {
					pl.Add(vline{X: truth[i], Style: st.line(colVermillion, 1, nil)})
				}
				pl.Y.Min, pl.Y.Max = 0, 1.1*max(top, 1)
				pl.Y.Tick.Marker = gplot.ConstantTicks{}
			} else {
				pl.Y.Min, pl.Y.Max = lo[i], hi[i]
				g := hist2d(samples[j], samples[i], bins, bins, lo[j], hi[j], lo[i], hi[i])
				g.smooth(smooth)
				levels := hpdLevels(g.z, []float64{0.95, 0.68})
				hm := plotter.NewHeatMap(g, pal)
				hm.Min = 0
				hm.Rasterized = true
				pl.Add(hm)
				if levels[0] > 0 && levels[1] > levels[0] {
					ct := plotter.NewContour(g, []float64{levels[0], levels[1]}, nil)
					ct.LineStyles = []draw.LineStyle{c95, c68}
					pl.Add(ct)
				}
				if truth != nil {
					pl.Add(vline{X: truth[j], Style: truthStyle}, hline{Y: truth[i], Style: truthStyle})
					pl.Add(marker{X: []float64{truth[j]}, Y: []float64{truth[i]},
						Glyph: draw.GlyphStyle{Color: colVermillion, Radius: 0.3 * st.TickSize, Shape: draw.BoxGlyph{}}})
				}
			}
			panels[i][j] = pl
		}
	}
	legend := []LegendEntry{
		{"68% region", curve{Style: c68}},
		{"95% region", curve{Style: c95}},
		{"16/50/84th percentiles", curve{Style: quantStyle}},
	}
	if truth != nil {
		legend = append(legend, LegendEntry{"truth", curve{Style: st.line(colVermillion, 1, nil)}})
	}
	f := &Figure{Panels: panels, Title: opt.Title, Legend: legend, Style: st,
		PadX: 0.5 * st.TickSize, PadY: 0.5 * st.TickSize}
	f.sizeFor(panelSize, panelSize)
	return f, nil
}

// toNRGBA converts any colour to color.NRGBA.
func toNRGBA(c color.Color) color.NRGBA {
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}
