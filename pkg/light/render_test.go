package light

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// TestRenderConvergesToFlux renders un-lensed profiles and checks that the
// pixel sum approaches the analytic total flux L monotonically, first as the
// supersampling grows on a large stamp, then as the stamp grows at fixed
// supersampling.
func TestRenderConvergesToFlux(t *testing.T) {
	const pix = 0.263
	for _, tc := range []struct {
		n, re, q float64
		ssTol    float64 // final |sum/L - 1| at ss=16 on the big stamp
	}{
		{1, 0.5, 0.7, 1e-5},
		// de Vaucouleurs with R_e ~ 1 pixel: 0.4% of the flux lies within 0.01 R_e of the
		// centre, a spike no uniform supersampling resolves, so the midpoint rule
		// overestimates by 9.4% (ss=1), 2.4% (ss=4), 0.5% (ss=16); 2e-5 lies beyond the stamp
		{4, 0.25, 0.8, 6e-3},
		{0.5, 0.4, 0.5, 1e-9},
	} {
		const L = 1000.0
		// off-centre so no symmetry hides errors; the cusp sits inside a pixel
		s := NewSersic(L, tc.re, tc.n, tc.q, 0.4, 0.05, -0.03)
		big := 201 // 53"
		buf := make([]float64, big*big)
		prev := math.Inf(1)
		for _, ss := range []int{1, 2, 4, 8, 16} {
			RenderPixels(buf, big, big, pix, ss, s.Intensity)
			err := math.Abs(sum(buf)/L - 1)
			t.Logf("n=%g stamp %d px ss=%2d: |sum/L - 1| = %.3g", tc.n, big, ss, err)
			if err > prev*1.0001+1e-12 {
				t.Errorf("n=%g: error grew from %.3g to %.3g at ss=%d", tc.n, prev, err, ss)
			}
			prev = err
		}
		if prev > tc.ssTol {
			t.Errorf("n=%g: pixel sum off by %.3g at ss=16, want < %.0g", tc.n, prev, tc.ssTol)
		}
		// stamp growth at ss = 4: sum increases towards L
		prevSum := 0.0
		for _, sz := range []int{5, 11, 21, 41, 81, 201} {
			img := make([]float64, sz*sz)
			RenderPixels(img, sz, sz, pix, 4, s.Intensity)
			got := sum(img)
			t.Logf("n=%g ss=4 stamp %3d px: sum/L = %.8f", tc.n, sz, got/L)
			if got < prevSum {
				t.Errorf("n=%g: pixel sum fell from %g to %g as the stamp grew to %d", tc.n, prevSum, got, sz)
			}
			prevSum = got
		}
	}
}

func TestRenderGridConvention(t *testing.T) {
	// f = x picks out the pixel x-centre, f = y the y-centre (linear => exact midpoint rule)
	const nx, ny, pix = 5, 4, 0.5
	img := make([]float64, nx*ny)
	RenderPixels(img, nx, ny, pix, 3, func(x, y float64) float64 { return x })
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			want := (float64(i) - 2) * pix * pix * pix
			if math.Abs(img[j*nx+i]-want) > 1e-14 {
				t.Errorf("x-centre of pixel (%d,%d): got %g, want %g", i, j, img[j*nx+i]/(pix*pix), want/(pix*pix))
			}
		}
	}
	RenderPixels(img, nx, ny, pix, 4, func(x, y float64) float64 { return y })
	for j := 0; j < ny; j++ {
		want := (float64(j) - 1.5) * pix * pix * pix
		if math.Abs(img[j*nx]-want) > 1e-14 {
			t.Errorf("y-centre of row %d: got %g, want %g", j, img[j*nx]/(pix*pix), want/(pix*pix))
		}
		x, y := PixelCenter(0, j, nx, ny, pix)
		if math.Abs(x+1) > 1e-15 || math.Abs(y-(float64(j)-1.5)*pix) > 1e-15 {
			t.Errorf("PixelCenter(0,%d) = (%g,%g)", j, x, y)
		}
	}
	// a source at (+0.5, +0.25) arcsec lands in column 3, row 2 (right of and above the centre)
	s := NewSersic(1, 0.1, 1, 1, 0, 0.5, 0.25)
	RenderPixels(img, nx, ny, pix, 2, s.Intensity)
	best := 0
	for k := range img {
		if img[k] > img[best] {
			best = k
		}
	}
	if best%nx != 3 || best/nx != 2 {
		t.Errorf("peak of a source at (+0.5,+0.25) in pixel (%d,%d), want (3,2)", best%nx, best/nx)
	}
	// ss = 1: one sample at the centre, times the area
	RenderPixels(img, nx, ny, pix, 1, func(x, y float64) float64 { return 1 })
	if math.Abs(sum(img)-nx*ny*pix*pix) > 1e-12 {
		t.Errorf("unit surface brightness: sum %g, want %g", sum(img), nx*ny*pix*pix)
	}
}

func TestSubpixelGridMatchesRender(t *testing.T) {
	const nx, ny, pix = 7, 6, 0.263
	s := NewSersic(50, 0.4, 1.3, 0.6, 1.1, 0.1, 0.2)
	for _, ss := range []int{1, 2, 3, 5} {
		xs, ys := SubpixelGrid(nx, ny, pix, ss)
		if len(xs) != nx*ny*ss*ss {
			t.Fatalf("ss=%d: %d samples", ss, len(xs))
		}
		samples := make([]float64, len(xs))
		for k := range xs {
			samples[k] = s.Intensity(xs[k], ys[k])
		}
		got := make([]float64, nx*ny)
		BinSubpixels(got, samples, nx, ny, ss, pix*pix)
		want := make([]float64, nx*ny)
		RenderPixels(want, nx, ny, pix, ss, s.Intensity)
		for k := range got {
			if math.Abs(got[k]-want[k]) > 1e-12*math.Abs(want[k])+1e-15 {
				t.Errorf("ss=%d pixel %d: binned %g, rendered %g", ss, k, got[k], want[k])
			}
		}
		// every sample lies inside the pixel it is binned into
		fx := nx * ss
		for k := range xs {
			I, J := k%fx, k/fx
			cx, cy := PixelCenter(I/ss, J/ss, nx, ny, pix)
			if math.Abs(xs[k]-cx) > pix/2 || math.Abs(ys[k]-cy) > pix/2 {
				t.Fatalf("ss=%d sample %d at (%g,%g) outside pixel (%d,%d)", ss, k, xs[k], ys[k], I/ss, J/ss)
			}
		}
	}
}

func TestRenderAllocFree(t *testing.T) {
	s := NewSersic(1, 0.5, 4, 0.7, 0.3, 0, 0)
	img := make([]float64, 48*48)
	samples := make([]float64, 48*48*16)
	if a := testing.AllocsPerRun(5, func() {
		RenderPixels(img, 48, 48, 0.263, 4, s.Intensity)
		BinSubpixels(img, samples, 48, 48, 4, 0.263*0.263)
	}); a != 0 {
		t.Errorf("RenderPixels/BinSubpixels allocate %v times", a)
	}
}

func BenchmarkRenderPixels48ss4N4(b *testing.B) {
	s := NewSersic(1, 0.5, 4, 0.7, 0.3, 0, 0)
	img := make([]float64, 48*48)
	for b.Loop() {
		RenderPixels(img, 48, 48, 0.263, 4, s.Intensity)
	}
}

// TestRectFlux checks the cusp-safe rectangle integral against the analytic
// total flux and against additivity.
func TestRectFlux(t *testing.T) {
	for _, n := range []float64{1, 4, 2.2, 0.7, 1.7, 0.5} {
		s := NewSersic(1, 0.3, n, 0.6, 0.5, 0.013, -0.021)
		// a 40" box holds all the flux but the tail beyond the largest ellipse
		// inside it (R < sqrt(q) 19.97"), which P(2n, b_n (R/R_e)^(1/n)) bounds
		big := s.RectFlux(-20, 20, -20, 20)
		inner := mathext.GammaIncReg(2*n, s.Bn()*math.Pow(math.Sqrt(0.6)*19.97/0.3, 1/n))
		if big > 1+1e-8 || big < inner-1e-8 {
			t.Errorf("n=%g: flux in a 40\" box %.10f, want in [%.10f, 1]", n, big, inner)
		}
		// additivity across a split through an arbitrary line near the centre
		a := s.RectFlux(-0.2, 0.007, -0.15, 0.3)
		b := s.RectFlux(0.007, 0.25, -0.15, 0.3)
		whole := s.RectFlux(-0.2, 0.25, -0.15, 0.3)
		if math.Abs(a+b-whole) > 1e-9 {
			t.Errorf("n=%g: RectFlux not additive: %.12f + %.12f != %.12f", n, a, b, whole)
		}
		// against brute force on a pixel away from the centre (smooth there)
		bf := 0.0
		const m = 400
		x1, x2, y1, y2 := 0.2, 0.463, 0.1, 0.363
		for j := 0; j < m; j++ {
			for i := 0; i < m; i++ {
				bf += s.Intensity(x1+(float64(i)+0.5)*(x2-x1)/m, y1+(float64(j)+0.5)*(y2-y1)/m)
			}
		}
		bf *= (x2 - x1) * (y2 - y1) / (m * m)
		if rf := s.RectFlux(x1, x2, y1, y2); math.Abs(rf-bf) > 1e-6*bf {
			t.Errorf("n=%g: RectFlux %.10g, brute force %.10g", n, rf, bf)
		}
	}
}

// TestRenderSersicCusp checks that RenderSersic gets the flux of a compact de
// Vaucouleurs profile right wherever its centre falls, including exactly on a
// sample (where plain supersampling is off by a factor 100).
func TestRenderSersicCusp(t *testing.T) {
	const pix, sz = 0.263, 121
	img := make([]float64, sz*sz)
	for _, re := range []float64{0.25, 0.8} {
		for _, off := range [][2]float64{{0, 0}, {0.05, -0.03}, {0.1, 0.07}, {0.1315, 0.0}, {-0.031, 0.012}} {
			s := NewSersic(1, re, 4, 0.8, 0.4, off[0], off[1])
			// the stamp's own analytic content, for reference: the flux in the stamp
			half := float64(sz) * pix / 2
			inStamp := s.RectFlux(-half, half, -half, half)
			for _, ss := range []int{1, 2, 4} {
				RenderSersic(img, sz, sz, pix, ss, s)
				got := sum(img)
				tol := map[int]float64{1: 1.2e-2, 2: 3e-3, 4: 8e-4}[ss]
				if math.Abs(got/inStamp-1) > tol {
					t.Errorf("re=%g off=%v ss=%d: sum/flux-in-stamp - 1 = %.2g (tol %.0g)", re, off, ss, got/inStamp-1, tol)
				}
				if ss == 4 {
					t.Logf("re=%g off=%v ss=%d: sum/flux-in-stamp - 1 = %+.2g", re, off, ss, got/inStamp-1)
				}
			}
		}
	}
	if a := testing.AllocsPerRun(3, func() {
		RenderSersic(img, sz, sz, pix, 2, NewSersic(1, 0.3, 4, 0.8, 0.4, 0, 0))
	}); a != 0 {
		t.Errorf("RenderSersic allocates %v times", a)
	}
}

func BenchmarkRenderSersic48ss4N4(b *testing.B) {
	s := NewSersic(1, 0.5, 4, 0.7, 0.3, 0.02, -0.01)
	img := make([]float64, 48*48)
	for b.Loop() {
		RenderSersic(img, 48, 48, 0.263, 4, s)
	}
}

func BenchmarkRectFluxN4(b *testing.B) {
	s := NewSersic(1, 0.5, 4, 0.7, 0.3, 0.02, -0.01)
	for b.Loop() {
		s.RectFlux(-0.13, 0.13, -0.13, 0.13)
	}
}
