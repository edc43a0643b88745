package simulate

// Separable-convolution building blocks of convolveCrop and convolveCropBox,
// with SIMD paths (conv_simd.go) that compute every output with the same
// operations in the same order as the scalar loops here (products rounded
// before each sum), so all paths agree bit for bit (TestConvPathsIdentical;
// scalarMayFuse describes the builds where the scalar loops may differ).

// convRow sets dst[i] = sum_p row[i+p] k[p] (p = 0 .. len(k)-1, summed in
// that order from 0) for i < len(dst); row holds at least
// len(dst)+len(k)-1 values.
func convRow(dst, row, k []float64) {
	i := convRowSIMD(dst, row, k)
	for ; i < len(dst); i++ {
		w := row[i : i+len(k)]
		var acc float64
		for p, kv := range k {
			acc += float64(w[p] * kv)
		}
		dst[i] = acc
	}
}

// convCols sets o[i] = sum_p k[p] t[p*stride+i] (p = 0 .. len(k)-1, summed
// in that order from 0) for i < len(o).
func convCols(o, t []float64, stride int, k []float64) {
	i := convColsSIMD(o, t, stride, k)
	for ; i < len(o); i++ {
		var acc float64
		for p, kv := range k {
			acc += float64(kv * t[p*stride+i])
		}
		o[i] = acc
	}
}
