package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// unresolved reports whether the exponential source of minor-axis scale
// length hMinor is unresolved by the finest sub-pixel grid the renderer
// uses (pixel scale pix, supersampling ssMax): the sub-pixel pix/ssMax
// exceeds 2 hMinor. Such sources are rendered by renderPoint.
func unresolved(hMinor, pix float64, ssMax int) bool {
	return hMinor*float64(ssMax) < 0.5*pix
}

// Source-plane quadratures of a unit-flux exponential profile
// I = exp(-R/h) / (2 pi h^2), R the elliptical radius: in (R, psi) with
// x' = R cos(psi)/sqrt(q), y' = R sin(psi) sqrt(q) the area element is
// R dR dpsi, so int f I dA = int_0^inf t e^-t dt int dpsi/(2 pi) f(t h, psi).
// The radial integral uses generalised Gauss-Laguerre rules (alpha = 1;
// nodes and weights from the Golub-Welsch eigenproblem; the n-node rule is
// exact for polynomials of degree 2n-1 in t), the angular one the periodic
// trapezoid rule, the rings turned against one another. The coarse rule
// (3 x 8 points) serves smooth magnification maps; the dense one (6 x 24),
// only its inner rings, the pre-screen of sources that approach a caustic.
type sourceRule struct {
	t, w   []float64
	angles int
}

var (
	coarseRule = sourceRule{
		t:      []float64{0.9358222275240877, 3.3054072893322786, 7.758770483143634},
		w:      []float64{0.5886814810396735, 0.39121606001654207, 0.020102458943784323},
		angles: 8,
	}
	denseRule = sourceRule{
		t: []float64{0.5276681217111288, 1.7962998096434084, 3.8766415204769125, 6.918816566704721,
			11.234610429083117, 17.64596355238071},
		w: []float64{0.277650142029875, 0.49391058305035423, 0.20300429674373, 0.024668820369189753,
			0.0007630427674635287, 3.1150393875275513e-06},
		angles: 24,
	}
)

// denseMu is the largest image |mu| of the coarse rule above which
// renderPoint treats the source as near a caustic (dense inner-ring screen,
// then the image-plane render).
const denseMu = 20

// Pre-screen margins of the point mode: the returned magnification exceeds
// the point magnification at the source centre by up to pointCentreMargin,
// and the coarse rule's by up to pointCoarseMargin (TestPrescreenConservative
// measures both ratios on every point-mode candidate). Over 3,000,000 delve
// candidates (60,000 point-mode renders with magnification >= 3 or SNR >= 20)
// the largest returned / coarse ratio was 2.14, 1.68 among the 104 that pass
// the full cuts, none lost. Before sources near a caustic were rendered in
// the image plane (pointCausticSS), the dense quadrature's spikes took the
// ratio to 40 over 5,000,000 candidates, and the centre screen lost one of
// 194 point-mode lenses that passed the full cuts: a spike (dense 133
// against coarse 3.3), not a real lens.
const (
	pointCentreMargin = 10
	pointCoarseMargin = 8
)

// pointInnerMargin multiplies the dense rule's inner-ring sum in the point
// mode's last pre-screen: the image-plane render that follows differs from
// it by the outer rings' share (2.5% of the weight, more where they cross a
// caustic) and the dense rule's own error near the caustic.
// TestPrescreenConservative measures the largest ratio.
const pointInnerMargin = 4

// renderPoint fills w.src (padded grid of side n) with the lensed light of
// the unit-flux exponential source src behind lm, for sources unresolved by
// the sub-pixel grid, and returns the total magnification. The source is
// replaced by the quadrature points above; every image of every point is
// found exactly (lensing.ImageFinder) and receives weight x |mu| of flux in
// the pixel that contains it. The pixel-integrated light of a point is
// exactly the flux in its pixel, and the PSF convolution follows, so the
// only approximation is the quadrature of the source profile: the total
// magnification is int I(beta) mu_point(beta) d beta, exact for a point
// source and accurate to O(h^6) derivatives of mu_point for a small one.
// No image is counted twice: each point's images are distinct roots of its
// own lens equation. Near a caustic, where mu_point diverges as
// 1/sqrt(distance) (fold) or 1/distance (cusp), a quadrature is unreliable
// (a point landing next to the caustic carries the divergent value for its
// whole cell), so when the coarse rule sees the image count change or an
// image brighter than denseMu, the map and magnification come from the
// extended render (renderSource) at pointCausticSS sub-pixels instead: there
// the images are arcs stretched across many sub-pixels and the image-plane
// integral converges; the dense rule's inner rings serve only the last
// pre-screen.
//
// The caller runs pointCentre first (before the PSF kernels and the grid
// exist): it prepares the image finder, which renderPoint then uses, and
// screens on the point magnification at the source centre times
// pointCentreMargin. With screen set, renderPoint gives up (returning false)
// as soon as the coarse rule's magnification times pointCoarseMargin, or the
// dense rule's inner rings' times pointInnerMargin, leaves the SNR cap
// (snrCap, central brightness i0a) below the cut; the coarse estimate is
// recorded in w.lastPointCoarse either way.
func (w *worker) renderPoint(lm lensing.Model, src *population.Source, n int, screen bool, i0a float64) (float64, bool) {
	pix := w.s.pix
	c := float64(n-1) / 2
	out := w.src[:n*n]
	const bn1 = 1.6783469900166612
	h := src.Re / bn1
	sq := math.Sqrt(src.Q)
	sn, cs := math.Sincos(src.Phi)
	minSNR := w.s.cfg.Cuts.MinSNR
	clear(out)
	geo := pointGeometry{h: h, sq: sq, sn: sn, cs: cs, x: src.X, y: src.Y, ipix: 1 / pix, c: c, n: n}
	total, dense := w.quadrature(&coarseRule, &geo, out)
	w.lastPointCoarse = total
	if screen && w.snrCap(pointCoarseMargin*total, i0a) < minSNR {
		return 0, false
	}
	if dense {
		clear(out)
		// The dense rule's three inner rings (97.5% of the weight) first:
		// the rendered magnification exceeds their sum by up to
		// pointInnerMargin (the outer rings can cross a caustic the inner
		// ones miss).
		total, _ = w.quadratureRings(&denseRule, &geo, out, 0, denseInner, 0)
		w.lastPointInner = total
		if screen && w.snrCap(pointInnerMargin*total, i0a) < minSNR {
			return 0, false
		}
		// The full magnification and map from an image-plane render: the
		// quadrature of a magnification that diverges on the caustic is
		// heavy-tailed there (a point that lands next to a fold or cusp
		// carries its 1/sqrt(d) or 1/d point magnification for its whole
		// cell), while near a caustic the images are arcs stretched over
		// many sub-pixels, which the extended render integrates well.
		lx, ly := lm.SIE.Center()
		sr := light.NewSersic(1, src.Re, 1, src.Q, src.Phi, src.X, src.Y)
		rimg := 1.3*(lm.SIE.ThetaE()+math.Hypot(src.X-lx, src.Y-ly)+5*src.Re/sq) + 2*pix
		total = w.renderSource(lm, sr, src.X, src.Y, n, lx, ly, rimg, 4*h, pointCausticSS)
	}
	return total, true
}

// pointCentre prepares w.finder for the point-mode source src behind lm and
// records the point magnification at the source centre in w.lastPointC;
// with screen set it returns false when that magnification times
// pointCentreMargin leaves the SNR cap (snrCap, central brightness i0a)
// below the cut (renderPoint's first screen).
func (w *worker) pointCentre(lm lensing.Model, src *population.Source, screen bool, i0a float64) bool {
	const bn1 = 1.6783469900166612
	h := src.Re / bn1
	sq := math.Sqrt(src.Q)
	w.finder.Reset(lm, 0)
	// every quadrature point renderPoint uses (the coarse rule, the dense
	// rule's inner rings) lies within t_max h/sqrt(q) of the centre
	w.finder.SetRegion(src.X, src.Y, regionT*h/sq)
	w.images = w.finder.RegionImages(src.X, src.Y, w.images[:0])
	muC := 0.0
	for _, im := range w.images {
		muC += math.Abs(im.Mu)
	}
	w.lastPointC = muC
	return !screen || w.snrCap(pointCentreMargin*muC, i0a) >= w.s.cfg.Cuts.MinSNR
}

// pointCausticSS is the sub-pixel factor per axis of renderPoint's
// image-plane render of sources near a caustic. Measured on 450 delve
// point-mode candidates near the cuts whose coarse rule called for the dense
// one: 16 x 16 sub-pixels agree with 128 x 128 within 1.4 to 7.8% (99th
// percentile of three sets of 150; worst +24% and -13%), where the dense
// 144-point quadrature was off by up to +46% (99th percentile), single
// candidates up to 11x (153 against 14.0).
const pointCausticSS = 16

// denseInner is the number of inner rings of the dense rule summed before
// the pre-screen on them.
const denseInner = 3

// regionT is the largest radial node, in scale lengths, of the quadrature
// points renderPoint finds images of: the coarse rule's outer ring (the
// dense rule is used only up to its ring denseInner-1, at 3.9).
var regionT = max(coarseRule.t[len(coarseRule.t)-1], denseRule.t[denseInner-1])

// pointGeometry holds the source and grid constants of renderPoint.
type pointGeometry struct {
	h, sq, sn, cs, x, y, ipix, c float64
	n                            int
}

// quadrature deposits the images of the rule's points into out and returns
// the total magnification, and whether the image count varies between
// points or some image is brighter than denseMu (the dense rule is needed).
func (w *worker) quadrature(rule *sourceRule, g *pointGeometry, out []float64) (float64, bool) {
	return w.quadratureRings(rule, g, out, 0, len(rule.t), 0)
}

// quadratureRings is quadrature over the rings r0 .. r1-1 only, adding to
// total (so splitting a rule into consecutive ring ranges gives the same
// sums, term by term, as one pass).
func (w *worker) quadratureRings(rule *sourceRule, g *pointGeometry, out []float64, r0, r1 int, total float64) (float64, bool) {
	n := g.n
	count := -1
	dense := false
	for ring := r0; ring < r1; ring++ {
		t := rule.t[ring]
		wt := rule.w[ring] / float64(rule.angles)
		r := t * g.h
		for k := 0; k < rule.angles; k++ {
			psi := (float64(k) + float64(ring)/float64(len(rule.t))) * (2 * math.Pi / float64(rule.angles))
			sp, cp := math.Sincos(psi)
			xp, yp := r*cp/g.sq, r*sp*g.sq
			bx := g.x + g.cs*xp - g.sn*yp
			by := g.y + g.sn*xp + g.cs*yp
			w.images = w.finder.RegionImages(bx, by, w.images[:0])
			if count >= 0 && len(w.images) != count {
				dense = true
			}
			count = len(w.images)
			for _, im := range w.images {
				a := math.Abs(im.Mu)
				if a > denseMu {
					dense = true
				}
				f := wt * a
				total += f
				i := int(math.Floor(im.X*g.ipix + g.c + 0.5))
				j := int(math.Floor(im.Y*g.ipix + g.c + 0.5))
				if i >= 0 && i < n && j >= 0 && j < n {
					out[j*n+i] += f
				}
			}
		}
	}
	return total, dense
}
