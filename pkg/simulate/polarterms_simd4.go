//go:build goexperiment.simd && amd64

package simulate

import "simd/archsimd"

// polarterms_simd8.go is this file with 8 lanes (Float64x8) in place of 4;
// keep the two in step, operation by operation.

// polarTerms4 is polarConsts.one on 4 lanes.
func polarTerms4(pc *polarConsts, ce, se, alx, aly archsimd.Float64x4) (j, jh, c, t, inu archsimd.Float64x4) {
	bc := archsimd.BroadcastFloat64x4
	g1, g2, cs, sn := bc(pc.g1), bc(pc.g2), bc(pc.cs), bc(pc.sn)
	q, iq, h, hh, ih := bc(pc.q), bc(pc.iq), bc(pc.h), bc(pc.hh), bc(pc.ih)
	ux := ce.Sub(g1.Mul(ce).Add(g2.Mul(se)))
	uy := se.Sub(g2.Mul(ce).Sub(g1.Mul(se)))
	vx, vy := bc(pc.ax).Add(alx), bc(pc.ay).Add(aly)
	u1 := cs.Mul(ux).Add(sn.Mul(uy))
	u2 := cs.Mul(uy).Sub(sn.Mul(ux))
	v1 := cs.Mul(vx).Add(sn.Mul(vy))
	v2 := cs.Mul(vy).Sub(sn.Mul(vx))
	nu2 := q.Mul(u1).Mul(u1).Add(iq.Mul(u2).Mul(u2))
	uv := q.Mul(u1).Mul(v1).Add(iq.Mul(u2).Mul(v2))
	na2 := q.Mul(v1).Mul(v1).Add(iq.Mul(v2).Mul(v2))
	na := na2.Sqrt()
	x := na.Mul(ih)
	near := x.Less(bc(40))
	e := expNeg4(x.AsUint64x4().Xor(archsimd.BroadcastUint64x4(signMask)).AsFloat64x4())
	j = h.Mul(na.Add(h)).Mul(e).Masked(near)
	jh = hh.Mul(na.Add(hh)).Mul(e).Mul(e).Masked(near)
	r0 := uv.Div(nu2)
	d2 := na2.Sub(uv.Mul(r0))
	t = d2.Sqrt().Mul(ih).Masked(d2.Greater(bc(0)))
	c = nu2.Sqrt().Mul(r0).Mul(bc(2)).Masked(uv.Greater(bc(0)))
	inu = bc(1).Div(nu2)
	return j, jh, c, t, inu
}
