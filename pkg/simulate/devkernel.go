package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/light"
)

// devKernel evaluates a de Vaucouleurs (Sersic n = 4) profile in batches
// for the deflector's light: light.Sersic.Intensity's arithmetic (the same
// elliptical radius, (R/R_e)^(1/4) as three square roots) with expNeg in
// place of math.Exp (results within ~2 ulp of Intensity;
// TestDevKernelAccuracy). The SIMD paths (devkernel_simd*.go) compute each
// point with the same operations as the scalar one, so all paths agree bit
// for bit (TestDevKernelPathsIdentical; scalarMayFuse describes the builds
// where the scalar code may differ). Profiles that are not n = 4 or not
// valid take light.Sersic.Intensity point by point.
type devKernel struct {
	generic                            bool
	sl                                 light.Sersic
	x0, y0, c, s, q, iq, ire2, bn, amp float64
}

func newDevKernel(sl light.Sersic) devKernel {
	k := devKernel{sl: sl}
	if !sl.Valid() || sl.N() != 4 {
		k.generic = true
		return k
	}
	k.x0, k.y0 = sl.Center()
	k.c, k.s = sl.Axes()
	k.q = sl.Q()
	k.iq = 1 / k.q
	ire := 1 / sl.Re()
	k.ire2 = ire * ire
	k.bn = sl.Bn()
	k.amp = sl.Intensity(k.x0, k.y0)
	if !(k.amp > 0) || math.IsInf(k.amp, 0) || math.IsInf(k.ire2, 0) {
		k.generic = true
	}
	return k
}

// values sets val[i] to the surface brightness at (x[i], y[i]), i < len(val).
func (k *devKernel) values(x, y, val []float64) {
	n := len(val)
	x, y = x[:n], y[:n]
	if k.generic {
		for i := range val {
			val[i] = k.sl.Intensity(x[i], y[i])
		}
		return
	}
	i := devValuesSIMD(k, x, y, val)
	for ; i < n; i++ {
		val[i] = k.one(x[i], y[i])
	}
}

// one is the scalar reference of values.
func (k *devKernel) one(x, y float64) float64 {
	dx, dy := x-k.x0, y-k.y0
	xr := float64(k.c*dx) + float64(k.s*dy)
	yr := float64(k.c*dy) - float64(k.s*dx)
	r2 := float64(float64(float64(k.q*xr)*xr)+float64(float64(k.iq*yr)*yr)) * k.ire2
	root := math.Sqrt(math.Sqrt(math.Sqrt(r2)))
	return k.amp * expNeg(-(k.bn * root))
}
