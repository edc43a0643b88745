package fisher

import (
	"math"
	"slices"
)

// ThetaEBounds returns every lens's fractional bound on theta_E
// (Result.ThetaE), +Inf for a lens whose Fisher matrix is singular (theta_E
// not measured by the image alone): the widths EfficientDeviation,
// EfficientPrecision and plot.Efficiency take.
func ThetaEBounds(res []LensResult) []float64 {
	out := make([]float64, len(res))
	for i, r := range res {
		out[i] = math.Inf(1)
		if r.Err == nil {
			out[i] = r.ThetaE()
		}
	}
	return out
}

// EfficientDeviation returns the median, over lenses, of the fractional
// deviation |x/x_true - 1| that an efficient unbiased estimator of ln x
// would make, when lens i's estimate is normal about the truth with standard
// deviation sigmas[i] (in ln x): the t with mean_i P(|N(0, sigma_i)| < t) =
// 1/2, returned as e^t - 1. NaN or +Inf sigmas count as lenses whose
// estimate never comes close. It is the reference table's median fractional
// deviation for a posterior median that reaches the Cramér-Rao bound. It
// returns NaN for an empty list.
func EfficientDeviation(sigmas []float64) float64 {
	if len(sigmas) == 0 {
		return math.NaN()
	}
	frac := func(t float64) float64 {
		var s float64
		for _, sd := range sigmas {
			if sd > 0 && !math.IsInf(sd, 0) {
				s += math.Erf(t / (sd * math.Sqrt2))
			} else if sd == 0 {
				s++
			}
		}
		return s / float64(len(sigmas))
	}
	lo, hi := 0.0, 1.0
	for frac(hi) < 0.5 {
		hi *= 2
		if hi > 1e6 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := 0.5 * (lo + hi)
		if frac(mid) < 0.5 {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12*hi {
			break
		}
	}
	return math.Expm1(0.5 * (lo + hi))
}

// EfficientPrecision returns the median over lenses of the reference table's
// precision, 1 - (68% half-width) / median, for normal posteriors in ln x of
// the given widths: 1 - sinh(sigma_i) (the 68% interval of ln x is +-sigma
// about the median). NaN or infinite widths count as zero precision.
func EfficientPrecision(sigmas []float64) float64 {
	if len(sigmas) == 0 {
		return math.NaN()
	}
	p := make([]float64, len(sigmas))
	for i, sd := range sigmas {
		if math.IsNaN(sd) || math.IsInf(sd, 0) {
			p[i] = math.Inf(-1)
			continue
		}
		p[i] = 1 - math.Sinh(sd)
	}
	return median(p)
}

// median returns the median of v (reordering a copy).
func median(v []float64) float64 {
	c := append([]float64(nil), v...)
	n := len(c)
	slices.Sort(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return 0.5 * (c[n/2-1] + c[n/2])
}
