package diagnostics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// MinLenses is the smallest number of lenses (test simulations) the
// calibration diagnostics accept.
const MinLenses = 10

// MinSamples is the smallest number of posterior samples per lens the
// calibration diagnostics accept: below it the 5% central interval and the
// rank histogram carry almost no information.
const MinSamples = 20

// PCG stream constants, so that the SBC and TARP generators built from one
// seed are independent.
const (
	streamSBC  = 0x5bc0_5bc0_5bc0_5bc0
	streamTARP = 0x7a29_7a29_7a29_7a29
	streamHPD  = 0x4bd0_4bd0_4bd0_4bd0
)

// rngFor returns r if it is set, otherwise a PCG generator seeded with seed
// on the given stream.
func rngFor(r *rand.Rand, seed, stream uint64) *rand.Rand {
	if r != nil {
		return r
	}
	return rand.New(rand.NewPCG(seed, stream))
}

// checkPosterior validates a posterior sample set laid out [n][s][d] and its
// truths laid out [n][d]. It rejects wrong sizes, too few lenses or samples
// and non-finite values, naming the offending lens, sample and parameter.
func checkPosterior(what string, samples []float32, n, s, d int, truth []float64) error {
	switch {
	case d < 1:
		return fmt.Errorf("diagnostics: %s: %d parameters, need at least 1", what, d)
	case n < MinLenses:
		return fmt.Errorf("diagnostics: %s: %d lenses, need at least %d", what, n, MinLenses)
	case s < MinSamples:
		return fmt.Errorf("diagnostics: %s: %d posterior samples per lens, need at least %d", what, s, MinSamples)
	}
	if want := n * s * d; want/n/s != d || len(samples) != want {
		return fmt.Errorf("diagnostics: %s: %d posterior samples given, want N*S*D = %d*%d*%d = %d",
			what, len(samples), n, s, d, n*s*d)
	}
	if len(truth) != n*d {
		return fmt.Errorf("diagnostics: %s: %d truth values given, want N*D = %d*%d = %d", what, len(truth), n, d, n*d)
	}
	for k, v := range truth {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("diagnostics: %s: truth of lens %d parameter %d is %v", what, k/d, k%d, v)
		}
	}
	for k, v := range samples {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("diagnostics: %s: posterior sample %d of lens %d parameter %d is %v",
				what, (k/d)%s, k/(s*d), k%d, f)
		}
	}
	return nil
}

// BinomialBand returns the central interval [lo, hi] of a Binomial(n, p)
// count holding probability prob: lo is the (1-prob)/2 quantile and hi the
// (1+prob)/2 quantile (smallest k with CDF(k) >= q). Under calibration a
// rank-histogram bin (p = 1/B) or a coverage count at level p falls inside
// [lo, hi] with probability at least prob.
func BinomialBand(n int, p, prob float64) (lo, hi int) {
	return binomialQuantile(n, p, (1-prob)/2), binomialQuantile(n, p, (1+prob)/2)
}

// binomialQuantile returns the smallest k in [0, n] with P(X <= k) >= q.
func binomialQuantile(n int, p, q float64) int {
	b := distuv.Binomial{N: float64(n), P: p}
	lo, hi := 0, n // invariant: CDF(hi) >= q
	for lo < hi {
		mid := (lo + hi) / 2
		if b.CDF(float64(mid)) >= q {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// binomialTwoSided returns the two-sided exact p-value of observing k
// successes in n trials of probability p: twice the smaller tail, capped at 1.
func binomialTwoSided(k, n int, p float64) float64 {
	if p <= 0 || p >= 1 {
		if (p <= 0 && k == 0) || (p >= 1 && k == n) {
			return 1
		}
		return 0
	}
	b := distuv.Binomial{N: float64(n), P: p}
	low := b.CDF(float64(k)) // P(X <= k)
	high := 1.0              // P(X >= k)
	if k > 0 {
		high = mathext.RegIncBeta(float64(k), float64(n-k+1), p)
	}
	return math.Min(1, 2*math.Min(low, high))
}

// KSUniform returns the Kolmogorov-Smirnov statistic of the values u
// (expected in [0, 1]) against the uniform distribution on [0, 1], and its
// asymptotic p-value with Stephens' small-sample correction,
// Q_KS((sqrt(n) + 0.12 + 0.11/sqrt(n)) D). u is not modified.
func KSUniform(u []float64) (stat, p float64) {
	n := len(u)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(u)
	slices.Sort(s)
	for i, v := range s {
		stat = math.Max(stat, math.Max(float64(i+1)/float64(n)-v, v-float64(i)/float64(n)))
	}
	sn := math.Sqrt(float64(n))
	return stat, ksQ((sn + 0.12 + 0.11/sn) * stat)
}

// ksQ is the Kolmogorov distribution's survival function,
// Q(l) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 l^2), evaluated with the
// complementary theta-function series for small l.
func ksQ(l float64) float64 {
	if l <= 0 {
		return 1
	}
	if l < 1.18 {
		y := math.Exp(-math.Pi * math.Pi / (8 * l * l))
		return 1 - math.Sqrt(2*math.Pi)/l*(y+math.Pow(y, 9)+math.Pow(y, 25)+math.Pow(y, 49))
	}
	x := math.Exp(-2 * l * l)
	return 2 * (x - math.Pow(x, 4) + math.Pow(x, 9) - math.Pow(x, 16))
}

// meanVar returns the mean and the unbiased variance of x.
func meanVar(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	if len(x) > 1 {
		variance /= float64(len(x) - 1)
	}
	return mean, variance
}

// uniformShape summarises how values u in (0, 1), uniform under
// calibration, depart from uniformity: bias is mean(u) - 0.5 with its z-score
// (standard error sqrt(max(var u, 1/12)/n)); spread is the variance of the
// normal scores Phi^-1(u), 1 under uniformity, with its z-score (null
// standard deviation sqrt(2/(n-1))). For Gaussian posteriors the normal score
// is (truth - posterior mean)/posterior sd exactly, so a shifted posterior
// moves the bias but leaves the spread at 1, an over-confident one raises
// the spread (U-shaped ranks) and an under-confident one lowers it (humped).
// scoreMean is the mean of the normal scores, 0 under uniformity.
func uniformShape(u []float64) (bias, biasZ, scoreMean, spread, spreadZ float64) {
	n := float64(len(u))
	m, v := meanVar(u)
	bias = m - 0.5
	// The standard error uses the larger of the null and the observed
	// variance, so that a U shape (wide u) does not pass for a shift.
	biasZ = bias / math.Sqrt(math.Max(v, 1.0/12)/n)
	g := make([]float64, len(u))
	for i, v := range u {
		// Clamp so a jittered rank of exactly 0 or 1 gives a finite score.
		g[i] = distuv.UnitNormal.Quantile(min(max(v, 1e-12), 1-1e-12))
	}
	scoreMean, spread = meanVar(g)
	spreadZ = (spread - 1) / math.Sqrt(2/(n-1))
	return bias, biasZ, scoreMean, spread, spreadZ
}
