package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/population"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// unresolved reports whether the exponential source of minor-axis scale
// length hMinor is unresolved by the finest sub-pixel grid the renderer
// uses (pixel scale pix, supersampling ssMax): the sub-pixel pix/ssMax
// exceeds 2 hMinor. Such sources are rendered by renderPoint.
func unresolved(hMinor, pix float64, ssMax int) bool {
	return hMinor*float64(ssMax) < 0.5*pix
}

// Source-plane quadrature of a unit-flux exponential profile
// I = exp(-R/h) / (2 pi h^2), R the elliptical radius: in (R, psi) with
// x' = R cos(psi)/sqrt(q), y' = R sin(psi) sqrt(q) the area element is
// R dR dpsi, so int f I dA = int_0^inf t e^-t dt int dpsi/(2 pi) f(t h, psi).
// The radial integral uses a generalised Gauss-Laguerre rule (alpha = 1;
// nodes and weights from the Golub-Welsch eigenproblem; the n-node rule is
// exact for polynomials of degree 2n-1 in t), the angular one the periodic
// trapezoid rule, the rings turned against one another. The coarse rule
// (3 x 8 points) serves smooth magnification maps, and the pre-screens of
// sources that approach a caustic.
type sourceRule struct {
	t, w   []float64
	angles int
}

var coarseRule = sourceRule{
	t:      []float64{0.9358222275240877, 3.3054072893322786, 7.758770483143634},
	w:      []float64{0.5886814810396735, 0.39121606001654207, 0.020102458943784323},
	angles: 8,
}

// denseMu is the largest image |mu| of the coarse rule above which
// renderPoint treats the source as near a caustic (the image-plane render).
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

// Margins of the point mode's PSF-bound pre-screens (pairSNRCap on the
// centre's point images, mapSNRCap on the coarse rule's map; both bound the
// SNR of their own map exactly): the bound on the final map over the
// screen's is at most pointCentreSNRMargin for the centre's images, and for
// the coarse map pointCoarseSNRMargin where the coarse rule sees a caustic
// (image counts that change between 2 and more, or an image brighter than
// denseMu) and pointCutSNRMargin where it sees the cut (a point with a
// single image, others with more). Where it sees neither, its map is the
// final one and the bound exact (margin 1 + 1e-9 for rounding). The ratios
// depend on the geometry and the PSF only, not on the source's flux or the
// noise, so they were measured on every point-mode draw, whatever the other
// screens would do (TestPrescreenConservative measures them on every
// point-mode render of its 40,000 candidates: at most 5.48, 2.48 and 1.64;
// the exact SNR is at most 0.89 of the final map's bound there). Over
// 3,000,000 delve point-mode draws: centre 99.99th percentile 4.4, largest
// 11.05, 8.85, 8.35 (fold straddles: the centre outside the caustic, part of
// the source inside); caustic (339,000 draws) 99.99th percentile 2.3,
// largest 3.61, 3.13, 2.64; cut (1,270,000 draws) 99.99th percentile 2.0,
// largest 7.09, 6.33, 5.66, then 4.03. The cut's outliers are tiny sources
// (h ~ 0.002") whose 16 x 16 image-plane render (pointCausticSS) caught a
// sub-pixel next to the source centre: sampling noise of the render (mu 12
// against the coarse rule's 2), away from the lens centre. So 5 of 3,000,000
// draws exceed a margin; such a candidate is lost only if its SNR also lies
// within the factor ratio / margin above the cut (the dense inner-ring
// screen these replace, margin 4 on its magnification, was exceeded about
// as often: bound ratios 7.6, 6.1, 4.8, 4.1 over 3,000,000 draws).
const (
	pointCentreSNRMargin = 10
	pointCoarseSNRMargin = 3.5
	pointCutSNRMargin    = 5
)

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
// integral converges.
//
// The caller runs pointCentre first (before the PSF kernels and the grid
// exist): it prepares the image finder, which renderPoint then uses, and
// screens on the point images at the source centre. With screen set,
// renderPoint gives up (returning false) as soon as the coarse rule's
// magnification times pointCoarseMargin leaves the SNR cap (snrCap, central
// brightness i0a) below the cut, or the PSF bound on its map (mapSNRCap)
// does, times pointCoarseSNRMargin or pointCutSNRMargin where the
// image-plane render follows (without it the bound is exact); the coarse
// estimate is recorded in w.lastPointCoarse either way.
func (w *worker) renderPoint(lm lensing.Model, src *population.Source, n int, screen bool, i0a float64) (float64, bool) {
	out := w.src[:n*n]
	minSNR := w.s.cfg.Cuts.MinSNR
	clear(out)
	geo := w.newPointGeometry(src, n)
	total, dense := w.quadrature(&coarseRule, &geo, out)
	w.lastPointCoarse = total
	if screen {
		if w.snrCap(pointCoarseMargin*total, i0a) < minSNR {
			return 0, false
		}
		if pointSNRMargin(dense, geo.cut)*w.mapSNRCap(out, &geo) < minSNR {
			return 0, false
		}
	}
	if dense {
		// The full magnification and map from an image-plane render: the
		// quadrature of a magnification that diverges on the caustic is
		// heavy-tailed there (a point that lands next to a fold or cusp
		// carries its 1/sqrt(d) or 1/d point magnification for its whole
		// cell), while near a caustic the images are arcs stretched over
		// many sub-pixels, which the extended render integrates well.
		lx, ly := lm.SIE.Center()
		sr := light.NewSersic(1, src.Re, 1, src.Q, src.Phi, src.X, src.Y)
		rimg := 1.3*(lm.SIE.ThetaE()+math.Hypot(src.X-lx, src.Y-ly)+5*src.Re/geo.sq) + 2*w.s.pix
		total = w.renderSource(lm, sr, src.X, src.Y, n, lx, ly, rimg, 4*geo.h, pointCausticSS)
	}
	return total, true
}

// pointSNRMargin returns the margin of renderPoint's screen on the coarse
// map's PSF bound: pointCutSNRMargin or pointCoarseSNRMargin where the
// image-plane render follows (dense; cut: the coarse rule saw a point with a
// single image and one with more), else 1 + 1e-9 (the bound is exact; the
// margin covers rounding).
func pointSNRMargin(dense, cut bool) float64 {
	switch {
	case !dense:
		return 1 + 1e-9
	case cut:
		return pointCutSNRMargin
	}
	return pointCoarseSNRMargin
}

// pointCentre prepares w.finder for the point-mode source src behind lm and
// records the point magnification at the source centre in w.lastPointC;
// with screen set it returns false when that magnification times
// pointCentreMargin leaves the SNR cap (snrCap, central brightness i0a)
// below the cut, or when the PSF bound on the centre's point images
// (centreSNRCap) times pointCentreSNRMargin does (renderPoint's first
// screens). The latter builds the candidate's PSF kernels in w.kern (as
// candidate does again after it).
func (w *worker) pointCentre(lm lensing.Model, src *population.Source, screen bool, i0a float64) bool {
	const bn1 = 1.6783469900166612
	h := src.Re / bn1
	sq := math.Sqrt(src.Q)
	w.finder.Reset(lm, 0)
	// every quadrature point renderPoint uses lies within t_max h/sqrt(q)
	// of the centre
	w.finder.SetRegion(src.X, src.Y, regionT*h/sq)
	w.images = w.finder.RegionImages(src.X, src.Y, w.images[:0])
	muC := 0.0
	for _, im := range w.images {
		muC += math.Abs(im.Mu)
	}
	w.lastPointC = muC
	if !screen {
		return true
	}
	minSNR := w.s.cfg.Cuts.MinSNR
	if w.snrCap(pointCentreMargin*muC, i0a) < minSNR {
		return false
	}
	w.pointKernels()
	return pointCentreSNRMargin*w.centreSNRCap() >= minSNR
}

// pointKernels builds every band's PSF kernel in w.kern, as candidate does.
func (w *worker) pointKernels() {
	for b := range w.s.bands {
		w.kern[b] = survey.GaussianKernel1D(w.cond[b].Seeing/w.s.pix, w.kern[b][:0])
	}
}

// centreSNRCap returns pairSNRCap of the point images in w.images, each of
// flux |mu| in the pixel that contains it (the pixels' offsets are those of
// every padded grid: its side is the stamp's plus an even number).
func (w *worker) centreSNRCap() float64 {
	var px, py [mapSNRPixels]int32
	var pv [mapSNRPixels]float64
	ipix := 1 / w.s.pix
	c := float64(w.s.cfg.Size-1) / 2
	m := 0
	var x0, x1, y0, y1 int32 = math.MaxInt32, math.MinInt32, math.MaxInt32, math.MinInt32
	for _, im := range w.images {
		if m == mapSNRPixels {
			return math.Inf(1)
		}
		i := int32(math.Floor(im.X*ipix + c + 0.5))
		j := int32(math.Floor(im.Y*ipix + c + 0.5))
		px[m], py[m], pv[m] = i, j, math.Abs(im.Mu)
		x0, x1, y0, y1 = min(x0, i), max(x1, i+1), min(y0, j), max(y1, j+1)
		m++
	}
	if m == 0 {
		return 0
	}
	return w.pairSNRCap(px[:m], py[:m], pv[:m], int(max(x1-x0, y1-y0)))
}

// pointCausticSS is the sub-pixel factor per axis of renderPoint's
// image-plane render of sources near a caustic. Measured on 450 delve
// point-mode candidates near the cuts whose coarse rule called for the
// image-plane render (then the dense quadrature): 16 x 16 sub-pixels agree with 128 x 128 within 1.4 to 7.8% (99th
// percentile of three sets of 150; worst +24% and -13%), where the dense
// 144-point quadrature was off by up to +46% (99th percentile), single
// candidates up to 11x (153 against 14.0).
const pointCausticSS = 16

// regionT is the largest radial node, in scale lengths, of the quadrature
// points renderPoint finds images of: the coarse rule's outer ring (the
// dense rule's inner rings that the pre-screen once used reached 3.9 only).
var regionT = coarseRule.t[len(coarseRule.t)-1]

// pointGeometry holds the source and grid constants of renderPoint, and
// the box [x0, x1) x [y0, y1) of the pixels the quadrature has deposited
// light in, and whether it saw the cut (a point with a single image and one
// with more).
type pointGeometry struct {
	h, sq, sn, cs, x, y, ipix, c float64
	n                            int
	x0, x1, y0, y1               int
	cut                          bool
}

// newPointGeometry returns the geometry of the exponential source src on the
// padded grid of side n, with an empty box.
func (w *worker) newPointGeometry(src *population.Source, n int) pointGeometry {
	const bn1 = 1.6783469900166612
	sn, cs := math.Sincos(src.Phi)
	return pointGeometry{h: src.Re / bn1, sq: math.Sqrt(src.Q), sn: sn, cs: cs, x: src.X, y: src.Y,
		ipix: 1 / w.s.pix, c: float64(n-1) / 2, n: n, x0: n, y0: n}
}

// quadrature deposits the images of the rule's points into out (growing
// g's box, setting g.cut) and returns the total magnification, and whether
// the image count varies between points or some image is brighter than
// denseMu (the image-plane render is needed).
func (w *worker) quadrature(rule *sourceRule, g *pointGeometry, out []float64) (float64, bool) {
	n := g.n
	count := -1
	minC, maxC := math.MaxInt, -1
	dense := false
	total := 0.0
	for ring := range rule.t {
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
			minC, maxC = min(minC, count), max(maxC, count)
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
					g.x0, g.x1 = min(g.x0, i), max(g.x1, i+1)
					g.y0, g.y1 = min(g.y0, j), max(g.y1, j+1)
				}
			}
		}
	}
	g.cut = minC <= 1 && maxC > minC
	return total, dense
}

// mapSNRCap bounds the best band's thresholded SNR of the unit-flux map s
// in out (padded grid of side g.n, zero outside the deposit box of g) from
// its PSF-convolved sum of squares: with S = F_b K_b * s the convolved
// source of band b (kernel K_b = k (x) k, the outer product of the 1-D
// kernel k) and A the pixels above the threshold, SNR <= sqrt(sum_A S_i^2 /
// var_i) (Cauchy-Schwarz) <= F_b sqrt(sum (K_b * s)^2 / bkg_b) (var_i >= bkg;
// the sum over the whole plane, not only the stamp, and a kernel cut at the
// grid's edge only lowers the stamp's values). The sum is
//
//	sum_p sum_q s_p s_q a(x_p - x_q) a(y_p - y_q),  a(d) = sum_t k_t k_{t+|d|},
//
// over the non-zero pixels p, q of s (a is the 1-D kernel's
// autocorrelation), so a sparse map costs its pixel pairs, not a
// convolution. It is the snrCap bound at ||K||_2^2 with the images' overlap
// made exact: images further apart than the PSF no longer add coherently.
// The kernels in w.kern must be the candidate's. It returns +Inf (no bound)
// for a map with more than mapSNRPixels non-zero pixels or a pixel pair
// further apart than mapSNRLags whose kernels overlap.
func (w *worker) mapSNRCap(out []float64, g *pointGeometry) float64 {
	n, x0, x1, y0, y1 := g.n, g.x0, g.x1, g.y0, g.y1
	var px, py [mapSNRPixels]int32
	var pv [mapSNRPixels]float64
	m := 0
	for j := y0; j < y1; j++ {
		for i, v := range out[j*n+x0 : j*n+x1] {
			if v == 0 {
				continue
			}
			if m == mapSNRPixels {
				return math.Inf(1)
			}
			px[m], py[m], pv[m] = int32(x0+i), int32(j), v
			m++
		}
	}
	return w.pairSNRCap(px[:m], py[:m], pv[:m], max(x1-x0, y1-y0))
}

// pairSNRCap returns max_b F_b sqrt(sum_p sum_q v_p v_q a_b(x_p - x_q)
// a_b(y_p - y_q) / bkg_b) for the deposits v_p at pixels (x_p, y_p) (a pixel
// may repeat), all within span pixels of one another along each axis, with
// a_b the autocorrelation of band b's 1-D kernel in w.kern (mapSNRCap); +Inf
// where a kernel has more than mapSNRLags taps and span reaches past them.
func (w *worker) pairSNRCap(px, py []int32, pv []float64, span int) float64 {
	m := len(pv)
	var ac [mapSNRLags]float64
	best := 0.0
	for b := range w.s.bands {
		k := w.kern[b]
		// lags beyond the kernel's length have a = 0
		lags := min(span, len(k))
		if lags > mapSNRLags {
			return math.Inf(1)
		}
		for d := 0; d < lags; d++ {
			var a float64
			for t := 0; t+d < len(k); t++ {
				a += k[t] * k[t+d]
			}
			ac[d] = a
		}
		var diag, off float64
		for p := 0; p < m; p++ {
			diag += pv[p] * pv[p]
			for q := p + 1; q < m; q++ {
				dx, dy := px[q]-px[p], py[q]-py[p]
				if dx < 0 {
					dx = -dx
				}
				if dy < 0 {
					dy = -dy
				}
				if int(dx) < lags && int(dy) < lags {
					off += pv[p] * pv[q] * ac[dx] * ac[dy]
				}
			}
		}
		best = math.Max(best, w.flux[b]*math.Sqrt((ac[0]*ac[0]*diag+2*off)*w.invBkg[b]))
	}
	return best
}

// mapSNRPixels and mapSNRLags size the stack arrays of mapSNRCap and
// centreSNRCap (the coarse rule deposits at most 24 x 5 images) and the
// autocorrelation (up to 64 lags: a PSF of FWHM up to 25 pixels).
const (
	mapSNRPixels = 384
	mapSNRLags   = 64
)
