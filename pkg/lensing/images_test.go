package lensing

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteImages finds the images of (bx, by) by Newton iterations on the lens
// equation from a dense grid of starting points, keeping distinct converged
// solutions away from the singular core.
func bruteImages(m Model, bx, by, half float64) []Image {
	var out []Image
	cx, cy := m.SIE.Center()
	const ng = 90
	for j := 0; j < ng; j++ {
		for i := 0; i < ng; i++ {
			x := cx + half*(2*(float64(i)+0.5)/ng-1)
			y := cy + half*(2*(float64(j)+0.5)/ng-1)
			ok := false
			for it := 0; it < 60; it++ {
				sx, sy := m.RayShoot(x, y)
				rx, ry := bx-sx, by-sy
				if math.Hypot(rx, ry) < 1e-12 {
					ok = true
					break
				}
				fxx, fxy, fyy := m.Hessian(x, y)
				a11, a12, a22 := 1-fxx, -fxy, 1-fyy
				det := a11*a22 - a12*a12
				dx := (a22*rx - a12*ry) / det
				dy := (a11*ry - a12*rx) / det
				// damp long steps
				if l := math.Hypot(dx, dy); l > 0.2 {
					dx, dy = dx*0.2/l, dy*0.2/l
				}
				x, y = x+dx, y+dy
			}
			if !ok || math.Hypot(x-cx, y-cy) < 1e-3 {
				continue
			}
			dup := false
			for _, im := range out {
				if math.Hypot(im.X-x, im.Y-y) < 1e-6 {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, Image{x, y, m.Magnification(x, y)})
			}
		}
	}
	return out
}

func checkImages(t *testing.T, m Model, bx, by float64, got []Image) {
	t.Helper()
	for _, im := range got {
		sx, sy := m.RayShoot(im.X, im.Y)
		if math.Hypot(sx-bx, sy-by) > 1e-9 {
			t.Errorf("image (%.5f, %.5f) maps to (%g, %g), source (%g, %g)", im.X, im.Y, sx, sy, bx, by)
		}
	}
}

// TestImageFinderSIS: the SIS has two images at beta + theta_E and
// beta - theta_E with mu = 1 +- theta_E/beta inside the Einstein radius, one
// outside (Lens equation of PHYSICS.md section 2; SISImages).
func TestImageFinderSIS(t *testing.T) {
	var f ImageFinder
	for _, c := range []struct{ thetaE, beta, ang float64 }{{1.2, 0.3, 0.4}, {1, 0.05, 2}, {0.8, 0.79, -1}, {1, 1.5, 0.3}, {1, 0.001, 1}} {
		m := Model{SIE: NewSIE(c.thetaE, 1, 0, 0.1, -0.2)}
		f.Reset(m, 0)
		s, co := math.Sincos(c.ang)
		bx, by := 0.1+c.beta*co, -0.2+c.beta*s
		got := f.Images(bx, by, nil)
		n, x1, mu1, x2, mu2 := SISImages(c.thetaE, c.beta)
		if len(got) != n {
			t.Fatalf("thetaE %g beta %g: %d images, want %d", c.thetaE, c.beta, len(got), n)
		}
		checkImages(t, m, bx, by, got)
		want := []Image{{0.1 + x1*co, -0.2 + x1*s, mu1}}
		if n == 2 {
			want = append(want, Image{0.1 + x2*co, -0.2 + x2*s, mu2})
		}
		for _, w := range want {
			found := false
			for _, g := range got {
				if math.Hypot(g.X-w.X, g.Y-w.Y) < 1e-9 && math.Abs(g.Mu/w.Mu-1) < 1e-7 {
					found = true
				}
			}
			if !found {
				t.Errorf("thetaE %g beta %g: image %+v not found in %+v", c.thetaE, c.beta, w, got)
			}
		}
	}
}

// TestImageFinderSIEQuad: a source inside the astroid caustic of an SIE has
// four bright images (two minima, two saddles: two of each parity), one just
// outside the caustic but inside the cut has two; a far source has one. The
// images agree with a brute-force Newton search from a dense grid.
func TestImageFinderSIEQuad(t *testing.T) {
	var f ImageFinder
	m := Model{SIE: NewSIE(1, 0.7, 0.3, 0, 0)}
	f.Reset(m, 0)
	for _, c := range []struct {
		bx, by float64
		n      int
	}{{0.02, 0.01, 4}, {0.05, -0.03, 4}, {0.3, 0.3, 2}, {2, 0.5, 1}} {
		got := f.Images(c.bx, c.by, nil)
		checkImages(t, m, c.bx, c.by, got)
		if len(got) != c.n {
			t.Fatalf("source (%g, %g): %d images, want %d: %+v", c.bx, c.by, len(got), c.n, got)
		}
		pos, neg := 0, 0
		for _, g := range got {
			if g.Mu > 0 {
				pos++
			} else {
				neg++
			}
		}
		if c.n == 4 && (pos != 2 || neg != 2) {
			t.Errorf("quad parities: %d positive, %d negative", pos, neg)
		}
	}
}

// TestImageFinderMatchesBruteForce: random SIE + shear lenses and sources
// (some near caustics): the finder returns exactly the images a brute-force
// Newton search finds (those with |mu| > 1e-3; the finder may in addition
// return demagnified images near the core, which the brute force skips).
func TestImageFinderMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var f ImageFinder
	var buf []Image
	quads := 0
	for trial := 0; trial < 40; trial++ {
		te := 0.5 + r.Float64()
		q := 0.25 + 0.75*r.Float64()
		m := Model{SIE: NewSIE(te, q, math.Pi*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64()),
			Shear: Shear{0.05 * r.NormFloat64(), 0.05 * r.NormFloat64()}}
		f.Reset(m, 0)
		cx, cy := m.SIE.Center()
		rad := te * 0.5 * math.Sqrt(r.Float64())
		a := 2 * math.Pi * r.Float64()
		bx, by := cx+rad*math.Cos(a), cy+rad*math.Sin(a)
		buf = f.Images(bx, by, buf[:0])
		checkImages(t, m, bx, by, buf)
		want := bruteImages(m, bx, by, 3*te+0.5)
		var bright []Image
		for _, g := range buf {
			if math.Abs(g.Mu) > 1e-3 {
				bright = append(bright, g)
			}
		}
		if len(bright) == 4 {
			quads++
		}
		if len(bright) != len(want) {
			t.Errorf("trial %d: finder %d images %+v, brute force %d %+v", trial, len(bright), bright, len(want), want)
			continue
		}
		for _, w := range want {
			if !slices.ContainsFunc(bright, func(g Image) bool { return math.Hypot(g.X-w.X, g.Y-w.Y) < 1e-7 }) {
				t.Errorf("trial %d: brute-force image %+v missing", trial, w)
			}
		}
	}
	if quads < 5 {
		t.Errorf("only %d quads among 40 trials: test has no power", quads)
	}
}

// TestImageFinderNearFold: a source a tiny distance inside a fold caustic
// has two bright images closer together than one tabulated direction; both
// are found (their magnifications are large and of opposite sign).
func TestImageFinderNearFold(t *testing.T) {
	m := Model{SIE: NewSIE(1, 0.6, 0, 0, 0)}
	var f ImageFinder
	f.Reset(m, 64) // coarse table: the pair sits within one step
	// Find the caustic along +y by bisection on the image count.
	lo, hi := 0.0, 1.0
	for it := 0; it < 60; it++ {
		mid := 0.5 * (lo + hi)
		var full ImageFinder
		full.Reset(m, 4096)
		if len(full.Images(0.003, mid, nil)) >= 4 {
			lo = mid
		} else {
			hi = mid
		}
	}
	for _, d := range []float64{1e-4, 1e-6} {
		got := f.Images(0.003, lo-d, nil)
		checkImages(t, m, 0.003, lo-d, got)
		if len(got) != 4 {
			t.Errorf("distance %g inside the fold: %d images, want 4: %+v", d, len(got), got)
		}
	}
}

func TestImageFinderAllocFree(t *testing.T) {
	m := Model{SIE: NewSIE(1, 0.7, 0.3, 0, 0), Shear: Shear{0.03, -0.02}}
	var f ImageFinder
	f.Reset(m, 0)
	buf := make([]Image, 0, 16)
	if a := testing.AllocsPerRun(50, func() {
		f.Reset(m, 0)
		buf = f.Images(0.02, 0.01, buf[:0])
	}); a != 0 {
		t.Errorf("%v allocations per Reset + Images", a)
	}
}

func BenchmarkImageFinder(b *testing.B) {
	m := Model{SIE: NewSIE(1, 0.7, 0.3, 0, 0), Shear: Shear{0.03, -0.02}}
	var f ImageFinder
	buf := make([]Image, 0, 16)
	b.Run("Reset", func(b *testing.B) {
		for b.Loop() {
			f.Reset(m, 0)
		}
	})
	f.Reset(m, 0)
	b.Run("Images", func(b *testing.B) {
		for b.Loop() {
			buf = f.Images(0.02, 0.01, buf[:0])
		}
	})
}

// TestRegionImagesMatchesImages: for sources within the region's radius,
// RegionImages returns exactly what the full scan returns, also for regions
// straddling caustics (sources near the lens centre).
func TestRegionImagesMatchesImages(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var f ImageFinder
	var all, reg []Image
	var scanned, total, straddle int
	for trial := 0; trial < 200; trial++ {
		te := 0.5 + r.Float64()
		q := 0.2 + 0.8*r.Float64()
		m := Model{SIE: NewSIE(te, q, math.Pi*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64()),
			Shear: Shear{0.05 * r.NormFloat64(), 0.05 * r.NormFloat64()}}
		f.Reset(m, 0)
		cx, cy := m.SIE.Center()
		rad := 0.3 * te * math.Sqrt(r.Float64())
		a := 2 * math.Pi * r.Float64()
		bx, by := cx+rad*math.Cos(a), cy+rad*math.Sin(a)
		reach := 0.1 * r.Float64()
		f.SetRegion(bx, by, reach)
		scanned += len(f.active)
		total += f.n
		counts := map[int]bool{}
		for s := 0; s < 30; s++ {
			d := reach * math.Sqrt(r.Float64())
			a := 2 * math.Pi * r.Float64()
			sx, sy := bx+d*math.Cos(a), by+d*math.Sin(a)
			all = f.Images(sx, sy, all[:0])
			reg = f.RegionImages(sx, sy, reg[:0])
			counts[len(all)] = true
			if len(all) != len(reg) {
				t.Fatalf("trial %d: full scan %d images %+v, region %d %+v", trial, len(all), all, len(reg), reg)
			}
			for _, w := range all {
				if !slices.ContainsFunc(reg, func(g Image) bool { return math.Hypot(g.X-w.X, g.Y-w.Y) < 1e-9 }) {
					t.Fatalf("trial %d: image %+v missing from the region scan", trial, w)
				}
			}
		}
		if len(counts) > 1 {
			straddle++
		}
	}
	t.Logf("region scans cover %.1f%% of the directions; %d of 200 regions straddle a caustic", 100*float64(scanned)/float64(total), straddle)
	if straddle < 10 {
		t.Errorf("only %d regions straddle a caustic: test has no power", straddle)
	}
}

// TestImageFinderSlope: the derivative of the bracket function f(phi) used
// by the root polish (evalD, and slope at the tabulated directions) matches
// a central finite difference of f, for SIE + shear lenses and the SIS.
func TestImageFinderSlope(t *testing.T) {
	var f ImageFinder
	worst := 0.0
	for _, q := range []float64{0.25, 0.6, 0.95, 1} {
		m := Model{SIE: NewSIE(1.3, q, 0.7, 0.05, -0.02), Shear: Shear{Gamma1: 0.06, Gamma2: -0.03}}
		f.Reset(m, 0)
		ox, oy := 0.11, -0.07
		for k := 0; k < f.n; k += 5 {
			phi := float64(k) * f.dphi
			fv, df, _, _, _ := f.evalD(phi, ox, oy)
			const h = 1e-6
			fp, _ := f.eval(phi+h, ox, oy)
			fm, _ := f.eval(phi-h, ox, oy)
			fd := (fp - fm) / (2 * h)
			e, _ := f.eval(phi, ox, oy)
			if fv != e {
				t.Fatalf("q=%g: evalD's f %v differs from eval's %v", q, fv, e)
			}
			worst = math.Max(worst, math.Abs(df-fd))
			if s := f.slope(k, ox, oy); math.Abs(s-df) > 1e-12 {
				t.Errorf("q=%g direction %d: tabulated slope %v, evalD %v", q, k, s, df)
			}
		}
	}
	t.Logf("largest |df/dphi - finite difference| %.2g", worst)
	if worst > 1e-8 {
		t.Errorf("df/dphi differs from the finite difference by %.3g", worst)
	}
}

// TestDeflectionOddTable: the SIE deflection at an offset is exactly odd
// (ImageFinder.Reset fills half its table from it), and Reset's table
// matches Deflection at the tabulated directions to rounding.
func TestDeflectionOddTable(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 2000; i++ {
		s := NewSIE(0.3+2*r.Float64(), 0.2+0.8*r.Float64(), 3*r.Float64(), 0.1*r.NormFloat64(), 0.1*r.NormFloat64())
		dx, dy := 3*r.NormFloat64(), 3*r.NormFloat64()
		ax, ay := s.deflectionAt(dx, dy)
		bx, by := s.deflectionAt(-dx, -dy)
		if bx != -ax || by != -ay {
			t.Fatalf("deflection at -d (%v, %v) is not minus that at d (%v, %v)", bx, by, ax, ay)
		}
	}
	var f ImageFinder
	m := Model{SIE: NewSIE(1.1, 0.45, 0.8, 0.03, 0.02), Shear: Shear{Gamma1: 0.04, Gamma2: 0.05}}
	f.Reset(m, 0)
	for k := 0; k < f.n; k++ {
		ax, ay := m.SIE.Deflection(f.cx+f.cs[k], f.cy+f.sn[k])
		if math.Abs(ax-f.ax[k]) > 1e-14 || math.Abs(ay-f.ay[k]) > 1e-14 {
			t.Fatalf("direction %d: table (%v, %v), Deflection (%v, %v)", k, f.ax[k], f.ay[k], ax, ay)
		}
		if math.Abs(math.Hypot(f.cs[k], f.sn[k])-1) > 1e-15 || math.Abs(math.Remainder(math.Atan2(f.sn[k], f.cs[k])-float64(k)*f.dphi, 2*math.Pi)) > 1e-14 {
			t.Fatalf("direction %d: (%v, %v) is not the unit vector at %v", k, f.cs[k], f.sn[k], float64(k)*f.dphi)
		}
	}
}
