package simulate

import "math"

// polarConsts are the per-candidate constants of muPolarN's per-direction
// terms.
type polarConsts struct {
	g1, g2 float64 // shear
	ax, ay float64 // source centre relative to the lens
	cs, sn float64 // source position angle
	q, iq  float64 // source axis ratio and its inverse
	h, hh  float64 // scale length and half of it
	ih     float64 // 1/h
}

// polarTerms evaluates, for every direction k (unit vector (ce[k], se[k]),
// SIE deflection (alx[k], aly[k])), the parts of muPolarN's radial integrals
// that need no table: the closed-form terms j[k] (scale length h) and jh[k]
// (h/2), zero where N(a)/h >= 40; the tail coefficient c[k] = 2 N(u) r0
// (0 where the ray's line passes the source centre at r0 <= 0, where
// muPolarN drops the tail); the line's distance from the source centre in
// scale lengths t[k]; and 1/N(u)^2 in inu[k]. The SIMD paths
// (polarterms_simd*.go) compute the same operations lane by lane, the
// scalar code rounds every product before a sum, so all paths agree bit for
// bit (TestPolarTermsPathsIdentical; scalarMayFuse describes the builds
// where the scalar code may differ).
func polarTerms(pc *polarConsts, ce, se, alx, aly, j, jh, c, t, inu []float64) {
	n := len(j)
	i := polarTermsSIMD(pc, ce[:n], se[:n], alx[:n], aly[:n], j, jh[:n], c[:n], t[:n], inu[:n])
	for ; i < n; i++ {
		j[i], jh[i], c[i], t[i], inu[i] = pc.one(ce[i], se[i], alx[i], aly[i])
	}
}

// one is polarTerms for one direction (the scalar reference).
func (pc *polarConsts) one(ce, se, alx, aly float64) (j, jh, c, t, inu float64) {
	ux := ce - (float64(pc.g1*ce) + float64(pc.g2*se))
	uy := se - (float64(pc.g2*ce) - float64(pc.g1*se))
	vx, vy := pc.ax+alx, pc.ay+aly
	u1 := float64(pc.cs*ux) + float64(pc.sn*uy)
	u2 := float64(pc.cs*uy) - float64(pc.sn*ux)
	v1 := float64(pc.cs*vx) + float64(pc.sn*vy)
	v2 := float64(pc.cs*vy) - float64(pc.sn*vx)
	nu2 := float64(float64(pc.q*u1)*u1) + float64(float64(pc.iq*u2)*u2)
	uv := float64(float64(pc.q*u1)*v1) + float64(float64(pc.iq*u2)*v2)
	na2 := float64(float64(pc.q*v1)*v1) + float64(float64(pc.iq*v2)*v2)
	na := math.Sqrt(na2)
	x := float64(na * pc.ih)
	if x < 40 {
		e := expNeg(-x)
		j = float64(pc.h*(na+pc.h)) * e
		jh = float64(float64(pc.hh*(na+pc.hh))*e) * e
	}
	r0 := uv / nu2
	d2 := na2 - float64(uv*r0)
	if d2 > 0 {
		t = float64(math.Sqrt(d2) * pc.ih)
	}
	c = float64(math.Sqrt(nu2)*r0) * 2
	if !(uv > 0) {
		c = 0
	}
	return j, jh, c, t, 1 / nu2
}
