package diagnostics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// TARPNorm selects the coordinates in which TARP measures distances.
type TARPNorm int

const (
	// TARPMinMax maps each parameter to (x - min)/(max - min) over the
	// truths, as the reference tarp package does; the default references
	// are then uniform on the unit cube.
	TARPMinMax TARPNorm = iota
	// TARPStandard maps each parameter to (x - mean)/std over the truths.
	TARPStandard
)

// TARPOptions configure the TARP test. The zero value gives the defaults.
type TARPOptions struct {
	// Alpha is the credibility grid, ascending in [0, 1] (default 0, 0.01,
	// ..., 1).
	Alpha []float64
	// Bootstraps is the number of bootstrap resamplings of the lenses for
	// the uncertainty of the ECP curve (default 100; negative: none).
	Bootstraps int
	// Norm selects the normalised coordinates (default TARPMinMax).
	Norm TARPNorm
	// Reference, if set, draws one reference point into ref (length D) in
	// normalised coordinates. Default: uniform over the bounding box of the
	// normalised truths (the unit cube for TARPMinMax).
	Reference func(r *rand.Rand, ref []float64)
	// Rand draws references, breaks ties, jitters and bootstraps. If nil,
	// a PCG generator seeded with Seed is used.
	Rand *rand.Rand
	// Seed seeds the default generator.
	Seed uint64
}

// TARPResult is the TARP coverage test (Lemos et al. 2023,
// arXiv:2302.03026) of a joint posterior.
type TARPResult struct {
	// N lenses, S samples per lens, D parameters.
	N, S, D int
	// F is, per lens, the fraction of posterior samples closer to the lens's
	// random reference point than the truth is (jittered as the SBC ranks,
	// (k + V)/(S+1), so that it is exactly uniform under calibration).
	F []float64
	// Alpha is the credibility grid and ECP the expected coverage
	// probability at each alpha, the fraction of lenses with F < alpha.
	// Calibrated: ECP = alpha.
	Alpha, ECP []float64
	// ECPMean and ECPStd are the bootstrap mean and standard deviation of
	// ECP over resamplings of the lenses (the references kept); nil without
	// bootstraps.
	ECPMean, ECPStd []float64
	Bootstraps      int
	// MaxDeviation is ECP - alpha where its magnitude is largest, at
	// MaxDeviationAlpha.
	MaxDeviation, MaxDeviationAlpha float64
	// Area is the area between the ECP curve and the diagonal,
	// integral |ECP - alpha| d alpha (trapezoid rule on the grid).
	Area float64
	// KS and KSP are the Kolmogorov-Smirnov statistic of F against U(0, 1)
	// (the supremum of |ECP - alpha| over all alpha) and its p-value.
	KS, KSP float64
	// Bias is mean(F) - 0.5 and BiasZ its z-score; Spread is the variance
	// of the normal scores of F (1 if calibrated) and SpreadZ its z-score.
	// Spread > 1: truths fall too often far inside or far outside the
	// sample cloud as seen from the reference, the signature of an
	// over-confident or biased posterior; Spread < 1: under-confident.
	Bias, BiasZ, Spread, SpreadZ float64
}

// TARP runs the tests of accuracy with random points on the joint posterior.
// samples are laid out [n][s][d] (the npe.Posterior layout) and truth [n][d].
func TARP(samples []float32, n, s, d int, truth []float64, opt TARPOptions) (*TARPResult, error) {
	if err := checkPosterior("TARP", samples, n, s, d, truth); err != nil {
		return nil, err
	}
	alpha := opt.Alpha
	if len(alpha) == 0 {
		alpha = make([]float64, 101)
		for i := range alpha {
			alpha[i] = float64(i) / 100
		}
	}
	for i, a := range alpha {
		if !(a >= 0 && a <= 1) || (i > 0 && a <= alpha[i-1]) {
			return nil, fmt.Errorf("diagnostics: TARP: alpha grid must ascend strictly within [0, 1], got %g at %d", a, i)
		}
	}
	alpha = slices.Clone(alpha)
	nb := opt.Bootstraps
	if nb == 0 {
		nb = 100
	}
	nb = max(nb, 0)
	rng := rngFor(opt.Rand, opt.Seed, streamTARP)

	// Normalisation from the truths, and the bounding box of the
	// normalised truths for the default references.
	off := make([]float64, d)
	scale := make([]float64, d)
	boxLo := make([]float64, d)
	boxHi := make([]float64, d)
	for p := range d {
		lo, hi := math.Inf(1), math.Inf(-1)
		var mean, m2 float64
		for i := range n {
			t := truth[i*d+p]
			lo, hi = math.Min(lo, t), math.Max(hi, t)
			mean += t
		}
		mean /= float64(n)
		for i := range n {
			dt := truth[i*d+p] - mean
			m2 += dt * dt
		}
		switch opt.Norm {
		case TARPMinMax:
			off[p], scale[p] = lo, 1/(hi-lo)
		case TARPStandard:
			off[p], scale[p] = mean, 1/math.Sqrt(m2/float64(n-1))
		default:
			return nil, fmt.Errorf("diagnostics: TARP: unknown normalisation %d", opt.Norm)
		}
		if hi == lo {
			scale[p] = 1 // a fixed parameter: keep its units
		}
		boxLo[p], boxHi[p] = (lo-off[p])*scale[p], (hi-off[p])*scale[p]
	}

	res := &TARPResult{N: n, S: s, D: d, F: make([]float64, n), Alpha: alpha, Bootstraps: nb}
	ref := make([]float64, d)
	tn := make([]float64, d)
	for i := range n {
		if opt.Reference != nil {
			opt.Reference(rng, ref)
			if slices.ContainsFunc(ref, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
				return nil, fmt.Errorf("diagnostics: TARP: reference distribution drew a non-finite point %v for lens %d", ref, i)
			}
		} else {
			for p := range d {
				ref[p] = boxLo[p] + (boxHi[p]-boxLo[p])*rng.Float64()
			}
		}
		var dTruth float64
		for p := range d {
			tn[p] = (truth[i*d+p] - off[p]) * scale[p]
			dTruth += (tn[p] - ref[p]) * (tn[p] - ref[p])
		}
		closer, equal := 0, 0
		for j := range s {
			row := samples[(i*s+j)*d : (i*s+j+1)*d]
			var dist float64
			for p, v := range row {
				x := (float64(v)-off[p])*scale[p] - ref[p]
				dist += x * x
			}
			switch {
			case dist < dTruth:
				closer++
			case dist == dTruth:
				equal++
			}
		}
		k := closer + rng.IntN(equal+1)
		res.F[i] = (float64(k) + rng.Float64()) / float64(s+1)
	}
	sorted := slices.Clone(res.F)
	slices.Sort(sorted)
	res.ECP = ecp(sorted, alpha, nil)
	for k, a := range alpha {
		dev := res.ECP[k] - a
		if math.Abs(dev) > math.Abs(res.MaxDeviation) || k == 0 {
			res.MaxDeviation, res.MaxDeviationAlpha = dev, a
		}
		if k > 0 {
			res.Area += 0.5 * (math.Abs(dev) + math.Abs(res.ECP[k-1]-alpha[k-1])) * (a - alpha[k-1])
		}
	}
	res.KS, res.KSP = KSUniform(res.F)
	res.Bias, res.BiasZ, _, res.Spread, res.SpreadZ = uniformShape(res.F)

	if nb > 0 {
		res.ECPMean = make([]float64, len(alpha))
		res.ECPStd = make([]float64, len(alpha))
		boot := make([]float64, n)
		curve := make([]float64, len(alpha))
		for range nb {
			for i := range boot {
				boot[i] = res.F[rng.IntN(n)]
			}
			slices.Sort(boot)
			ecp(boot, alpha, curve)
			for k, c := range curve {
				res.ECPMean[k] += c
				res.ECPStd[k] += c * c
			}
		}
		for k := range alpha {
			m := res.ECPMean[k] / float64(nb)
			res.ECPMean[k] = m
			res.ECPStd[k] = math.Sqrt(math.Max(0, res.ECPStd[k]/float64(nb)-m*m))
		}
	}
	return res, nil
}

// ecp writes into dst (allocated if nil) the fraction of the sorted values
// below each alpha, and returns it.
func ecp(sorted, alpha, dst []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(alpha))
	}
	for k, a := range alpha {
		dst[k] = float64(sort.SearchFloat64s(sorted, a)) / float64(len(sorted))
	}
	return dst
}
