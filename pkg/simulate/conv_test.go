package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// convolveCropRef is the scalar convolveCrop before convRow and convCols (the
// reference of TestConvPathsIdentical). It convolves the padded n x n image in with the separable kernel k
// and writes the central size x size stamp to out. tmp holds n*size values.
func convolveCropRef(out, in []float64, n, margin, size int, k []float64, tmp []float64) {
	h := len(k) / 2
	// Pass 1, along x: all n rows, only the size output columns.
	t := tmp[:n*size]
	for j := 0; j < n; j++ {
		row := in[j*n : (j+1)*n]
		dstRow := t[j*size : (j+1)*size]
		for i := 0; i < size; i++ {
			ci := i + margin
			lo, hi := ci-h, ci+h
			var acc float64
			kk := 0
			if lo < 0 {
				kk = -lo
				lo = 0
			}
			if hi > n-1 {
				hi = n - 1
			}
			for p := lo; p <= hi; p++ {
				acc += float64(row[p] * k[kk])
				kk++
			}
			dstRow[i] = acc
		}
	}
	// Pass 2, along y: the size output rows.
	for j := 0; j < size; j++ {
		cj := j + margin
		lo, hi := cj-h, cj+h
		kk := 0
		if lo < 0 {
			kk = -lo
			lo = 0
		}
		if hi > n-1 {
			hi = n - 1
		}
		o := out[j*size : (j+1)*size]
		clear(o)
		for p := lo; p <= hi; p++ {
			kv := k[kk]
			kk++
			src := t[p*size : (p+1)*size]
			for i := range o {
				o[i] += float64(kv * src[i])
			}
		}
	}
}

// convolveCropBoxRef is the scalar convolveCropBox before convRow and
// convCols (the reference of TestConvPathsIdentical): convolveCrop for an input that is zero outside the
// columns [x0, x1) and rows [y0, y1): only the output pixels the box can
// reach are computed (the rest are set to zero), and only the box's terms are
// summed, in the same order as convolveCrop, so the result is bit-identical
// to convolveCrop's (the skipped terms are exact zeros).
func convolveCropBoxRef(out, in []float64, n, margin, size int, k []float64, tmp []float64, x0, x1, y0, y1 int) {
	out = out[:size*size]
	if x0 >= x1 || y0 >= y1 {
		clear(out)
		return
	}
	h := len(k) / 2
	// output columns / rows whose window meets the box
	c0, c1 := max(0, x0-h-margin), min(size, x1+h-margin)
	r0, r1 := max(0, y0-h-margin), min(size, y1+h-margin)
	if c0 >= c1 || r0 >= r1 {
		clear(out)
		return
	}
	// Pass 1, along x: rows y0..y1-1, output columns c0..c1-1.
	t := tmp[:n*size]
	for j := y0; j < y1; j++ {
		row := in[j*n : (j+1)*n]
		dstRow := t[j*size : (j+1)*size]
		for i := c0; i < c1; i++ {
			ci := i + margin
			lo, hi := ci-h, ci+h
			kk := 0
			if lo < x0 {
				kk = x0 - lo
				lo = x0
			}
			if hi > x1-1 {
				hi = x1 - 1
			}
			var acc float64
			kw := k[kk : kk+hi-lo+1]
			rw := row[lo : hi+1]
			for p, kv := range kw {
				acc += float64(rw[p] * kv)
			}
			dstRow[i] = acc
		}
	}
	// Pass 2, along y: output rows r0..r1-1, columns c0..c1-1.
	clear(out[:r0*size])
	clear(out[r1*size:])
	for j := r0; j < r1; j++ {
		cj := j + margin
		lo, hi := cj-h, cj+h
		kk := 0
		if lo < y0 {
			kk = y0 - lo
			lo = y0
		}
		if hi > y1-1 {
			hi = y1 - 1
		}
		o := out[j*size : (j+1)*size]
		clear(o)
		oc := o[c0:c1]
		for p := lo; p <= hi; p++ {
			kv := k[kk]
			kk++
			src := t[p*size+c0 : p*size+c1]
			for i := range oc {
				oc[i] += float64(kv * src[i])
			}
		}
	}
}

// TestConvPathsIdentical: convolveCrop and convolveCropBox give bit-identical
// stamps to the scalar loops they replaced (convolveCropRef,
// convolveCropBoxRef) on every SIMD path this CPU has and without SIMD
// (scalarEqual: to 1e-12 where the compiler fuses scalar multiply-adds), for
// random images (zero outside random boxes) and PSF widths, the SIMD paths
// agree with one another bit for bit, and the boxed convolution equals the
// full one.
func TestConvPathsIdentical(t *testing.T) {
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	r := rand.New(rand.NewPCG(17, 18))
	const size = 48
	paths := [][2]bool{{false, false}}
	if hasAVX2 {
		paths = append(paths, [2]bool{true, false})
	}
	if hasAVX512 {
		paths = append(paths, [2]bool{true, true})
	}
	for trial := 0; trial < 60; trial++ {
		k := survey.GaussianKernel1D(1+7*r.Float64(), nil)
		h := len(k) / 2
		margin := h + r.IntN(3)
		if trial%10 == 9 { // a kernel wider than the margin: cut at the edges
			margin = r.IntN(h)
		}
		n := size + 2*margin
		in := make([]float64, n*n)
		x0, y0 := r.IntN(n), r.IntN(n)
		x1, y1 := x0+1+r.IntN(n-x0), y0+1+r.IntN(n-y0)
		for j := y0; j < y1; j++ {
			for i := x0; i < x1; i++ {
				in[j*n+i] = math.Exp(3 * r.NormFloat64())
			}
		}
		tmp := make([]float64, n*size)
		want := make([]float64, size*size)
		wantBox := make([]float64, size*size)
		convolveCropRef(want, in, n, margin, size, k, tmp)
		convolveCropBoxRef(wantBox, in, n, margin, size, k, tmp, x0, x1, y0, y1)
		if !slices.Equal(want, wantBox) {
			t.Fatalf("trial %d: the reference box convolution differs from the full one", trial)
		}
		var simd []float64 // the first SIMD path's stamp
		for _, p := range paths {
			useAVX2, useAVX512 = p[0], p[1]
			got := make([]float64, size*size)
			gotBox := make([]float64, size*size)
			for i := range got {
				got[i], gotBox[i] = math.NaN(), math.NaN() // every output must be written
			}
			convolveCrop(got, in, n, margin, size, k, tmp)
			convolveCropBox(gotBox, in, n, margin, size, k, tmp, x0, x1, y0, y1)
			for i := range want {
				if !scalarEqual(got[i], want[i]) || !scalarEqual(gotBox[i], want[i]) {
					t.Fatalf("trial %d, path %v: pixel %d: %v (box %v), reference %v", trial, p, i, got[i], gotBox[i], want[i])
				}
			}
			if p[0] {
				if simd == nil {
					simd = got
				} else if !slices.Equal(simd, got) {
					t.Fatalf("trial %d: the SIMD paths differ", trial)
				}
			}
		}
	}
}

// BenchmarkConvolveCrop times the PSF convolution of one 48x48 band from a
// padded grid (typical delve seeing: a 1.0" FWHM kernel at 0.263"/pixel).
func BenchmarkConvolveCrop(b *testing.B) {
	k := survey.GaussianKernel1D(1.0/0.263, nil)
	margin := len(k) / 2
	const size = 48
	n := size + 2*margin
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]float64, n*n)
	for i := range in {
		in[i] = r.Float64()
	}
	tmp := make([]float64, n*size)
	out := make([]float64, size*size)
	for b.Loop() {
		convolveCrop(out, in, n, margin, size, k, tmp)
	}
}
