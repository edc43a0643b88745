package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LossOptions configures LossCurves. The zero value gives the defaults.
type LossOptions struct {
	Style Style
	// LossLabel is the y label of the loss panel; default
	// "loss (−log q(θ | x))" (the NPE training loss).
	LossLabel string
	// LogLoss draws the loss on a logarithmic axis (all losses must then
	// be positive).
	LogLoss bool
	// Title is the figure title; may be empty.
	Title string
}

// Default panel size of LossCurves.
const (
	lossPanelW = 8 * vg.Inch
	lossPanelH = 4 * vg.Inch
	lrPanelH   = 2.8 * vg.Inch
)

// LossCurves draws training and validation loss against epoch, marking
// the epoch of lowest validation loss; when lr is not nil a second panel
// below, sharing the epoch axis, shows the learning rate (on a log axis
// when all rates are positive). val and lr may be nil; otherwise all
// slices have the length of epochs. The loss axis covers all values
// except those of the first 5% of epochs when these exceed the rest of
// the curve by more than its own range (the usual first-epoch spike);
// such values are clipped at the top.
func LossCurves(epochs, train, val, lr []float64, opt LossOptions) (*Figure, error) {
	const fig = "loss"
	if err := checkSeries(fig, "epochs", epochs, -1); err != nil {
		return nil, err
	}
	n := len(epochs)
	if err := checkSeries(fig, "train", train, n); err != nil {
		return nil, err
	}
	if val != nil {
		if err := checkSeries(fig, "val", val, n); err != nil {
			return nil, err
		}
	}
	if lr != nil {
		if err := checkSeries(fig, "lr", lr, n); err != nil {
			return nil, err
		}
		for i, v := range lr {
			if v < 0 {
				return nil, fmt.Errorf("%s: lr[%d] = %v, want >= 0", fig, i, v)
			}
		}
	}
	for i := 1; i < n; i++ {
		if epochs[i] <= epochs[i-1] {
			return nil, fmt.Errorf("%s: epochs must increase: epochs[%d] = %v after %v", fig, i, epochs[i], epochs[i-1])
		}
	}
	if opt.LogLoss {
		for _, s := range []struct {
			n string
			v []float64
		}{{"train", train}, {"val", val}} {
			for i, v := range s.v {
				if v <= 0 {
					return nil, fmt.Errorf("%s: LogLoss needs positive losses, %s[%d] = %v", fig, s.n, i, v)
				}
			}
		}
	}
	if err := opt.Style.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fig, err)
	}
	st := opt.Style.withDefaults()
	label := opt.LossLabel
	if label == "" {
		label = "loss (−log q(θ | x))"
	}
	x0, x1 := epochs[0], epochs[n-1]
	if n == 1 {
		x0, x1 = padRange(x0, x1, 0)
	}

	xl := "epoch"
	if lr != nil {
		xl = ""
	}
	pl := st.NewPlot("", xl, label)
	pl.X.Min, pl.X.Max = x0, x1
	pl.Y.Min, pl.Y.Max = lossRange(train, val, opt.LogLoss)
	if opt.LogLoss {
		pl.Y.Scale, pl.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
	}
	pl.Add(tickGrid{Style: draw.LineStyle{Color: colGrid, Width: 0.8 * st.AxisWidth}, X: pl.X.Tick.Marker, Y: pl.Y.Tick.Marker})
	trLine := curve{X: epochs, Y: train, Style: st.line(st.Color(0), 1, nil)}
	pl.Add(trLine)
	legend := []LegendEntry{{"training", trLine}}
	if val != nil {
		vaLine := curve{X: epochs, Y: val, Style: st.line(st.Color(1), 1, st.dashes(1))}
		best := 0
		for i, v := range val {
			if v < val[best] {
				best = i
			}
		}
		bestMark := marker{X: []float64{epochs[best]}, Y: []float64{val[best]},
			Glyph: draw.GlyphStyle{Color: colBlack, Radius: 0.4 * st.TickSize, Shape: draw.RingGlyph{}}}
		bestLine := vline{X: epochs[best], Style: st.line(colBlack, 0.5, []vg.Length{st.LineWidth, 1.5 * st.LineWidth})}
		pl.Add(bestLine, vaLine, bestMark)
		legend = append(legend, LegendEntry{"validation", vaLine},
			LegendEntry{fmt.Sprintf("best validation (epoch %s): %s", formatValue(epochs[best], 1, 1),
				formatValue(val[best], math.Abs(val[best])/100, 1)), bestMark})
	}
	rows := [][]*gplot.Plot{{pl}}
	if lr != nil {
		pl.X.Tick.Marker = unlabelled{pl.X.Tick.Marker}
		lp := st.NewPlot("", "epoch", "learning rate")
		lp.X.Min, lp.X.Max = x0, x1
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range lr {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo > 0 {
			lp.Y.Scale, lp.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
			lp.Y.Min, lp.Y.Max = lo/1.5, hi*1.5
			if hi/lo < 10 { // less than a decade: show the round values around it
				lp.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)))
				lp.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
				if lp.Y.Max <= lp.Y.Min*1.001 { // an exact power of ten
					lp.Y.Min, lp.Y.Max = lp.Y.Min/3.16, lp.Y.Max*3.16
				}
			}
		} else {
			lp.Y.Min, lp.Y.Max = padRange(0, hi, 0.05)
			lp.Y.Min = 0
		}
		lp.Add(tickGrid{Style: draw.LineStyle{Color: colGrid, Width: 0.8 * st.AxisWidth}, X: lp.X.Tick.Marker, Y: lp.Y.Tick.Marker})
		lrLine := curve{X: epochs, Y: lr, Style: st.line(st.Color(2), 1, nil)}
		lp.Add(lrLine)
		legend = append(legend, LegendEntry{"learning rate", lrLine})
		rows = append(rows, []*gplot.Plot{lp})
	}
	f := &Figure{Panels: rows, Title: opt.Title, Legend: legend, Style: st, PadY: 0.6 * st.TickSize}
	f.Width = lossPanelW + 2*st.margin()
	f.Height = lossPanelH + f.HeaderHeight()
	if lr != nil {
		f.Height += lrPanelH
	}
	return f, nil
}

// lossRange returns the y range of the loss panel (see LossCurves).
func lossRange(train, val []float64, logScale bool) (lo, hi float64) {
	n := len(train)
	head := n / 20
	lo, hi = math.Inf(1), math.Inf(-1)
	headHi := math.Inf(-1)
	for _, s := range [][]float64{train, val} {
		for i, v := range s {
			lo = min(lo, v)
			if i < head {
				headHi = max(headHi, v)
			} else {
				hi = max(hi, v)
			}
		}
	}
	if headHi > hi && (head == 0 || headHi-hi <= hi-lo) {
		hi = headHi
	}
	if logScale {
		return lo / math.Pow(hi/lo, 0.05), hi * math.Pow(hi/lo, 0.05)
	}
	return padRange(lo, hi, 0.04)
}

// tickGrid draws light grid lines at the labelled ticks of the given
// tickers (which must match the axes' own tick positions).
type tickGrid struct {
	Style draw.LineStyle
	X, Y  gplot.Ticker
}

// Plot implements gplot.Plotter.
func (g tickGrid) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, t := range g.X.Ticks(p.X.Min, p.X.Max) {
		if x := tx(t.Value); !t.IsMinor() && c.ContainsX(x) {
			c.StrokeLine2(g.Style, x, c.Min.Y, x, c.Max.Y)
		}
	}
	for _, t := range g.Y.Ticks(p.Y.Min, p.Y.Max) {
		if y := ty(t.Value); !t.IsMinor() && c.ContainsY(y) {
			c.StrokeLine2(g.Style, c.Min.X, y, c.Max.X, y)
		}
	}
}
