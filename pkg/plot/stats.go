package plot

import (
	"fmt"
	"math"
	"slices"
)

// Input checks shared by the figures. Messages name the figure, the
// argument and the offending element.

// checkFinite reports the first NaN or infinite element of v.
func checkFinite(fig, name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: %s[%d] = %v, want finite values", fig, name, i, x)
		}
	}
	return nil
}

// checkSeries reports an empty v, a length other than n (n < 0: any) or a
// non-finite element.
func checkSeries(fig, name string, v []float64, n int) error {
	if len(v) == 0 {
		return fmt.Errorf("%s: %s is empty", fig, name)
	}
	if n >= 0 && len(v) != n {
		return fmt.Errorf("%s: %s has %d values, want %d", fig, name, len(v), n)
	}
	return checkFinite(fig, name, v)
}

// quantileSorted returns the p-quantile of sorted data by linear
// interpolation between order statistics (type 7 of Hyndman & Fan 1996).
func quantileSorted(s []float64, p float64) float64 {
	n := len(s)
	if n == 1 {
		return s[0]
	}
	h := p * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return s[n-1]
	}
	return s[i] + (h-float64(i))*(s[i+1]-s[i])
}

// sortedCopy returns a sorted copy of v.
func sortedCopy(v []float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}

// credible holds the median and central 68% interval of samples.
type credible struct {
	lo, med, hi float64
}

// summarize returns the 16th, 50th and 84th percentiles of sorted samples.
func summarize(s []float64) credible {
	return credible{quantileSorted(s, 0.15865525393145707), quantileSorted(s, 0.5), quantileSorted(s, 0.8413447460685429)}
}

// axisRange returns a plotting range for sorted samples: the central
// 99.5% of the samples (the full range below 400 samples), widened to
// include extra finite values (the truth), plus a 6% margin each side.
// A zero-width range is widened to ±0.5 (or ±5% of the value).
func axisRange(s []float64, extra ...float64) (lo, hi float64) {
	if len(s) >= 400 {
		lo, hi = quantileSorted(s, 0.0025), quantileSorted(s, 0.9975)
	} else {
		lo, hi = s[0], s[len(s)-1]
	}
	for _, x := range extra {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return padRange(lo, hi, 0.06)
}

// padRange widens [lo, hi] by frac of its width each side; an empty range
// becomes ±5% of its value (±0.5 at zero).
func padRange(lo, hi, frac float64) (float64, float64) {
	if hi <= lo {
		d := 0.05 * math.Abs(lo)
		if d == 0 {
			d = 0.5
		}
		return lo - d, hi + d
	}
	d := frac * (hi - lo)
	return lo - d, hi + d
}

// histogram bins v into n equal bins on [lo, hi] (values outside are
// dropped) and returns the edges and the counts.
func histogram(v []float64, n int, lo, hi float64) (edges, counts []float64) {
	edges = make([]float64, n+1)
	for i := range edges {
		edges[i] = lo + (hi-lo)*float64(i)/float64(n)
	}
	counts = make([]float64, n)
	w := (hi - lo) / float64(n)
	for _, x := range v {
		if x < lo || x > hi {
			continue
		}
		k := min(int((x-lo)/w), n-1)
		counts[k]++
	}
	return edges, counts
}

// autoBins returns a bin count for n samples over the plotted range: the
// Freedman-Diaconis width, clamped to [12, 60] bins.
func autoBins(s []float64, lo, hi float64) int {
	iqr := quantileSorted(s, 0.75) - quantileSorted(s, 0.25)
	n := float64(len(s))
	if iqr <= 0 {
		return 20
	}
	w := 2 * iqr / math.Cbrt(n)
	return int(min(60, max(12, math.Round((hi-lo)/w))))
}

// silverman returns Silverman's rule-of-thumb bandwidth of sorted samples,
// 0.9 min(sd, IQR/1.34) n^{-1/5}, or 0 when the samples have no spread.
func silverman(s []float64) float64 {
	n := float64(len(s))
	var mean, m2 float64
	for i, x := range s {
		d := x - mean
		mean += d / float64(i+1)
		m2 += d * (x - mean)
	}
	sd := math.Sqrt(m2 / max(n-1, 1))
	spread := sd
	if iqr := (quantileSorted(s, 0.75) - quantileSorted(s, 0.25)) / 1.349; iqr > 0 {
		spread = min(sd, iqr)
	}
	return 0.9 * spread * math.Pow(n, -0.2)
}

// kde evaluates a Gaussian kernel density estimate of the samples at m
// points spanning [lo, hi]. Samples are first binned on a grid 4 times
// finer than the output (linear binning) so that the cost is
// O(len(s) + m*kernel width) rather than O(len(s)*m).
func kde(s []float64, bw, lo, hi float64, m int) (xs, ys []float64) {
	xs = make([]float64, m)
	ys = make([]float64, m)
	dx := (hi - lo) / float64(m-1)
	for i := range xs {
		xs[i] = lo + float64(i)*dx
	}
	if !(bw > 0) {
		return xs, ys
	}
	// Fine grid extends 4 bandwidths beyond [lo, hi] so edge mass counts.
	const fine = 4
	fdx := dx / fine
	pad := int(math.Ceil(4*bw/fdx)) + 1
	f0 := lo - float64(pad)*fdx
	nf := (m-1)*fine + 1 + 2*pad
	w := make([]float64, nf)
	for _, x := range s {
		t := (x - f0) / fdx
		k := int(math.Floor(t))
		if k < 0 || k >= nf-1 {
			continue
		}
		f := t - float64(k)
		w[k] += 1 - f
		w[k+1] += f
	}
	half := int(math.Ceil(4 * bw / fdx))
	kern := make([]float64, 2*half+1)
	norm := 1 / (float64(len(s)) * bw * math.Sqrt(2*math.Pi))
	for j := -half; j <= half; j++ {
		u := float64(j) * fdx / bw
		kern[j+half] = norm * math.Exp(-0.5*u*u)
	}
	for i := range m {
		c := pad + i*fine
		var sum float64
		for j := -half; j <= half; j++ {
			if k := c + j; k >= 0 && k < nf {
				sum += w[k] * kern[j+half]
			}
		}
		ys[i] = sum
	}
	return xs, ys
}

// hist2d bins pairs (x, y) on an nx-by-ny grid over the given ranges.
func hist2d(x, y []float64, nx, ny int, x0, x1, y0, y1 float64) heatGrid {
	g := heatGrid{nx: nx, ny: ny, x0: x0, y0: y0, dx: (x1 - x0) / float64(nx), dy: (y1 - y0) / float64(ny)}
	g.z = make([]float64, nx*ny)
	for i := range x {
		if x[i] < x0 || x[i] > x1 || y[i] < y0 || y[i] > y1 {
			continue
		}
		ix := min(int((x[i]-x0)/g.dx), nx-1)
		iy := min(int((y[i]-y0)/g.dy), ny-1)
		g.z[iy*nx+ix]++
	}
	return g
}

// smooth convolves the grid in place with a Gaussian of sigma bins
// (separable; edges are treated as zero beyond the grid).
func (g heatGrid) smooth(sigma float64) {
	if !(sigma > 0) {
		return
	}
	half := int(math.Ceil(3 * sigma))
	kern := make([]float64, 2*half+1)
	var ksum float64
	for j := range kern {
		u := float64(j-half) / sigma
		kern[j] = math.Exp(-0.5 * u * u)
		ksum += kern[j]
	}
	for j := range kern {
		kern[j] /= ksum
	}
	tmp := make([]float64, len(g.z))
	for r := range g.ny { // along x
		for c := range g.nx {
			var s float64
			for j := -half; j <= half; j++ {
				if cc := c + j; cc >= 0 && cc < g.nx {
					s += g.z[r*g.nx+cc] * kern[j+half]
				}
			}
			tmp[r*g.nx+c] = s
		}
	}
	for r := range g.ny { // along y
		for c := range g.nx {
			var s float64
			for j := -half; j <= half; j++ {
				if rr := r + j; rr >= 0 && rr < g.ny {
					s += tmp[rr*g.nx+c] * kern[j+half]
				}
			}
			g.z[r*g.nx+c] = s
		}
	}
}

// hpdLevels returns, for each mass fraction, the density threshold whose
// super-level set holds that fraction of the grid's total (highest
// posterior density regions). Fractions must be in (0, 1).
func hpdLevels(z []float64, fracs []float64) []float64 {
	s := sortedCopy(z)
	slices.Reverse(s)
	var total float64
	for _, v := range s {
		total += v
	}
	out := make([]float64, len(fracs))
	for k, f := range fracs {
		var cum float64
		out[k] = s[0]
		for _, v := range s {
			cum += v
			out[k] = v
			if cum >= f*total {
				break
			}
		}
	}
	return out
}

// rSquared returns the coefficient of determination of predictions pred
// for targets t: 1 - sum (pred-t)^2 / sum (t-mean t)^2 (NaN when the
// targets have no spread).
func rSquared(t, pred []float64) float64 {
	var mean float64
	for _, v := range t {
		mean += v
	}
	mean /= float64(len(t))
	var ssRes, ssTot float64
	for i := range t {
		ssRes += (pred[i] - t[i]) * (pred[i] - t[i])
		ssTot += (t[i] - mean) * (t[i] - mean)
	}
	if ssTot == 0 {
		return math.NaN()
	}
	return 1 - ssRes/ssTot
}
