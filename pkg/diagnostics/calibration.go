package diagnostics

import (
	"fmt"
	"math"
	"strings"
)

// CalibrationOptions configure Calibrate. The zero value gives the defaults.
type CalibrationOptions struct {
	// Names label the parameters (default "p0", "p1", ...); if set, one per
	// parameter.
	Names []string
	// Seed, if non-zero, seeds every part whose own Rand and Seed are unset.
	Seed uint64
	// SBC, Coverage and TARP configure the three tests.
	SBC      SBCOptions
	Coverage CoverageOptions
	TARP     TARPOptions
	// NoTARP skips the TARP test.
	NoTARP bool
}

// Calibration gathers the calibration tests of one posterior sample set.
type Calibration struct {
	// Names label the parameters.
	Names []string
	// N lenses, S samples per lens, D parameters.
	N, S, D int
	// SBC, Coverage and TARP are the full results (TARP nil if skipped).
	SBC      *SBCResult
	Coverage *CoverageResult
	TARP     *TARPResult
	// Params are the one-number summaries per parameter.
	Params []ParamCalibration
}

// ParamCalibration condenses the marginal calibration of one parameter into
// numbers for a table or a test.
type ParamCalibration struct {
	Name string
	// SBCChi2P and SBCKSP are the p-values of the rank-histogram chi-square
	// and of the Kolmogorov-Smirnov test of the normalised ranks.
	SBCChi2P, SBCKSP float64
	// RankBias is the mean normalised rank minus 0.5 (negative: the
	// posterior overestimates) and RankBiasZ its z-score.
	RankBias, RankBiasZ float64
	// RankSpread is the variance of the normal scores of the ranks (1 when
	// calibrated, above: over-confident, below: under-confident) and
	// RankSpreadZ its z-score.
	RankSpread, RankSpreadZ float64
	// CoverageMaxDevPP is the signed largest deviation of the empirical from
	// the nominal coverage, in percentage points, at CoverageMaxDevLevel;
	// CoverageMeanDevPP is the mean signed deviation over the levels.
	CoverageMaxDevPP, CoverageMaxDevLevel, CoverageMeanDevPP float64
	// CoverageP is the Bonferroni-adjusted binomial p-value of the coverage
	// curve.
	CoverageP float64
}

// Calibrate runs SBC, expected coverage and (unless disabled) TARP on the
// posterior samples, laid out [n][s][d] (the npe.Posterior layout), against
// the truths, laid out [n][d], and condenses them per parameter.
func Calibrate(samples []float32, n, s, d int, truth []float64, opt CalibrationOptions) (*Calibration, error) {
	if err := checkPosterior("calibration", samples, n, s, d, truth); err != nil {
		return nil, err
	}
	names := opt.Names
	switch {
	case len(names) == 0:
		names = make([]string, d)
		for p := range names {
			names[p] = fmt.Sprintf("p%d", p)
		}
	case len(names) != d:
		return nil, fmt.Errorf("diagnostics: calibration: %d names for %d parameters", len(names), d)
	}
	if opt.Seed != 0 {
		if opt.SBC.Rand == nil && opt.SBC.Seed == 0 {
			opt.SBC.Seed = opt.Seed
		}
		if opt.Coverage.Rand == nil && opt.Coverage.Seed == 0 {
			opt.Coverage.Seed = opt.Seed
		}
		if opt.TARP.Rand == nil && opt.TARP.Seed == 0 {
			opt.TARP.Seed = opt.Seed
		}
	}
	c := &Calibration{Names: names, N: n, S: s, D: d, Params: make([]ParamCalibration, d)}
	var err error
	if c.SBC, err = SBC(samples, n, s, d, truth, opt.SBC); err != nil {
		return nil, err
	}
	if c.Coverage, err = Coverage(samples, n, s, d, truth, opt.Coverage); err != nil {
		return nil, err
	}
	if !opt.NoTARP {
		if c.TARP, err = TARP(samples, n, s, d, truth, opt.TARP); err != nil {
			return nil, err
		}
	}
	for p := range d {
		sp, cp := &c.SBC.Params[p], &c.Coverage.Params[p]
		c.Params[p] = ParamCalibration{Name: names[p],
			SBCChi2P: sp.Chi2P, SBCKSP: sp.KSP,
			RankBias: sp.Bias, RankBiasZ: sp.BiasZ, RankSpread: sp.Spread, RankSpreadZ: sp.SpreadZ,
			CoverageMaxDevPP: cp.MaxDeviationPP, CoverageMaxDevLevel: cp.MaxDeviationLevel,
			CoverageMeanDevPP: cp.MeanDeviationPP, CoverageP: cp.PValue}
	}
	return c, nil
}

// Thresholds set when Miscalibrated calls a test failed. Zero fields take
// the defaults.
type Thresholds struct {
	// PValue is the significance level of the SBC chi-square, SBC KS,
	// coverage and TARP KS tests (default 0.01).
	PValue float64
	// Z is the |z| above which the rank bias, the rank spread or the TARP
	// spread counts as significant (default 3).
	Z float64
	// MinCoveragePP is the smallest |coverage deviation|, in percentage
	// points, worth reporting: a coverage curve that is statistically but
	// not practically off (large N) is not flagged (default 0).
	MinCoveragePP float64
}

// IssueKind names a way a posterior is miscalibrated.
type IssueKind int

const (
	// Overconfident: credible regions too small; coverage below nominal,
	// U-shaped rank histogram.
	Overconfident IssueKind = iota + 1
	// Underconfident: credible regions too large; coverage above nominal,
	// hump-shaped rank histogram.
	Underconfident
	// Biased: the posterior is systematically displaced from the truth;
	// rank histogram skewed to one side.
	Biased
	// NonUniform: a test fails but the ranks show no clear bias or width
	// error (for example a wrong shape).
	NonUniform
	// JointMiscalibrated: TARP rejects the joint posterior.
	JointMiscalibrated
)

// String returns the plain name of the kind.
func (k IssueKind) String() string {
	switch k {
	case Overconfident:
		return "over-confident"
	case Underconfident:
		return "under-confident"
	case Biased:
		return "biased"
	case NonUniform:
		return "non-uniform ranks"
	case JointMiscalibrated:
		return "joint posterior miscalibrated"
	}
	return fmt.Sprintf("IssueKind(%d)", int(k))
}

// Issue is one finding of Miscalibrated.
type Issue struct {
	// Param is the parameter index, -1 for the joint posterior (TARP).
	Param int
	// Name is the parameter name, "joint" for TARP.
	Name string
	Kind IssueKind
	// Message says plainly what is wrong and the evidence.
	Message string
}

// String returns "name: kind: message".
func (i Issue) String() string { return fmt.Sprintf("%s: %s: %s", i.Name, i.Kind, i.Message) }

// Miscalibrated lists what is wrong with the posterior, per parameter and
// for the joint posterior, or nothing if every test passes. At most one
// Thresholds is used; without one the defaults apply.
//
// A parameter is flagged when its SBC chi-square or KS p-value, or its
// coverage p-value (with |max deviation| >= MinCoveragePP), is below
// PValue, or its rank bias or spread has |z| > Z. A flagged parameter is
// reported as Biased if |RankBiasZ| > Z, and as Overconfident or
// Underconfident if RankSpreadZ > Z or < -Z (both may apply). If neither
// holds, a failing coverage curve decides by its sign (below nominal:
// over-confident, above: under-confident), and otherwise the ranks are
// reported as NonUniform. Because the spread is measured on normal scores,
// a pure shift of the posterior is reported as Biased alone even though it
// also lowers the coverage. The joint posterior is flagged when the TARP
// KS p-value is below PValue or the TARP spread has |z| > Z (the spread
// test is the more sensitive to a shift or a width error).
func (c *Calibration) Miscalibrated(th ...Thresholds) []Issue {
	var t Thresholds
	if len(th) > 0 {
		t = th[0]
	}
	if t.PValue == 0 {
		t.PValue = 0.01
	}
	if t.Z == 0 {
		t.Z = 3
	}
	var issues []Issue
	for p, pc := range c.Params {
		covFail := pc.CoverageP < t.PValue && math.Abs(pc.CoverageMaxDevPP) >= t.MinCoveragePP
		biased := math.Abs(pc.RankBiasZ) > t.Z
		over, under := pc.RankSpreadZ > t.Z, pc.RankSpreadZ < -t.Z
		if !(pc.SBCChi2P < t.PValue || pc.SBCKSP < t.PValue || covFail || biased || over || under) {
			continue
		}
		sp := &c.SBC.Params[p]
		cov := fmt.Sprintf("coverage %+.1f pp from nominal at the %.0f%% level (mean %+.1f pp, p = %.2g)",
			pc.CoverageMaxDevPP, 100*pc.CoverageMaxDevLevel, pc.CoverageMeanDevPP, pc.CoverageP)
		sbc := fmt.Sprintf("SBC chi-square p = %.2g, KS p = %.2g, %d of %d bins outside the %.0f%% band",
			pc.SBCChi2P, pc.SBCKSP, c.SBC.outsideBand(p), c.SBC.Bins, 100*c.SBC.BandProb)
		add := func(k IssueKind, msg string) {
			issues = append(issues, Issue{Param: p, Name: pc.Name, Kind: k, Message: msg})
		}
		if biased {
			add(Biased, fmt.Sprintf("rank histogram skewed, %s; mean normalised rank %.3f (%+.3f from 0.5, z = %.1f); %s; %s",
				sp.rankSkew(), 0.5+pc.RankBias, pc.RankBias, pc.RankBiasZ, sbc, cov))
		}
		switch {
		case over:
			add(Overconfident, fmt.Sprintf("credible intervals too narrow: ranks pile up at both ends (U-shaped histogram, normal-score variance %.2f vs 1, z = %.1f); %s; %s",
				pc.RankSpread, pc.RankSpreadZ, cov, sbc))
		case under:
			add(Underconfident, fmt.Sprintf("credible intervals too wide: ranks crowd the middle (hump-shaped histogram, normal-score variance %.2f vs 1, z = %.1f); %s; %s",
				pc.RankSpread, pc.RankSpreadZ, cov, sbc))
		case biased:
		case covFail && pc.CoverageMeanDevPP < 0:
			add(Overconfident, "credible intervals cover too rarely: "+cov+"; "+sbc)
		case covFail && pc.CoverageMeanDevPP > 0:
			add(Underconfident, "credible intervals cover too often: "+cov+"; "+sbc)
		default:
			add(NonUniform, "ranks not uniform without a clear shift or width error: "+sbc+"; "+cov)
		}
	}
	if tp := c.TARP; tp != nil && (tp.KSP < t.PValue || math.Abs(tp.SpreadZ) > t.Z) {
		how := "the credibility of the truths is not uniform"
		switch {
		case tp.SpreadZ > t.Z:
			how = "truths fall too often far inside or outside the sample clouds (over-confident or biased)"
		case tp.SpreadZ < -t.Z:
			how = "truths sit too centrally in the sample clouds (under-confident)"
		}
		issues = append(issues, Issue{Param: -1, Name: "joint", Kind: JointMiscalibrated,
			Message: fmt.Sprintf("TARP: %s; ECP %+.3f from alpha at alpha = %.2f, area %.3f, KS p = %.2g, credibility spread %.2f (z = %.1f)",
				how, tp.MaxDeviation, tp.MaxDeviationAlpha, tp.Area, tp.KSP, tp.Spread, tp.SpreadZ)})
	}
	return issues
}

// Report returns a plain-text table of the one-number summaries, one line
// per parameter, followed by the TARP line.
func (c *Calibration) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "calibration of %d lenses x %d samples, %d parameters (SBC: %d bins, L = %d)\n",
		c.N, c.S, c.D, c.SBC.Bins, c.SBC.L)
	fmt.Fprintf(&b, "%-12s %9s %9s %8s %7s %14s %9s %9s\n",
		"param", "SBC chi2p", "SBC KS p", "rankbias", "spread", "cov maxdev pp", "@ level", "cov p")
	for _, p := range c.Params {
		fmt.Fprintf(&b, "%-12s %9.3g %9.3g %+8.3f %7.2f %+14.1f %9.2f %9.3g\n",
			p.Name, p.SBCChi2P, p.SBCKSP, p.RankBias, p.RankSpread, p.CoverageMaxDevPP, p.CoverageMaxDevLevel, p.CoverageP)
	}
	if tp := c.TARP; tp != nil {
		fmt.Fprintf(&b, "TARP (joint): max |ECP - alpha| = %.3f at alpha = %.2f, area = %.4f, KS p = %.3g, spread = %.2f (z = %.1f)\n",
			math.Abs(tp.MaxDeviation), tp.MaxDeviationAlpha, tp.Area, tp.KSP, tp.Spread, tp.SpreadZ)
	}
	return b.String()
}
