package plot

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// flat returns a slice of n copies of v.
func flat(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// unitScales is DefaultLupton with equal band weights.
func unitScales(q, stretch float64) LuptonOptions {
	return LuptonOptions{Q: q, Stretch: stretch, Scales: [3]float64{1, 1, 1}}
}

// onePixel composites a single pixel.
func onePixel(t *testing.T, r, g, b float32, opt LuptonOptions) [3]uint8 {
	t.Helper()
	img, err := Composite([]float32{r}, []float32{g}, []float32{b}, 1, 1, opt)
	if err != nil {
		t.Fatal(err)
	}
	p := img.Pix
	if p[3] != 255 {
		t.Fatalf("alpha = %d, want 255", p[3])
	}
	return [3]uint8{p[0], p[1], p[2]}
}

func TestCompositeZeroIsBlack(t *testing.T) {
	const nx, ny = 7, 5
	z := flat(nx*ny, 0)
	img, err := Composite(z, z, z, nx, ny, DefaultLupton())
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, nx, ny) {
		t.Fatalf("bounds %v, want %dx%d", got, nx, ny)
	}
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 0 || img.Pix[i+1] != 0 || img.Pix[i+2] != 0 || img.Pix[i+3] != 255 {
			t.Fatalf("pixel %d = %v, want opaque black", i/4, img.Pix[i:i+4])
		}
	}
	// Negative (below-sky) and non-finite pixels are black too.
	for _, v := range []float32{-3, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		if p := onePixel(t, v, v, v, DefaultLupton()); p != [3]uint8{} {
			t.Errorf("pixel value %v -> %v, want black", v, p)
		}
	}
}

func TestCompositeGreyAndAnalytic(t *testing.T) {
	// Equal bands with equal weights give R = G = B = 255 f(I) with
	// f(I) = asinh(Q I/Stretch)/asinh(Q).
	const q, stretch = 8.0, 10.0
	for _, v := range []float32{0.01, 0.3, 2, 7, 9.99} {
		p := onePixel(t, v, v, v, unitScales(q, stretch))
		if p[0] != p[1] || p[1] != p[2] {
			t.Errorf("equal bands %v -> %v, want grey", v, p)
		}
		want := 255 * math.Asinh(q*float64(v)/stretch) / math.Asinh(q)
		if math.Abs(float64(p[0])-want) > 0.5+1e-9 {
			t.Errorf("grey level of %v = %d, want %.2f", v, p[0], want)
		}
	}
	// I = Stretch is exactly white, whatever Q.
	for _, q := range []float64{0, 1e-9, 0.5, 8, 100} {
		if p := onePixel(t, 10, 10, 10, unitScales(q, stretch)); p != [3]uint8{255, 255, 255} {
			t.Errorf("Q=%v: I = Stretch -> %v, want white", q, p)
		}
	}
	// With the default, unequal weights, bands inversely proportional to the
	// weights are grey.
	o := DefaultLupton()
	p := onePixel(t, float32(5/o.Scales[0]), float32(5/o.Scales[1]), float32(5/o.Scales[2]), o)
	if p[0] != p[1] || p[1] != p[2] || p[0] == 0 {
		t.Errorf("balanced bands -> %v, want a non-black grey", p)
	}
}

func TestCompositeLinearLimit(t *testing.T) {
	// Q = 0: channel = X / Stretch.
	p := onePixel(t, 12, 24, 36, unitScales(0, 60))
	want := [3]uint8{51, 102, 153}
	if p != want {
		t.Errorf("linear mapping: %v, want %v", p, want)
	}
	// Minimum and Scales: X_b = s_b (x_b - m_b).
	o := LuptonOptions{Stretch: 10, Minimum: [3]float64{1, 2, 3}, Scales: [3]float64{2, 1, 0.5}}
	p = onePixel(t, 3, 6, 15, o) // X = (4, 4, 6) -> 102, 102, 153
	if want := [3]uint8{102, 102, 153}; p != want {
		t.Errorf("minimum and scales: %v, want %v", p, want)
	}
}

func TestCompositeMonotone(t *testing.T) {
	opt := DefaultLupton()
	colours := [][3]float32{{1, 1, 1}, {3, 1, 0.2}, {0.1, 0.5, 2}, {1, 0, 0}, {2, -0.3, 1}}
	for _, c := range colours {
		var prev [3]uint8
		prevSum := -1
		for k := 0; k <= 400; k++ {
			s := float32(math.Pow(10, -3+float64(k)*0.0125)) // 1e-3 .. 1e2 x
			p := onePixel(t, s*c[0], s*c[1], s*c[2], opt)
			sum := int(p[0]) + int(p[1]) + int(p[2])
			for b := range 3 {
				if p[b] < prev[b] {
					t.Fatalf("colour %v: channel %d fell from %d to %d at scale %g", c, b, prev[b], p[b], s)
				}
			}
			if sum < prevSum {
				t.Fatalf("colour %v: brightness fell at scale %g", c, s)
			}
			prev, prevSum = p, sum
		}
		if prevSum == 0 {
			t.Errorf("colour %v never became visible", c)
		}
	}
}

func TestCompositeSaturationKeepsHue(t *testing.T) {
	opt := unitScales(8, 1)
	for _, s := range []float32{10, 1e3, 1e6} {
		p := onePixel(t, 5*s, 2*s, s, opt)
		if p[0] != 255 {
			t.Fatalf("scale %g: %v, want red channel saturated at 255", s, p)
		}
		if p[1] != 102 || p[2] != 51 {
			t.Errorf("scale %g: %v, want hue 5:2:1 kept as 255:102:51", s, p)
		}
	}
}

func TestCompositeFlipsY(t *testing.T) {
	const nx, ny = 3, 4
	r, g, b := flat(nx*ny, 0), flat(nx*ny, 0), flat(nx*ny, 0)
	// Bright pixel at array (x=1, y=0): bottom row of the picture.
	r[0*nx+1], g[0*nx+1], b[0*nx+1] = 100, 100, 100
	// Dim red pixel at array (x=2, y=3): top row of the picture.
	r[3*nx+2] = 1
	img, err := Composite(r, g, b, nx, ny, unitScales(8, 10))
	if err != nil {
		t.Fatal(err)
	}
	for y := range ny {
		for x := range nx {
			c := img.RGBAAt(x, y)
			bright := c.R > 0 || c.G > 0 || c.B > 0
			switch {
			case x == 1 && y == ny-1:
				if c.R != 255 || c.G != 255 || c.B != 255 {
					t.Errorf("image (1,%d) = %v, want the white pixel of array row 0", y, c)
				}
			case x == 2 && y == 0:
				if c.R == 0 || c.G != 0 || c.B != 0 {
					t.Errorf("image (2,0) = %v, want the red pixel of array row 3", c)
				}
			case bright:
				t.Errorf("image (%d,%d) = %v, want black", x, y, c)
			}
		}
	}
}

func TestCompositeErrors(t *testing.T) {
	ok := flat(6, 1)
	cases := []struct {
		name    string
		r, g, b []float32
		nx, ny  int
		opt     LuptonOptions
		wantErr string
	}{
		{"short blue", ok, ok, ok[:5], 3, 2, DefaultLupton(), "band 2 (blue) has 5 pixels"},
		{"long red", append(ok, 1), ok, ok, 3, 2, DefaultLupton(), "band 0 (red) has 7 pixels"},
		{"zero width", ok, ok, ok, 0, 2, DefaultLupton(), "image size 0x2"},
		{"negative height", ok, ok, ok, 3, -2, DefaultLupton(), "image size 3x-2"},
		{"zero options", ok, ok, ok, 3, 2, LuptonOptions{}, "Stretch = 0"},
		{"zero scales", ok, ok, ok, 3, 2, LuptonOptions{Q: 1, Stretch: 1}, "all Scales are 0"},
		{"negative Q", ok, ok, ok, 3, 2, LuptonOptions{Q: -1, Stretch: 1, Scales: [3]float64{1, 1, 1}}, "Q = -1"},
		{"NaN minimum", ok, ok, ok, 3, 2, LuptonOptions{Stretch: 1, Minimum: [3]float64{0, math.NaN(), 0}, Scales: [3]float64{1, 1, 1}}, "Minimum[1]"},
		{"negative scale", ok, ok, ok, 3, 2, LuptonOptions{Stretch: 1, Scales: [3]float64{1, 1, -1}}, "Scales[2]"},
	}
	for _, c := range cases {
		img, err := Composite(c.r, c.g, c.b, c.nx, c.ny, c.opt)
		if err == nil || img != nil {
			t.Errorf("%s: got (%v, %v), want an error", c.name, img != nil, err)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.wantErr)
		}
	}
}

func TestAutoLupton(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 48 * 48
	const sigma = 2.0 // per band; I = mean of 3 bands has sigma/sqrt(3)
	peaks := []float32{50, 80, 100, 120, 400}
	var cuts [][3][]float32
	for _, pk := range peaks {
		var c [3][]float32
		for b := range 3 {
			c[b] = make([]float32, n)
			for i := range c[b] {
				c[b][i] = float32(sigma * rng.NormFloat64())
			}
			// A bright 4x4 block: its 5th brightest I is ~pk.
			for y := 20; y < 24; y++ {
				for x := 20; x < 24; x++ {
					c[b][y*48+x] += pk
				}
			}
		}
		cuts = append(cuts, c)
	}
	base := unitScales(8, 1)
	got, err := AutoLupton(base, cuts...)
	if err != nil {
		t.Fatal(err)
	}
	// Median peak is 100; the 5th brightest of 16 noisy pixels is within ~sigma of it.
	if math.Abs(got.Stretch-1.5*100) > 3 {
		t.Errorf("Stretch = %.2f, want ~150 (1.5 x median cutout peak)", got.Stretch)
	}
	wantQ := got.Stretch / (6 * sigma / math.Sqrt(3))
	if math.Abs(got.Q/wantQ-1) > 0.06 {
		t.Errorf("Q = %.2f, want Stretch/(6 sigma_I) = %.2f", got.Q, wantQ)
	}
	if got.Scales != base.Scales || got.Minimum != base.Minimum {
		t.Errorf("AutoLupton changed Scales/Minimum: %+v", got)
	}
	// Scaling the data by k scales Stretch by k and keeps Q.
	for _, c := range cuts {
		for b := range 3 {
			for i := range c[b] {
				c[b][i] *= 10
			}
		}
	}
	got10, err := AutoLupton(base, cuts...)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got10.Stretch/got.Stretch-10) > 1e-4 || math.Abs(got10.Q/got.Q-1) > 1e-4 {
		t.Errorf("x10 data: Stretch %.3f -> %.3f, Q %.3f -> %.3f; want x10 and unchanged",
			got.Stretch, got10.Stretch, got.Q, got10.Q)
	}

	// Noiseless data clamp Q at the maximum; all-zero data keep the base.
	smooth := [3][]float32{flat(n, 0), flat(n, 0), flat(n, 0)}
	for b := range 3 {
		for i := range n {
			x, y := float64(i%48-24), float64(i/48-24)
			smooth[b][i] = float32(100 * math.Exp(-(x*x+y*y)/50))
		}
	}
	if o, err := AutoLupton(base, smooth); err != nil || o.Q != autoQMax {
		t.Errorf("noiseless cutout: Q = %v (err %v), want clamp %v", o.Q, err, autoQMax)
	}
	zero := [3][]float32{flat(n, 0), flat(n, 0), flat(n, 0)}
	if o, err := AutoLupton(base, zero); err != nil || o != base {
		t.Errorf("all-zero cutout: %+v (err %v), want base options unchanged", o, err)
	}

	// Errors.
	if _, err := AutoLupton(base); err == nil {
		t.Error("no cutouts: want an error")
	}
	bad := [3][]float32{flat(n, 1), flat(n-1, 1), flat(n, 1)}
	if _, err := AutoLupton(base, smooth, bad); err == nil || !strings.Contains(err.Error(), "cutout 1") {
		t.Errorf("mismatched bands: error %v, want one naming cutout 1", err)
	}
	if _, err := AutoLupton(LuptonOptions{}, smooth); err == nil {
		t.Error("invalid base options: want an error")
	}
}

func BenchmarkComposite48(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 48 * 48
	var bands [3][]float32
	for k := range bands {
		bands[k] = make([]float32, n)
		for i := range bands[k] {
			bands[k][i] = float32(5 * rng.NormFloat64())
		}
	}
	opt := DefaultLupton()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Composite(bands[0], bands[1], bands[2], 48, 48, opt); err != nil {
			b.Fatal(err)
		}
	}
}
