package diagnostics

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Summary condenses one lens's posterior samples of one parameter.
type Summary struct {
	Median     float64
	Lo68, Hi68 float64 // 16th and 84th percentiles
	Lo95, Hi95 float64 // 2.5th and 97.5th percentiles
	Mean, Std  float64
}

// Quantile returns the p-quantile of sorted data by linear interpolation
// between order statistics (Hyndman & Fan type 7, numpy's default).
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	if lo < 0 {
		return sorted[0]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Summarize returns the summary of samples (which it sorts in place).
func Summarize(samples []float64) Summary {
	slices.Sort(samples)
	var s Summary
	s.Median = Quantile(samples, 0.5)
	s.Lo68, s.Hi68 = Quantile(samples, 0.16), Quantile(samples, 0.84)
	s.Lo95, s.Hi95 = Quantile(samples, 0.025), Quantile(samples, 0.975)
	var sum, sum2 float64
	for _, v := range samples {
		sum += v
	}
	s.Mean = sum / float64(len(samples))
	for _, v := range samples {
		d := v - s.Mean
		sum2 += d * d
	}
	if len(samples) > 1 {
		s.Std = math.Sqrt(sum2 / float64(len(samples)-1))
	}
	return s
}

// PointMetrics are the reference work's per-parameter results.
type PointMetrics struct {
	// MedianPrecision is the median over lenses of 1 - w/|median|, with w
	// the half-width of the central 68% interval, (q84 - q16)/2.
	MedianPrecision float64
	// MedianFractionalDeviation is the median over lenses of
	// |median - truth| / |truth|.
	MedianFractionalDeviation float64
	// R2 is the coefficient of determination of the posterior medians
	// against the truths: 1 - sum (median - truth)^2 / sum (truth - mean)^2.
	R2 float64
	// N is the number of lenses.
	N int
}

// PrecisionInterval names the interval behind MedianPrecision, for tables.
const PrecisionInterval = "68% central interval half-width"

// Evaluate computes the point metrics from per-lens summaries and truths.
func Evaluate(sums []Summary, truth []float64) (PointMetrics, error) {
	if len(sums) != len(truth) {
		return PointMetrics{}, fmt.Errorf("diagnostics: %d summaries for %d truths", len(sums), len(truth))
	}
	if len(truth) < 2 {
		return PointMetrics{}, errors.New("diagnostics: need at least 2 lenses")
	}
	prec := make([]float64, len(sums))
	dev := make([]float64, len(sums))
	var mean float64
	for i, t := range truth {
		if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(sums[i].Median) {
			return PointMetrics{}, fmt.Errorf("diagnostics: lens %d has a non-finite truth or median", i)
		}
		mean += t
	}
	mean /= float64(len(truth))
	var ssRes, ssTot float64
	for i, s := range sums {
		w := (s.Hi68 - s.Lo68) / 2
		prec[i] = 1 - w/math.Abs(s.Median)
		dev[i] = math.Abs(s.Median-truth[i]) / math.Abs(truth[i])
		ssRes += (s.Median - truth[i]) * (s.Median - truth[i])
		ssTot += (truth[i] - mean) * (truth[i] - mean)
	}
	slices.Sort(prec)
	slices.Sort(dev)
	m := PointMetrics{MedianPrecision: Quantile(prec, 0.5), MedianFractionalDeviation: Quantile(dev, 0.5), N: len(truth)}
	if ssTot > 0 {
		m.R2 = 1 - ssRes/ssTot
	} else {
		m.R2 = math.NaN()
	}
	return m, nil
}
