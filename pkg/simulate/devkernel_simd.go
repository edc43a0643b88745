//go:build goexperiment.simd && amd64

package simulate

import "simd/archsimd"

// devValuesSIMD is devKernel.values on SIMD lanes, with valuesSIMD's return
// value.
func devValuesSIMD(k *devKernel, x, y, val []float64) int {
	n := len(val)
	switch {
	case useAVX512:
		i := 0
		ld := archsimd.LoadFloat64x8Slice
		for ; i+8 <= n; i += 8 {
			dev8(k, ld(x[i:i+8]), ld(y[i:i+8])).StoreSlice(val[i : i+8])
		}
		if i < n {
			var px, py, pv [8]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			dev8(k, ld(px[:]), ld(py[:])).StoreSlice(pv[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	case useAVX2:
		i := 0
		ld := archsimd.LoadFloat64x4Slice
		for ; i+4 <= n; i += 4 {
			dev4(k, ld(x[i:i+4]), ld(y[i:i+4])).StoreSlice(val[i : i+4])
		}
		if i < n {
			var px, py, pv [4]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			dev4(k, ld(px[:]), ld(py[:])).StoreSlice(pv[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	}
	return 0
}

// dev4 is devKernel.one on 4 lanes.
func dev4(k *devKernel, x, y archsimd.Float64x4) archsimd.Float64x4 {
	bc := archsimd.BroadcastFloat64x4
	c, s := bc(k.c), bc(k.s)
	dx, dy := x.Sub(bc(k.x0)), y.Sub(bc(k.y0))
	xr := c.Mul(dx).Add(s.Mul(dy))
	yr := c.Mul(dy).Sub(s.Mul(dx))
	r2 := bc(k.q).Mul(xr).Mul(xr).Add(bc(k.iq).Mul(yr).Mul(yr)).Mul(bc(k.ire2))
	root := r2.Sqrt().Sqrt().Sqrt()
	arg := bc(k.bn).Mul(root).AsUint64x4().Xor(archsimd.BroadcastUint64x4(signMask)).AsFloat64x4()
	return bc(k.amp).Mul(expNeg4(arg))
}

// dev8 is devKernel.one on 8 lanes (dev4's operations).
func dev8(k *devKernel, x, y archsimd.Float64x8) archsimd.Float64x8 {
	bc := archsimd.BroadcastFloat64x8
	c, s := bc(k.c), bc(k.s)
	dx, dy := x.Sub(bc(k.x0)), y.Sub(bc(k.y0))
	xr := c.Mul(dx).Add(s.Mul(dy))
	yr := c.Mul(dy).Sub(s.Mul(dx))
	r2 := bc(k.q).Mul(xr).Mul(xr).Add(bc(k.iq).Mul(yr).Mul(yr)).Mul(bc(k.ire2))
	root := r2.Sqrt().Sqrt().Sqrt()
	arg := bc(k.bn).Mul(root).AsUint64x8().Xor(archsimd.BroadcastUint64x8(signMask)).AsFloat64x8()
	return bc(k.amp).Mul(expNeg8(arg))
}
