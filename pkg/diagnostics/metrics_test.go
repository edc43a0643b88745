package diagnostics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantileMatchesNumpy(t *testing.T) {
	x := []float64{1, 2, 3, 4, 10}
	// numpy.quantile(x, [0, .16, .5, .84, 1]) = 1, 1.64, 3, 6.16, 10
	for _, c := range []struct{ p, want float64 }{{0, 1}, {0.16, 1.64}, {0.5, 3}, {0.84, 6.16}, {1, 10}} {
		if got := Quantile(x, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%g) = %g, want %g", c.p, got, c.want)
		}
	}
}

// TestEvaluateGaussianPosteriors: for Gaussian posteriors of width s centred
// on truth + N(0, s) noise (a calibrated estimator), the metrics follow
// analytically: precision 1 - s/|mu|, median fractional deviation
// 0.6745 s/|truth| for constant truth scale, R^2 = 1 - s^2/Var(truth).
func TestEvaluateGaussianPosteriors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, s = 4000, 0.1
	truth := make([]float64, n)
	sums := make([]Summary, n)
	samples := make([]float64, 2000)
	for i := range truth {
		truth[i] = 2 + 0.5*r.NormFloat64() // Var(truth) = 0.25
		if truth[i] < 1 {
			truth[i] = 1
		}
		mu := truth[i] + s*r.NormFloat64()
		for k := range samples {
			samples[k] = mu + s*r.NormFloat64()
		}
		sums[i] = Summarize(samples)
	}
	m, err := Evaluate(sums, truth)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 - s/2.0; math.Abs(m.MedianPrecision-want) > 0.01 {
		t.Errorf("median precision %.4f, want ~%.4f", m.MedianPrecision, want)
	}
	if want := 0.6745 * s / 2.0; math.Abs(m.MedianFractionalDeviation-want) > 0.005 {
		t.Errorf("median fractional deviation %.4f, want ~%.4f", m.MedianFractionalDeviation, want)
	}
	if want := 1 - s*s/0.25; math.Abs(m.R2-want) > 0.01 {
		t.Errorf("R^2 %.4f, want ~%.4f", m.R2, want)
	}
	// Perfect medians give R^2 = 1 and zero deviation.
	for i := range sums {
		sums[i].Median = truth[i]
	}
	m, _ = Evaluate(sums, truth)
	if m.R2 != 1 || m.MedianFractionalDeviation != 0 {
		t.Errorf("perfect medians: %+v", m)
	}
}

func TestEvaluateErrors(t *testing.T) {
	if _, err := Evaluate(make([]Summary, 3), make([]float64, 2)); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := Evaluate(make([]Summary, 2), []float64{1, math.NaN()}); err == nil {
		t.Error("NaN truth accepted")
	}
}
