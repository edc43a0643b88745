package diagnostics

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// SBCOptions configure simulation-based calibration. The zero value gives
// the defaults.
type SBCOptions struct {
	// Bins is the number of rank-histogram bins B (default min(20, N/10),
	// at least 2). It must not exceed S+1.
	Bins int
	// BandProb is the probability of the per-bin band (default 0.99).
	BandProb float64
	// Rand breaks rank ties and jitters the normalised ranks. If nil, a
	// PCG generator seeded with Seed is used.
	Rand *rand.Rand
	// Seed seeds the default generator.
	Seed uint64
}

// SBCResult is the simulation-based calibration (Talts et al. 2018,
// arXiv:1804.06788) of a posterior sample set.
type SBCResult struct {
	// N lenses, D parameters, and L posterior samples per lens used for the
	// ranks: the first L of the S given, with L the largest value <= S such
	// that L+1 is divisible by Bins (so every bin spans the same number of
	// possible ranks; at most Bins-1 samples are dropped).
	N, L, D int
	// Bins is the number of rank-histogram bins; each spans (L+1)/Bins ranks.
	Bins int
	// Expected is the expected count per bin under calibration, N/Bins.
	Expected float64
	// BandLo and BandHi bound each bin count with probability BandProb
	// under calibration (quantiles of Binomial(N, 1/Bins)).
	BandLo, BandHi int
	BandProb       float64
	// Params holds the per-parameter results, in parameter order.
	Params []SBCParam
}

// SBCParam is the rank statistic of one parameter.
type SBCParam struct {
	// Ranks are the ranks of the truths among the L posterior samples, one
	// per lens, in 0..L: the number of samples below the truth, plus a
	// uniformly random share of the samples equal to it.
	Ranks []int
	// U are the normalised ranks (rank + V)/(L+1) with V ~ U(0, 1), exactly
	// uniform on (0, 1) under calibration; KS, Bias and Spread use them.
	U []float64
	// Counts is the rank histogram; bin b holds ranks b*(L+1)/Bins to
	// (b+1)*(L+1)/Bins - 1.
	Counts []int
	// Chi2 is Pearson's chi-square of Counts against the uniform
	// expectation, with Bins-1 degrees of freedom; Chi2P is its p-value.
	Chi2, Chi2P float64
	// KS is the Kolmogorov-Smirnov statistic of U against U(0, 1); KSP is
	// its p-value.
	KS, KSP float64
	// Bias is the mean normalised rank minus 0.5. Negative: the truth tends
	// to rank low, the posterior sits above it (overestimates); positive:
	// it underestimates. BiasZ is Bias over its standard error,
	// sqrt(max(var U, 1/12)/N) (the null value 1/12, or the larger observed
	// variance of a U-shaped histogram).
	Bias, BiasZ float64
	// Spread is the variance of the normal scores Phi^-1(U), 1 under
	// calibration; above 1 the ranks pile up at both ends (U shape,
	// over-confident), below 1 in the middle (hump, under-confident).
	// SpreadZ is (Spread-1) over its null standard deviation. For Gaussian
	// posteriors a pure shift leaves Spread at 1.
	Spread, SpreadZ float64
	// ScoreMean is the mean of the normal scores Phi^-1(U), 0 under
	// calibration; for a 1-D flow it is the mean offset of the truths from
	// the posteriors in the flow's base space (what npe.Calibrate shifts).
	ScoreMean float64
}

// SBC ranks each truth among the posterior samples of its lens, per
// parameter, and tests the ranks for uniformity. samples are laid out
// [n][s][d] (the npe.Posterior layout) and truth [n][d].
func SBC(samples []float32, n, s, d int, truth []float64, opt SBCOptions) (*SBCResult, error) {
	if err := checkPosterior("SBC", samples, n, s, d, truth); err != nil {
		return nil, err
	}
	bins := opt.Bins
	switch {
	case bins == 0:
		bins = min(20, max(2, n/10), s+1)
	case bins < 2:
		return nil, fmt.Errorf("diagnostics: SBC: %d bins, need at least 2", bins)
	case bins > s+1:
		return nil, fmt.Errorf("diagnostics: SBC: %d bins for %d samples per lens, at most S+1 = %d", bins, s, s+1)
	}
	prob := opt.BandProb
	if prob == 0 {
		prob = 0.99
	}
	if !(prob > 0 && prob < 1) {
		return nil, fmt.Errorf("diagnostics: SBC: band probability %g outside (0, 1)", prob)
	}
	rng := rngFor(opt.Rand, opt.Seed, streamSBC)
	perBin := (s + 1) / bins
	l := perBin*bins - 1
	res := &SBCResult{N: n, L: l, D: d, Bins: bins, Expected: float64(n) / float64(bins), BandProb: prob,
		Params: make([]SBCParam, d)}
	res.BandLo, res.BandHi = BinomialBand(n, 1/float64(bins), prob)
	for p := range res.Params {
		res.Params[p] = SBCParam{Ranks: make([]int, n), U: make([]float64, n), Counts: make([]int, bins)}
	}
	less := make([]int, d)
	equal := make([]int, d)
	for i := range n {
		clear(less)
		clear(equal)
		t := truth[i*d : (i+1)*d]
		for j := range l {
			row := samples[(i*s+j)*d : (i*s+j+1)*d]
			for p, v := range row {
				switch x := float64(v); {
				case x < t[p]:
					less[p]++
				case x == t[p]:
					equal[p]++
				}
			}
		}
		for p := range d {
			r := less[p] + rng.IntN(equal[p]+1)
			sp := &res.Params[p]
			sp.Ranks[i] = r
			sp.U[i] = (float64(r) + rng.Float64()) / float64(l+1)
			sp.Counts[r/perBin]++
		}
	}
	chi := distuv.ChiSquared{K: float64(bins - 1)}
	for p := range res.Params {
		sp := &res.Params[p]
		for _, c := range sp.Counts {
			dc := float64(c) - res.Expected
			sp.Chi2 += dc * dc / res.Expected
		}
		sp.Chi2P = chi.Survival(sp.Chi2)
		sp.KS, sp.KSP = KSUniform(sp.U)
		sp.Bias, sp.BiasZ, sp.ScoreMean, sp.Spread, sp.SpreadZ = uniformShape(sp.U)
	}
	return res, nil
}

// rankSkew describes in words where the ranks of p pile up.
func (sp *SBCParam) rankSkew() string {
	switch {
	case sp.Bias < 0:
		return "truth ranks low: the posterior sits above the truth (overestimates)"
	case sp.Bias > 0:
		return "truth ranks high: the posterior sits below the truth (underestimates)"
	}
	return "ranks centred"
}

// outsideBand counts the bins of parameter p outside the band.
func (r *SBCResult) outsideBand(p int) int {
	k := 0
	for _, c := range r.Params[p].Counts {
		if c < r.BandLo || c > r.BandHi {
			k++
		}
	}
	return k
}
