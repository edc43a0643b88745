//go:build goexperiment.simd && amd64

package simulate

import "simd/archsimd"

// convRowSIMD is convRow on SIMD lanes for the whole groups of outputs; it
// returns how many outputs it set.
func convRowSIMD(dst, row, k []float64) int {
	n := len(dst)
	m := len(k)
	switch {
	case useAVX512:
		i := 0
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
