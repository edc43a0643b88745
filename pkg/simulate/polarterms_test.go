package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// muPolarRef is muPolarN before rayKernel and polarTerms (per-direction
// lensing.SIE.Deflection and fastExp), the reference of
// TestMuPolarMatchesReference.
func muPolarRef(lm *lensing.Model, sys *population.System, h float64, fine int) (mu, muHalf float64) {
	d, src := &sys.Deflector, &sys.Source
	hMinor := h * src.Q
	g := tK1()
	ax, ay := src.X-d.X, src.Y-d.Y // source centre relative to the lens
	beta := math.Hypot(ax, ay)
	rmax := rmaxFactor*(sys.ThetaE+beta) + rmaxScales*h/math.Sqrt(src.Q)
	nphi := int(math.Ceil(2 * math.Pi * rmax / hMinor))
	nphi = max(64, min(nphi, 8192)) * fine
	dphi := 2 * math.Pi / float64(nphi)
	sn, cs := math.Sincos(src.Phi)
	q, iq := src.Q, 1/src.Q
	g1, g2 := sys.Gamma1, sys.Gamma2
	ih := 1 / h
	// rotate (cos, sin) of the ray direction incrementally
	sd, cd := math.Sincos(dphi)
	ce, se := 1.0, 0.0
	var total, totalH float64
	hh := 0.5 * h
	for k := 0; k < nphi; k++ {
		if k&63 == 0 { // re-anchor the recurrence
			se, ce = math.Sincos(float64(k) * dphi)
		}
		alx, aly := lm.SIE.Deflection(d.X+ce, d.Y+se)
		ux, uy := ce-(g1*ce+g2*se), se-(g2*ce-g1*se)
		vx, vy := ax+alx, ay+aly // a(phi)
		ce, se = ce*cd-se*sd, se*cd+ce*sd
		// elliptical-frame components
		u1, u2 := cs*ux+sn*uy, -sn*ux+cs*uy
		v1, v2 := cs*vx+sn*vy, -sn*vx+cs*vy
		nu2 := q*u1*u1 + iq*u2*u2
		uv := q*u1*v1 + iq*u2*v2
		na2 := q*v1*v1 + iq*v2*v2
		na := math.Sqrt(na2)
		var j, jh float64
		if x := na * ih; x < 40 {
			e := fastExp(-x)
			j = h * (na + h) * e
			jh = hh * (na + hh) * e * e
		}
		if uv > 0 {
			r0 := uv / nu2
			d2 := na2 - uv*r0
			t := 0.0
			if d2 > 0 {
				t = math.Sqrt(d2) * ih
			}
			if idx := int(t * tK1Step); idx < tK1Len {
				c := math.Sqrt(nu2) * r0 * 2
				j += c * h * g[idx]
				if idx2 := int(2 * t * tK1Step); idx2 < tK1Len {
					jh += c * hh * g[idx2]
				}
			}
		}
		inu2 := 1 / nu2
		total += j * inu2
		totalH += jh * inu2
	}
	return total * dphi / (2 * math.Pi * h * h), totalH * dphi / (2 * math.Pi * hh * hh)
}

// TestMuPolarMatchesReference: muPolarN (batched deflections, polarTerms)
// agrees with the implementation it replaced to 1e-11 relative on delve
// systems (the kernels' deflections differ by ~1e-15 arcsec, expNeg from
// fastExp by ~1e-12 relative).
func TestMuPolarMatchesReference(t *testing.T) {
	s := newSim(t, "delve", nil)
	r := rand.New(rand.NewPCG(19, 20))
	const bn1 = 1.6783469900166612
	var worst float64
	var sc polarScratch
	for i := 0; i < 400; i++ {
		sys := s.pop.Draw(r)
		d, src := &sys.Deflector, &sys.Source
		lm := lensing.Model{SIE: lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
			Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2}}
		h := src.Re / bn1
		mu, muH := muPolarN(&lm, &sys, h, 1, &sc)
		rm, rmH := muPolarRef(&lm, &sys, h, 1)
		if rm > 0 {
			worst = math.Max(worst, math.Abs(mu/rm-1))
		}
		if rmH > 0 {
			worst = math.Max(worst, math.Abs(muH/rmH-1))
		}
	}
	t.Logf("largest relative difference %.2g", worst)
	if worst > 1e-11 {
		t.Errorf("muPolarN differs from the reference by %.3g relative", worst)
	}
}

// TestPolarTermsPathsIdentical: every SIMD path this CPU has and the scalar
// reference (polarConsts.one) give bit-identical polarTerms outputs
// (scalarEqual), for lengths with remainders, and the SIMD paths agree with
// one another bit for bit.
func TestPolarTermsPathsIdentical(t *testing.T) {
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	r := rand.New(rand.NewPCG(21, 22))
	paths := [][2]bool{{false, false}}
	if hasAVX2 {
		paths = append(paths, [2]bool{true, false})
	}
	if hasAVX512 {
		paths = append(paths, [2]bool{true, true})
	}
	nonzero := 0
	for trial := 0; trial < 40; trial++ {
		h := math.Exp(math.Log(0.005) + r.Float64()*math.Log(40))
		pc := polarConsts{g1: 0.05 * r.NormFloat64(), g2: 0.05 * r.NormFloat64(), ax: 0.5 * r.NormFloat64(), ay: 0.5 * r.NormFloat64(),
			q: 0.2 + 0.8*r.Float64(), h: h, hh: h / 2, ih: 1 / h}
		pc.sn, pc.cs = math.Sincos(math.Pi * r.Float64())
		pc.iq = 1 / pc.q
		n := 100 + r.IntN(60)
		ce, se, alx, aly := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for k := range ce {
			se[k], ce[k] = math.Sincos(2 * math.Pi * float64(k) / float64(n))
			te := 0.5 + 2*r.Float64()
			alx[k], aly[k] = te*ce[k]+0.2*r.NormFloat64(), te*se[k]+0.2*r.NormFloat64()
		}
		var simd [5][]float64
		for _, p := range paths {
			useAVX2, useAVX512 = p[0], p[1]
			var out [5][]float64
			for i := range out {
				out[i] = make([]float64, n)
			}
			polarTerms(&pc, ce, se, alx, aly, out[0], out[1], out[2], out[3], out[4])
			for k := range ce {
				a, b, c, d, e := pc.one(ce[k], se[k], alx[k], aly[k])
				for i, want := range []float64{a, b, c, d, e} {
					if !scalarEqual(out[i][k], want) {
						t.Fatalf("trial %d path %v direction %d output %d: %v, scalar %v", trial, p, k, i, out[i][k], want)
					}
				}
				if a != 0 && p[0] {
					nonzero++
				}
			}
			if p[0] {
				if simd[0] == nil {
					simd = out
				} else {
					for i := range out {
						if !slices.Equal(simd[i], out[i]) {
							t.Fatalf("trial %d: the SIMD paths differ in output %d", trial, i)
						}
					}
				}
			}
		}
	}
	if hasAVX2 && nonzero < 1000 {
		t.Errorf("only %d non-zero SIMD terms compared", nonzero)
	}
}
