package npe

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
)

// TestFitNoise: posteriors N(m_i, sigma^2) whose truths scatter about
// m_i + mu sigma with standard deviation tau sigma recover tau and mu
// (within 3 standard errors, 1/sqrt(2N) and 1/sqrt(N), plus the ranks'
// discreteness).
func TestFitNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, S = 4000, 400
	for _, c := range []struct{ tau, mu float64 }{{0.8, 0}, {1.0, -0.3}, {1.25, 0.2}} {
		post := &Posterior{N: n, S: S, D: 2, Samples: make([]float32, n*S*2)}
		truth := make([]float64, n*2)
		for i := 0; i < n; i++ {
			for d := 0; d < 2; d++ {
				m, sig := 10*r.NormFloat64(), 0.5+r.Float64()
				truth[i*2+d] = m + sig*(c.mu+c.tau*r.NormFloat64())
				for s := 0; s < S; s++ {
					post.Samples[(i*S+s)*2+d] = float32(m + sig*r.NormFloat64())
				}
			}
		}
		scale, shift, err := FitNoise(post, truth, 1)
		if err != nil {
			t.Fatal(err)
		}
		for d := range scale {
			if math.Abs(scale[d]-c.tau) > 3*c.tau/math.Sqrt(2*n)+0.01 {
				t.Errorf("tau %g, parameter %d: fitted scale %.4f", c.tau, d, scale[d])
			}
			if math.Abs(shift[d]-c.mu) > 3*c.tau/math.Sqrt(n)+0.01 {
				t.Errorf("mu %g, parameter %d: fitted shift %.4f", c.mu, d, shift[d])
			}
		}
	}
	if _, _, err := FitNoise(&Posterior{N: 10, S: 10, D: 1, Samples: make([]float32, 100)}, make([]float64, 10), 1); err == nil {
		t.Error("10 lenses accepted")
	}
}

// TestCalibrateWidens: a stored noise scale of 2 widens every lens's 68 %
// interval (same seed, same lenses), the card keeps it, joint models and
// absurd scales are refused without touching the card.
func TestCalibrateWidens(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		dir := filepath.Join(t.TempDir(), "m")
		f.card.Config.Epochs = 1
		if _, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		ds, err := dataset.Open(f.card.Data.Train)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		const n = 120
		imgs, err := ds.ReadImages(0, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		views := 1 // the views the card should hold when sample loads it
		sample := func() *Posterior {
			est, err := Load(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if est.Views() != views {
				t.Errorf("model loaded with %d views, its card says %d", est.Views(), views)
			}
			// calibrated as the posterior will be drawn: two views of each image
			if err := est.SetViews(2); err != nil {
				t.Fatal(err)
			}
			p, err := est.Posterior(imgs, n, PosteriorOptions{Samples: 300, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		before := sample()
		// a "truth" twice as far from the medians as the posteriors allow:
		// the fitted scale exceeds 1 and the stored one widens intervals
		truth := make([]float64, n*4)
		r := rand.New(rand.NewPCG(8, 9))
		for i := 0; i < n; i++ {
			for d := 0; d < 4; d++ {
				s := before.Summaries[i][d]
				truth[i*4+d] = s.Median + 1.6*(s.Hi68-s.Lo68)/2*r.NormFloat64()
			}
		}
		card, err := Calibrate(dir, before, truth, "cal.fits", 1)
		if err != nil {
			t.Fatal(err)
		}
		nc := card.NoiseCalibration
		if nc == nil || nc.Data != "cal.fits" || nc.N != n || nc.Samples != 300 || nc.Views != 2 || card.Views != 2 {
			t.Fatalf("calibration %+v, views %d", nc, card.Views)
		}
		for d, s := range nc.Scale {
			if !(s > 1.2 && s < 2) {
				t.Errorf("parameter %d: fitted scale %.3f for truths 1.6 half-widths away", d, s)
			}
		}
		views = 2
		after := sample()
		for i := 0; i < n; i++ {
			for d := 0; d < 4; d++ {
				b, a := before.Summaries[i][d], after.Summaries[i][d]
				if !(a.Hi68-a.Lo68 > b.Hi68-b.Lo68) {
					t.Fatalf("lens %d parameter %d: 68%% width %.4g after calibration, %.4g before", i, d, a.Hi68-a.Lo68, b.Hi68-b.Lo68)
				}
			}
		}
		// truths above the calibrated medians by 0.8 half-widths on average:
		// the fitted shift moves every lens's posterior up (each flow is
		// increasing in its base noise), and the scale stays about as it was
		truth2 := make([]float64, n*4)
		for i := 0; i < n; i++ {
			for d := 0; d < 4; d++ {
				a := after.Summaries[i][d]
				truth2[i*4+d] = a.Median + (a.Hi68-a.Lo68)/2*(0.8+r.NormFloat64())
			}
		}
		scales := slices.Clone(nc.Scale)
		card, err = Calibrate(dir, after, truth2, "cal2.fits", 1)
		if err != nil {
			t.Fatal(err)
		}
		for d, m := range card.NoiseCalibration.Shift {
			// (loose bounds: this one-epoch model's posteriors are far from
			// Gaussian, so half-widths in the parameter are not base-space units)
			if sc := card.NoiseCalibration.Scale[d]; !(m > 0.1*scales[d] && m < 1.2*scales[d]) || math.Abs(sc/scales[d]-1) > 0.4 {
				t.Errorf("parameter %d: shift %.3f, scale %.3f -> %.3f for truths 0.8 half-widths above the medians", d, m, scales[d], sc)
			}
		}
		shifted := sample()
		for i := 0; i < n; i++ {
			for d := 0; d < 4; d++ {
				if a, b := after.Summaries[i][d].Median, shifted.Summaries[i][d].Median; !(b > a) {
					t.Fatalf("lens %d parameter %d: median %.5g after the shift, %.5g before", i, d, b, a)
				}
			}
		}
		// absurd corrections are refused and leave the card alone
		cardBefore, _ := os.ReadFile(filepath.Join(dir, cardFile))
		far := make([]float64, len(truth))
		for i := range far {
			far[i] = truth[i] + 1e3*r.NormFloat64()
		}
		if _, err := Calibrate(dir, after, far, "bad.fits", 1); err == nil || !strings.Contains(err.Error(), "retraining") {
			t.Errorf("absurd scale: %v", err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, cardFile)); string(got) != string(cardBefore) {
			t.Error("a refused calibration changed the card")
		}
		// a card with a calibration for the wrong number of targets is corrupt
		c, _ := ReadCard(dir)
		c.NoiseCalibration.Scale = c.NoiseCalibration.Scale[:2]
		writeCard(dir, c)
		if _, err := ReadCard(dir); err == nil || !strings.Contains(err.Error(), "2 scales for 4 targets") {
			t.Errorf("corrupt calibration: %v", err)
		}

		jf := newFixture(t, ModeJoint)
		jdir := filepath.Join(t.TempDir(), "j")
		jf.card.Config.Epochs = 1
		if _, err := Train(context.Background(), jdir, jf.card, jf.trainSrc, jf.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Calibrate(jdir, before, truth, "cal.fits", 1); err == nil || !strings.Contains(err.Error(), "joint") {
			t.Errorf("joint model: %v", err)
		}
	})
}
