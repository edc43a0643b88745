package report

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/diagnostics"
	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/plot"
	"github.com/lenssbi/lenssbi/pkg/version"
)

// Default calibration criteria (see the package documentation).
const (
	// DefaultPValue is the p-value below which an SBC uniformity test fails.
	DefaultPValue = 0.01
	// DefaultCoverageTolerancePP is the largest deviation of the empirical
	// from the nominal coverage, in percentage points, that still counts as
	// calibrated.
	DefaultCoverageTolerancePP = 5.0
)

// Options configure Build and FromPosterior. The zero value gives the
// defaults.
type Options struct {
	// Samples is the number of posterior samples per lens Build draws
	// (default 1000). FromPosterior ignores it.
	Samples int
	// First is the global index of the first test lens, and N the number
	// of test lenses Build uses (0: all from First). For FromPosterior,
	// First is the index of the posterior's first lens and N is ignored.
	First, N int
	// Seed seeds the posterior sampling and the random parts of the
	// calibration tests (default 1).
	Seed uint64
	// Lenses are the global indices of the lenses shown one by one
	// (marginal posteriors, corner plot for joint models, colour image);
	// default the first three test lenses. Each must be a test lens.
	Lenses []int
	// SheetLenses is the number of test lenses on the contact sheet
	// (default 24; negative: no contact sheet).
	SheetLenses int
	// Model and Data name the model directory and the test set in the
	// report's text (defaults "model" and "test set").
	Model, Data string
	// Label returns the plain-text label of a parameter column in tables
	// and sentences (default: theta_E, z_l, sigma_v, z_s, else the name).
	Label func(name string) string
	// PValue and CoverageTolerancePP are the calibration criteria
	// (defaults DefaultPValue and DefaultCoverageTolerancePP).
	PValue, CoverageTolerancePP float64
	// NoBounds leaves out the figure of theta_E's posterior widths against
	// the test lenses' Cramér-Rao bounds (made for simulated test sets).
	NoBounds bool
	// BoundLenses is how many test lenses (the first ones) the bounds are
	// computed for: about 50 ms per lens on 2 cores (default 300; negative:
	// all).
	BoundLenses int
}

func (o *Options) defaults() {
	if o.Samples == 0 {
		o.Samples = 1000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.SheetLenses == 0 {
		o.SheetLenses = 24
	}
	if o.Model == "" {
		o.Model = "model"
	}
	if o.Data == "" {
		o.Data = "test set"
	}
	if o.Label == nil {
		o.Label = DefaultLabel
	}
	if o.PValue == 0 {
		o.PValue = DefaultPValue
	}
	if o.CoverageTolerancePP == 0 {
		o.CoverageTolerancePP = DefaultCoverageTolerancePP
	}
}

// DefaultLabel returns the plain-text label of a parameter column: theta_E,
// z_l, sigma_v and z_s for the four lens parameters, the name otherwise.
func DefaultLabel(name string) string {
	switch name {
	case "THETA_E":
		return "theta_E"
	case "Z_LENS":
		return "z_l"
	case "SIGMA_V":
		return "sigma_v"
	case "Z_SOURCE":
		return "z_s"
	}
	return name
}

// ParamResult is one row of the reference results table.
type ParamResult struct {
	// Name is the dataset column (THETA_E, ...), Label its plain-text
	// label and Unit its unit.
	Name, Label, Unit string
	diagnostics.PointMetrics
}

// Verdict is the calibration finding for one parameter, or for the joint
// posterior (Name "joint", from TARP).
type Verdict struct {
	Name, Label string
	// Calibrated is true when the parameter meets the criteria (for the
	// joint posterior: when TARP does not reject it).
	Calibrated bool
	// Sentence says so in plain words, with the evidence.
	Sentence string
	// Issues are the findings of diagnostics.Calibration.Miscalibrated for
	// this parameter (default thresholds).
	Issues []diagnostics.Issue
}

// BoundSummary is what an unbiased estimator at the Cramér-Rao bound of
// every test lens would score on theta_E, in the results table's terms
// (fisher.EfficientPrecision, fisher.EfficientDeviation).
type BoundSummary struct {
	Lenses                                     int // how many (the first test lenses)
	MedianPrecision, MedianFractionalDeviation float64
}

// Figure is one figure of the report: a plot (written as PNG, and SVG when
// SVG is set) or a raster image (PNG only).
type Figure struct {
	// Name is the file stem inside the report directory.
	Name string
	// Section groups the figure on the page: "results", "calibration",
	// "training", "lenses" or "sheet".
	Section string
	// Lens is the global index of the lens a "lenses" figure shows.
	Lens int
	// Title and Caption describe the figure on the page.
	Title, Caption string
	// Plot or Image holds the figure (exactly one is set).
	Plot  *plot.Figure
	Image image.Image
	// SVG asks for an SVG copy of Plot (set where the file stays small).
	SVG bool
}

// Files returns the names of the files the figure is written to.
func (f *Figure) Files() []string {
	names := []string{f.Name + ".png"}
	if f.Plot != nil && f.SVG {
		names = append(names, f.Name+".svg")
	}
	return names
}

// Report is the evaluation of a model on a test set: the numbers, the
// calibration findings and the figures, ready to be written by Write or
// shown piece by piece in a notebook.
type Report struct {
	// Options are the options used, defaults filled in.
	Options Options
	// Card is the model's card.
	Card *npe.Card
	// Meta is the test set's provenance.
	Meta dataset.Meta
	// Posterior holds the samples of the test lenses [First, First+N).
	Posterior *npe.Posterior
	// Truth holds the true parameters, [N][D] in Posterior order.
	Truth []float64
	// Results is the reference results table, one row per parameter.
	Results []ParamResult
	// Calibration holds SBC, coverage and (joint models) TARP.
	Calibration *diagnostics.Calibration
	// Verdicts holds one calibration verdict per parameter, and Joint the
	// TARP verdict of a joint model (nil for marginal models).
	Verdicts []Verdict
	Joint    *Verdict
	// Notes are remarks for the reader (for example a test set too small
	// for the coverage criterion).
	Notes []string
	// Figures are the report's figures in page order.
	Figures []Figure
	// Bounds summarises the test lenses' Cramér-Rao bounds on theta_E when
	// the figures were built from a simulated test set (nil otherwise).
	Bounds *BoundSummary
	// SampleSeconds is the time taken to draw the posterior samples (0 if
	// unknown).
	SampleSeconds float64
	// Created is when the report was built; Version the lenssbi version.
	Created time.Time
	Version string
}

// Build draws Options.Samples posterior samples for every test lens of ds
// with est and assembles the report (see FromPosterior).
func Build(est *npe.Estimator, ds *dataset.Dataset, opt Options) (*Report, error) {
	if est == nil || ds == nil {
		return nil, errors.New("report: nil estimator or dataset")
	}
	opt.defaults()
	if opt.Samples < 0 || opt.First < 0 || opt.N < 0 {
		return nil, fmt.Errorf("report: Samples, First and N must not be negative (got %d, %d, %d)", opt.Samples, opt.First, opt.N)
	}
	if opt.First >= ds.Len() {
		return nil, fmt.Errorf("report: first lens %d is beyond the %d lenses of %s", opt.First, ds.Len(), opt.Data)
	}
	n := ds.Len() - opt.First
	if opt.N > 0 {
		n = min(n, opt.N)
	}
	t0 := time.Now()
	post, err := SamplePosterior(est, ds, opt.First, n, opt.Samples, opt.Seed)
	if err != nil {
		return nil, err
	}
	el := time.Since(t0).Seconds()
	r, err := FromPosterior(est.Card(), post, ds, opt)
	if err != nil {
		return nil, err
	}
	r.SampleSeconds = el
	return r, nil
}

// SamplePosterior draws samples posterior samples for lenses [first,
// first+n) of ds, reading and sampling 500 lenses at a time to bound memory.
// Lens i's samples depend on (seed, i) only.
func SamplePosterior(est *npe.Estimator, ds *dataset.Dataset, first, n, samples int, seed uint64) (*npe.Posterior, error) {
	const block = 500
	var all *npe.Posterior
	var buf []float32
	for start := first; start < first+n; start += block {
		m := min(block, first+n-start)
		var err error
		if buf, err = ds.ReadImages(start, m, buf); err != nil {
			return nil, err
		}
		p, err := est.Posterior(buf, m, npe.PosteriorOptions{Samples: samples, Seed: seed, First: start})
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = p
			continue
		}
		all.N += p.N
		all.Samples = append(all.Samples, p.Samples...)
		all.Summaries = append(all.Summaries, p.Summaries...)
	}
	if all == nil {
		return nil, errors.New("report: no lenses to sample")
	}
	return all, nil
}

// FromPosterior assembles the report of a model (its card) from posterior
// samples of the test lenses [opt.First, opt.First+post.N) of ds: the results
// table, the calibration tests and verdicts, and the figures (not yet
// rendered; Write renders them). ds supplies the true parameters and the
// images of the lenses shown.
func FromPosterior(card *npe.Card, post *npe.Posterior, ds *dataset.Dataset, opt Options) (*Report, error) {
	r, err := Evaluate(card, post, ds, opt)
	if err != nil {
		return nil, err
	}
	if err := r.buildFigures(ds); err != nil {
		return nil, err
	}
	return r, nil
}

// Evaluate is FromPosterior without the figures: the truths, the results
// table, the calibration tests and their verdicts (what `lenssbi evaluate`
// prints).
func Evaluate(card *npe.Card, post *npe.Posterior, ds *dataset.Dataset, opt Options) (*Report, error) {
	if card == nil || post == nil || ds == nil {
		return nil, errors.New("report: nil card, posterior or dataset")
	}
	opt.defaults()
	n, d := post.N, post.D
	switch {
	case n <= 0 || post.S <= 0 || d <= 0:
		return nil, fmt.Errorf("report: empty posterior (%d lenses, %d samples, %d parameters)", n, post.S, d)
	case len(post.Samples) != n*post.S*d:
		return nil, fmt.Errorf("report: posterior holds %d samples, want %d x %d x %d", len(post.Samples), n, post.S, d)
	case len(post.Summaries) != n:
		return nil, fmt.Errorf("report: posterior has %d summaries for %d lenses", len(post.Summaries), n)
	case len(post.Names) != d || len(post.Units) != d:
		return nil, fmt.Errorf("report: posterior names %d parameters and %d units for %d parameters", len(post.Names), len(post.Units), d)
	case opt.First < 0 || opt.First+n > ds.Len():
		return nil, fmt.Errorf("report: lenses %d to %d are not all in %s (%d lenses)", opt.First, opt.First+n-1, opt.Data, ds.Len())
	}
	opt.N = n
	if opt.Lenses == nil {
		for i := range min(3, n) {
			opt.Lenses = append(opt.Lenses, opt.First+i)
		}
	}
	for _, l := range opt.Lenses {
		if l < opt.First || l >= opt.First+n {
			return nil, fmt.Errorf("report: lens %d to show is not among the test lenses %d to %d", l, opt.First, opt.First+n-1)
		}
	}
	r := &Report{Options: opt, Card: card, Meta: ds.Meta(), Posterior: post, Created: time.Now().UTC(), Version: version.Version}

	// Truths, [N][D].
	r.Truth = make([]float64, n*d)
	for k, name := range post.Names {
		col, err := ds.Column(name)
		if err != nil {
			return nil, fmt.Errorf("report: true values of %s: %w", name, err)
		}
		for i := range n {
			r.Truth[i*d+k] = col[opt.First+i]
		}
	}

	// Results table.
	for k, name := range post.Names {
		sums := make([]diagnostics.Summary, n)
		truth := make([]float64, n)
		for i := range n {
			sums[i] = post.Summaries[i][k]
			truth[i] = r.Truth[i*d+k]
		}
		m, err := diagnostics.Evaluate(sums, truth)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", name, err)
		}
		r.Results = append(r.Results, ParamResult{Name: name, Label: opt.Label(name), Unit: post.Units[k], PointMetrics: m})
	}

	// Calibration.
	joint := card.Config.Mode == npe.ModeJoint
	cal, err := diagnostics.Calibrate(post.Samples, n, post.S, d, r.Truth, diagnostics.CalibrationOptions{
		Names: post.Names, Seed: opt.Seed, NoTARP: !joint})
	if err != nil {
		return nil, fmt.Errorf("report: calibration: %w", err)
	}
	r.Calibration = cal
	r.verdicts()
	return r, nil
}

// verdicts applies the criteria to every parameter and to the joint
// posterior, and adds a note when the test set is too small for them.
func (r *Report) verdicts() {
	cal, o := r.Calibration, r.Options
	issues := cal.Miscalibrated()
	tol := fmtNum(o.CoverageTolerancePP)
	for p, pc := range cal.Params {
		v := Verdict{Name: pc.Name, Label: o.Label(pc.Name)}
		for _, is := range issues {
			if is.Param == p {
				v.Issues = append(v.Issues, is)
			}
		}
		var failed []string
		var sbcFail []string
		if pc.SBCChi2P <= o.PValue {
			sbcFail = append(sbcFail, fmt.Sprintf("SBC chi-square p = %.2g", pc.SBCChi2P))
		}
		if pc.SBCKSP <= o.PValue {
			sbcFail = append(sbcFail, fmt.Sprintf("SBC KS p = %.2g", pc.SBCKSP))
		}
		if len(sbcFail) > 0 {
			failed = append(failed, strings.Join(sbcFail, " and ")+fmt.Sprintf(", at or below %g", o.PValue))
		}
		cov := fmt.Sprintf("coverage %+.1f pp from nominal at the %.0f%% level", pc.CoverageMaxDevPP, 100*pc.CoverageMaxDevLevel)
		if math.Abs(pc.CoverageMaxDevPP) > o.CoverageTolerancePP {
			failed = append(failed, cov+", beyond ±"+tol+" pp")
		}
		var how []string
		for _, is := range v.Issues {
			how = append(how, diagnosis(is, pc))
		}
		v.Calibrated = len(failed) == 0
		switch {
		case v.Calibrated && len(how) == 0:
			v.Sentence = fmt.Sprintf("%s is calibrated within the criteria: SBC p = %.2g (chi-square) and %.2g (KS), worst %s.",
				v.Label, pc.SBCChi2P, pc.SBCKSP, cov)
		case v.Calibrated:
			v.Sentence = fmt.Sprintf("%s is calibrated within the criteria (SBC p = %.2g and %.2g, worst %s), but %s.",
				v.Label, pc.SBCChi2P, pc.SBCKSP, cov, strings.Join(how, "; and "))
		case len(how) == 0:
			v.Sentence = fmt.Sprintf("%s is miscalibrated by the criteria: %s; the deviation is within what chance allows for %d lenses (coverage p = %.2g), so more test lenses are needed to tell.",
				v.Label, strings.Join(failed, "; "), cal.N, pc.CoverageP)
		default:
			v.Sentence = fmt.Sprintf("%s is miscalibrated: %s. %s.", v.Label, strings.Join(failed, "; "), capitalise(strings.Join(how, "; and ")))
		}
		r.Verdicts = append(r.Verdicts, v)
	}
	if tp := cal.TARP; tp != nil {
		v := Verdict{Name: "joint", Label: "joint posterior", Calibrated: true}
		for _, is := range issues {
			if is.Param < 0 {
				v.Issues = append(v.Issues, is)
				v.Calibrated = false
			}
		}
		if v.Calibrated {
			v.Sentence = fmt.Sprintf("The joint posterior passes TARP: KS p = %.2g, largest |ECP − α| = %.3f at α = %.2f, credibility spread %.2f (z = %.1f).",
				tp.KSP, math.Abs(tp.MaxDeviation), tp.MaxDeviationAlpha, tp.Spread, tp.SpreadZ)
		} else {
			v.Sentence = "The joint posterior is miscalibrated by TARP: " + strings.TrimPrefix(v.Issues[0].Message, "TARP: ") + "."
		}
		r.Joint = &v
	}
	// Coverage noise of a calibrated posterior at the 50% level.
	cr := cal.Coverage
	if k := nearest(cr.Levels, 0.5); k >= 0 {
		half := 100 * (cr.Band95Hi[k] - cr.Band95Lo[k]) / 2
		if half > o.CoverageTolerancePP {
			r.Notes = append(r.Notes, fmt.Sprintf("With %d test lenses the coverage of a perfectly calibrated posterior strays by up to ±%.1f pp at the %.0f%% level (95%% binomial band), more than the ±%s pp criterion: use more test lenses for the coverage criterion to mean much.",
				cal.N, half, 100*cr.Levels[k], tol))
		}
	}
}

// diagnosis says in words how a parameter is off, from its issue.
func diagnosis(is diagnostics.Issue, pc diagnostics.ParamCalibration) string {
	switch is.Kind {
	case diagnostics.Biased:
		dir := "above the truth (it overestimates)"
		if pc.RankBias > 0 {
			dir = "below the truth (it underestimates)"
		}
		return fmt.Sprintf("the posterior sits systematically %s: mean normalised rank %.3f, z = %.1f", dir, 0.5+pc.RankBias, pc.RankBiasZ)
	case diagnostics.Overconfident:
		return fmt.Sprintf("its credible intervals are too narrow (over-confident): rank normal-score variance %.2f vs 1 (z = %.1f), mean coverage deviation %+.1f pp", pc.RankSpread, pc.RankSpreadZ, pc.CoverageMeanDevPP)
	case diagnostics.Underconfident:
		return fmt.Sprintf("its credible intervals are too wide (under-confident): rank normal-score variance %.2f vs 1 (z = %.1f), mean coverage deviation %+.1f pp", pc.RankSpread, pc.RankSpreadZ, pc.CoverageMeanDevPP)
	default:
		return "its ranks are not uniform, without a clear shift or width error"
	}
}

// Calibrated reports whether every parameter (and the joint posterior, if
// tested) meets the calibration criteria.
func (r *Report) Calibrated() bool {
	for _, v := range r.Verdicts {
		if !v.Calibrated {
			return false
		}
	}
	return r.Joint == nil || r.Joint.Calibrated
}

// Summary returns one plain sentence on the calibration of all parameters.
func (r *Report) Summary() string {
	var bad []string
	for _, v := range r.Verdicts {
		if !v.Calibrated {
			bad = append(bad, v.Label)
		}
	}
	crit := "the criteria (" + r.Criteria() + ")"
	s := ""
	switch {
	case len(bad) == 0:
		s = fmt.Sprintf("All %d parameters are calibrated within %s.", len(r.Verdicts), crit)
	case len(bad) == len(r.Verdicts):
		s = fmt.Sprintf("No parameter is calibrated within %s.", crit)
	default:
		s = fmt.Sprintf("%d of %d parameters are miscalibrated (%s); the others are calibrated within %s.", len(bad), len(r.Verdicts), strings.Join(bad, ", "), crit)
	}
	if r.Joint != nil {
		if r.Joint.Calibrated {
			s += " TARP does not reject the joint posterior."
		} else {
			s += " TARP rejects the joint posterior."
		}
	}
	return s
}

// Criteria states the calibration criteria briefly in words.
func (r *Report) Criteria() string {
	return fmt.Sprintf("SBC rank tests p > %g, coverage within ±%s pp of nominal at every level", r.Options.PValue, fmtNum(r.Options.CoverageTolerancePP))
}

// Figure returns the figure of the given name, or nil.
func (r *Report) Figure(name string) *Figure {
	for i := range r.Figures {
		if r.Figures[i].Name == name {
			return &r.Figures[i]
		}
	}
	return nil
}

func nearest(xs []float64, x float64) int {
	best := -1
	for i, v := range xs {
		if best < 0 || math.Abs(v-x) < math.Abs(xs[best]-x) {
			best = i
		}
	}
	return best
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fmtNum formats a criterion without trailing zeros (5, 2.5).
func fmtNum(x float64) string { return fmt.Sprintf("%g", x) }

// paramIndex returns the index of a parameter name in the posterior, or -1.
func (r *Report) paramIndex(name string) int { return slices.Index(r.Posterior.Names, name) }
