package diagnostics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultLevels are the credibility levels 0.05, 0.10, ..., 0.95.
func DefaultLevels() []float64 {
	l := make([]float64, 19)
	for i := range l {
		l[i] = float64(i+1) / 20
	}
	return l
}

// CoverageOptions configure the expected-coverage test. The zero value
// gives the defaults.
type CoverageOptions struct {
	// Levels are the credibility levels, each in (0, 1) (default
	// DefaultLevels()).
	Levels []float64
	// HPD uses highest-posterior-density regions of the 1-D marginals
	// instead of central intervals: the truth is covered at level a when
	// fewer than about a*(S+1) samples have a higher density than it, the
	// density being a kernel estimate from the samples and the truth
	// together (exact under calibration by exchangeability, and multimodal
	// marginals get multimodal regions). It costs a 256-point binned
	// density estimate per lens and parameter. The credibility of the truth
	// is jittered within its rank as the SBC ranks are, so the counts are
	// exactly Binomial(N, a) under calibration.
	HPD bool
	// Rand breaks ties and jitters the HPD credibilities (HPD only). If nil,
	// a PCG generator seeded with Seed is used.
	Rand *rand.Rand
	// Seed seeds the default generator.
	Seed uint64
}

// CoverageResult is the expected coverage of per-parameter credible
// intervals: the fraction of lenses whose truth lies in the interval of
// credibility a of its marginal posterior, which equals a when calibrated.
type CoverageResult struct {
	// N lenses, S samples per lens, D parameters.
	N, S, D int
	// HPD is true for shortest (HPD-like) intervals, false for central ones.
	HPD bool
	// Levels are the nominal credibility levels.
	Levels []float64
	// Band68Lo, Band68Hi, Band95Lo and Band95Hi are, per level, the central
	// 68.27% and 95% ranges of the empirical coverage of a calibrated
	// posterior over N lenses (Binomial(N, level) quantiles over N).
	Band68Lo, Band68Hi, Band95Lo, Band95Hi []float64
	// Params holds the per-parameter results, in parameter order.
	Params []CoverageParam
}

// CoverageParam is the coverage curve of one parameter.
type CoverageParam struct {
	// Covered counts, per level, the lenses whose truth lies in the interval.
	Covered []int
	// Empirical is Covered/N, per level.
	Empirical []float64
	// MaxDeviationPP is the empirical minus nominal coverage, in percentage
	// points, at the level where its magnitude is largest (MaxDeviationLevel).
	// Negative: intervals cover too rarely (over-confident or biased);
	// positive: too often (under-confident).
	MaxDeviationPP, MaxDeviationLevel float64
	// MeanDeviationPP is the empirical minus nominal coverage averaged over
	// the levels, in percentage points.
	MeanDeviationPP float64
	// PValue is the smallest two-sided exact binomial p-value over the
	// levels, multiplied by the number of levels (Bonferroni) and capped at 1.
	PValue float64
	// OutsideBand95 counts the levels whose coverage is outside the 95% band.
	OutsideBand95 int
}

// Coverage computes, per parameter, the expected coverage of credible
// intervals of the marginal posteriors at each level. samples are laid out
// [n][s][d] (the npe.Posterior layout) and truth [n][d]. Interval ends are
// sample quantiles interpolated between order statistics placed at
// k/(S+1) (Hyndman & Fan type 6, not Quantile's type 7), so that a
// calibrated posterior covers at the nominal rate even for small S (ends
// beyond the extreme samples clamp to them, which lowers the coverage at
// level a unless S >= (1+a)/(1-a); S >= 39 for 0.95); a truth on an end
// counts as covered.
func Coverage(samples []float32, n, s, d int, truth []float64, opt CoverageOptions) (*CoverageResult, error) {
	if err := checkPosterior("coverage", samples, n, s, d, truth); err != nil {
		return nil, err
	}
	levels := opt.Levels
	if len(levels) == 0 {
		levels = DefaultLevels()
	}
	for _, a := range levels {
		if !(a > 0 && a < 1) {
			return nil, fmt.Errorf("diagnostics: coverage: credibility level %g outside (0, 1)", a)
		}
	}
	levels = slices.Clone(levels)
	nl := len(levels)
	res := &CoverageResult{N: n, S: s, D: d, HPD: opt.HPD, Levels: levels,
		Band68Lo: make([]float64, nl), Band68Hi: make([]float64, nl),
		Band95Lo: make([]float64, nl), Band95Hi: make([]float64, nl),
		Params: make([]CoverageParam, d)}
	for k, a := range levels {
		lo, hi := BinomialBand(n, a, 0.6827)
		res.Band68Lo[k], res.Band68Hi[k] = float64(lo)/float64(n), float64(hi)/float64(n)
		lo, hi = BinomialBand(n, a, 0.95)
		res.Band95Lo[k], res.Band95Hi[k] = float64(lo)/float64(n), float64(hi)/float64(n)
	}
	buf := make([]float64, s)
	var hpd hpdWork
	rng := rngFor(opt.Rand, opt.Seed, streamHPD)
	for p := range d {
		cp := &res.Params[p]
		cp.Covered = make([]int, nl)
		for i := range n {
			for j := range s {
				buf[j] = float64(samples[(i*s+j)*d+p])
			}
			slices.Sort(buf)
			t := truth[i*d+p]
			if opt.HPD {
				c := hpd.level(buf, t, rng)
				for k, a := range levels {
					if c <= a {
						cp.Covered[k]++
					}
				}
				continue
			}
			for k, a := range levels {
				if quantile6(buf, (1-a)/2) <= t && t <= quantile6(buf, (1+a)/2) {
					cp.Covered[k]++
				}
			}
		}
		cp.Empirical = make([]float64, nl)
		minP := 1.0
		for k, a := range levels {
			e := float64(cp.Covered[k]) / float64(n)
			cp.Empirical[k] = e
			dev := 100 * (e - a)
			cp.MeanDeviationPP += dev / float64(nl)
			if math.Abs(dev) > math.Abs(cp.MaxDeviationPP) || k == 0 {
				cp.MaxDeviationPP, cp.MaxDeviationLevel = dev, a
			}
			minP = math.Min(minP, binomialTwoSided(cp.Covered[k], n, a))
			if e < res.Band95Lo[k] || e > res.Band95Hi[k] {
				cp.OutsideBand95++
			}
		}
		cp.PValue = math.Min(1, minP*float64(nl))
	}
	return res, nil
}

// at interpolates the sorted samples x at the 0-based fractional index e,
// clamped to the sample range.
func at(x []float64, e float64) float64 {
	n := len(x)
	if e <= 0 {
		return x[0]
	}
	if e >= float64(n-1) {
		return x[n-1]
	}
	k := int(e)
	return x[k] + (e-float64(k))*(x[k+1]-x[k])
}

// quantile6 is the p-quantile of the sorted samples x with the
// order-statistic expectation convention (Hyndman & Fan type 6): the k-th
// of n sorted samples sits at p = k/(n+1). Because the truth of a calibrated
// posterior falls in each of the n+1 gaps between sorted samples with equal
// probability, an interval between the type-6 quantiles p1 and p2 covers it
// with probability p2 - p1, free of the a*(n-1)/(n+1) shrinkage of the
// type-7 (Quantile) convention.
func quantile6(x []float64, p float64) float64 {
	return at(x, p*float64(len(x)+1)-1)
}

// hpdWork holds the scratch buffers of the highest-density credibility
// of a truth among 1-D samples.
type hpdWork struct {
	set, grid, dens, kern []float64
}

// hpdGrid is the number of grid points of the binned density estimate.
const hpdGrid = 256

// level returns the highest-posterior-density credibility of t among the
// sorted samples x: (k + V)/(S+1), with k the number of samples whose
// estimated density exceeds that at t plus a uniformly random share of the
// ties, and V ~ U(0, 1). The density
// is a binned Gaussian kernel estimate (Silverman's bandwidth) built from the
// samples and t together and evaluated at every point of that set; being a
// symmetric function of the set, it leaves truth and samples exchangeable,
// so k is uniform on 0..S when the posterior is calibrated, whatever the
// bandwidth.
func (w *hpdWork) level(x []float64, t float64, rng *rand.Rand) float64 {
	s := len(x)
	pos, _ := slices.BinarySearch(x, t)
	w.set = append(append(append(w.set[:0], x[:pos]...), t), x[pos:]...)
	set := w.set
	n := float64(len(set))
	_, v := meanVar(set)
	iqr := (at(set, 0.75*(n-1)) - at(set, 0.25*(n-1))) / 1.34
	spread := math.Sqrt(v)
	if iqr > 0 && iqr < spread {
		spread = iqr
	}
	h := 0.9 * spread * math.Pow(n, -0.2)
	if !(h > 0) { // all points equal: every density ties
		return (float64(rng.IntN(s+1)) + rng.Float64()) / float64(s+1)
	}
	lo := set[0] - 4*h
	step := (set[len(set)-1] + 4*h - lo) / (hpdGrid - 1)
	w.grid = slices.Grow(w.grid[:0], hpdGrid)[:hpdGrid]
	w.dens = slices.Grow(w.dens[:0], hpdGrid)[:hpdGrid]
	clear(w.grid)
	for _, p := range set { // linear binning
		e := (p - lo) / step
		k := min(int(e), hpdGrid-2)
		f := e - float64(k)
		w.grid[k] += 1 - f
		w.grid[k+1] += f
	}
	m := min(int(math.Ceil(4*h/step)), hpdGrid-1)
	w.kern = slices.Grow(w.kern[:0], m+1)[:m+1]
	for j := range w.kern {
		z := float64(j) * step / h
		w.kern[j] = math.Exp(-0.5 * z * z)
	}
	for g := range hpdGrid {
		acc := w.grid[g] * w.kern[0]
		for j := 1; j <= m; j++ {
			if g-j >= 0 {
				acc += w.grid[g-j] * w.kern[j]
			}
			if g+j < hpdGrid {
				acc += w.grid[g+j] * w.kern[j]
			}
		}
		w.dens[g] = acc
	}
	dt := at(w.dens, (t-lo)/step)
	above, ties := 0, 0
	for _, p := range x {
		switch dp := at(w.dens, (p-lo)/step); {
		case dp > dt:
			above++
		case dp == dt:
			ties++
		}
	}
	return (float64(above+rng.IntN(ties+1)) + rng.Float64()) / float64(s+1)
}
