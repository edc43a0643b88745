package report

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"slices"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/fisher"
	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/plot"
	"github.com/lenssbi/lenssbi/pkg/simulate"
)

// maxSVGPoints is the largest number of lenses for which the recovery figure
// also gets an SVG copy (beyond it the file grows past a megabyte).
const maxSVGPoints = 1000

// sheetCols and sheetTile are the contact sheet's columns and tile size (px);
// lensTile is the size of the colour image beside each lens's posterior.
const (
	sheetCols = 8
	sheetTile = 140
	lensTile  = 240
)

// buildFigures makes every figure of the report, in page order.
func (r *Report) buildFigures(ds *dataset.Dataset) error {
	post, cal, o := r.Posterior, r.Calibration, r.Options
	n, d := post.N, post.D
	params := make([]plot.Param, d)
	for k := range params {
		params[k] = plot.ParamFor(post.Names[k], post.Units[k])
	}
	add := func(f Figure) { r.Figures = append(r.Figures, f) }
	joint := r.Card.Config.Mode == npe.ModeJoint

	// Recovery: posterior median against truth.
	truth, med, lo, hi := make([][]float64, d), make([][]float64, d), make([][]float64, d), make([][]float64, d)
	for k := range d {
		truth[k], med[k], lo[k], hi[k] = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range n {
			s := post.Summaries[i][k]
			truth[k][i], med[k][i], lo[k][i], hi[k][i] = r.Truth[i*d+k], s.Median, s.Lo68, s.Hi68
		}
	}
	fig, err := plot.Recovery(truth, med, lo, hi, params, plot.RecoveryOptions{Title: fmt.Sprintf("Posterior median vs truth, %d test lenses", n)})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	bars := min(n, 150)
	add(Figure{Name: "recovery", Section: "results", Title: "Recovery", Plot: fig, SVG: n <= maxSVGPoints,
		Caption: fmt.Sprintf("Posterior median against the true value for each of the %d test lenses, with the 68%% central credible interval as error bars (for %d evenly spaced lenses), the 1:1 line, and R² of the medians.", n, bars)})

	// theta_E's posterior widths against the Cramér-Rao bounds (simulated
	// test sets only).
	if k := slices.Index(post.Names, simulate.ColThetaE); k >= 0 && !o.NoBounds {
		if err := r.efficiencyFigure(ds, k); err != nil {
			return err
		}
	}

	// SBC rank histograms.
	sbc := cal.SBC
	hists := make([]plot.RankHist, d)
	for k := range d {
		h := plot.RankHist{Label: params[k].Symbol, Counts: make([]float64, sbc.Bins), Lo: make([]float64, sbc.Bins), Hi: make([]float64, sbc.Bins)}
		for b, c := range sbc.Params[k].Counts {
			h.Counts[b], h.Lo[b], h.Hi[b] = float64(c), float64(sbc.BandLo), float64(sbc.BandHi)
		}
		hists[k] = h
	}
	fig, err = plot.SBCRanks(hists, plot.SBCOptions{Title: fmt.Sprintf("SBC ranks of the truth among %d posterior samples", sbc.L),
		BandLabel: fmt.Sprintf("%.0f%% band for uniform ranks", 100*sbc.BandProb)})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	add(Figure{Name: "sbc", Section: "calibration", Title: "Simulation-based calibration", Plot: fig, SVG: true,
		Caption: fmt.Sprintf("Rank of the true value among L = %d posterior samples, over %d test lenses, in %d bins, with the %.0f%% band of a bin count when the ranks are uniform (calibrated posterior). A U shape means over-confident, a hump under-confident, a slope a bias.", sbc.L, n, sbc.Bins, 100*sbc.BandProb)})

	// Expected coverage.
	cr := cal.Coverage
	curves := make([]plot.CoverageCurve, d)
	for k := range d {
		curves[k] = plot.CoverageCurve{Label: params[k].Symbol, Coverage: cr.Params[k].Empirical}
	}
	fig, err = plot.Coverage(cr.Levels, curves, cr.Band95Lo, cr.Band95Hi, plot.CoverageOptions{Title: "Expected coverage of central credible intervals",
		BandLabel: fmt.Sprintf("95%% binomial band, %d lenses", n)})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	add(Figure{Name: "coverage", Section: "calibration", Title: "Expected coverage", Plot: fig, SVG: true,
		Caption: fmt.Sprintf("Fraction of the %d test lenses whose true value lies in the central credible interval of each level, per parameter, with the 95%% band of a calibrated posterior. Above the diagonal: intervals too wide (under-confident); below: too narrow or biased.", n)})

	// TARP (joint models).
	if tp := cal.TARP; tp != nil && joint {
		c := plot.TARPCurve{Label: "joint posterior", Alpha: tp.Alpha, ECP: tp.ECP}
		if tp.ECPStd != nil {
			c.Lo, c.Hi = make([]float64, len(tp.ECP)), make([]float64, len(tp.ECP))
			for i, e := range tp.ECP {
				c.Lo[i] = math.Max(0, e-tp.ECPStd[i])
				c.Hi[i] = math.Min(1, e+tp.ECPStd[i])
			}
		}
		fig, err = plot.TARP([]plot.TARPCurve{c}, plot.CoverageOptions{Title: "TARP test of the joint posterior",
			BandLabel: fmt.Sprintf("±1σ over %d bootstraps", tp.Bootstraps)})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		add(Figure{Name: "tarp", Section: "calibration", Title: "TARP", Plot: fig, SVG: true,
			Caption: fmt.Sprintf("Expected coverage probability of the joint posterior against the credibility level α (Lemos et al. 2023), over %d test lenses with random reference points; the band is ±1 bootstrap standard deviation. A calibrated joint posterior follows the diagonal.", n)})
	}

	// Loss curves from the card.
	if h := r.Card.State.History; len(h) > 0 {
		ep, tr, va, lr := make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h))
		valOK, lrOK := true, true
		for i, e := range h {
			ep[i], tr[i], va[i], lr[i] = float64(e.Epoch), e.TrainLoss, e.ValLoss, e.LearningRate
			valOK = valOK && finite(e.ValLoss)
			lrOK = lrOK && finite(e.LearningRate)
		}
		if !valOK {
			va = nil
		}
		if !lrOK {
			lr = nil
		}
		if slices.ContainsFunc(tr, func(x float64) bool { return !finite(x) }) {
			r.Notes = append(r.Notes, "The training history holds non-finite training losses; no loss curves are drawn.")
		} else {
			fig, err = plot.LossCurves(ep, tr, va, lr, plot.LossOptions{Title: fmt.Sprintf("Training of %s (%s mode)", filepath.Base(r.Options.Model), r.Card.Config.Mode)})
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			add(Figure{Name: "loss", Section: "training", Title: "Loss curves", Plot: fig, SVG: true,
				Caption: fmt.Sprintf("Training and validation loss (negative mean log posterior density in flow space, summed over parameters) per epoch over %d epochs, the epoch of lowest validation loss marked, and the learning rate below.", len(h))})
		}
	}

	// Colour images: one per chosen lens and the contact sheet.
	images, err := r.composites(ds)
	if err != nil {
		return err
	}

	// The chosen lenses: colour image, marginals, corner.
	for _, l := range o.Lenses {
		i := l - o.First
		samples := make([][]float64, d)
		for k := range d {
			samples[k] = make([]float64, post.S)
			for s := range post.S {
				samples[k][s] = float64(post.Sample(i, s, k))
			}
		}
		tr := r.Truth[i*d : (i+1)*d]
		if img, ok := images[l]; ok {
			tile, err := plot.ContactSheet([]plot.Tile{{Image: img, Lines: r.tileLines(l, true)}}, 1, lensTile, "")
			if err != nil {
				return fmt.Errorf("report: lens %d: %w", l, err)
			}
			add(Figure{Name: lensName(l, "image"), Section: "lenses", Lens: l, Title: fmt.Sprintf("Lens %d", l), Image: tile,
				Caption: fmt.Sprintf("Lens %d in g r i (red = i, green = r, blue = g; Lupton asinh stretch shared with the contact sheet) and its true parameters.", l)})
		}
		fig, err = plot.Marginals(samples, tr, params, plot.MarginalOptions{Title: fmt.Sprintf("Lens %d: marginal posteriors", l)})
		if err != nil {
			return fmt.Errorf("report: lens %d: %w", l, err)
		}
		add(Figure{Name: lensName(l, "marginals"), Section: "lenses", Lens: l, Title: "Marginal posteriors", Plot: fig, SVG: true,
			Caption: fmt.Sprintf("Marginal posteriors of lens %d from %d samples: histogram and kernel density, 68%% interval shaded, median dashed, true value in vermillion.", l, post.S)})
		if joint && d > 1 {
			fig, err = plot.Corner(samples, tr, params, plot.CornerOptions{Title: fmt.Sprintf("Lens %d: joint posterior", l)})
			if err != nil {
				return fmt.Errorf("report: lens %d: %w", l, err)
			}
			add(Figure{Name: lensName(l, "corner"), Section: "lenses", Lens: l, Title: "Joint posterior", Plot: fig,
				Caption: fmt.Sprintf("Joint posterior of lens %d: 1-D histograms on the diagonal, and pairwise densities with 68%% (solid) and 95%% (dashed) highest-density contours; the truth is marked.", l)})
		}
	}

	// Contact sheet.
	if k := min(o.SheetLenses, n); k > 0 && len(images) > 0 {
		tiles := make([]plot.Tile, 0, k)
		for l := o.First; l < o.First+k; l++ {
			if img, ok := images[l]; ok {
				tiles = append(tiles, plot.Tile{Image: img, Lines: r.tileLines(l, false)})
			}
		}
		sheet, err := plot.ContactSheet(tiles, min(sheetCols, len(tiles)), sheetTile, fmt.Sprintf("%s: lenses %d-%d (g r i)", r.Options.Data, o.First, o.First+k-1))
		if err != nil {
			return fmt.Errorf("report: contact sheet: %w", err)
		}
		add(Figure{Name: "lenses", Section: "sheet", Title: "Contact sheet", Image: sheet,
			Caption: fmt.Sprintf("The first %d test lenses in g r i, each with its true Einstein radius and the posterior median ± half the 68%% interval.", k)})
	}
	return nil
}

// tileLines labels a lens's colour image: index and θ_E truth vs posterior
// (sheet), or index and all true parameters (single lens).
func (r *Report) tileLines(l int, full bool) []string {
	i, d := l-r.Options.First, r.Posterior.D
	val := func(name string) (float64, bool) {
		if k := r.paramIndex(name); k >= 0 {
			return r.Truth[i*d+k], true
		}
		return 0, false
	}
	if full {
		lines := []string{fmt.Sprintf("lens %d (true values)", l)}
		te, ok1 := val("THETA_E")
		sv, ok2 := val("SIGMA_V")
		if ok1 && ok2 {
			lines = append(lines, fmt.Sprintf("θE=%.2f\" σv=%.0f km/s", te, sv))
		}
		zl, ok1 := val("Z_LENS")
		zs, ok2 := val("Z_SOURCE")
		if ok1 && ok2 {
			lines = append(lines, fmt.Sprintf("zl=%.2f zs=%.2f", zl, zs))
		}
		return lines
	}
	k := r.paramIndex("THETA_E")
	if k < 0 {
		return []string{fmt.Sprintf("#%d", l)}
	}
	s := r.Posterior.Summaries[i][k]
	return []string{
		fmt.Sprintf("#%d θE=%.2f\"", l, r.Truth[i*d+k]),
		fmt.Sprintf("fit %.2f±%.2f", s.Median, (s.Hi68-s.Lo68)/2),
	}
}

// composites renders the g r i images of the contact-sheet lenses and the
// chosen lenses with one Lupton stretch, keyed by global lens index. A
// dataset without g, r and i gets none (and a note).
func (r *Report) composites(ds *dataset.Dataset) (map[int]*image.RGBA, error) {
	o, m := r.Options, r.Meta
	bi := make([]int, 3)
	for c, b := range []string{"i", "r", "g"} {
		if bi[c] = slices.Index(m.Bands, b); bi[c] < 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("The test set has bands %v, not g, r and i: no colour images are drawn.", m.Bands))
			return nil, nil
		}
	}
	want := map[int]bool{}
	for l := o.First; l < o.First+min(max(o.SheetLenses, 0), o.N); l++ {
		want[l] = true
	}
	for _, l := range o.Lenses {
		want[l] = true
	}
	idx := make([]int, 0, len(want))
	for l := range want {
		idx = append(idx, l)
	}
	slices.Sort(idx)
	npix := m.NX * m.NY
	per := len(m.Bands) * npix
	cut := make([][3][]float32, len(idx))
	var buf []float32
	for j, l := range idx {
		var err error
		if buf, err = ds.ReadImages(l, 1, buf[:0]); err != nil {
			return nil, err
		}
		img := slices.Clone(buf[:per])
		for c := range 3 {
			cut[j][c] = img[bi[c]*npix : (bi[c]+1)*npix]
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	lo, err := plot.AutoLupton(plot.DefaultLupton(), cut...)
	if err != nil {
		return nil, fmt.Errorf("report: colour stretch: %w", err)
	}
	out := make(map[int]*image.RGBA, len(idx))
	for j, l := range idx {
		img, err := plot.Composite(cut[j][0], cut[j][1], cut[j][2], m.NX, m.NY, lo)
		if err != nil {
			return nil, fmt.Errorf("report: lens %d: %w", l, err)
		}
		out[l] = img
	}
	return out, nil
}

func lensName(l int, what string) string { return fmt.Sprintf("lens-%04d-%s", l, what) }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// efficiencyFigure adds the figure of theta_E's posterior widths (68%
// half-width in ln theta_E) against each test lens's Cramér-Rao bound, when
// the test set is a simulated one (fisher.FromDataset), and keeps the
// bounds' summary for the page.
func (r *Report) efficiencyFigure(ds *dataset.Dataset, k int) error {
	post, o := r.Posterior, r.Options
	nb := post.N
	switch {
	case o.BoundLenses == 0:
		nb = min(nb, 300)
	case o.BoundLenses > 0:
		nb = min(nb, o.BoundLenses)
	}
	res, _, err := fisher.FromDataset(context.Background(), ds, o.Data, fisher.Options{Start: o.First, N: nb})
	if errors.Is(err, fisher.ErrNotSimulated) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report: Cramér-Rao bounds: %w", err)
	}
	bound, width := fisher.ThetaEBounds(res), make([]float64, nb)
	for i := range width {
		s := post.Summaries[i][k]
		width[i] = (math.Log(s.Hi68) - math.Log(s.Lo68)) / 2
	}
	fig, err := plot.Efficiency(bound, width, plot.EfficiencyOptions{Title: "θE: posterior width against the Cramér-Rao bound"})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r.Bounds = &BoundSummary{Lenses: nb, MedianPrecision: fisher.EfficientPrecision(bound), MedianFractionalDeviation: fisher.EfficientDeviation(bound)}
	r.Figures = append(r.Figures, Figure{Name: "efficiency", Section: "results", Title: "θE against the information in the images", Plot: fig, SVG: post.N <= maxSVGPoints,
		Caption: fmt.Sprintf("The 68%% half-width of the θE posterior (in ln θE) of %s against its Cramér-Rao bound: the smallest standard deviation an unbiased estimator can reach from the lens's pixels with the other parameters of the simulator's image model unknown (lenssbi fisher). On the dashed line a posterior is as narrow as the image allows; above it, wider; below it, narrower than the image alone allows, from what the model learned of the population. An estimator at the bound would score a median precision of %.1f %% and a median fractional deviation of %.1f %% on θE (over the same lenses).",
			lensCount(nb, post.N), 100*r.Bounds.MedianPrecision, 100*r.Bounds.MedianFractionalDeviation)})
	return nil
}

// lensCount says which test lenses the bounds cover: "each of the 40 test
// lenses" or "each of the first 300 of the 1000 test lenses".
func lensCount(nb, n int) string {
	if nb == n {
		return fmt.Sprintf("each of the %d test lenses", n)
	}
	return fmt.Sprintf("each of the first %d of the %d test lenses", nb, n)
}
