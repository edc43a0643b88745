package simulate

import (
	"math"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// polarArrival is a resolved candidate that reached the polar-integral
// pre-screens (the coarse rule and muPolarPair), with the worker state those
// screens read.
type polarArrival struct {
	sys                 population.System
	h, i0a              float64
	flux, invBkg, ksqHi []float64
}

// restore puts the arrival's state into w for the screens.
func (a *polarArrival) restore(w *worker) {
	w.sys = a.sys
	copy(w.flux, a.flux)
	copy(w.invBkg, a.invBkg)
	copy(w.ksq, a.ksqHi)
}

func (a *polarArrival) model() lensing.Model {
	d := &a.sys.Deflector
	return lensing.Model{SIE: lensing.NewSIE(a.sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
		Shear: lensing.Shear{Gamma1: a.sys.Gamma1, Gamma2: a.sys.Gamma2}}
}

// polarArrivals runs n candidates of the stream seed through w.candidate
// and returns those that reached the polar-integral pre-screens: resolved
// sources rejected at stage 4 or later, or kept.
func polarArrivals(s *Simulator, w *worker, seed [2]uint64, n int) []polarArrival {
	l := s.NewLens()
	const bn1 = 1.6783469900166612
	var out []polarArrival
	w.pcg.Seed(seed[0], seed[1])
	for i := 0; i < n; i++ {
		before := w.stats
		ok, err := w.candidate(l, 1)
		if err != nil {
			panic(err)
		}
		stage := -1
		for k := range w.stats {
			if w.stats[k] != before[k] {
				stage = k
			}
		}
		src := &w.sys.Source
		h := src.Re / bn1
		if (!ok && stage < 4) || unresolved(h*src.Q, s.pix, s.cfg.Supersample) {
			continue
		}
		a := polarArrival{sys: w.sys, h: h, i0a: s.pix * s.pix / (2 * math.Pi * h * h),
			flux: slices.Clone(w.flux), invBkg: slices.Clone(w.invBkg), ksqHi: make([]float64, len(s.bands))}
		a.sys.Deflector.Mags, a.sys.Source.Mags = nil, nil
		for b := range s.bands {
			a.ksqHi[b] = s.ksq.bound(w.cond[b].Seeing / s.pix)
		}
		out = append(out, a)
	}
	return out
}

// fullPolarPass reports whether the candidate in w passes the full-rule
// pre-screens (stages 4 and 5 of candidate) and returns muPolarPair's
// values.
func fullPolarPass(w *worker, a *polarArrival, lm *lensing.Model) (pass bool, mu, muHalf float64) {
	cuts := &w.s.cfg.Cuts
	mu, muHalf = w.muPolarPair(lm, &a.sys, a.h)
	mp := muPolarMargin * mu
	pass = !(mp < cuts.MinMagnification || w.snrCap(mp, a.i0a) < cuts.MinSNR) &&
		!(w.snrSq(muPolarMargin*muHalf, a.h) < cuts.MinSNR)
	return pass, mu, muHalf
}

// TestPolarCoarseConservative: the coarse polar pre-screen
// (polarCoarseReject) must reject no candidate that the full rule's
// pre-screens (muPolarPair with muPolarMargin) pass, so that it removes only
// candidates the cascade removed before and every kept lens stays the same.
// On every resolved candidate of two fixed streams that reaches the screen,
// muPolarAfterCoarse must give muPolarPair's values bit for bit, and
// the full rule's magnification and half-scale integral must exceed the
// coarse rule's by less than 0.75 polarCoarseMargin among the candidates
// the full rule passes (the only ones the coarse screen could lose); the
// test also checks that the screen does its job (rejects most of the
// candidates the full rule rejects).
func TestPolarCoarseConservative(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	var arrived, passFull, rejFull, rejCoarse, lost int
	var worstPass, worstAll float64
	for _, seed := range [][2]uint64{{5, 6}, {17, 18}} {
		for _, a := range polarArrivals(s, w, seed, 50000) {
			arrived++
			a.restore(w)
			lm := a.model()
			pass, mu, muHalf := fullPolarPass(w, &a, &lm)
			muC, muHalfC := w.muPolarCoarse(&lm, &a.sys, a.h)
			r := math.Max(mu/muC, muHalf/muHalfC)
			worstAll = math.Max(worstAll, r)
			coarse := w.polarCoarseReject(&lm, &a.sys, a.h, a.i0a) >= 0
			if m, mh := w.muPolarAfterCoarse(&a.sys, a.h); m != mu || mh != muHalf {
				t.Fatalf("muPolarAfterCoarse (%v, %v) differs from muPolarPair (%v, %v)", m, mh, mu, muHalf)
			}
			if coarse {
				rejCoarse++
			}
			if !pass {
				rejFull++
				continue
			}
			passFull++
			worstPass = math.Max(worstPass, r)
			if coarse {
				lost++
			}
		}
	}
	t.Logf("%d candidates reach the polar screens: the full rule passes %d, rejects %d; the coarse rule rejects %d (%.0f%% of the full rule's)",
		arrived, passFull, rejFull, rejCoarse, 100*float64(rejCoarse)/float64(rejFull))
	t.Logf("max full / coarse rule (mu and muHalf): %.3f among those the full rule passes, %.3f among all (margin %d)",
		worstPass, worstAll, polarCoarseMargin)
	if passFull < 800 || rejFull < 6000 {
		t.Fatalf("only %d / %d candidates passed / rejected by the full rule: test has no power", passFull, rejFull)
	}
	if lost > 0 {
		t.Errorf("the coarse screen rejects %d candidates the full rule passes", lost)
	}
	if worstPass > 0.75*polarCoarseMargin {
		t.Errorf("full / coarse rule %.3f comes within 25%% of the margin %d", worstPass, polarCoarseMargin)
	}
	if rejCoarse < rejFull/2 {
		t.Errorf("the coarse screen rejects only %d of the %d candidates the full rule rejects", rejCoarse, rejFull)
	}
}

// BenchmarkPolarScreen: the polar-integral pre-screens of resolved
// candidates (delve, candidates that reach them), the full rule alone
// (full) and the cascade candidate runs (coarse rule, then the full rule
// where it passes).
func BenchmarkPolarScreen(b *testing.B) {
	s := newSim(b, "delve", nil)
	w := s.newWorker()
	arr := polarArrivals(s, w, [2]uint64{5, 6}, 30000)
	lms := make([]lensing.Model, len(arr))
	for i := range arr {
		lms[i] = arr[i].model()
	}
	for _, mode := range []string{"full", "coarse"} {
		b.Run(mode, func(b *testing.B) {
			n := 0
			for b.Loop() {
				for i := range arr {
					a := &arr[i]
					a.restore(w)
					if mode == "full" {
						fullPolarPass(w, a, &lms[i])
						continue
					}
					if w.polarCoarseReject(&lms[i], &a.sys, a.h, a.i0a) < 0 {
						w.muPolarAfterCoarse(&a.sys, a.h)
					}
				}
				n += len(arr)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/candidate")
		})
	}
}
