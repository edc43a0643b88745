package simulate

import (
	"math"
	"sync/atomic"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// The coarse polar pre-screen of resolved sources. muPolarPair's angular
// rule takes a step finer than the source's minor-axis scale length at the
// outermost image radius (polarDirections); most candidates that reach it
// miss the cuts by far (half of them by more than a factor 2.6 in
// magnification), and a rule with a quarter of the directions estimates
// both of its integrals closely enough to reject those at a quarter of the
// cost. The full rule runs, unchanged, for the candidates the coarse one
// keeps, so the pre-screens that follow see exactly the values they always
// saw.
//
// The coarse rule is not a bound: the trapezoid rule may undershoot a peak
// narrower than its step. Its estimates are multiplied by
// polarCoarseMargin on top of muPolarMargin, so the coarse screen removes
// only candidates whose full-rule values, muPolarMargin x (mu, muHalf),
// miss the cuts, as long as the full rule exceeds the coarse one by less
// than polarCoarseMargin. TestPolarCoarseConservative measures that ratio
// on every resolved candidate that reaches the screen in fixed streams
// (the largest among those the full rule passes is about 1.1), demands it
// stay below 0.75 polarCoarseMargin, and checks that the coarse screen
// rejects none of the candidates the full rule passes.

// polarCoarseMargin multiplies the coarse rule's estimates (with
// muPolarMargin) in the coarse pre-screen.
const polarCoarseMargin = 2

// polarCoarseDirections returns the coarse rule's number of directions for
// a full rule of nphi: a quarter, rounded up to a multiple of 8 (whole SIMD
// batches of rayKernel.deflect and polarTerms).
func polarCoarseDirections(nphi int) int {
	return 8 * ((nphi + 31) / 32)
}

// muPolarCoarse returns muPolarPair's two integrals on the coarse rule
// for the lens model lm, and keeps lm's rayKernel in w.polarKern for
// muPolarAfterCoarse.
func (w *worker) muPolarCoarse(lm *lensing.Model, sys *population.System, h float64) (mu, muHalf float64) {
	w.polarKern = newRayKernel(*lm, expSource{})
	d := coarseUnitDirs(polarCoarseDirections(polarDirections(sys, h)))
	return polarSum(&w.polarKern, sys, h, d.ce, d.se, &w.polar)
}

// muPolarAfterCoarse is muPolarPair for the lens model of the last
// muPolarCoarse call (bit for bit: the same kernel and operations).
func (w *worker) muPolarAfterCoarse(sys *population.System, h float64) (mu, muHalf float64) {
	return muPolarKern(&w.polarKern, sys, h, 1, &w.polar)
}

// polarCoarseReject applies the coarse pre-screen to the current candidate
// (lens model lm, source scale length h, unit-flux central brightness x
// pixel area i0a) and returns the stage of rejectStages whose full-rule
// test it anticipates: 4 (magnification or snrCap) or 5 (snrSq), or -1
// where the candidate passes (muPolarAfterCoarse then gives the full rule).
func (w *worker) polarCoarseReject(lm *lensing.Model, sys *population.System, h, i0a float64) int {
	cuts := &w.s.cfg.Cuts
	mu, muHalf := w.muPolarCoarse(lm, sys, h)
	const f = polarCoarseMargin * muPolarMargin
	if mp := f * mu; mp < cuts.MinMagnification || w.snrCap(mp, i0a) < cuts.MinSNR {
		return 4
	}
	if w.snrSq(f*muHalf, h) < cuts.MinSNR {
		return 5
	}
	return -1
}

// unitDirs holds the unit vectors (ce[k], se[k]) of phi_k = 2 pi k / n.
type unitDirs struct{ ce, se []float64 }

// coarseDirs caches unitDirs for the coarse rules' n = 8i (i = index),
// built on first use.
var coarseDirs [polarCoarseDirectionsMax/8 + 1]atomic.Pointer[unitDirs]

// polarCoarseDirectionsMax is polarCoarseDirections of the full rule's
// largest number of directions (polarDirections).
const polarCoarseDirectionsMax = 2048

// coarseUnitDirs returns the unit vectors of n equally spaced directions
// (n a multiple of 8), from a table shared by all workers for
// n <= polarCoarseDirectionsMax. The slices must not be modified.
func coarseUnitDirs(n int) *unitDirs {
	var p *atomic.Pointer[unitDirs]
	if n%8 == 0 && n <= polarCoarseDirectionsMax {
		p = &coarseDirs[n/8]
		if d := p.Load(); d != nil {
			return d
		}
	}
	d := &unitDirs{ce: make([]float64, n), se: make([]float64, n)}
	for k := range n {
		d.se[k], d.ce[k] = math.Sincos(2 * math.Pi * float64(k) / float64(n))
	}
	if p != nil && !p.CompareAndSwap(nil, d) {
		return p.Load()
	}
	return d
}
