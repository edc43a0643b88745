// Package diagnostics measures posterior quality: the point metrics of the
// reference results table (median precision, median fractional deviation,
// R^2 of the posterior median) and the calibration tests of a simulation-based
// posterior: simulation-based calibration (SBC), expected coverage of credible
// intervals and TARP. It works on plain slices and knows nothing of networks
// or files.
//
// # Inputs
//
// The calibration functions take the posterior samples of N test lenses as
// one float32 slice laid out [N][S][D] (S samples of D parameters per lens,
// the layout of npe.Posterior.Samples) and the true parameters as a float64
// slice laid out [N][D]:
//
//	cal, err := diagnostics.Calibrate(post.Samples, post.N, post.S, post.D, truth,
//		diagnostics.CalibrationOptions{Names: post.Names, Seed: 1})
//	fmt.Print(cal.Report())
//	for _, issue := range cal.Miscalibrated() {
//		fmt.Println(issue)
//	}
//
// They need at least MinLenses lenses and MinSamples samples per lens, and
// reject non-finite samples or truths. The truths must be the parameters
// the test images were simulated from, drawn from the training prior: the
// tests check calibration averaged over that prior. Random choices (rank
// ties, rank jitter, TARP reference points, bootstraps) come from a seeded
// generator, so results are reproducible.
//
// # Simulation-based calibration (SBC)
//
// For each lens and parameter, the rank of the truth among L posterior
// samples (the number of samples below it) is uniform on 0..L when the
// posterior is correct (Talts et al. 2018, arXiv:1804.06788). The histogram
// of the N ranks in B bins should then be flat: each count is
// Binomial(N, 1/B), and SBCResult.BandLo..BandHi is its 99% band. Read the
// histogram by shape:
//
//   - flat, within the band: calibrated (for this parameter's marginal);
//   - U-shaped (too many extreme ranks): the truth often lies outside the
//     posterior bulk: the posterior is too narrow, over-confident;
//   - hump in the middle: the posterior is too wide, under-confident;
//   - skewed, more low ranks than high (Bias < 0): the posterior sits above
//     the truth, it overestimates; more high ranks (Bias > 0): it
//     underestimates.
//
// Two uniformity tests give p-values: Pearson's chi-square on the counts
// (Chi2P, B-1 degrees of freedom) and Kolmogorov-Smirnov on the normalised
// ranks (KSP; more sensitive to a shift, less to a U or a hump). A p-value
// below 0.01 means the ranks are not uniform; a p-value above it means only
// that N lenses cannot tell, so keep N large (hundreds to thousands). Bias
// (mean normalised rank - 0.5) and Spread (variance of the normal scores of
// the ranks: 1 calibrated, above 1 U-shaped, below 1 humped) say how the
// ranks depart, with z-scores. L+1 should be divisible by B; SBC uses the
// first L <= S samples for which it is, dropping fewer than B.
//
// # Expected coverage
//
// For each credibility level a (0.05, ..., 0.95), the fraction of lenses
// whose truth lies in the central a-interval of its marginal posterior
// should be a. CoverageResult gives the empirical curve per parameter and
// the 68% and 95% bands a calibrated posterior stays within (binomial, for N
// lenses). Below the diagonal (MaxDeviationPP < 0): intervals are too
// narrow or misplaced, over-confident (or biased); above: too wide,
// under-confident. MaxDeviationPP is the worst deviation in percentage
// points and MaxDeviationLevel where it occurs; PValue is the
// Bonferroni-adjusted exact binomial test over the levels. With N = 1000 a
// calibrated curve typically stays within about 3-5 pp of the diagonal at
// its worst level; with N = 100, within about 10-15 pp. The HPD option uses
// highest-density regions instead of central intervals, which suits skewed
// or multimodal marginals.
//
// # TARP
//
// SBC and coverage test each parameter's marginal; a posterior can have
// correct marginals and a wrong joint shape (wrong correlations). TARP
// (Lemos et al. 2023, arXiv:2302.03026) draws for each lens a random
// reference point in the normalised parameter space and takes F, the
// fraction of posterior samples closer to the reference than the truth.
// F is uniform when the joint posterior is correct, so its empirical CDF,
// the expected coverage probability ECP(alpha), should follow the diagonal.
// TARPResult.ECPStd (bootstrap) gives the noise of the curve; MaxDeviation
// and Area (area between curve and diagonal) are the one-number summaries
// and KSP the p-value of the uniformity of F. Spread (the variance of the
// normal scores of F, 1 when calibrated, with its z-score SpreadZ) says
// how F departs: Spread > 1, an S-shaped curve above the diagonal at small
// alpha and below it at large alpha, means the truths lie too often far
// from where the samples put them as seen from the reference: over-confident
// or biased; Spread < 1, the mirror S, means under-confident. SpreadZ is
// the more sensitive test of the two for these faults (in the package tests
// a half-sigma shift gives SpreadZ near 5 while KSP stays near 0.05).
// TARP is necessary and sufficient only over all reference distributions;
// one reference distribution has less power than the marginal tests for
// marginal faults, so read it alongside them.
//
// # One-number summaries
//
// Calibrate runs all three and condenses each parameter into a
// ParamCalibration: SBC chi-square and KS p-values, rank bias and spread,
// the worst coverage deviation and the coverage p-value. Report prints them
// as a table; Miscalibrated says in words which parameter is miscalibrated
// and how (over-confident, under-confident, biased) and whether TARP rejects
// the joint posterior.
package diagnostics
