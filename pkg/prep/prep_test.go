package prep

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

func testConfig(t *testing.T) Config {
	p, err := survey.LoadPreset("delve")
	if err != nil {
		t.Fatal(err)
	}
	c := NewConfig(p)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// noisyImage: sky level + Gaussian noise + a bright central blob and a
// contaminating source on the border.
func noisyImage(r *rand.Rand, nx, ny int, level, sigma float64, contaminate bool) []float32 {
	img := make([]float32, nx*ny)
	for y := 0; y < ny; y++ {
		for x := 0; x < nx; x++ {
			dx, dy := float64(x)-float64(nx-1)/2, float64(y)-float64(ny-1)/2
			v := level + sigma*r.NormFloat64() + 500*math.Exp(-(dx*dx+dy*dy)/8)
			if contaminate {
				ex, ey := float64(x-2), float64(y-10)
				v += 300 * math.Exp(-(ex*ex+ey*ey)/2)
			}
			img[y*nx+x] = float32(v)
		}
	}
	return img
}

// TestBackgroundRecovered: the clipped border median recovers a known sky
// level to within its statistical error, also with a star on the border.
func TestBackgroundRecovered(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, cont := range []bool{false, true} {
		var sum, sum2 float64
		const trials = 200
		for k := 0; k < trials; k++ {
			img := noisyImage(r, 48, 48, 7.5, 2, cont)
			st := Background(img, 48, 48, 4, 3, 5)
			sum += st.Level
			sum2 += st.Sigma
		}
		mean := sum / trials
		// The border has 672 pixels: the median's error is ~1.25*2/sqrt(672) ~ 0.1 per trial.
		if math.Abs(mean-7.5) > 0.05 {
			t.Errorf("contaminated=%v: mean background %.3f, want 7.5", cont, mean)
		}
		if s := sum2 / trials; math.Abs(s-2) > 0.1 {
			t.Errorf("contaminated=%v: mean sigma %.3f, want 2", cont, s)
		}
	}
}

// TestApplyLayoutAndStretch: output is NHWC, background-free, in asinh of
// nanomaggies; monotone in the input.
func TestApplyLayoutAndStretch(t *testing.T) {
	c := testConfig(t)
	nx, ny, nb := 16, 12, len(c.Bands)
	img := make([]float32, nb*nx*ny)
	for b := 0; b < nb; b++ {
		for k := 0; k < nx*ny; k++ {
			img[b*nx*ny+k] = 3 // flat sky only
		}
	}
	// One bright pixel in band 2 at (x=5, y=7).
	img[2*nx*ny+7*nx+5] = 103
	out, err := c.Apply(img, nx, ny, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range out {
		b, pix := k%nb, k/nb
		want := 0.0
		if b == 2 && pix == 7*nx+5 {
			want = math.Asinh(100 * math.Pow(10, 0.4*(22.5-c.ZeroPoints[2])) / c.Softening)
		}
		if math.Abs(float64(v)-want) > 1e-5*math.Max(1, want) {
			t.Fatalf("out[%d] (band %d pixel %d) = %g, want %g", k, b, pix, v, want)
		}
	}
	// Monotone.
	prev := math.Inf(-1)
	for _, x := range []float32{-10, -1, 0, 0.5, 5, 50, 5000} {
		for k := range img {
			img[k] = x
		}
		c2 := c
		c2.SubtractBackground = false
		o, err := c2.Apply(img, nx, ny, nil)
		if err != nil {
			t.Fatal(err)
		}
		if float64(o[0]) <= prev {
			t.Fatalf("stretch not monotone at %g", x)
		}
		prev = float64(o[0])
	}
}

func TestApplyErrors(t *testing.T) {
	c := testConfig(t)
	img := make([]float32, 4*10*10)
	img[17] = float32(math.NaN())
	if _, err := c.Apply(img, 10, 10, nil); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN pixel: %v", err)
	}
	if _, err := c.Apply(make([]float32, 3*100), 10, 10, nil); err == nil {
		t.Error("wrong band count accepted")
	}
	if _, err := c.Apply(make([]float32, 4*36), 6, 6, nil); err == nil {
		t.Error("cutout smaller than the border accepted")
	}
	if err := c.CheckBands([]string{"g", "r", "i"}, "x.fits"); err == nil || !strings.Contains(err.Error(), "x.fits") {
		t.Errorf("band mismatch: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	c := testConfig(t)
	path := filepath.Join(t.TempDir(), "prep.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Softening != c.Softening || len(got.Bands) != len(c.Bands) || got.ZeroPoints[3] != c.ZeroPoints[3] {
		t.Errorf("round trip: %+v vs %+v", got, c)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestMedianAbsDev: the merge gives exactly the median of the sorted
// absolute deviations, with ties, duplicates, odd and even counts.
func TestMedianAbsDev(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(60)
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(rng.NormFloat64()*4) / 2 // many ties
			if trial%2 == 0 {
				v[i] = rng.NormFloat64()
			}
		}
		slices.Sort(v)
		med := median(v)
		dev := make([]float64, n)
		for i, x := range v {
			dev[i] = math.Abs(x - med)
		}
		slices.Sort(dev)
		if got, want := medianAbsDev(v, med), median(dev); got != want {
			t.Fatalf("%v: medianAbsDev %v, sorted deviations give %v", v, got, want)
		}
	}
}

// TestSkyNoise: the default softening is the measured scatter of blank
// simulated pixels (geometric mean over the bands, median conditions,
// nanomaggies), for the physical and the deeplenstronomy noise models, and
// the delve-seed images are over 100 times less noisy than DELVE's.
func TestSkyNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	got := map[string]float64{}
	for _, name := range []string{"delve", "delve-seed", "des"} {
		p, err := survey.LoadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		const n = 40000
		model := make([]float64, n)
		img, variance := make([]float32, n), make([]float32, n)
		logSum := 0.0
		for i, c := range p.MedianConditions() {
			b := &p.Bands[i]
			p.AddNoise(r, b, model, c, img, variance)
			var s2 float64
			for _, v := range img {
				s2 += float64(v) * float64(v)
			}
			logSum += math.Log(math.Sqrt(s2/n) * math.Pow(10, 0.4*(22.5-b.ZeroPoint)))
		}
		measured := math.Exp(logSum / float64(len(p.Bands)))
		got[name] = SkyNoise(p)
		// Two significant digits and 40,000 pixels a band: within 3%.
		if math.Abs(got[name]/measured-1) > 0.03 {
			t.Errorf("%s: SkyNoise %g, blank pixels scatter %g nanomaggies", name, got[name], measured)
		}
		if c := NewConfig(p); c.Softening != got[name] {
			t.Errorf("%s: default softening %g, want SkyNoise %g", name, c.Softening, got[name])
		}
	}
	if got["delve"]/got["delve-seed"] < 100 {
		t.Errorf("delve-seed pixel noise %g is not ~5 mag below delve's %g", got["delve-seed"], got["delve"])
	}
}
