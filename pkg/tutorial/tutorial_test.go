package tutorial

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/palette/moreland"

	"github.com/lenssbi/lenssbi/pkg/flows"
	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
)

// TestContourCircle: the zero contour of x^2 + y^2 - r^2 is one closed line
// whose points lie on the circle to within the interpolation error.
func TestContourCircle(t *testing.T) {
	const r = 0.7
	g, err := SampleGrid(func(x, y float64) float64 { return x*x + y*y - r*r }, 81, 61, -1, 1, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	lines := g.Contour(0)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	l := lines[0]
	if l[0] != l[len(l)-1] {
		t.Errorf("line not closed: %v ... %v", l[0], l[len(l)-1])
	}
	maxErr, length := 0.0, 0.0
	for k, p := range l {
		maxErr = math.Max(maxErr, math.Abs(math.Hypot(p.X, p.Y)-r))
		if k > 0 {
			length += math.Hypot(p.X-l[k-1].X, p.Y-l[k-1].Y)
		}
	}
	if maxErr > 1e-3 {
		t.Errorf("points off the circle by up to %.2g", maxErr)
	}
	if math.Abs(length-2*math.Pi*r) > 0.01 {
		t.Errorf("length %.4f, want %.4f", length, 2*math.Pi*r)
	}
}

// TestContourOpenAndSaddle: two lines crossing the grid (x y = 0.1 has two
// branches) come back as two open lines, and an exact saddle at a cell does
// not merge them.
func TestContourOpenAndSaddle(t *testing.T) {
	g, err := SampleGrid(func(x, y float64) float64 { return x * y }, 40, 40, -1, 1, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	lines := g.Contour(0.1)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for _, l := range lines {
		if l[0] == l[len(l)-1] {
			t.Errorf("hyperbola branch closed")
		}
		for _, p := range l {
			if math.Abs(p.X*p.Y-0.1) > 5e-3 {
				t.Fatalf("point %v off the hyperbola", p)
			}
		}
	}
	if g.Contour(5) != nil {
		t.Errorf("contour above the maximum is not empty")
	}
}

// TestCriticalCurveSIE: without shear the tangential critical curve of the
// SIE is the ellipse q x'^2 + y'^2/q = thetaE^2, and the caustic of a
// singular isothermal sphere collapses to its centre.
func TestCriticalCurveSIE(t *testing.T) {
	const thetaE, q, phi = 1.2, 0.6, 0.4
	m := lensing.Model{SIE: lensing.NewSIE(thetaE, q, phi, 0.1, -0.2)}
	curves, err := CriticalCurves(m, 2.5, 201)
	if err != nil {
		t.Fatal(err)
	}
	if len(curves) != 1 {
		t.Fatalf("%d critical curves, want 1", len(curves))
	}
	c, s := math.Cos(phi), math.Sin(phi)
	for _, p := range curves[0] {
		dx, dy := p.X-0.1, p.Y+0.2
		x, y := c*dx+s*dy, -s*dx+c*dy
		if r := math.Sqrt(q*x*x + y*y/q); math.Abs(r-thetaE) > 2e-3 {
			t.Fatalf("critical point %v at elliptical radius %.4f, want %g", p, r, thetaE)
		}
	}
	sis := lensing.Model{SIE: lensing.NewSIE(thetaE, 1, 0, 0, 0)}
	curves, err = CriticalCurves(sis, 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Caustics(sis, curves)[0] {
		if math.Hypot(p.X, p.Y) > 1e-3 {
			t.Fatalf("SIS caustic point %v is not at the centre", p)
		}
	}
	// The SIS cut is the circle of radius thetaE.
	for _, p := range Cut(sis, 64) {
		if math.Abs(math.Hypot(p.X, p.Y)-thetaE) > 1e-6 {
			t.Fatalf("SIS cut point %v not on the Einstein circle", p)
		}
	}
}

// TestCausticSourcesGainImages: a source just inside the tangential caustic
// of an SIE + shear has two more images than one just outside.
func TestCausticSourcesGainImages(t *testing.T) {
	m := lensing.Model{SIE: lensing.NewSIE(1, 0.7, 0.3, 0, 0), Shear: lensing.ShearFromPolar(0.05, 1)}
	curves, err := CriticalCurves(m, 2.5, 300)
	if err != nil {
		t.Fatal(err)
	}
	ca := Caustics(m, curves)[0]
	var f lensing.ImageFinder
	f.Reset(m, 0)
	checked := 0
	for k := 0; k < len(ca)-1; k += len(ca) / 12 {
		p := ca[k]
		r := math.Hypot(p.X, p.Y)
		in := f.Images(p.X*(1-0.03), p.Y*(1-0.03), nil)
		out := f.Images(p.X*(1+0.03), p.Y*(1+0.03), nil)
		if r < 0.05 {
			continue // too close to the centre to tell inside from outside
		}
		if len(in) != len(out)+2 {
			t.Errorf("caustic point %v: %d images inside, %d outside", p, len(in), len(out))
		}
		checked++
	}
	if checked < 6 {
		t.Errorf("only %d caustic points checked", checked)
	}
}

// TestLensedImageConservesSurfaceBrightness: with no lens the lensed image is
// the source itself, and its pixel sum is the source flux.
func TestLensedImageConservesSurfaceBrightness(t *testing.T) {
	src := light.NewSersic(10, 0.3, 1, 0.8, 0.2, 0.1, 0)
	img := LensedImage(lensing.Model{}, src, 40, 0.1, 4)
	sum := 0.0
	for _, v := range img {
		sum += v
	}
	if math.Abs(sum-10) > 0.05 {
		t.Errorf("unlensed flux %.4f, want 10", sum)
	}
	// A lens magnifies the total flux of a compact source near its centre.
	lensed := LensedImage(lensing.Model{SIE: lensing.NewSIE(1, 0.8, 0, 0, 0)}, light.NewSersic(10, 0.1, 1, 1, 0, 0.05, 0), 80, 0.05, 3)
	ls := 0.0
	for _, v := range lensed {
		ls += v
	}
	if !(ls > 3*10) {
		t.Errorf("lensed flux %.3f of a compact central source is not strongly magnified", ls)
	}
}

// TestColorImage: values map to the colour map's ends and rows are flipped.
func TestColorImage(t *testing.T) {
	v := []float64{0, 0, 1, math.NaN()} // row 0: 0 0, row 1: 1 NaN
	img, err := ColorImage(v, 2, 2, 0, 1, moreland.ExtendedBlackBody())
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := img.RGBAAt(0, 1), img.RGBAAt(0, 0) // picture row 1 = array row 0
	if lum(lo) >= lum(hi) {
		t.Errorf("low value %v not darker than high value %v", lo, hi)
	}
	if a := img.RGBAAt(1, 0).A; a != 0 {
		t.Errorf("NaN pixel alpha %d, want 0", a)
	}
	if _, err := ColorImage(v, 2, 2, 1, 1, moreland.ExtendedBlackBody()); err == nil {
		t.Error("empty range accepted")
	}
}

func lum(c interface{ RGBA() (r, g, b, a uint32) }) float64 {
	r, g, b, _ := c.RGBA()
	return 0.3*float64(r) + 0.6*float64(g) + 0.1*float64(b)
}

// TestSplineKnots: the graph spline passes through the knots computed on the
// host, its slope there matches, and the inverse undoes it.
func TestSplineKnots(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const k, bound = 6, 3.0
	w, h, d := make([]float64, k), make([]float64, k), make([]float64, k-1)
	for i := range k {
		w[i], h[i] = rng.NormFloat64(), rng.NormFloat64()
		if i < k-1 {
			d[i] = rng.NormFloat64()
		}
	}
	xk, yk, dk, err := SplineKnots(w, h, d, bound)
	if err != nil {
		t.Fatal(err)
	}
	y, lad, err := EvalSpline(xk, w, h, d, bound, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range xk {
		if math.Abs(y[i]-yk[i]) > 1e-9 {
			t.Errorf("knot %d: s(%g) = %g, want %g", i, xk[i], y[i], yk[i])
		}
		if i > 0 && i < k && math.Abs(math.Exp(lad[i])-dk[i]) > 1e-6 {
			t.Errorf("knot %d: slope %g, want %g", i, math.Exp(lad[i]), dk[i])
		}
	}
	xs := []float64{-4, -2.5, -1, 0, 0.3, 1.7, 2.9, 5}
	ys, _, err := EvalSpline(xs, w, h, d, bound, false)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := EvalSpline(ys, w, h, d, bound, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range xs {
		if math.Abs(back[i]-xs[i]) > 1e-9 {
			t.Errorf("inverse(s(%g)) = %g", xs[i], back[i])
		}
	}
	if ys[0] != -4 || ys[len(ys)-1] != 5 {
		t.Errorf("tails are not the identity: %g, %g", ys[0], ys[len(ys)-1])
	}
}

// TestFlowFitSaveLoad: a small conditional flow learns x | c ~ N(c, 0.5^2)
// (KL well below the untrained value), and a saved and reloaded flow gives
// the same log densities.
func TestFlowFitSaveLoad(t *testing.T) {
	cfg := flows.DefaultConfig(1)
	cfg.Transforms, cfg.Hidden = 2, 16
	f, err := NewFlow(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(rng *rand.Rand, n int) ([]float64, []float64) {
		c, x := make([]float64, n), make([]float64, n)
		for i := range n {
			c[i] = 2*rng.Float64() - 1
			x[i] = c[i] + 0.5*rng.NormFloat64()
		}
		return c, x
	}
	logP := func(c, x float64) float64 {
		z := (x - c) / 0.5
		return -0.5*z*z - math.Log(0.5) - 0.5*math.Log(2*math.Pi)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	kl := func(f *Flow) float64 {
		c, x := draw(rand.New(rand.NewPCG(9, 9)), 2000)
		lq, err := f.LogProb(c, x, len(x))
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i := range x {
			s += logP(c[i], x[i]) - lq[i]
		}
		return s / float64(len(x))
	}
	kl0 := kl(f)
	if _, err := f.Fit(rng, draw, 300, 128, 1e-2, nil); err != nil {
		t.Fatal(err)
	}
	kl1 := kl(f)
	t.Logf("KL %.3f -> %.4f nats", kl0, kl1)
	if !(kl1 < 0.03 && kl0 > 0.2) {
		t.Errorf("KL %.3f -> %.4f: want untrained > 0.2 and trained < 0.03", kl0, kl1)
	}
	s, err := f.Sample([]float64{0.5}, 1, 2000, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range s {
		mean += v / float64(len(s))
	}
	if math.Abs(mean-0.5) > 0.06 {
		t.Errorf("sample mean %.3f for context 0.5, want 0.5", mean)
	}
	path := filepath.Join(t.TempDir(), "flow.gob")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := LoadFlow(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := kl(f), kl(g); a != b {
		t.Errorf("reloaded flow differs: KL %v vs %v", a, b)
	}
	if _, err := LoadFlow(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestFlowUnconditional: an unconditional 2-D flow trains and samples.
func TestFlowUnconditional(t *testing.T) {
	cfg := flows.DefaultConfig(2)
	cfg.Transforms, cfg.Hidden = 2, 16
	f, err := NewFlow(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(rng *rand.Rand, n int) ([]float64, []float64) {
		x := make([]float64, 2*n)
		for i := range n {
			x[2*i], x[2*i+1] = 1+0.5*rng.NormFloat64(), -1+0.3*rng.NormFloat64()
		}
		return nil, x
	}
	losses, err := f.Fit(rand.New(rand.NewPCG(1, 1)), draw, 150, 128, 1e-2, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Entropy of the target: sum of log(sigma sqrt(2 pi e)).
	h := math.Log(0.5*math.Sqrt(2*math.Pi*math.E)) + math.Log(0.3*math.Sqrt(2*math.Pi*math.E))
	last := 0.0
	for _, l := range losses[len(losses)-20:] {
		last += l / 20
	}
	if !(last < h+0.1) || !(losses[0] > h+0.5) {
		t.Errorf("loss %.3f -> %.3f, target entropy %.3f", losses[0], last, h)
	}
	s, err := f.Sample(nil, 1, 500, rand.New(rand.NewPCG(2, 2)))
	if err != nil || len(s) != 1000 {
		t.Fatalf("sample: %d values, %v", len(s), err)
	}
	if _, err := f.Sample(nil, 2, 10, rand.New(rand.NewPCG(2, 2))); err == nil {
		t.Error("unconditional flow sampled for 2 contexts")
	}
}
