//go:build goexperiment.simd && amd64

package simulate

import (
	"math"
	"simd/archsimd"
)

// This file is raykernel_simd4.go with 8 lanes (Float64x8, AVX-512) in
// place of 4; keep the two in step, operation by operation.

// lanes8 holds a kernel's lens and source constants broadcast to 8 lanes.
type lanes8 struct {
	x0, y0, c, s, q2, e, be, hbe, g1, g2     archsimd.Float64x8
	sx, sy, scs, ssn, sq, siq, ih, i0, rfar2 archsimd.Float64x8
}

func (l *lanes8) init(k *rayKernel) {
	b := archsimd.BroadcastFloat64x8
	es := &k.es
	*l = lanes8{
		x0: b(k.x0), y0: b(k.y0), c: b(k.c), s: b(k.s), q2: b(k.q2), e: b(k.e), be: b(k.be), hbe: b(k.hbe),
		g1: b(k.g1), g2: b(k.g2),
		sx: b(es.x), sy: b(es.y), scs: b(es.cs), ssn: b(es.sn), sq: b(es.q), siq: b(es.iq), ih: b(es.ih),
		i0: b(es.i0), rfar2: b(es.rfar2),
	}
}

// shoot8 is rayKernel.one on 8 lanes. Its SIE part repeats deflect8 on
// purpose: as a separate function it is not inlined, which cost 2-3% of the
// delve simulation.
func (vc *lanes8) shoot8(x, y archsimd.Float64x8) (bx, by, v archsimd.Float64x8) {
	sgn := archsimd.BroadcastUint64x8(signMask)
	dx, dy := x.Sub(vc.x0), y.Sub(vc.y0)
	ax := vc.g1.Mul(dx).Add(vc.g2.Mul(dy))
	ay := vc.g2.Mul(dx).Sub(vc.g1.Mul(dy))
	r2 := dx.Mul(dx).Add(dy.Mul(dy))
	xp := vc.c.Mul(dx).Add(vc.s.Mul(dy))
	yp := vc.c.Mul(dy).Sub(vc.s.Mul(dx))
	psi := vc.q2.Mul(xp).Mul(xp).Add(yp.Mul(yp)).Sqrt()
	q2r2 := vc.q2.Mul(r2)
	axs := xp.AsUint64x8().And(sgn)
	ays := yp.AsUint64x8().And(sgn)
	axa := xp.AsUint64x8().AndNot(sgn).AsFloat64x8() // |xp|
	aya := yp.AsUint64x8().AndNot(sgn).AsFloat64x8()
	axp := vc.be.Mul(atanRatio8(vc.e.Mul(axa), psi))
	t := psi.Add(vc.e.Mul(aya))
	ayp := vc.hbe.Mul(logPoly8(t.Mul(t).Div(q2r2)))
	axp = axp.AsUint64x8().Xor(axs).AsFloat64x8()
	ayp = ayp.AsUint64x8().Xor(ays).AsFloat64x8()
	ok := r2.GreaterEqual(archsimd.BroadcastFloat64x8(tinyR2))
	ax = ax.Add(vc.c.Mul(axp).Sub(vc.s.Mul(ayp))).Merge(ax, ok)
	ay = ay.Add(vc.s.Mul(axp).Add(vc.c.Mul(ayp))).Merge(ay, ok)
	bx, by = x.Sub(ax), y.Sub(ay)

	// expSource.atPoly
	ex, ey := bx.Sub(vc.sx), by.Sub(vc.sy)
	near := ex.Mul(ex).Add(ey.Mul(ey)).Less(vc.rfar2)
	xr := vc.scs.Mul(ex).Add(vc.ssn.Mul(ey))
	yr := vc.scs.Mul(ey).Sub(vc.ssn.Mul(ex))
	nrm := vc.sq.Mul(xr).Mul(xr).Add(vc.siq.Mul(yr).Mul(yr)).Sqrt()
	arg := nrm.Mul(vc.ih).AsUint64x8().Xor(sgn).AsFloat64x8()
	v = vc.i0.Mul(expNeg8(arg)).Masked(near)
	return bx, by, v
}

// atanRatio8 is atanRatio on 8 lanes (a >= 0, b > 0).
func atanRatio8(a, b archsimd.Float64x8) archsimd.Float64x8 {
	bc := archsimd.BroadcastFloat64x8
	zero := bc(0)
	// notHi, notLo: the complements of atanRatio's first two cases (no
	// NaN reaches here from finite input)
	notHi := a.LessEqual(bc(atTan3Pi8).Mul(b))
	notLo := a.Greater(bc(0.66).Mul(b))
	num := a.Sub(b).Merge(a, notLo).Merge(zero.Sub(b), notHi)
	den := a.Add(b).Merge(b, notLo).Merge(a, notHi)
	off := bc(math.Pi/4).Merge(zero, notLo).Merge(bc(math.Pi/2), notHi)
	more := bc(0.5*atMore).Merge(zero, notLo).Merge(bc(atMore), notHi)
	z := num.Div(den)
	z2 := z.Mul(z)
	p := bc(atP0).Mul(z2).Add(bc(atP1)).Mul(z2).Add(bc(atP2)).Mul(z2).Add(bc(atP3)).Mul(z2).Add(bc(atP4))
	q := z2.Add(bc(atQ0)).Mul(z2).Add(bc(atQ1)).Mul(z2).Add(bc(atQ2)).Mul(z2).Add(bc(atQ3)).Mul(z2).Add(bc(atQ4))
	r := z.Mul(z2.Mul(p).Div(q)).Add(z)
	return off.Add(r).Add(more)
}

// logPoly8 is logPoly on 8 lanes.
func logPoly8(x archsimd.Float64x8) archsimd.Float64x8 {
	bc := archsimd.BroadcastFloat64x8
	bu := archsimd.BroadcastUint64x8
	bits := x.AsUint64x8()
	f1 := bits.And(bu(1<<52 - 1)).Or(bu(0x3fe << 52)).AsFloat64x8()
	k := bits.ShiftAllRight(52).Or(bu(0x433 << 52)).AsFloat64x8().Sub(bc(1 << 52))
	k = k.Sub(bc(1022))
	small := f1.Less(bc(math.Sqrt2 / 2))
	f1 = f1.Add(f1).Merge(f1, small)
	k = k.Sub(bc(1)).Merge(k, small)
	f := f1.Sub(bc(1))
	s := f.Div(bc(2).Add(f))
	s2 := s.Mul(s)
	s4 := s2.Mul(s2)
	t1 := s2.Mul(bc(lgL1).Add(s4.Mul(bc(lgL3).Add(s4.Mul(bc(lgL5).Add(s4.Mul(bc(lgL7))))))))
	t2 := s4.Mul(bc(lgL2).Add(s4.Mul(bc(lgL4).Add(s4.Mul(bc(lgL6))))))
	r := t1.Add(t2)
	hfsq := bc(0.5).Mul(f).Mul(f)
	return k.Mul(bc(lgLn2Hi)).Sub(hfsq.Sub(s.Mul(hfsq.Add(r)).Add(k.Mul(bc(lgLn2Lo)))).Sub(f))
}

// expNeg8 is expNeg on 8 lanes.
func expNeg8(x archsimd.Float64x8) archsimd.Float64x8 {
	bc := archsimd.BroadcastFloat64x8
	tb := x.Mul(bc(exLog2e)).Add(bc(exShift))
	kf := tb.Sub(bc(exShift))
	r := x.Sub(kf.Mul(bc(exLn2Hi))).Sub(kf.Mul(bc(exLn2Lo)))
	r2 := r.Mul(r)
	r4 := r2.Mul(r2)
	r8 := r4.Mul(r4)
	a0 := r.Add(bc(1))
	a1 := bc(exC3).Mul(r).Add(bc(exC2))
	a2 := bc(exC5).Mul(r).Add(bc(exC4))
	a3 := bc(exC7).Mul(r).Add(bc(exC6))
	a4 := bc(exC9).Mul(r).Add(bc(exC8))
	a5 := bc(exC11).Mul(r).Add(bc(exC10))
	a6 := bc(exC13).Mul(r).Add(bc(exC12))
	b0 := a0.Add(r2.Mul(a1))
	b1 := a2.Add(r2.Mul(a3))
	b2 := a4.Add(r2.Mul(a5))
	c0 := b0.Add(r4.Mul(b1))
	c1 := b2.Add(r4.Mul(a6))
	p := c0.Add(r8.Mul(c1))
	k := tb.AsUint64x8().Sub(archsimd.BroadcastUint64x8(math.Float64bits(exShift))).ShiftAllLeft(52)
	res := p.AsUint64x8().Add(k).AsFloat64x8()
	return res.Masked(x.GreaterEqual(bc(exMinArg)))
}

// deflect8 is rayKernel.deflectOne on 8 lanes.
func (vc *lanes8) deflect8(dx, dy archsimd.Float64x8) (ax, ay archsimd.Float64x8) {
	sgn := archsimd.BroadcastUint64x8(signMask)
	r2 := dx.Mul(dx).Add(dy.Mul(dy))
	xp := vc.c.Mul(dx).Add(vc.s.Mul(dy))
	yp := vc.c.Mul(dy).Sub(vc.s.Mul(dx))
	psi := vc.q2.Mul(xp).Mul(xp).Add(yp.Mul(yp)).Sqrt()
	q2r2 := vc.q2.Mul(r2)
	axs := xp.AsUint64x8().And(sgn)
	ays := yp.AsUint64x8().And(sgn)
	axa := xp.AsUint64x8().AndNot(sgn).AsFloat64x8() // |xp|
	aya := yp.AsUint64x8().AndNot(sgn).AsFloat64x8()
	axp := vc.be.Mul(atanRatio8(vc.e.Mul(axa), psi))
	t := psi.Add(vc.e.Mul(aya))
	ayp := vc.hbe.Mul(logPoly8(t.Mul(t).Div(q2r2)))
	axp = axp.AsUint64x8().Xor(axs).AsFloat64x8()
	ayp = ayp.AsUint64x8().Xor(ays).AsFloat64x8()
	ok := r2.GreaterEqual(archsimd.BroadcastFloat64x8(tinyR2))
	ax = vc.c.Mul(axp).Sub(vc.s.Mul(ayp)).Masked(ok)
	ay = vc.s.Mul(axp).Add(vc.c.Mul(ayp)).Masked(ok)
	return ax, ay
}
