package simulate

import (
	"math"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
)

// TestPrescreenConservative: the cheap pre-screens (analytic SNR caps, the
// polar-integral magnification and the one-sample-per-pixel render) must
// never reject a candidate that the full render would keep. Every candidate
// of two fixed streams is run with and without the pre-screens. The test also
// checks the bounds themselves on every fully rendered candidate, kept or
// not: the rendered magnification against muPolarMargin x muPolar, the
// rendered sum of squared pixels against its polar bound, and the exact SNR
// against snrCap and snrSq.
func TestPrescreenConservative(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	l := s.NewLens()
	const bn1 = 1.6783469900166612
	var kept, lost, checked, snrChecked int
	var worstMu, worstSq, worstSNR float64
	const n = 20000
	for _, seed := range [][2]uint64{{5, 6}, {11, 12}} {
		w.pcg.Seed(seed[0], seed[1])
		for i := 0; i < n; i++ {
			st := *w.pcg
			ok, err := w.candidate(l, 1)
			if err != nil {
				t.Fatal(err)
			}
			*w.pcg = st
			sys := s.pop.Draw(w.rng)
			*w.pcg = st
			w.noPrescreen = true
			full, err := w.candidate(l, 1)
			w.noPrescreen = false
			if err != nil {
				t.Fatal(err)
			}
			if full {
				kept++
				if !ok {
					lost++
				}
			}
			if w.lastMu < 0 {
				continue
			}
			// Bounds on the full render (w.src holds it).
			src, d := &sys.Source, &sys.Deflector
			h := src.Re / bn1
			ss := max(2, min(int(math.Ceil(2*s.pix/(h*src.Q))), s.cfg.Supersample))
			i0a := s.pix * s.pix / (2 * math.Pi * h * h)
			if w.lastSNR >= 0 {
				snrChecked++
				if c := math.Min(w.snrCap(w.lastMu, i0a), w.snrBound(src.Mags)); w.lastSNR > c*(1+1e-9) {
					t.Errorf("SNR %.4g above its exact caps %.4g", w.lastSNR, c)
				}
			}
			if h*src.Q*float64(ss) < 0.5*s.pix {
				continue
			}
			lm := lensing.Model{SIE: lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
				Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2}}
			checked++
			worstMu = math.Max(worstMu, w.lastMu/muPolar(&lm, &sys, h))
			var sq float64
			for _, v := range w.src {
				sq += v * v
			}
			pred := s.pix * s.pix * muPolar(&lm, &sys, h/2) / (8 * math.Pi * h * h)
			worstSq = math.Max(worstSq, sq/pred)
			if w.lastSNR >= 0 {
				worstSNR = math.Max(worstSNR, w.lastSNR/w.snrSq(muPolar(&lm, &sys, h/2), h))
			}
		}
	}
	t.Logf("%d candidates: %d pass the full cuts, %d of them lost by the pre-screens", 2*n, kept, lost)
	t.Logf("%d resolved full renders: max mu/muPolar %.3f, max sum S^2 / bound %.3f, max SNR / snrSq %.3f (margin %.2f); %d exact SNRs checked against the caps",
		checked, worstMu, worstSq, worstSNR, muPolarMargin, snrChecked)
	if kept < 40 || checked < 500 {
		t.Fatalf("only %d candidates passed, %d checked: test has no power", kept, checked)
	}
	if lost > 0 {
		t.Errorf("pre-screens rejected %d of %d lenses that pass the full cuts", lost, kept)
	}
	// The pre-screen uses margin x muPolar; demand a clear gap below it.
	if worstMu > 0.9*muPolarMargin || worstSq > 0.9*muPolarMargin || worstSNR > 0.9*math.Sqrt(muPolarMargin) {
		t.Errorf("rendered values come within 10%% of the pre-screen margin: mu %.3f, S^2 %.3f, SNR %.3f", worstMu, worstSq, worstSNR)
	}
}
