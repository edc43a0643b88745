package lensing

import "math"

// Image is one image of a point source: its position (arcsec) and signed
// magnification.
type Image struct {
	X, Y, Mu float64
}

// ImageFinder finds every image of a point source behind a Model. It exploits
// the isothermal structure of the SIE: its deflection depends only on the
// direction phi from the lens centre c, and the shear's is linear in the
// offset, so along the ray theta = c + r e_phi the lens equation reads
//
//	r u(phi) = v(phi),  u = (I - Gamma) e_phi,  v = beta - c + alpha_SIE(e_phi),
//
// with Gamma the shear matrix [[g1, g2], [g2, -g1]]. Images are the roots of
// the scalar f(phi) = u x v with r = u.v / |u|^2 > 0. Reset tabulates u,
// alpha_SIE and their derivatives along the circle at N equally spaced
// directions once per model (N/2 deflections for even N: both are odd in
// the direction); each Images call then costs two multiply-adds per
// direction for the bracket search plus about two deflections per image to
// polish the roots (Newton's method from the root of the interval's cubic
// Hermite interpolant). Pairs of roots
// closer than one step (a source near a fold caustic) show up as a local
// minimum of |f| whose parabolic model crosses zero; those intervals are
// searched with exact evaluations. Roots at r -> 0 (the demagnified image at
// the singular core) have |mu| -> 0 and are returned like any other.
//
// The shear must satisfy gamma < 1 (u then never vanishes). An ImageFinder
// reuses its memory and does not allocate after the first Reset of a given N;
// it is not safe for concurrent use.
type ImageFinder struct {
	m      Model
	cx, cy float64
	n      int
	dphi   float64
	cs, sn []float64
	ux, uy []float64
	ax, ay []float64
	f0     []float64 // ux*ay - uy*ax
	f      []float64 // scratch: f for the current source, f[k+1] at direction k, wrapped at both ends
	// derivatives along the circle: du/dphi = (I - Gamma) e_perp and
	// dalpha/dphi = bp e_perp (e_perp = (-sin, cos); bp = b/psi, the SIE's
	// Hessian at unit radius is bp e_perp e_perp^T)
	dux, duy, bp []float64
	g1, g2       float64
	active       []int32 // directions RegionImages scans
	mark         []bool
}

// DefaultImageDirections is the number of tabulated directions Reset uses
// when given n <= 0.
const DefaultImageDirections = 256

// Reset prepares the finder for model m with n tabulated directions
// (n <= 0: DefaultImageDirections; at least 16).
func (f *ImageFinder) Reset(m Model, n int) {
	if n <= 0 {
		n = DefaultImageDirections
	}
	n = max(n, 16)
	f.m = m
	f.cx, f.cy = m.SIE.x0, m.SIE.y0
	f.g1, f.g2 = m.Shear.Gamma1, m.Shear.Gamma2
	if f.n != n || len(f.cs) != n {
		f.n = n
		f.cs = make([]float64, n)
		f.sn = make([]float64, n)
		f.ux = make([]float64, n)
		f.uy = make([]float64, n)
		f.ax = make([]float64, n)
		f.ay = make([]float64, n)
		f.f0 = make([]float64, n)
		f.f = make([]float64, n+2)
		f.dux = make([]float64, n)
		f.duy = make([]float64, n)
		f.bp = make([]float64, n)
		f.mark = make([]bool, n)
		f.active = make([]int32, 0, n)
		f.dphi = 2 * math.Pi / float64(n)
		for k := range n {
			f.sn[k], f.cs[k] = math.Sincos(float64(k) * f.dphi)
			if n%2 == 0 && k >= n/2 { // exactly opposite directions
				f.sn[k], f.cs[k] = -f.sn[k-n/2], -f.cs[k-n/2]
			}
		}
	}
	// u, alpha and du/dphi are odd in the direction, f0 and b/psi even (the
	// SIE's deflection at the offset -e is exactly -alpha(e)): for even n
	// the second half of the table follows from the first.
	half := n
	if n%2 == 0 {
		half = n / 2
	}
	for k := range n {
		if k >= half {
			j := k - half
			f.ux[k], f.uy[k], f.ax[k], f.ay[k] = -f.ux[j], -f.uy[j], -f.ax[j], -f.ay[j]
			f.f0[k] = f.f0[j]
			f.dux[k], f.duy[k], f.bp[k] = -f.dux[j], -f.duy[j], f.bp[j]
			continue
		}
		c, s := f.cs[k], f.sn[k]
		ux, uy := c-(f.g1*c+f.g2*s), s-(f.g2*c-f.g1*s)
		ax, ay := m.SIE.deflectionAt(c, s)
		f.ux[k], f.uy[k], f.ax[k], f.ay[k] = ux, uy, ax, ay
		f.f0[k] = ux*ay - uy*ax
		f.dux[k], f.duy[k] = -s-(-f.g1*s+f.g2*c), c-(-f.g2*s-f.g1*c)
		f.bp[k] = m.SIE.unitScale(c, s)
	}
}

// unitScale returns b/psi at the unit vector (c, s) from the centre: the
// SIE's Hessian there is (b/psi) e_perp e_perp^T, e_perp = (-s, c), so the
// deflection turns along the unit circle as d alpha/d phi = (b/psi) e_perp.
func (s *SIE) unitScale(c, sn float64) float64 {
	if s.b == 0 {
		return 0
	}
	xp := s.cos*c + s.sin*sn
	yp := -s.sin*c + s.cos*sn
	return s.b / math.Sqrt(s.q2*xp*xp+yp*yp)
}

// evalD is eval with the derivative df/dphi (u' x v + u x v', with
// u' = (I - Gamma) e_perp and v' = (b/psi) e_perp), and the direction's
// (cos, sin).
func (f *ImageFinder) evalD(phi, bx, by float64) (fv, df, r, c, s float64) {
	s, c = math.Sincos(phi)
	ux, uy := c-(f.g1*c+f.g2*s), s-(f.g2*c-f.g1*s)
	dux, duy := -s-(-f.g1*s+f.g2*c), c-(-f.g2*s-f.g1*c)
	ax, ay := f.m.SIE.Deflection(f.cx+c, f.cy+s)
	bp := f.m.SIE.unitScale(c, s)
	vx, vy := bx+ax, by+ay
	fv = ux*vy - uy*vx
	df = dux*vy - duy*vx + bp*(ux*c+uy*s)
	return fv, df, (ux*vx + uy*vy) / (ux*ux + uy*uy), c, s
}

// slope returns df/dphi at tabulated direction k for the source offset
// (ox, oy) (evalD's formula with the tabulated values).
func (f *ImageFinder) slope(k int, ox, oy float64) float64 {
	vx, vy := ox+f.ax[k], oy+f.ay[k]
	return f.dux[k]*vy - f.duy[k]*vx + f.bp[k]*(f.ux[k]*f.cs[k]+f.uy[k]*f.sn[k])
}

// hermiteRoot returns the root in (0, 1) of the cubic Hermite interpolant
// of f on an interval with end values f0, f1 (opposite signs) and end
// slopes m0, m1 (per unit of the interval), by Newton's method from the
// linear interpolant's root; if Newton leaves the interval it returns that
// linear root.
func hermiteRoot(f0, f1, m0, m1 float64) float64 {
	lin := f0 / (f0 - f1)
	t := lin
	for range 4 {
		t2 := t * t
		t3 := t2 * t
		p := f0*(2*t3-3*t2+1) + m0*(t3-2*t2+t) + f1*(-2*t3+3*t2) + m1*(t3-t2)
		dp := f0*(6*t2-6*t) + m0*(3*t2-4*t+1) + f1*(-6*t2+6*t) + m1*(3*t2-2*t)
		if dp == 0 {
			return lin
		}
		t -= p / dp
		if !(t > 0 && t < 1) {
			return lin
		}
	}
	return t
}

// eval returns f(phi) and r(phi) for the source offset (bx, by) from the
// lens centre, with exact deflections.
func (f *ImageFinder) eval(phi, bx, by float64) (fv, r float64) {
	s, c := math.Sincos(phi)
	ux, uy := c-(f.g1*c+f.g2*s), s-(f.g2*c-f.g1*s)
	ax, ay := f.m.SIE.Deflection(f.cx+c, f.cy+s)
	vx, vy := bx+ax, by+ay
	return ux*vy - uy*vx, (ux*vx + uy*vy) / (ux*ux + uy*uy)
}

// Images appends to dst the images of the point source at (bx, by) and
// returns the extended slice. Reset must have been called.
func (f *ImageFinder) Images(bx, by float64, dst []Image) []Image {
	n := f.n
	ox, oy := bx-f.cx, by-f.cy
	fv := f.f[:n+2]
	for k := range n {
		fv[k+1] = f.f0[k] + f.ux[k]*oy - f.uy[k]*ox
	}
	fv[0], fv[n+1] = fv[n], fv[1]
	for k := range n {
		dst = f.interval(k, fv[k], fv[k+1], fv[k+2], ox, oy, dst)
	}
	return dst
}

// SetRegion restricts RegionImages to the directions where a point source
// within distance rad of (bx, by) can have an image. With fc the bracket
// function of (bx, by), a source offset d changes f by u x d, at most
// |u| rad, so f can vanish in a tabulated interval only where |fc| comes
// within |u| rad of zero there. The test allows 10% on rad, the interval's
// linear and quadratic variation of fc, and marks the neighbouring intervals
// too (the pair test looks one step either side).
func (f *ImageFinder) SetRegion(bx, by, rad float64) {
	n := f.n
	ox, oy := bx-f.cx, by-f.cy
	fv := f.f[:n+2]
	for k := range n {
		fv[k+1] = f.f0[k] + f.ux[k]*oy - f.uy[k]*ox
	}
	fv[0], fv[n+1] = fv[n], fv[1]
	mark := f.mark[:n]
	clear(mark)
	for k := range n {
		a, b := fv[k+1], fv[k+2]
		p := fv[k]
		lo := math.Min(math.Abs(a), math.Abs(b)) - 0.5*math.Abs(b-a) - math.Abs(p-2*a+b)
		un := math.Max(math.Hypot(f.ux[k], f.uy[k]), math.Hypot(f.ux[(k+1)%n], f.uy[(k+1)%n]))
		if lo > 1.1*rad*un {
			continue
		}
		mark[(k+n-1)%n], mark[k], mark[(k+1)%n] = true, true, true
	}
	f.active = f.active[:0]
	for k, on := range mark {
		if on {
			f.active = append(f.active, int32(k))
		}
	}
}

// RegionImages is Images restricted to the directions selected by the last
// SetRegion: it finds every image of a source within the region's radius of
// its centre at a fraction of the cost.
func (f *ImageFinder) RegionImages(bx, by float64, dst []Image) []Image {
	n := f.n
	ox, oy := bx-f.cx, by-f.cy
	// f at the active directions and their neighbours only (the same
	// arithmetic as Images' full pass), then only the active intervals that
	// hold a sign change or a local minimum of |f| reach interval (which
	// repeats the tests, so this is only a filter).
	f0, ux, uy := f.f0[:n], f.ux[:n], f.uy[:n]
	at := func(k int) float64 {
		if k < 0 {
			k += n
		} else if k >= n {
			k -= n
		}
		return f0[k] + ux[k]*oy - uy[k]*ox
	}
	last := -2
	var p, a, b float64
	for _, k := range f.active {
		kk := int(k)
		if kk == last+1 { // the active list is sorted: slide the window
			p, a, b = a, b, at(kk+1)
		} else {
			p, a, b = at(kk-1), at(kk), at(kk+1)
		}
		last = kk
		if (a > 0) == (b > 0) && ((p > 0) != (a > 0) || math.Abs(a) > math.Abs(p) || math.Abs(a) > math.Abs(b)) {
			continue
		}
		dst = f.interval(kk, p, a, b, ox, oy, dst)
	}
	return dst
}

// interval looks for roots between directions k and k+1 given f at k-1, k
// and k+1.
func (f *ImageFinder) interval(k int, p, a, b, ox, oy float64, dst []Image) []Image {
	phi := float64(k) * f.dphi
	if (a > 0) != (b > 0) {
		// first guess: the root of the cubic Hermite interpolant from the
		// tabulated values and slopes (error ~dphi^4), then Newton
		m0 := f.dphi * f.slope(k, ox, oy)
		m1 := f.dphi * f.slope((k+1)%f.n, ox, oy)
		guess := phi + hermiteRoot(a, b, m0, m1)*f.dphi
		return f.polish(phi, phi+f.dphi, a, b, guess, ox, oy, dst)
	}
	// Possible pair of roots inside [phi - dphi, phi + dphi]: |f| has a
	// local minimum at k whose parabola dips to (or near) zero.
	if (p > 0) != (a > 0) || math.Abs(a) > math.Abs(p) || math.Abs(a) > math.Abs(b) {
		return dst
	}
	curv := p - 2*a + b
	if curv == 0 {
		return dst
	}
	vtx := a - (b-p)*(b-p)/(8*curv)
	if (vtx > 0) == (a > 0) && math.Abs(vtx) > 0.25*math.Abs(a) {
		return dst
	}
	return f.pair(phi-f.dphi, phi+f.dphi, a > 0, ox, oy, dst)
}

// pair searches [lo, hi], where f has the sign pos at both ends, for the
// minimum of f*sign by golden section; if f changes sign there, both roots
// are polished.
func (f *ImageFinder) pair(lo, hi float64, pos bool, ox, oy float64, dst []Image) []Image {
	sg := 1.0
	if !pos {
		sg = -1
	}
	const gr = 0.3819660112501051
	a, b := lo, hi
	x1 := a + gr*(b-a)
	x2 := b - gr*(b-a)
	f1, _ := f.eval(x1, ox, oy)
	f2, _ := f.eval(x2, ox, oy)
	for it := 0; it < 60 && b-a > 1e-13; it++ {
		if (f1 > 0) != pos || (f2 > 0) != pos {
			break
		}
		if f1*sg < f2*sg {
			b, x2, f2 = x2, x1, f1
			x1 = a + gr*(b-a)
			f1, _ = f.eval(x1, ox, oy)
		} else {
			a, x1, f1 = x1, x2, f2
			x2 = b - gr*(b-a)
			f2, _ = f.eval(x2, ox, oy)
		}
	}
	xm, fm := x1, f1
	if (f2 > 0) != pos {
		xm, fm = x2, f2
	}
	if (fm > 0) == pos || fm == 0 {
		return dst
	}
	flo, _ := f.eval(lo, ox, oy)
	fhi, _ := f.eval(hi, ox, oy)
	dst = f.polish(lo, xm, flo, fm, math.NaN(), ox, oy, dst)
	return f.polish(xm, hi, fm, fhi, math.NaN(), ox, oy, dst)
}

// polish refines the root of f bracketed by [lo, hi] (f(lo) = flo and
// f(hi) = fhi of opposite signs), starting from guess when it lies inside
// the bracket (else the regula falsi point), with Newton steps (evalD's
// exact derivative) that fall back to the Illinois variant of regula falsi
// (or bisection) whenever they leave the shrinking bracket, and appends the
// image if it lies at r > 0.
func (f *ImageFinder) polish(lo, hi, flo, fhi, guess, ox, oy float64, dst []Image) []Image {
	falsi := func() float64 {
		x := (lo*fhi - hi*flo) / (fhi - flo)
		if !(x > lo && x < hi) {
			x = 0.5 * (lo + hi)
		}
		return x
	}
	x, r, c, s := guess, 0.0, 1.0, 0.0
	if !(x > lo && x < hi) {
		x = falsi()
	}
	side := 0
	tol := 1e-14 * (math.Abs(ox) + math.Abs(oy) + 1)
	for it := 0; it < 60; it++ {
		var fx, dfx float64
		fx, dfx, r, c, s = f.evalD(x, ox, oy)
		if fx == 0 || hi-lo < 1e-13 || math.Abs(fx) < tol {
			break
		}
		if (fx > 0) == (flo > 0) {
			lo, flo = x, fx
			if side == -1 {
				fhi *= 0.5
			}
			side = -1
		} else {
			hi, fhi = x, fx
			if side == 1 {
				flo *= 0.5
			}
			side = 1
		}
		xn := x - fx/dfx
		if !(xn > lo && xn < hi) {
			xn = falsi()
		}
		x = xn
	}
	if !(r > 0) {
		return dst
	}
	px, py := f.cx+r*c, f.cy+r*s
	return append(dst, Image{X: px, Y: py, Mu: f.m.Magnification(px, py)})
}
