package plot

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// synthPosterior returns correlated Gaussian posterior samples of the four
// lens parameters around a truth, with n draws.
func synthPosterior(r *rand.Rand, n int) (samples [][]float64, truth []float64) {
	truth = []float64{1.32, 0.45, 241, 1.7}
	mean := []float64{1.29, 0.47, 236, 1.82}
	sd := []float64{0.06, 0.04, 14, 0.25}
	samples = make([][]float64, 4)
	for p := range samples {
		samples[p] = make([]float64, n)
	}
	for i := range n {
		z0, z1, z2, z3 := r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		samples[0][i] = mean[0] + sd[0]*z0
		samples[1][i] = mean[1] + sd[1]*(0.6*z0+0.8*z1)
		samples[2][i] = mean[2] + sd[2]*(0.85*z0+0.53*z2)
		samples[3][i] = mean[3] + sd[3]*(0.3*z1+0.95*z3) + 0.1*z3*z3
	}
	return samples, truth
}

// TestWriteFigures renders every figure with synthetic data to the
// directory in $PLOT_FIG_DIR (skipped when unset), for visual checks.
func TestWriteFigures(t *testing.T) {
	dir := os.Getenv("PLOT_FIG_DIR")
	if dir == "" {
		t.Skip("PLOT_FIG_DIR not set")
	}
	for name, f := range exampleFigures(t) {
		if err := f.SaveAll(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// exampleFigures builds every figure from synthetic inputs.
func exampleFigures(t testing.TB) map[string]*Figure {
	r := rand.New(rand.NewPCG(1, 2))
	out := map[string]*Figure{}
	add := func(name string, f *Figure, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = f
	}
	s, tr := synthPosterior(r, 4000)
	f, err := Marginals(s, tr, LensParams(), MarginalOptions{Title: "Posterior marginals, lens 17"})
	add("marginals", f, err)
	f, err = Corner(s, tr, LensParams(), CornerOptions{Title: "Joint posterior, lens 17"})
	add("corner", f, err)
	tr2, med, lo, hi := synthRecovery(r, 1000)
	f, err = Recovery(tr2, med, lo, hi, LensParams(), RecoveryOptions{Title: "Test set: posterior median vs truth"})
	add("recovery", f, err)
	f, err = SBCRanks(synthSBC(r, 1000, 20), SBCOptions{Title: "Simulation-based calibration"})
	add("sbc", f, err)
	lv, cov, blo, bhi := synthCoverage(r, 500)
	f, err = Coverage(lv, cov, blo, bhi, CoverageOptions{Title: "Expected coverage"})
	add("coverage", f, err)
	f, err = TARP(synthTARP(r), CoverageOptions{Title: "TARP coverage test"})
	add("tarp", f, err)
	ep, trn, val, lr := synthLoss(r, 120)
	f, err = LossCurves(ep, trn, val, lr, LossOptions{Title: "NPE training"})
	add("loss", f, err)
	f, err = LossCurves(ep, trn, val, nil, LossOptions{})
	add("loss_nolr", f, err)
	// Variants: fewer parameters, no truth, many bins, log loss.
	f, err = Corner(s[:2], nil, LensParams()[:2], CornerOptions{})
	add("corner2", f, err)
	f, err = Marginals(s[2:3], tr[2:3], LensParams()[2:3], MarginalOptions{NoKDE: true})
	add("marginal1", f, err)
	f, err = SBCRanks(synthSBC(r, 5000, 50)[1:2], SBCOptions{})
	add("sbc1", f, err)
	pos := make([]float64, len(trn))
	for i, v := range trn {
		pos[i] = math.Exp(v / 2)
	}
	f, err = LossCurves(ep, pos, nil, nil, LossOptions{LogLoss: true, LossLabel: "MSE [arcsec^2]"})
	add("loss_log", f, err)
	bound, width := synthEfficiency(r, 1000)
	f, err = Efficiency(bound, width, EfficiencyOptions{Title: "Width against the bound"})
	add("efficiency", f, err)
	return out
}

// synthEfficiency returns log-normal bounds and widths that follow the
// bound where it is large and flatten where it is small, with a few lenses
// without a bound.
func synthEfficiency(r *rand.Rand, n int) (bound, width []float64) {
	for k := range n {
		b := math.Exp(math.Log(0.03) + 0.9*r.NormFloat64())
		w := math.Hypot(b, 0.05) * math.Exp(0.2*r.NormFloat64())
		if k%97 == 0 {
			b = math.Inf(1)
		}
		bound, width = append(bound, b), append(width, w)
	}
	return bound, width
}

// synthRecovery returns a synthetic test set of n lenses: truths, medians
// scattered around them with heteroscedastic errors, and 68% intervals.
func synthRecovery(r *rand.Rand, n int) (truth, median, lo, hi [][]float64) {
	lohi := [][2]float64{{0.5, 2.5}, {0.2, 0.8}, {150, 330}, {1.0, 3.0}}
	frac := []float64{0.05, 0.12, 0.06, 0.25} // error as a fraction of the range
	for p := range 4 {
		var t, m, l, h []float64
		for range n {
			a, b := lohi[p][0], lohi[p][1]
			x := a + (b-a)*r.Float64()
			sd := frac[p] * (b - a) * (0.5 + r.Float64())
			// shrink toward the prior mean, as an NPE does for uninformative data
			mid := (a + b) / 2
			mu := x + 0.15*(mid-x)*frac[p]/0.1 + sd*r.NormFloat64()
			t, m = append(t, x), append(m, mu)
			l, h = append(l, mu-sd), append(h, mu+sd)
		}
		truth, median, lo, hi = append(truth, t), append(median, m), append(lo, l), append(hi, h)
	}
	return truth, median, lo, hi
}

// synthSBC returns rank histograms of n lenses in nb bins: calibrated,
// over-confident (∪), under-confident (∩) and biased.
func synthSBC(r *rand.Rand, n, nb int) []RankHist {
	labels := []string{"θ_E", "z_{lens}", "σ_v", "z_{source}"}
	warp := []func(u float64) float64{
		func(u float64) float64 { return u },
		func(u float64) float64 { return 0.5 + 0.5*math.Copysign(math.Pow(math.Abs(2*u-1), 0.7), 2*u-1) }, // ∪
		func(u float64) float64 { return 0.5 + 0.5*math.Copysign(math.Pow(math.Abs(2*u-1), 1.5), 2*u-1) }, // ∩
		func(u float64) float64 { return math.Pow(u, 1.3) },                                               // bias
	}
	// 99% band of Binomial(n, 1/nb) by the normal approximation.
	mu := float64(n) / float64(nb)
	sd := math.Sqrt(mu * (1 - 1/float64(nb)))
	var out []RankHist
	for p := range 4 {
		h := RankHist{Label: labels[p], Counts: make([]float64, nb), Lo: make([]float64, nb), Hi: make([]float64, nb)}
		for range n {
			k := min(int(warp[p](r.Float64())*float64(nb)), nb-1)
			h.Counts[k]++
		}
		for b := range nb {
			h.Lo[b], h.Hi[b] = mu-2.576*sd, mu+2.576*sd
		}
		out = append(out, h)
	}
	return out
}

// synthCoverage returns coverage curves of n lenses for the four
// parameters: calibrated, over-confident, conservative, slightly biased.
func synthCoverage(r *rand.Rand, n int) (levels []float64, curves []CoverageCurve, lo, hi []float64) {
	scale := []float64{1, 0.75, 1.3, 1}
	shift := []float64{0, 0, 0, 0.35}
	labels := []string{"θ_E", "z_{lens}", "σ_v", "z_{source}"}
	for i := 0; i <= 50; i++ {
		levels = append(levels, float64(i)/50)
	}
	for p := range 4 {
		z := make([]float64, n) // |standardised error| under the model
		for k := range z {
			z[k] = math.Abs(r.NormFloat64()/scale[p] + shift[p])
		}
		c := CoverageCurve{Label: labels[p]}
		for _, l := range levels {
			q := math.Sqrt2 * math.Erfinv(l) // half-width of the central interval
			var in float64
			for _, v := range z {
				if v <= q {
					in++
				}
			}
			c.Coverage = append(c.Coverage, in/float64(n))
		}
		curves = append(curves, c)
	}
	for _, l := range levels {
		sd := math.Sqrt(l * (1 - l) / float64(n))
		lo = append(lo, math.Max(0, l-2.576*sd))
		hi = append(hi, math.Min(1, l+2.576*sd))
	}
	return levels, curves, lo, hi
}

// synthTARP returns one TARP curve with a band, slightly over-confident.
func synthTARP(r *rand.Rand) []TARPCurve {
	c := TARPCurve{Label: "NPE (test set)"}
	for i := 0; i <= 50; i++ {
		a := float64(i) / 50
		e := a + 0.06*math.Sin(math.Pi*a)*(1+0.1*r.NormFloat64())
		w := 0.03 * math.Sin(math.Pi*a)
		c.Alpha, c.ECP = append(c.Alpha, a), append(c.ECP, e)
		c.Lo, c.Hi = append(c.Lo, math.Max(0, e-w)), append(c.Hi, math.Min(1, e+w))
	}
	return []TARPCurve{c}
}

// synthLoss returns n epochs of decaying noisy losses (the validation
// loss turns up at the end) and a warm-up + cosine learning rate.
func synthLoss(r *rand.Rand, n int) (ep, train, val, lr []float64) {
	for i := range n {
		e := float64(i + 1)
		ep = append(ep, e)
		train = append(train, -3+9*math.Exp(-e/12)+0.05*r.NormFloat64()-0.004*e)
		val = append(val, -2.9+9*math.Exp(-e/12)+0.08*r.NormFloat64()+0.00004*e*e)
		w := math.Min(1, e/5)
		lr = append(lr, 1e-3*w*0.5*(1+math.Cos(math.Pi*e/float64(n)))+1e-6)
	}
	return ep, train, val, lr
}
