package survey_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// chiSquareP returns the chi-square statistic of observed bin counts against
// expected probabilities, its degrees of freedom and the upper-tail p-value.
func chiSquareP(counts []int, probs []float64, n int) (chi2 float64, dof int, p float64) {
	for k, pr := range probs {
		if pr == 0 {
			if counts[k] != 0 {
				return math.Inf(1), 0, 0
			}
			continue
		}
		e := pr * float64(n)
		d := float64(counts[k]) - e
		chi2 += d * d / e
		dof++
	}
	dof--
	return chi2, dof, 1 - distuv.ChiSquared{K: float64(dof)}.CDF(chi2)
}

func TestDistributionReproducesWeights(t *testing.T) {
	p := mustLoad(t, "delve")
	const n = 200000
	for _, tc := range []struct {
		name string
		d    survey.Distribution
	}{
		{"delve g sky", p.Bands[0].SkyMag},
		{"delve r exposure", p.Bands[1].ExpTime},
		{"delve z seeing", p.Bands[3].Seeing},
		{"uneven", survey.Distribution{Values: []float64{1, 2, 4, 8}, Weights: []float64{0.1, 0.4, 0.3, 0.2}}},
	} {
		for _, discrete := range []bool{false, true} {
			d := tc.d
			d.Discrete = discrete
			total := 0.0
			for _, w := range d.Weights {
				total += w
			}
			probs := make([]float64, len(d.Weights))
			for k, w := range d.Weights {
				probs[k] = w / total
			}
			// bin edges: midpoints between values
			counts := make([]int, len(d.Values))
			r := rand.New(rand.NewPCG(1, 2))
			for range n {
				x := d.Sample(r)
				k := 0
				if discrete {
					k = slices.Index(d.Values, x)
					if k < 0 {
						t.Fatalf("%s discrete: draw %g is not one of the values", tc.name, x)
					}
				} else {
					for k < len(d.Values)-1 && x >= 0.5*(d.Values[k]+d.Values[k+1]) {
						k++
					}
					lo := d.Values[0] - 0.5*(d.Values[1]-d.Values[0])
					hi := d.Values[len(d.Values)-1] + 0.5*(d.Values[len(d.Values)-1]-d.Values[len(d.Values)-2])
					if x < lo || x > hi || !(x > 0) {
						t.Fatalf("%s: draw %g outside [%g, %g]", tc.name, x, lo, hi)
					}
				}
				counts[k]++
			}
			chi2, dof, pv := chiSquareP(counts, probs, n)
			if pv < 1e-3 {
				t.Errorf("%s (discrete %v): chi2 = %.1f for %d dof, p = %.2g", tc.name, discrete, chi2, dof, pv)
			} else {
				t.Logf("%s (discrete %v): chi2 = %.1f for %d dof, p = %.2f", tc.name, discrete, chi2, dof, pv)
			}
		}
	}
}

func TestDistributionUniformWithinBin(t *testing.T) {
	// one bin with weight: draws are uniform on [1.5, 2.5]
	d := survey.Distribution{Values: []float64{1, 2, 3}, Weights: []float64{0, 1, 0}}
	r := rand.New(rand.NewPCG(3, 4))
	const n, nb = 100000, 10
	counts := make([]int, nb)
	for range n {
		x := d.Sample(r)
		if x < 1.5 || x > 2.5 {
			t.Fatalf("draw %g outside [1.5, 2.5]", x)
		}
		counts[min(int((x-1.5)*nb), nb-1)]++
	}
	probs := make([]float64, nb)
	for k := range probs {
		probs[k] = 1.0 / nb
	}
	if chi2, dof, pv := chiSquareP(counts, probs, n); pv < 1e-3 {
		t.Errorf("within-bin uniformity: chi2 %.1f for %d dof, p = %.2g", chi2, dof, pv)
	}
	// a first bin reaching below zero is cut at zero: draws stay positive
	z := survey.Distribution{Values: []float64{0.1, 0.5}, Weights: []float64{1, 0}}
	for range 10000 {
		if x := z.Sample(r); !(x > 0) || x > 0.3 {
			t.Fatalf("clamped bin gave %g, want (0, 0.3]", x)
		}
	}
	if m := z.Median(); math.Abs(m-0.15) > 1e-12 {
		t.Errorf("median of U(0, 0.3] = %g, want 0.15", m)
	}
}

func TestDistributionDeterministic(t *testing.T) {
	d := mustLoad(t, "delve").Bands[2].Seeing
	a := rand.New(rand.NewPCG(42, 1))
	b := rand.New(rand.NewPCG(42, 1))
	c := rand.New(rand.NewPCG(43, 1))
	same, diff := true, false
	for range 1000 {
		x, y, z := d.Sample(a), d.Sample(b), d.Sample(c)
		same = same && x == y
		diff = diff || x != z
	}
	if !same || !diff {
		t.Errorf("same seed equal: %v; other seed differs: %v", same, diff)
	}
}

func TestDistributionMedian(t *testing.T) {
	if m := survey.Delta(90).Median(); m != 90 {
		t.Errorf("delta median %g", m)
	}
	even := survey.Distribution{Values: []float64{1, 2, 3, 4}, Weights: []float64{1, 1, 1, 1}}
	if m := even.Median(); math.Abs(m-2.5) > 1e-12 {
		t.Errorf("uniform median %g, want 2.5", m)
	}
	even.Discrete = true
	if m := even.Median(); m != 2 {
		t.Errorf("discrete median %g, want 2", m)
	}
	// the empirical median of many draws matches Median for the DELVE tables
	p := mustLoad(t, "delve")
	r := rand.New(rand.NewPCG(5, 6))
	for _, b := range p.Bands {
		for _, d := range []survey.Distribution{b.Seeing, b.SkyMag, b.ExpTime} {
			xs := make([]float64, 40001)
			for i := range xs {
				xs[i] = d.Sample(r)
			}
			slices.Sort(xs)
			emp, want := xs[len(xs)/2], d.Median()
			// the median's sampling error: ~1.25 sigma/sqrt(n) ~ 1% of a bin or so
			lo, hi := d.Quantile(0.49), d.Quantile(0.51)
			if emp < lo || emp > hi {
				t.Errorf("band %s: empirical median %g, Median %g (1%% quantiles %g..%g)", b.Name, emp, want, lo, hi)
			}
		}
	}
	// delve medians quoted in PHYSICS.md: ~1.28" g seeing, ~21.9 g sky
	if m := p.Bands[0].Seeing.Median(); math.Abs(m-1.28) > 0.02 {
		t.Errorf("g median seeing %g", m)
	}
	if m := p.Bands[0].SkyMag.Median(); math.Abs(m-21.9) > 0.05 {
		t.Errorf("g median sky %g", m)
	}
}

func TestDistributionValidate(t *testing.T) {
	for _, tc := range []struct {
		d    survey.Distribution
		want string
	}{
		{survey.Distribution{}, "VALUES is empty"},
		{survey.Distribution{Values: []float64{1}, Weights: []float64{1, 2}}, "1 VALUES but 2 WEIGHTS"},
		{survey.Distribution{Values: []float64{1, 1}, Weights: []float64{1, 2}}, "increase strictly"},
		{survey.Distribution{Values: []float64{1, math.NaN()}, Weights: []float64{1, 2}}, "not finite"},
		{survey.Distribution{Values: []float64{1, 2}, Weights: []float64{0, 0}}, "sum to 0"},
		{survey.Distribution{Values: []float64{1, 2}, Weights: []float64{1, math.Inf(1)}}, "WEIGHTS[1]"},
	} {
		err := tc.d.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.d, err, tc.want)
		}
		if !math.IsNaN(tc.d.Median()) {
			t.Errorf("%+v: Median of an invalid distribution should be NaN", tc.d)
		}
	}
}

func BenchmarkSampleConditions(b *testing.B) {
	p := mustLoad(b, "delve")
	r := rand.New(rand.NewPCG(1, 1))
	dst := make([]survey.Conditions, 4)
	for b.Loop() {
		p.SampleConditions(r, dst)
	}
}
