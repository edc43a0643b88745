//go:build goexperiment.simd && amd64

package simulate

import "simd/archsimd"

// The SIMD paths of rayKernel: 8 lanes with AVX-512 (raykernel_simd8.go),
// 4 lanes with AVX2 (raykernel_simd4.go); a last partial group is padded.
// Every function that uses vector registers clears their upper bits
// (VZEROUPPER) before it returns: Go's scalar floating-point code uses
// legacy SSE instructions, which otherwise run several times slower after
// AVX code (measured here: the image finder, which has no SIMD code, took
// 3x longer per lens). The operations are plain IEEE adds,
// multiplies, divides, square roots, compares, selects and bit operations
// (no fused multiply-adds), so each lane computes exactly what
// rayKernel.one computes.
var (
	hasAVX2, hasAVX512 = archsimd.X86.AVX2(), archsimd.X86.AVX512()
	// the paths in use (tests switch them off to compare the paths)
	useAVX2, useAVX512 = hasAVX2, hasAVX512
)

// kernelVec holds a kernel's lens and source constants broadcast to the
// lanes of the CPU's widest path.
type kernelVec struct {
	l4 lanes4
	l8 lanes8
}

// initVec fills k.vec for the CPU's widest path.
func (k *rayKernel) initVec() {
	switch {
	case useAVX512:
		k.vec.l8.init(k)
	case useAVX2:
		k.vec.l4.init(k)
	default:
		return
	}
	archsimd.ClearAVXUpperBits()
}

// valuesSIMD is values on SIMD lanes; it returns how many points it
// processed: all of them with AVX2 (a last partial group is padded with
// copies of its last point), none without.
func (k *rayKernel) valuesSIMD(x, y, val []float64) int {
	n := len(val)
	switch {
	case useAVX512:
		vc := &k.vec.l8
		i := 0
		for ; i+8 <= n; i += 8 {
			_, _, v := vc.shoot8(archsimd.LoadFloat64x8Slice(x[i:i+8]), archsimd.LoadFloat64x8Slice(y[i:i+8]))
			v.StoreSlice(val[i : i+8])
		}
		if i < n {
			var px, py, pv [8]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			_, _, v := vc.shoot8(archsimd.LoadFloat64x8Slice(px[:]), archsimd.LoadFloat64x8Slice(py[:]))
			v.StoreSlice(pv[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	case useAVX2:
		vc := &k.vec.l4
		i := 0
		for ; i+4 <= n; i += 4 {
			_, _, v := vc.shoot4(archsimd.LoadFloat64x4Slice(x[i:i+4]), archsimd.LoadFloat64x4Slice(y[i:i+4]))
			v.StoreSlice(val[i : i+4])
		}
		if i < n {
			var px, py, pv [4]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			_, _, v := vc.shoot4(archsimd.LoadFloat64x4Slice(px[:]), archsimd.LoadFloat64x4Slice(py[:]))
			v.StoreSlice(pv[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	}
	return 0
}

// pad copies src (not empty) into dst and fills the rest of dst with src's
// last element.
func pad(dst, src []float64) {
	copy(dst, src)
	for i := len(src); i < len(dst); i++ {
		dst[i] = src[len(src)-1]
	}
}

// shootSIMD is shoot on SIMD lanes, with valuesSIMD's return value.
func (k *rayKernel) shootSIMD(x, y, bx, by, val []float64) int {
	n := len(val)
	switch {
	case useAVX512:
		vc := &k.vec.l8
		i := 0
		for ; i+8 <= n; i += 8 {
			b1, b2, v := vc.shoot8(archsimd.LoadFloat64x8Slice(x[i:i+8]), archsimd.LoadFloat64x8Slice(y[i:i+8]))
			b1.StoreSlice(bx[i : i+8])
			b2.StoreSlice(by[i : i+8])
			v.StoreSlice(val[i : i+8])
		}
		if i < n {
			var px, py, p1, p2, pv [8]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			b1, b2, v := vc.shoot8(archsimd.LoadFloat64x8Slice(px[:]), archsimd.LoadFloat64x8Slice(py[:]))
			b1.StoreSlice(p1[:])
			b2.StoreSlice(p2[:])
			v.StoreSlice(pv[:])
			copy(bx[i:n], p1[:])
			copy(by[i:n], p2[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	case useAVX2:
		vc := &k.vec.l4
		i := 0
		for ; i+4 <= n; i += 4 {
			b1, b2, v := vc.shoot4(archsimd.LoadFloat64x4Slice(x[i:i+4]), archsimd.LoadFloat64x4Slice(y[i:i+4]))
			b1.StoreSlice(bx[i : i+4])
			b2.StoreSlice(by[i : i+4])
			v.StoreSlice(val[i : i+4])
		}
		if i < n {
			var px, py, p1, p2, pv [4]float64
			pad(px[:], x[i:n])
			pad(py[:], y[i:n])
			b1, b2, v := vc.shoot4(archsimd.LoadFloat64x4Slice(px[:]), archsimd.LoadFloat64x4Slice(py[:]))
			b1.StoreSlice(p1[:])
			b2.StoreSlice(p2[:])
			v.StoreSlice(pv[:])
			copy(bx[i:n], p1[:])
			copy(by[i:n], p2[:])
			copy(val[i:n], pv[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	}
	return 0
}

// deflectSIMD is deflect on SIMD lanes, with valuesSIMD's return value.
func (k *rayKernel) deflectSIMD(dx, dy, ax, ay []float64) int {
	n := len(ax)
	switch {
	case useAVX512:
		vc := &k.vec.l8
		i := 0
		for ; i+8 <= n; i += 8 {
			a1, a2 := vc.deflect8(archsimd.LoadFloat64x8Slice(dx[i:i+8]), archsimd.LoadFloat64x8Slice(dy[i:i+8]))
			a1.StoreSlice(ax[i : i+8])
			a2.StoreSlice(ay[i : i+8])
		}
		if i < n {
			var px, py, p1, p2 [8]float64
			pad(px[:], dx[i:n])
			pad(py[:], dy[i:n])
			a1, a2 := vc.deflect8(archsimd.LoadFloat64x8Slice(px[:]), archsimd.LoadFloat64x8Slice(py[:]))
			a1.StoreSlice(p1[:])
			a2.StoreSlice(p2[:])
			copy(ax[i:n], p1[:])
			copy(ay[i:n], p2[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	case useAVX2:
		vc := &k.vec.l4
		i := 0
		for ; i+4 <= n; i += 4 {
			a1, a2 := vc.deflect4(archsimd.LoadFloat64x4Slice(dx[i:i+4]), archsimd.LoadFloat64x4Slice(dy[i:i+4]))
			a1.StoreSlice(ax[i : i+4])
			a2.StoreSlice(ay[i : i+4])
		}
		if i < n {
			var px, py, p1, p2 [4]float64
			pad(px[:], dx[i:n])
			pad(py[:], dy[i:n])
			a1, a2 := vc.deflect4(archsimd.LoadFloat64x4Slice(px[:]), archsimd.LoadFloat64x4Slice(py[:]))
			a1.StoreSlice(p1[:])
			a2.StoreSlice(p2[:])
			copy(ax[i:n], p1[:])
			copy(ay[i:n], p2[:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	}
	return 0
}

// polarTermsSIMD is polarTerms on SIMD lanes, with valuesSIMD's return
// value.
func polarTermsSIMD(pc *polarConsts, ce, se, alx, aly, j, jh, c, t, inu []float64) int {
	n := len(j)
	switch {
	case useAVX512:
		i := 0
		ld := archsimd.LoadFloat64x8Slice
		for ; i+8 <= n; i += 8 {
			a, b, cc, d, e := polarTerms8(pc, ld(ce[i:i+8]), ld(se[i:i+8]), ld(alx[i:i+8]), ld(aly[i:i+8]))
			a.StoreSlice(j[i : i+8])
			b.StoreSlice(jh[i : i+8])
			cc.StoreSlice(c[i : i+8])
			d.StoreSlice(t[i : i+8])
			e.StoreSlice(inu[i : i+8])
		}
		if i < n {
			var p [9][8]float64
			pad(p[0][:], ce[i:n])
			pad(p[1][:], se[i:n])
			pad(p[2][:], alx[i:n])
			pad(p[3][:], aly[i:n])
			a, b, cc, d, e := polarTerms8(pc, ld(p[0][:]), ld(p[1][:]), ld(p[2][:]), ld(p[3][:]))
			a.StoreSlice(p[4][:])
			b.StoreSlice(p[5][:])
			cc.StoreSlice(p[6][:])
			d.StoreSlice(p[7][:])
			e.StoreSlice(p[8][:])
			copy(j[i:n], p[4][:])
			copy(jh[i:n], p[5][:])
			copy(c[i:n], p[6][:])
			copy(t[i:n], p[7][:])
			copy(inu[i:n], p[8][:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	case useAVX2:
		i := 0
		ld := archsimd.LoadFloat64x4Slice
		for ; i+4 <= n; i += 4 {
			a, b, cc, d, e := polarTerms4(pc, ld(ce[i:i+4]), ld(se[i:i+4]), ld(alx[i:i+4]), ld(aly[i:i+4]))
			a.StoreSlice(j[i : i+4])
			b.StoreSlice(jh[i : i+4])
			cc.StoreSlice(c[i : i+4])
			d.StoreSlice(t[i : i+4])
			e.StoreSlice(inu[i : i+4])
		}
		if i < n {
			var p [9][4]float64
			pad(p[0][:], ce[i:n])
			pad(p[1][:], se[i:n])
			pad(p[2][:], alx[i:n])
			pad(p[3][:], aly[i:n])
			a, b, cc, d, e := polarTerms4(pc, ld(p[0][:]), ld(p[1][:]), ld(p[2][:]), ld(p[3][:]))
			a.StoreSlice(p[4][:])
			b.StoreSlice(p[5][:])
			cc.StoreSlice(p[6][:])
			d.StoreSlice(p[7][:])
			e.StoreSlice(p[8][:])
			copy(j[i:n], p[4][:])
			copy(jh[i:n], p[5][:])
			copy(c[i:n], p[6][:])
			copy(t[i:n], p[7][:])
			copy(inu[i:n], p[8][:])
		}
		archsimd.ClearAVXUpperBits()
		return n
	}
	return 0
}
