//go:build goexperiment.simd && amd64

package simulate

import "simd/archsimd"

// The SIMD loops below keep four groups of outputs in flight (four
// independent accumulators, one broadcast of each tap for all four) and then
// finish with single groups; every output is still the sum over p in
// increasing order of the rounded products, as in the scalar loops.

// convRowSIMD is convRow on SIMD lanes for the whole groups of outputs; it
// returns how many outputs it set.
func convRowSIMD(dst, row, k []float64) int {
	n := len(dst)
	m := len(k)
	switch {
	case useAVX512:
		i := 0
		for ; i+32 <= n; i += 32 {
			w := row[i : i+m+31]
			a0 := archsimd.BroadcastFloat64x8(0)
			a1, a2, a3 := a0, a0, a0
			for p, kv := range k {
				kb := archsimd.BroadcastFloat64x8(kv)
				a0 = a0.Add(archsimd.LoadFloat64x8Slice(w[p : p+8]).Mul(kb))
				a1 = a1.Add(archsimd.LoadFloat64x8Slice(w[p+8 : p+16]).Mul(kb))
				a2 = a2.Add(archsimd.LoadFloat64x8Slice(w[p+16 : p+24]).Mul(kb))
				a3 = a3.Add(archsimd.LoadFloat64x8Slice(w[p+24 : p+32]).Mul(kb))
			}
			a0.StoreSlice(dst[i : i+8])
			a1.StoreSlice(dst[i+8 : i+16])
			a2.StoreSlice(dst[i+16 : i+24])
			a3.StoreSlice(dst[i+24 : i+32])
		}
		for ; i+8 <= n; i += 8 {
			w := row[i : i+m+7]
			acc := archsimd.BroadcastFloat64x8(0)
			for p, kv := range k {
				acc = acc.Add(archsimd.LoadFloat64x8Slice(w[p : p+8]).Mul(archsimd.BroadcastFloat64x8(kv)))
			}
			acc.StoreSlice(dst[i : i+8])
		}
		archsimd.ClearAVXUpperBits()
		return i
	case useAVX2:
		i := 0
		for ; i+16 <= n; i += 16 {
			w := row[i : i+m+15]
			a0 := archsimd.BroadcastFloat64x4(0)
			a1, a2, a3 := a0, a0, a0
			for p, kv := range k {
				kb := archsimd.BroadcastFloat64x4(kv)
				a0 = a0.Add(archsimd.LoadFloat64x4Slice(w[p : p+4]).Mul(kb))
				a1 = a1.Add(archsimd.LoadFloat64x4Slice(w[p+4 : p+8]).Mul(kb))
				a2 = a2.Add(archsimd.LoadFloat64x4Slice(w[p+8 : p+12]).Mul(kb))
				a3 = a3.Add(archsimd.LoadFloat64x4Slice(w[p+12 : p+16]).Mul(kb))
			}
			a0.StoreSlice(dst[i : i+4])
			a1.StoreSlice(dst[i+4 : i+8])
			a2.StoreSlice(dst[i+8 : i+12])
			a3.StoreSlice(dst[i+12 : i+16])
		}
		for ; i+4 <= n; i += 4 {
			w := row[i : i+m+3]
			acc := archsimd.BroadcastFloat64x4(0)
			for p, kv := range k {
				acc = acc.Add(archsimd.LoadFloat64x4Slice(w[p : p+4]).Mul(archsimd.BroadcastFloat64x4(kv)))
			}
			acc.StoreSlice(dst[i : i+4])
		}
		archsimd.ClearAVXUpperBits()
		return i
	}
	return 0
}

// convColsSIMD is convCols on SIMD lanes for the whole groups of outputs;
// it returns how many outputs it set.
func convColsSIMD(o, t []float64, stride int, k []float64) int {
	n := len(o)
	switch {
	case useAVX512:
		i := 0
		for ; i+32 <= n; i += 32 {
			a0 := archsimd.BroadcastFloat64x8(0)
			a1, a2, a3 := a0, a0, a0
			for p, kv := range k {
				kb := archsimd.BroadcastFloat64x8(kv)
				tj := t[p*stride+i : p*stride+i+32]
				a0 = a0.Add(kb.Mul(archsimd.LoadFloat64x8Slice(tj[0:8])))
				a1 = a1.Add(kb.Mul(archsimd.LoadFloat64x8Slice(tj[8:16])))
				a2 = a2.Add(kb.Mul(archsimd.LoadFloat64x8Slice(tj[16:24])))
				a3 = a3.Add(kb.Mul(archsimd.LoadFloat64x8Slice(tj[24:32])))
			}
			a0.StoreSlice(o[i : i+8])
			a1.StoreSlice(o[i+8 : i+16])
			a2.StoreSlice(o[i+16 : i+24])
			a3.StoreSlice(o[i+24 : i+32])
		}
		for ; i+8 <= n; i += 8 {
			acc := archsimd.BroadcastFloat64x8(0)
			for p, kv := range k {
				j := p*stride + i
				acc = acc.Add(archsimd.BroadcastFloat64x8(kv).Mul(archsimd.LoadFloat64x8Slice(t[j : j+8])))
			}
			acc.StoreSlice(o[i : i+8])
		}
		archsimd.ClearAVXUpperBits()
		return i
	case useAVX2:
		i := 0
		for ; i+16 <= n; i += 16 {
			a0 := archsimd.BroadcastFloat64x4(0)
			a1, a2, a3 := a0, a0, a0
			for p, kv := range k {
				kb := archsimd.BroadcastFloat64x4(kv)
				tj := t[p*stride+i : p*stride+i+16]
				a0 = a0.Add(kb.Mul(archsimd.LoadFloat64x4Slice(tj[0:4])))
				a1 = a1.Add(kb.Mul(archsimd.LoadFloat64x4Slice(tj[4:8])))
				a2 = a2.Add(kb.Mul(archsimd.LoadFloat64x4Slice(tj[8:12])))
				a3 = a3.Add(kb.Mul(archsimd.LoadFloat64x4Slice(tj[12:16])))
			}
			a0.StoreSlice(o[i : i+4])
			a1.StoreSlice(o[i+4 : i+8])
			a2.StoreSlice(o[i+8 : i+12])
			a3.StoreSlice(o[i+12 : i+16])
		}
		for ; i+4 <= n; i += 4 {
			acc := archsimd.BroadcastFloat64x4(0)
			for p, kv := range k {
				j := p*stride + i
				acc = acc.Add(archsimd.BroadcastFloat64x4(kv).Mul(archsimd.LoadFloat64x4Slice(t[j : j+4])))
			}
			acc.StoreSlice(o[i : i+4])
		}
		archsimd.ClearAVXUpperBits()
		return i
	}
	return 0
}
