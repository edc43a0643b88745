package survey

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Distribution is an empirical distribution of one observing condition (seeing,
// sky brightness, exposure time): a histogram whose bins are centred on Values
// with relative Weights, as in deeplenstronomy's survey presets and
// /work/shared/data/surveys/delve.json (JSON keys "VALUES", "WEIGHTS").
//
// Values must be strictly increasing. Bin k spans from the midpoint with its
// left neighbour to the midpoint with its right neighbour; the first and last
// bins extend by half the gap to their only neighbour, so for evenly spaced
// Values every bin is centred on its value and as wide as the spacing. A
// single value is a delta distribution. With Discrete set (JSON "DISCRETE":
// true) the distribution is the weighted set of Values themselves, exactly what
// deeplenstronomy draws (Python's random.choices).
type Distribution struct {
	Values   []float64 `json:"VALUES"`
	Weights  []float64 `json:"WEIGHTS"`
	Discrete bool      `json:"DISCRETE,omitempty"`
}

// Delta returns the distribution that always yields v.
func Delta(v float64) Distribution {
	return Distribution{Values: []float64{v}, Weights: []float64{1}}
}

// Validate checks that the distribution is usable: at least one value, as
// many weights as values, finite values in strictly increasing order,
// finite non-negative weights with a positive sum.
func (d Distribution) Validate() error {
	if len(d.Values) == 0 {
		return errors.New("VALUES is empty")
	}
	if len(d.Weights) != len(d.Values) {
		return fmt.Errorf("%d VALUES but %d WEIGHTS", len(d.Values), len(d.Weights))
	}
	sum := 0.0
	for k, v := range d.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("VALUES[%d] = %v is not finite", k, v)
		}
		if k > 0 && !(v > d.Values[k-1]) {
			return fmt.Errorf("VALUES must increase strictly: VALUES[%d] = %g after %g", k, v, d.Values[k-1])
		}
		w := d.Weights[k]
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("WEIGHTS[%d] = %v must be finite and >= 0", k, w)
		}
		sum += w
	}
	if !(sum > 0) {
		return errors.New("WEIGHTS sum to 0")
	}
	return nil
}

// Min returns the smallest value the distribution can yield with non-zero
// probability (the lower edge of the first bin with weight, or that value
// for a discrete distribution); NaN for an empty distribution.
func (d Distribution) Min() float64 {
	for k, w := range d.Weights {
		if w > 0 && k < len(d.Values) {
			if d.Discrete || len(d.Values) == 1 {
				return d.Values[k]
			}
			lo, _ := d.Bin(k)
			return lo
		}
	}
	return math.NaN()
}

// Bin returns the edges of bin k: halfway to the neighbouring values, the
// outer bins as wide as their inner neighbours (see the type's
// documentation; Sample cuts a negative lower edge at zero).
func (d Distribution) Bin(k int) (lo, hi float64) {
	v := d.Values
	n := len(v)
	if n == 1 {
		return v[0], v[0]
	}
	if k > 0 {
		lo = 0.5 * (v[k-1] + v[k])
	} else {
		lo = v[0] - 0.5*(v[1]-v[0])
	}
	if k < n-1 {
		hi = 0.5 * (v[k] + v[k+1])
	} else {
		hi = v[n-1] + 0.5*(v[n-1]-v[n-2])
	}
	return lo, hi
}

// pick draws a bin index with probability proportional to its weight.
func (d Distribution) pick(u float64) int {
	total := 0.0
	for _, w := range d.Weights {
		total += w
	}
	target := u * total
	acc := 0.0
	last := 0
	for k, w := range d.Weights {
		if w <= 0 {
			continue
		}
		acc += w
		last = k
		if target < acc {
			return k
		}
	}
	return last
}

// Sample draws one value: a bin chosen with probability proportional to its
// weight, then a uniform position within the bin (or the bin's value itself
// for a Discrete or single-valued distribution). Draws are kept strictly
// positive: a bin whose lower edge falls below zero is cut at zero (all the
// quantities described are positive), and the draw is uniform on the part
// above. It uses two numbers from r (one for a Discrete distribution), so a
// seeded r gives a reproducible sequence. The distribution must be valid.
func (d Distribution) Sample(r *rand.Rand) float64 {
	k := d.pick(r.Float64())
	if d.Discrete || len(d.Values) == 1 {
		return d.Values[k]
	}
	lo, hi := d.Bin(k)
	if lo < 0 {
		lo = 0
	}
	// 1 - Float64() is in (0, 1]: the draw never sits on the (possibly zero) lower edge
	x := lo + (1-r.Float64())*(hi-lo)
	if !(x > 0) {
		x = d.Values[k]
	}
	return x
}

// Median returns the median of the distribution Sample draws from: the value
// where the piecewise-uniform cumulative distribution reaches 1/2 (with bins
// cut at zero as in Sample), or, for a Discrete distribution, the smallest
// value whose cumulative weight reaches half the total. NaN if the
// distribution is invalid.
func (d Distribution) Median() float64 {
	return d.Quantile(0.5)
}

// Quantile returns the p-quantile (0 <= p <= 1) of the distribution Sample
// draws from; see Median. NaN if p is outside [0, 1] or the distribution is
// invalid.
func (d Distribution) Quantile(p float64) float64 {
	if d.Validate() != nil || !(p >= 0 && p <= 1) {
		return math.NaN()
	}
	total := 0.0
	for _, w := range d.Weights {
		total += w
	}
	target := p * total
	acc := 0.0
	for k, w := range d.Weights {
		if w <= 0 {
			continue
		}
		if acc+w >= target {
			if d.Discrete || len(d.Values) == 1 {
				return d.Values[k]
			}
			lo, hi := d.Bin(k)
			if lo < 0 {
				lo = 0
			}
			return lo + (target-acc)/w*(hi-lo)
		}
		acc += w
	}
	return d.Values[len(d.Values)-1]
}

// Mean returns the mean of the distribution Sample draws from (bin centres,
// or the mid-points of bins cut at zero, weighted). NaN if invalid.
func (d Distribution) Mean() float64 {
	if d.Validate() != nil {
		return math.NaN()
	}
	sum, total := 0.0, 0.0
	for k, w := range d.Weights {
		if w <= 0 {
			continue
		}
		c := d.Values[k]
		if !d.Discrete && len(d.Values) > 1 {
			lo, hi := d.Bin(k)
			if lo < 0 {
				lo = 0
			}
			c = 0.5 * (lo + hi)
		}
		sum += w * c
		total += w
	}
	return sum / total
}
