package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/light"
)

// renderLensLightRef is renderLensLight before devKernel (light.Sersic.Intensity
// point by point), the reference of TestRenderLensLightMatchesReference.
func (w *worker) renderLensLightRef(sl light.Sersic, lx, ly float64, n int, ss int) {
	pix := w.s.pix
	area := pix * pix
	c := float64(n-1) / 2
	out := w.lens[:n*n]
	core := 4 * pix
	inv := 1 / float64(ss)
	subArea := area * inv * inv
	for j := 0; j < n; j++ {
		y := (float64(j) - c) * pix
		for i := 0; i < n; i++ {
			x := (float64(i) - c) * pix
			dx, dy := x-lx, y-ly
			if ss > 1 && dx*dx+dy*dy < core*core {
				var v float64
				for sj := 0; sj < ss; sj++ {
					yy := y + ((float64(sj)+0.5)*inv-0.5)*pix
					for si := 0; si < ss; si++ {
						v += sl.Intensity(x+((float64(si)+0.5)*inv-0.5)*pix, yy)
					}
				}
				out[j*n+i] = v * subArea
			} else {
				out[j*n+i] = sl.Intensity(x, y) * area
			}
		}
	}
}

// devCases returns de Vaucouleurs profiles over the deflector population's
// range of sizes and shapes, and one exponential profile (generic path).
func devCases(r *rand.Rand) []light.Sersic {
	var out []light.Sersic
	for i := 0; i < 30; i++ {
		re := math.Exp(math.Log(0.2) + r.Float64()*math.Log(30))
		out = append(out, light.NewSersic(1, re, 4, 0.2+0.8*r.Float64(), math.Pi*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64()))
	}
	return append(out, light.NewSersic(1, 0.5, 1, 0.7, 0.3, 0, 0))
}

// TestDevKernelAccuracy: devKernel agrees with light.Sersic.Intensity to
// 1e-14 relative (expNeg against math.Exp: measured 6e-16, 4e-15 where the
// compiler fuses Intensity's products, GOAMD64=v3), at the centre exactly.
func TestDevKernelAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	worst := 0.0
	for _, sl := range devCases(r) {
		k := newDevKernel(sl)
		x0, y0 := sl.Center()
		x, y := []float64{x0}, []float64{y0}
		for i := 0; i < 200; i++ {
			x, y = append(x, x0+8*(2*r.Float64()-1)), append(y, y0+8*(2*r.Float64()-1))
		}
		v := make([]float64, len(x))
		k.values(x, y, v)
		for i := range x {
			want := sl.Intensity(x[i], y[i])
			if i == 0 && v[i] != want {
				t.Errorf("centre: %v, Intensity %v", v[i], want)
			}
			worst = math.Max(worst, math.Abs(v[i]/want-1))
		}
	}
	t.Logf("largest relative difference from Intensity %.2g", worst)
	if worst > 1e-14 {
		t.Errorf("devKernel differs from Intensity by %.3g relative", worst)
	}
}

// TestDevKernelPathsIdentical: every SIMD path this CPU has and the scalar
// reference (devKernel.one) agree bit for bit (scalarEqual), for lengths
// with remainders, and the SIMD paths agree with one another bit for bit.
func TestDevKernelPathsIdentical(t *testing.T) {
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	r := rand.New(rand.NewPCG(25, 26))
	paths := [][2]bool{{false, false}}
	if hasAVX2 {
		paths = append(paths, [2]bool{true, false})
	}
	if hasAVX512 {
		paths = append(paths, [2]bool{true, true})
	}
	for _, sl := range devCases(r) {
		n := 90 + r.IntN(20)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], y[i] = 6*r.NormFloat64(), 6*r.NormFloat64()
		}
		var simd []float64
		for _, p := range paths {
			useAVX2, useAVX512 = p[0], p[1]
			k := newDevKernel(sl)
			v := make([]float64, n)
			k.values(x, y, v)
			if k.generic {
				continue
			}
			for i := range v {
				if want := k.one(x[i], y[i]); !scalarEqual(v[i], want) {
					t.Fatalf("path %v point %d: %v, scalar %v", p, i, v[i], want)
				}
			}
			if p[0] {
				if simd == nil {
					simd = v
				} else if !slices.Equal(simd, v) {
					t.Fatal("the SIMD paths differ")
				}
			}
		}
	}
}

// TestRenderLensLightMatchesReference: the batched deflector render agrees
// with the point-by-point one it replaced to 1e-14 of each pixel (measured
// 7e-16; 4e-15 under GOAMD64=v3).
func TestRenderLensLightMatchesReference(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	r := rand.New(rand.NewPCG(27, 28))
	n := s.cfg.Size + 16
	w.lens = make([]float64, n*n)
	ref := make([]float64, n*n)
	worst := 0.0
	for i := 0; i < 40; i++ {
		sl := light.NewSersic(1, math.Exp(math.Log(0.3)+r.Float64()*math.Log(10)), 4, 0.2+0.8*r.Float64(), math.Pi*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64())
		lx, ly := sl.Center()
		ss := 2 + r.IntN(7)
		w.renderLensLightRef(sl, lx, ly, n, ss)
		copy(ref, w.lens)
		w.renderLensLight(sl, lx, ly, n, ss)
		for k, v := range w.lens {
			worst = math.Max(worst, math.Abs(v/ref[k]-1))
		}
	}
	t.Logf("largest relative pixel difference %.2g", worst)
	if worst > 1e-14 {
		t.Errorf("renderLensLight differs from the reference by %.3g relative", worst)
	}
}
