package simulate

import (
	"math"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
)

// TestPrescreenConservative: the cheap pre-screens (analytic SNR caps, the
// polar-integral magnification, the analytic polar bound, the point-image
// magnifications of the point mode and its dense rule's inner rings, the
// approximate render and the convolved SNR bound) must never
// reject a candidate that the full render would keep. Every candidate of two
// fixed streams is run with and without the pre-screens (a kept lens must come
// out bit-identical). The test also checks
// the approximations themselves on every fully rendered candidate, kept or
// not, against the margins the pre-screens use: the rendered magnification
// against muPolarMargin x muPolar, the rendered sum of squared pixels
// against its polar bound, the exact SNR against snrCap, snrSq and the
// approximate render's convolved SNR estimate (approxSNRMargin), the
// rendered magnification against the approximate render's (approxMuMargin;
// both on candidates that pass the magnification cut and the exact SNR caps,
// the only ones these screens could lose), the rendered magnification
// against the analytic polar bound (polarBound, muPolarMargin), and the point
// mode's magnification against its centre and coarse-rule estimates
// (pointCentreMargin, pointCoarseMargin; the latter also logged for those
// that pass the magnification cut), and the PSF bound on its final map (at
// least the exact SNR) against the screens' PSF bounds on the centre's point
// images and on the coarse rule's map (pointCentreSNRMargin, and
// pointCoarseSNRMargin or pointCutSNRMargin where the image-plane render
// follows; without it the coarse map is the final one and the bound exact).
// Exact bounds (snrCap, snrBound, the full render's convolved bound and the
// point mode's PSF bound) must hold to rounding.
func TestPrescreenConservative(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	l := s.NewLens()
	const bn1 = 1.6783469900166612
	var kept, lost, checked, snrChecked, approxChecked, pointChecked int
	var worstQuad, worstMuA, worstPolar float64
	var nearChecked int
	// the point mode's PSF bounds: final over centre, over coarse (where
	// the coarse rule sees a caustic, or the cut), and how many checked
	var worstSNRCentre, worstSNRCaustic, worstSNRCut, worstSNRFinal float64
	var causticChecked, cutChecked int
	var pb pointBounds
	var worstCoarseNear float64
	var screened []float32
	var worstMu, worstSq, worstSNR, worstApprox, worstPointC, worstPointCoarse float64
	const n = 20000
	for _, seed := range [][2]uint64{{5, 6}, {11, 12}} {
		w.pcg.Seed(seed[0], seed[1])
		for i := 0; i < n; i++ {
			st := *w.pcg
			ok, err := w.candidate(l, 1)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				screened = append(screened[:0], l.Images...)
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
				} else if !slices.Equal(screened, l.Images) {
					// the screens (band skipping in convolvedBound
					// included) must not change a kept lens
					t.Errorf("candidate %d: images differ with and without the pre-screens", i)
				}
			}
			if w.lastMu < 0 {
				continue
			}
			// The rendered magnification (either mode) against the
			// analytic polar bound.
			worstPolar = math.Max(worstPolar, w.lastMu/polarBound(&sys))
			// Point mode: the quadrature magnification against its
			// centre and coarse-rule estimates.
			if w.lastPointC >= 0 {
				pointChecked++
				worstPointC = math.Max(worstPointC, w.lastMu/w.lastPointC)
				worstPointCoarse = math.Max(worstPointCoarse, w.lastMu/w.lastPointCoarse)
				if w.lastMu >= s.cfg.Cuts.MinMagnification {
					// near the cuts: the candidates the screen could lose
					nearChecked++
					worstCoarseNear = math.Max(worstCoarseNear, w.lastMu/w.lastPointCoarse)
				}
				side := int(math.Round(math.Sqrt(float64(len(w.src)))))
				final, centre, coarse, dense, cut := pb.screenBounds(w, &sys.Source, side)
				worstSNRFinal = math.Max(worstSNRFinal, w.lastSNR/final)
				if w.lastSNR > final*(1+1e-9) {
					t.Errorf("candidate %d: SNR %.6g above the PSF bound of its map %.6g", i, w.lastSNR, final)
				}
				worstSNRCentre = math.Max(worstSNRCentre, final/centre)
				switch {
				case !dense:
					if final > coarse*pointSNRMargin(false, false) {
						t.Errorf("candidate %d: PSF bound on the stamp %.15g above the coarse map's %.15g", i, final, coarse)
					}
				case cut:
					cutChecked++
					worstSNRCut = math.Max(worstSNRCut, final/coarse)
				default:
					causticChecked++
					worstSNRCaustic = math.Max(worstSNRCaustic, final/coarse)
				}
			}
			// Bounds on the full render (w.src holds it).
			src, d := &sys.Source, &sys.Deflector
			h := src.Re / bn1
			ss := max(2, min(int(math.Ceil(2*s.pix/(h*src.Q))), s.cfg.Supersample))
			i0a := s.pix * s.pix / (2 * math.Pi * h * h)
			if w.lastSNR >= 0 {
				snrChecked++
				if c := math.Min(w.snrCap(w.lastMu, i0a), w.snrBound()); w.lastSNR > c*(1+1e-9) {
					t.Errorf("SNR %.4g above its exact caps %.4g", w.lastSNR, c)
				}
				if w.lastSNR > w.lastBound*(1+1e-9) {
					t.Errorf("SNR %.4g above its exact convolved bound %.4g", w.lastSNR, w.lastBound)
				}
				if w.lastApprox >= 0 {
					approxChecked++
					worstApprox = math.Max(worstApprox, w.lastSNR/w.lastApprox)
					worstMuA = math.Max(worstMuA, w.lastMu/w.lastMuA)
				}
			}
			if h*src.Q*float64(ss) < 0.5*s.pix {
				continue
			}
			lm := lensing.Model{SIE: lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
				Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2}}
			checked++
			muP, muHalf := w.muPolarPair(&lm, &sys, h)
			worstMu = math.Max(worstMu, w.lastMu/muP)
			if checked%10 == 0 {
				// quadrature error against a 4x finer angular rule
				refP, refHalf := muPolarN(&lm, &sys, h, 4, nil)
				worstQuad = math.Max(worstQuad, math.Max(math.Abs(muP/refP-1), math.Abs(muHalf/refHalf-1)))
			}
			var sq float64
			for _, v := range w.src {
				sq += v * v
			}
			pred := s.pix * s.pix * muHalf / (8 * math.Pi * h * h)
			worstSq = math.Max(worstSq, sq/pred)
			if w.lastSNR >= 0 {
				worstSNR = math.Max(worstSNR, w.lastSNR/w.snrSq(muHalf, h))
			}
		}
	}
	t.Logf("%d candidates: %d pass the full cuts, %d of them lost by the pre-screens", 2*n, kept, lost)
	t.Logf("%d resolved full renders: max mu/muPolar %.3f, max sum S^2 / bound %.3f, max SNR / snrSq %.3f (margin %.2f); %d exact SNRs checked against the caps",
		checked, worstMu, worstSq, worstSNR, muPolarMargin, snrChecked)
	t.Logf("max rendered mu / polar bound %.3f (margin %.2f)", worstPolar, muPolarMargin)
	if worstPolar > 0.9*muPolarMargin {
		t.Errorf("rendered mu / polar bound %.3f comes within 10%% of the margin %.2f", worstPolar, muPolarMargin)
	}
	t.Logf("muPolar quadrature: largest relative change with a 4x finer rule %.2g", worstQuad)
	if worstQuad > 0.02 {
		t.Errorf("muPolar quadrature error %.3g above 2%%", worstQuad)
	}
	t.Logf("%d approximate renders: max SNR / convolved estimate %.3f (margin %.2f); max mu / approximate mu %.3f (margin %.2f)",
		approxChecked, worstApprox, approxSNRMargin, worstMuA, approxMuMargin)
	t.Logf("%d point-mode renders: max mu / centre mu %.3f (margin %d), max mu / coarse-rule mu %.3f (margin %d)",
		pointChecked, worstPointC, pointCentreMargin, worstPointCoarse, pointCoarseMargin)
	t.Logf("%d point-mode renders with mu >= %g: max mu / coarse-rule mu %.3f (margin %d)",
		nearChecked, s.cfg.Cuts.MinMagnification, worstCoarseNear, pointCoarseMargin)
	if nearChecked < 300 {
		t.Errorf("only %d point-mode renders pass the magnification cut", nearChecked)
	}
	t.Logf("point-mode PSF bounds: max SNR / final %.3f; max final / centre %.3f (margin %d); final / coarse %.3f near a caustic (%d, margin %.1f), %.3f near the cut (%d, margin %d)",
		worstSNRFinal, worstSNRCentre, pointCentreSNRMargin, worstSNRCaustic, causticChecked, pointCoarseSNRMargin, worstSNRCut, cutChecked, pointCutSNRMargin)
	if worstSNRCentre > 0.8*pointCentreSNRMargin || worstSNRCaustic > 0.8*pointCoarseSNRMargin || worstSNRCut > 0.8*pointCutSNRMargin ||
		causticChecked < 300 || cutChecked < 300 {
		t.Errorf("point-mode PSF bound ratios %.3f, %.3f, %.3f come within 20%% of the margins %d, %.1f, %d (%d, %d checked)",
			worstSNRCentre, worstSNRCaustic, worstSNRCut, pointCentreSNRMargin, pointCoarseSNRMargin, pointCutSNRMargin, causticChecked, cutChecked)
	}
	if kept < 40 || checked < 500 || approxChecked < 100 || pointChecked < 500 {
		t.Fatalf("only %d candidates passed, %d / %d / %d checked: test has no power", kept, checked, approxChecked, pointChecked)
	}
	if lost > 0 {
		t.Errorf("pre-screens rejected %d of %d lenses that pass the full cuts", lost, kept)
	}
	// The pre-screens use margin x estimate; demand a clear gap below it.
	if worstMu > 0.9*muPolarMargin || worstSq > 0.9*muPolarMargin || worstSNR > 0.9*math.Sqrt(muPolarMargin) {
		t.Errorf("rendered values come within 10%% of the pre-screen margin: mu %.3f, S^2 %.3f, SNR %.3f", worstMu, worstSq, worstSNR)
	}
	if worstApprox > 0.9*approxSNRMargin || worstMuA > 0.9*approxMuMargin {
		t.Errorf("exact SNR / approximate estimate %.3f or mu / approximate mu %.3f come within 10%% of the margins %.2f, %.2f",
			worstApprox, worstMuA, approxSNRMargin, approxMuMargin)
	}
	if worstPointC > 0.8*pointCentreMargin || worstPointCoarse > 0.8*pointCoarseMargin {
		t.Errorf("point-mode magnification / estimates %.3f, %.3f come within 20%% of the margins %d, %d",
			worstPointC, worstPointCoarse, pointCentreMargin, pointCoarseMargin)
	}
}
