package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
)

// renderSourceRef is the renderer before rayKernel (lensing.Model.RayShoot
// and expSource.at, pixel by pixel), the reference of the kernel's tests. It fills w.src (padded grid of side n) with the lensed source's
// flux per pixel for a unit-flux exponential source sr and returns the total
// magnification. Pixels whose centre maps within rss of the source centre,
// plus the pixel's footprint in the source plane, get ss x ss samples; others
// one sample. Beyond 16 scale lengths the profile is taken as zero. The
// surface brightness comes from expSource (fastExp).
func (w *worker) renderSourceRef(lm lensing.Model, sr light.Sersic, sx, sy float64, n int, lx, ly, rimg, rss float64, ss int) float64 {
	s := w.s
	pix := s.pix
	area := pix * pix
	c := float64(n-1) / 2
	src := w.src[:n*n]
	clear(src)
	kappaSlack := 0.75 * pix
	rimg2 := rimg * rimg
	// Beyond 16 scale lengths (elliptical radius) the exponential profile is
	// below 1e-7 of its peak: skip it.
	rfar := 16 * sr.Re() / 1.6783469900166612 / math.Sqrt(sr.Q())
	es := newExpSource(sr, rfar)
	total := 0.0
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * pix
		dy := y - ly
		for i := 0; i < n; i++ {
			x := (float64(i) - c) * pix
			dx := x - lx
			if dx*dx+dy*dy > rimg2 {
				continue
			}
			bx, by := lm.RayShoot(x, y)
			dsx, dsy := bx-sx, by-sy
			var v float64
			if ss > 1 && supersample(dsx, dsy, rss, kappaSlack, lm, x, y) {
				inv := 1 / float64(ss)
				for sj := 0; sj < ss; sj++ {
					yy := y + ((float64(sj)+0.5)*inv-0.5)*pix
					for si := 0; si < ss; si++ {
						xx := x + ((float64(si)+0.5)*inv-0.5)*pix
						bx, by := lm.RayShoot(xx, yy)
						v += es.at(bx, by)
					}
				}
				v *= area * inv * inv
			} else {
				v = es.at(bx, by) * area
			}
			src[j*n+i] = v
			total += v
		}
	}
	return total
}

// benchLens is a typical resolved delve configuration: theta_E 1.3", q 0.7,
// a source of R_e 0.15" near the caustic.
func benchLens() (lensing.Model, light.Sersic) {
	lm := lensing.Model{SIE: lensing.NewSIE(1.3, 0.7, 0.4, 0.02, -0.03), Shear: lensing.Shear{Gamma1: 0.03, Gamma2: -0.02}}
	return lm, light.NewSersic(1, 0.15, 1, 0.6, 1.1, 0.12, 0.05)
}

func BenchmarkRenderSource(b *testing.B) {
	s := newSim(b, "delve", nil)
	w := s.newWorker()
	n := 60
	w.src = make([]float64, n*n)
	lm, sr := benchLens()
	sx, sy := sr.Center()
	h := 0.15 / 1.6783469900166612
	for _, ref := range []bool{false, true} {
		name := "kernel"
		if ref {
			name = "ref"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if ref {
					w.renderSourceRef(lm, sr, sx, sy, n, 0.02, -0.03, 4, 4*h, 8)
				} else {
					w.renderSource(lm, sr, sx, sy, n, 0.02, -0.03, 4, 4*h, 8)
				}
			}
		})
	}
}

// TestKernelFunctions: the kernel's elementary functions against the math
// package: atanRatio(a, b) against math.Atan2 over ratios from 1e-12 to 1e12
// (and the boundaries of its three ranges), logPoly against math.Log over
// [1e-300, 1e300], expNeg against math.Exp over [-700, 0] (0 below).
func TestKernelFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var worstAt, worstLog, worstExp float64
	for i := 0; i < 200000; i++ {
		b := math.Exp(r.Float64()*20 - 10)
		a := b * math.Exp(r.Float64()*55-27.6)
		if i < 4 {
			a = b * []float64{0, 0.66, atTan3Pi8, 1}[i]
		}
		want := math.Atan2(a, b)
		if d := math.Abs(atanRatio(a, b) - want); d > worstAt*want {
			worstAt = d / want
			if want == 0 {
				worstAt = d
			}
		}
		x := math.Exp(r.Float64()*1380 - 690)
		if i%3 == 0 {
			x = 1 + r.Float64()*3
		}
		lw := math.Log(x)
		if d := math.Abs(logPoly(x)-lw) / math.Max(1, math.Abs(lw)); d > worstLog {
			worstLog = d
		}
		e := -700 * r.Float64()
		if i%2 == 0 {
			e = -40 * r.Float64()
		}
		if d := math.Abs(expNeg(e)/math.Exp(e) - 1); d > worstExp {
			worstExp = d
		}
	}
	t.Logf("largest relative errors: atanRatio %.2g, logPoly %.2g, expNeg %.2g", worstAt, worstLog, worstExp)
	// measured: 2.2e-16, 0 (amd64) and 4.4e-16, i.e. 1, 0 and 2 ulp
	if worstAt > 5e-16 || worstLog > 5e-16 || worstExp > 1e-15 {
		t.Errorf("kernel functions: relative errors %.3g (atan), %.3g (log), %.3g (exp) above 5e-16, 5e-16, 1e-15",
			worstAt, worstLog, worstExp)
	}
	if expNeg(-700.5) != 0 || expNeg(0) != 1 || logPoly(1) != 0 || atanRatio(0, 1) != 0 {
		t.Error("kernel functions: wrong special values")
	}
}

// kernelCase is a lens and source for the kernel tests.
type kernelCase struct {
	lm lensing.Model
	sr light.Sersic
}

// kernelCases draws lenses over the population's range (theta_E 0.3-3",
// q 0.2-1 including the near-SIS series and the SIS, shear up to 0.15, a
// massless lens) and exponential sources.
func kernelCases() []kernelCase {
	r := rand.New(rand.NewPCG(9, 10))
	var out []kernelCase
	for i := 0; i < 60; i++ {
		te := 0.3 + 2.7*r.Float64()
		q := 0.2 + 0.8*r.Float64()
		switch i {
		case 0:
			q = 1
		case 1:
			q = 0.9999
		case 2:
			te = 0
		case 3:
			q = 0.9995 // just outside the series
		}
		lm := lensing.Model{
			SIE:   lensing.NewSIE(te, q, 2*math.Pi*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64()),
			Shear: lensing.Shear{Gamma1: 0.07 * r.NormFloat64(), Gamma2: 0.07 * r.NormFloat64()},
		}
		re := math.Exp(math.Log(0.02) + r.Float64()*math.Log(30))
		sr := light.NewSersic(1, re, 1, 0.2+0.8*r.Float64(), math.Pi*r.Float64(), 0.5*r.NormFloat64(), 0.5*r.NormFloat64())
		out = append(out, kernelCase{lm, sr})
	}
	return out
}

// kernelPoints returns image-plane points for lens lm: random points within
// 6" of the centre, the exact centre, points on the lens's axes (zero
// major- or minor-axis coordinate), points 1e-30" from the centre and points
// near the Einstein ring (which map close to the lens centre, where the
// sources lie).
func kernelPoints(r *rand.Rand, lm lensing.Model, n int) (x, y []float64) {
	x0, y0 := lm.SIE.Center()
	sn, cs := math.Sincos(lm.SIE.Phi())
	for i := 0; i < n; i++ {
		px, py := x0+6*(2*r.Float64()-1), y0+6*(2*r.Float64()-1)
		switch i % 17 {
		case 3:
			px, py = x0, y0
		case 5: // on the major axis
			d := 3 * r.NormFloat64()
			px, py = x0+d*cs, y0+d*sn
		case 7: // on the minor axis
			d := 3 * r.NormFloat64()
			px, py = x0-d*sn, y0+d*cs
		case 11:
			px, py = x0+1e-30, y0-1e-30
		case 12, 13, 14, 15, 16: // near the Einstein ring: images of sources near the centre
			rr := lm.SIE.ThetaE() * (0.8 + 0.4*r.Float64())
			ps, pc := math.Sincos(2 * math.Pi * r.Float64())
			px, py = x0+rr*pc, y0+rr*ps
		}
		x, y = append(x, px), append(y, py)
	}
	return x, y
}

// TestRayKernelAccuracy: the kernel's source-plane positions agree with
// lensing.Model.RayShoot, and its SIE deflections (deflect) with
// lensing.SIE.Deflection, to 1e-13 arcsec and its surface brightness with
// expSource.at at that position to 1e-10 relative (fastExp's own error is
// 1e-12; a position error delta changes the profile by delta/h relative).
func TestRayKernelAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var worstPos, worstVal, worstDefl float64
	nonzero := 0
	for _, kc := range kernelCases() {
		sr := kc.sr
		rfar := 16 * sr.Re() / 1.6783469900166612 / math.Sqrt(sr.Q())
		es := newExpSource(sr, rfar)
		k := newRayKernel(kc.lm, es)
		x, y := kernelPoints(r, kc.lm, 301)
		bx, by, v := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
		k.shoot(x, y, bx, by, v)
		x0, y0 := kc.lm.SIE.Center()
		dx, dy := make([]float64, len(x)), make([]float64, len(x))
		for i := range x {
			dx[i], dy[i] = x[i]-x0, y[i]-y0
		}
		ax, ay := make([]float64, len(x)), make([]float64, len(x))
		k.deflect(dx, dy, ax, ay)
		for i := range x {
			// deflect at the offset, against SIE.Deflection at the point
			// (the two offsets differ by rounding: compare loosely)
			wax, way := kc.lm.SIE.Deflection(x0+dx[i], y0+dy[i])
			worstDefl = math.Max(worstDefl, math.Max(math.Abs(ax[i]-wax), math.Abs(ay[i]-way)))
			wx, wy := kc.lm.RayShoot(x[i], y[i])
			worstPos = math.Max(worstPos, math.Max(math.Abs(bx[i]-wx), math.Abs(by[i]-wy)))
			want := es.at(wx, wy)
			if want > 0 {
				nonzero++
				worstVal = math.Max(worstVal, math.Abs(v[i]/want-1))
			} else if v[i] != 0 {
				t.Errorf("value %g where the reference is 0", v[i])
			}
		}
	}
	t.Logf("largest position difference %.2g arcsec, largest relative value difference %.2g (%d non-zero values)", worstPos, worstVal, nonzero)
	if nonzero < 1000 {
		t.Errorf("only %d non-zero values compared", nonzero)
	}
	t.Logf("largest deflection difference (deflect) %.2g arcsec", worstDefl)
	if worstDefl > 1e-13 {
		t.Errorf("deflect differs from SIE.Deflection by %.3g arcsec", worstDefl)
	}
	if worstPos > 1e-13 || worstVal > 1e-10 {
		t.Errorf("kernel differs from RayShoot / expSource.at by %.3g arcsec, %.3g relative", worstPos, worstVal)
	}
}

// TestRayKernelPathsIdentical: every SIMD path this CPU has (8 lanes with
// AVX-512, 4 with AVX2) and the element-by-element path give bit-identical
// positions, values and deflections (scalarEqual: to 1e-12 where the
// compiler fuses scalar multiply-adds), for batch lengths that leave
// remainders, and the SIMD paths agree with one another bit for bit.
func TestRayKernelPathsIdentical(t *testing.T) {
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	type path struct {
		name       string
		avx2, avx5 bool
	}
	paths := []path{{"scalar", false, false}}
	if hasAVX2 {
		paths = append(paths, path{"avx2", true, false})
	}
	if hasAVX512 {
		paths = append(paths, path{"avx512", true, true})
	}
	t.Logf("paths compared: %v", paths)
	r := rand.New(rand.NewPCG(13, 14))
	checked := 0
	for _, kc := range kernelCases() {
		sr := kc.sr
		es := newExpSource(sr, 16*sr.Re()/1.6783469900166612/math.Sqrt(sr.Q()))
		x, y := kernelPoints(r, kc.lm, 203)
		var ref [3][]float64
		var simd [5][]float64 // the first SIMD path's outputs
		for pi, p := range paths {
			useAVX2, useAVX512 = p.avx2, p.avx5
			k := newRayKernel(kc.lm, es)
			bx, by, v := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
			k.shoot(x, y, bx, by, v)
			v2 := make([]float64, len(x))
			k.values(x, y, v2)
			x0, y0 := kc.lm.SIE.Center()
			dx, dy := make([]float64, len(x)), make([]float64, len(x))
			for i := range x {
				dx[i], dy[i] = x[i]-x0, y[i]-y0
			}
			ax, ay := make([]float64, len(x)), make([]float64, len(x))
			k.deflect(dx, dy, ax, ay)
			for i := range v {
				if math.Float64bits(v[i]) != math.Float64bits(v2[i]) {
					t.Fatalf("%s: values and shoot differ at point %d", p.name, i)
				}
				if !k.generic {
					ox, oy := k.deflectOne(dx[i], dy[i])
					if !scalarEqual(ox, ax[i]) || !scalarEqual(oy, ay[i]) {
						t.Fatalf("%s: deflection at point %d differs from deflectOne", p.name, i)
					}
				}
				if !k.generic {
					ox, oy, ov := k.one(x[i], y[i])
					if !scalarEqual(ox, bx[i]) || !scalarEqual(oy, by[i]) || !scalarEqual(ov, v[i]) {
						t.Fatalf("%s: point %d (%v, %v): (%v, %v, %v), scalar (%v, %v, %v)", p.name, i, x[i], y[i], bx[i], by[i], v[i], ox, oy, ov)
					}
				}
			}
			if pi == 0 {
				ref = [3][]float64{bx, by, v}
				continue
			}
			for i := range v {
				if !scalarEqual(bx[i], ref[0][i]) || !scalarEqual(by[i], ref[1][i]) || !scalarEqual(v[i], ref[2][i]) {
					t.Fatalf("%s and scalar differ at point %d", p.name, i)
				}
				if simd[0] != nil && (math.Float64bits(bx[i]) != math.Float64bits(simd[0][i]) ||
					math.Float64bits(by[i]) != math.Float64bits(simd[1][i]) || math.Float64bits(v[i]) != math.Float64bits(simd[2][i]) ||
					math.Float64bits(ax[i]) != math.Float64bits(simd[3][i]) || math.Float64bits(ay[i]) != math.Float64bits(simd[4][i])) {
					t.Fatalf("%s and the first SIMD path differ at point %d", p.name, i)
				}
				if v[i] != 0 {
					checked++
				}
			}
			if simd[0] == nil {
				simd = [5][]float64{bx, by, v, ax, ay}
			}
		}
	}
	t.Logf("%d non-zero SIMD values compared", checked)
	if hasAVX2 && checked < 1000 {
		t.Fatalf("only %d non-zero SIMD values compared", checked)
	}
}

// TestRenderSourceMatchesReference: renderSource (rayKernel) against the
// renderer it replaced (renderSourceRef) on delve systems whose source lies
// within theta_E + 2 R_e of the lens, both at the full render's supersampling
// and at the approximate render's: the magnifications and every pixel agree
// to 1e-9 of the image's peak pixel (the kernel's positions differ by
// ~1e-14 arcsec, its profile by ~1e-13 relative).
func TestRenderSourceMatchesReference(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	r := rand.New(rand.NewPCG(15, 16))
	const bn1 = 1.6783469900166612
	n := s.cfg.Size + 2*8
	w.src = make([]float64, n*n)
	ref := make([]float64, n*n)
	var worstPix, worstMu float64
	renders := 0
	for renders < 600 {
		sys := s.pop.Draw(r)
		d, src := &sys.Deflector, &sys.Source
		beta := math.Hypot(src.X-d.X, src.Y-d.Y)
		if beta > sys.ThetaE+2*src.Re {
			continue
		}
		lm := lensing.Model{SIE: lensing.NewSIE(sys.ThetaE, d.Q, d.Phi, d.X, d.Y),
			Shear: lensing.Shear{Gamma1: sys.Gamma1, Gamma2: sys.Gamma2}}
		sr := light.NewSersic(1, src.Re, 1, src.Q, src.Phi, src.X, src.Y)
		h := src.Re / bn1
		rimg := 1.3*(sys.ThetaE+beta+5*src.Re/math.Sqrt(src.Q)) + 2*s.pix
		ss := max(2, min(int(math.Ceil(2*s.pix/(h*src.Q))), s.cfg.Supersample))
		if unresolved(h*src.Q, s.pix, s.cfg.Supersample) {
			ss = pointCausticSS
		}
		for _, cfg := range [][2]float64{{float64(ss), 4 * h}, {1, 0}} {
			ssr, rss := int(cfg[0]), cfg[1]
			muRef := w.renderSourceRef(lm, sr, src.X, src.Y, n, d.X, d.Y, rimg, rss, ssr)
			copy(ref, w.src)
			mu := w.renderSource(lm, sr, src.X, src.Y, n, d.X, d.Y, rimg, rss, ssr)
			renders++
			peak := 0.0
			for _, v := range ref {
				peak = math.Max(peak, v)
			}
			if peak == 0 {
				continue
			}
			for i, v := range w.src {
				worstPix = math.Max(worstPix, math.Abs(v-ref[i])/peak)
			}
			worstMu = math.Max(worstMu, math.Abs(mu/muRef-1))
		}
	}
	t.Logf("%d renders: largest pixel difference %.2g of the peak, largest relative magnification difference %.2g", renders, worstPix, worstMu)
	if worstPix > 1e-9 || worstMu > 1e-9 {
		t.Errorf("renderSource differs from the reference renderer: pixels %.3g of the peak, magnification %.3g", worstPix, worstMu)
	}
}

// TestRenderSourceReuse: a render that repeats the last one's lens, source,
// grid and radius (reusing its pixel centres) gives bit-identical maps to a
// fresh render, whatever the supersampling of either.
func TestRenderSourceReuse(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	n := 64
	w.src = make([]float64, n*n)
	lm, sr := benchLens()
	sx, sy := sr.Center()
	h := 0.15 / 1.6783469900166612
	for _, ss := range []int{2, 5, 8} {
		w.centresValid = false
		fresh := w.renderSource(lm, sr, sx, sy, n, 0.02, -0.03, 4, 4*h, ss)
		want := slices.Clone(w.src)
		w.centresValid = false
		w.renderSource(lm, sr, sx, sy, n, 0.02, -0.03, 4, 0, 1) // the approximate render
		if !w.centresValid {
			t.Fatal("renderSource did not keep its pixel centres")
		}
		reused := w.renderSource(lm, sr, sx, sy, n, 0.02, -0.03, 4, 4*h, ss)
		if reused != fresh || !slices.Equal(w.src, want) {
			t.Fatalf("ss=%d: the render reusing the pixel centres differs from a fresh one", ss)
		}
	}
}
