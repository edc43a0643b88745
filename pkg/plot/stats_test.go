package plot

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
)

func TestQuantileSorted(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {1, 5}, {0.5, 3}, {0.25, 2}, {0.1, 1.4}} {
		if got := quantileSorted(s, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	// The 68% interval of a large normal sample is ±1 sigma.
	r := rand.New(rand.NewPCG(1, 1))
	v := make([]float64, 200000)
	for i := range v {
		v[i] = 3 + 2*r.NormFloat64()
	}
	c := summarize(sortedCopy(v))
	if math.Abs(c.med-3) > 0.02 || math.Abs(c.lo-1) > 0.03 || math.Abs(c.hi-5) > 0.03 {
		t.Errorf("N(3, 2) interval %+v, want 1, 3, 5", c)
	}
}

// TestKDE checks the density estimate of a normal sample: it integrates
// to one over a wide range and is close to the true density at the peak
// (Silverman's bandwidth widens a unit normal by sqrt(1 + h^2)).
func TestKDE(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	v := make([]float64, 50000)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	s := sortedCopy(v)
	h := silverman(s)
	if want := 0.9 * math.Pow(50000, -0.2); math.Abs(h/want-1) > 0.03 {
		t.Errorf("bandwidth %v, want about %v", h, want)
	}
	xs, ys := kde(s, h, -6, 6, 601)
	var integral float64
	for i := 1; i < len(xs); i++ {
		integral += 0.5 * (ys[i] + ys[i-1]) * (xs[i] - xs[i-1])
	}
	if math.Abs(integral-1) > 2e-3 {
		t.Errorf("KDE integrates to %v, want 1", integral)
	}
	peak := ys[300]
	want := 1 / math.Sqrt(2*math.Pi*(1+h*h))
	if math.Abs(peak/want-1) > 0.02 {
		t.Errorf("KDE at 0 = %v, want %v", peak, want)
	}
}

// TestHPDLevels checks the highest-density thresholds of a smoothed 2-D
// histogram of a standard normal: the 68% and 95% regions are disks of
// radius sqrt(-2 ln(1-p)) = 1.51 and 2.45 sigma.
func TestHPDLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	n := 200000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	g := hist2d(x, y, 60, 60, -5, 5, -5, 5)
	g.smooth(1)
	lv := hpdLevels(g.z, []float64{0.68, 0.95})
	if !(lv[0] > lv[1]) {
		t.Fatalf("levels %v: the 68%% threshold must exceed the 95%% one", lv)
	}
	for k, p := range []float64{0.68, 0.95} {
		// Area of the super-level set versus the analytic disk.
		var cells int
		for _, z := range g.z {
			if z >= lv[k] {
				cells++
			}
		}
		area := float64(cells) * g.dx * g.dy
		rad := math.Sqrt(-2 * math.Log(1-p))
		want := math.Pi * rad * rad
		// Smoothing by one bin (1/6 sigma) widens the disk by ~1.4%.
		if math.Abs(area/want-1) > 0.06 {
			t.Errorf("%.0f%% region area %.2f, want about %.2f", 100*p, area, want)
		}
	}
}

func TestRSquared(t *testing.T) {
	tr := []float64{1, 2, 3, 4}
	if got := rSquared(tr, tr); got != 1 {
		t.Errorf("perfect prediction R^2 = %v", got)
	}
	if got := rSquared(tr, []float64{2.5, 2.5, 2.5, 2.5}); math.Abs(got) > 1e-12 {
		t.Errorf("mean prediction R^2 = %v, want 0", got)
	}
	// 1 - (0.25*4)/5 = 0.8
	if got := rSquared(tr, []float64{1.5, 2.5, 2.5, 3.5}); math.Abs(got-0.8) > 1e-12 {
		t.Errorf("R^2 = %v, want 0.8", got)
	}
	if got := rSquared([]float64{2, 2}, []float64{1, 3}); !math.IsNaN(got) {
		t.Errorf("constant targets: R^2 = %v, want NaN", got)
	}
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		want   []string
	}{
		{0, 1, 5, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{1.08, 1.52, 5, []string{"1.1", "1.2", "1.3", "1.4", "1.5"}},
		{0, 10.4, 5, []string{"0.0", "2.5", "5.0", "7.5", "10.0"}},
		{185, 290, 5, []string{"200", "225", "250", "275"}},
		{185, 290, 4, []string{"200", "250"}},
		{-0.5, 0.5, 4, []string{"−0.50", "−0.25", "0.00", "0.25", "0.50"}},
		{0, 100, 3, []string{"0", "50", "100"}},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (niceTicks{N: c.n}).Ticks(c.lo, c.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ticks(%v, %v) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}

func TestParseScripts(t *testing.T) {
	type sg = segment
	cases := []struct {
		in   string
		want []segment
	}{
		{"θ_E [arcsec]", []sg{{s: "θ"}, {s: "E", kind: segSub}, {s: " [arcsec]"}}},
		{"z_{lens}", []sg{{s: "z"}, {s: "lens", kind: segSub}}},
		{"1.2^{+0.1}_{−0.2} km", []sg{{s: "1.2"}, {s: "+0.1", kind: segSup}, {s: "−0.2", kind: segSub, stacked: true}, {s: " km"}}},
		{`a\_b`, []sg{{s: "a_b"}}},
		{"x_{open", []sg{{s: "x_{open"}}},
		{"end_", []sg{{s: "end_"}}},
		{"R^2", []sg{{s: "R"}, {s: "2", kind: segSup}}},
	}
	for _, c := range cases {
		if got := parseScripts(c.in); !slices.Equal(got, c.want) {
			t.Errorf("parseScripts(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if got := ParamFor("THETA_E", "arcsec").Label(); got != "θ_E [arcsec]" {
		t.Errorf("ParamFor(THETA_E) label %q", got)
	}
	if got := ParamFor("MY_COL", "").Symbol; got != `MY\_COL` {
		t.Errorf("unknown column symbol %q, want the underscore escaped", got)
	}
}

// TestScriptTextBox checks the text metrics of the sub/superscript handler.
func TestScriptTextBox(t *testing.T) {
	fnt := DefaultStyle().Font
	fnt.Size = 20
	h := handler
	face := font.DefaultCache.Lookup(fnt, 20)
	plainW, _, _ := h.Box("θE", fnt)
	if want := face.Width("θE"); math.Abs(float64(plainW-want)) > 1e-9 {
		t.Errorf("plain width %v, want %v", plainW, want)
	}
	subW, _, subD := h.Box("θ_E", fnt)
	if !(subW < plainW) {
		t.Errorf("width of θ_E %v not below θE %v: subscript not reduced", subW, plainW)
	}
	_, _, plainD := h.Box("θE", fnt)
	if !(subD > plainD) {
		t.Errorf("subscript depth %v not below the baseline depth %v", subD, plainD)
	}
	// Stacked scripts take the width of the wider one.
	w1, _, _ := h.Box("1^{+0.25}", fnt)
	w2, _, _ := h.Box("1^{+0.25}_{−0.1}", fnt)
	if math.Abs(float64(w1-w2)) > 1e-9 {
		t.Errorf("stacked scripts widen the text: %v vs %v", w2, w1)
	}
	if lines := h.Lines("a\nb\n"); len(lines) != 2 || strings.Join(lines, "|") != "a|b" {
		t.Errorf("Lines = %q", lines)
	}
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	cases := []struct {
		lo, hi float64
		want   []string
	}{
		{1e-6, 1e-2, []string{"10^{−6}", "10^{−5}", "10^{−4}", "10^{−3}", "10^{−2}"}},
		{0.15, 3, []string{"0.2", "0.5", "1", "2"}},
		{1.5e-4, 9e-4, []string{"2×10^{−4}", "3×10^{−4}", "5×10^{−4}"}},
	}
	for _, c := range cases {
		if got := labels(c.lo, c.hi); !slices.Equal(got, c.want) {
			t.Errorf("log ticks(%v, %v) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}
