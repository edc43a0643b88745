package photometry

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestDeflectorColoursEmbedded(t *testing.T) {
	tab, err := DeflectorColours()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tab.Bands(), " "); got != "g r i z" {
		t.Fatalf("bands %q, want g r i z", got)
	}
	if lo, hi := tab.ZRange(); lo != 0 || hi != 3 {
		t.Errorf("z range [%v, %v], want [0, 3]", lo, hi)
	}
	// c_r(0) = 0 by definition.
	if c, _ := tab.Colour("r", 0); c != 0 {
		t.Errorf("c_r(0) = %v, want 0", c)
	}
	// Published sanity values (PHYSICS.md 4): g-r = c_r - c_g, r-i = c_i - c_r.
	for _, w := range []struct{ z, gr, ri float64 }{{0, 0.83, 0.33}, {0.3, 1.74, 0.59}, {0.5, 2.06, 0.87}} {
		cg, _ := tab.Colour("g", w.z)
		cr, _ := tab.Colour("r", w.z)
		ci, _ := tab.Colour("i", w.z)
		if gr, ri := cr-cg, ci-cr; math.Abs(gr-w.gr) > 0.05 || math.Abs(ri-w.ri) > 0.05 {
			t.Errorf("z=%v: g-r=%.3f r-i=%.3f, want ~%v ~%v", w.z, gr, ri, w.gr, w.ri)
		}
	}
	// Early types redden in g-r from z=0 to z=0.5 (the 4000 A break moves through g).
	prev := math.Inf(-1)
	for z := 0.0; z <= 0.5; z += 0.05 {
		cg, _ := tab.Colour("g", z)
		cr, _ := tab.Colour("r", z)
		if cr-cg < prev-0.02 {
			t.Errorf("g-r decreases at z=%.1f: %.3f after %.3f", z, cr-cg, prev)
		}
		prev = cr - cg
	}
	if _, err := tab.Colour("u", 0.5); err == nil {
		t.Error("unknown band: no error")
	}
	for _, z := range []float64{-0.01, 3.01, math.NaN(), math.Inf(1)} {
		if _, err := tab.Colour("g", z); err == nil {
			t.Errorf("z=%v: no error", z)
		}
	}
	// Colours agrees with Colour; ApparentMagnitude applies m = M_r + DM - c.
	dst := make([]float64, 4)
	if err := tab.Colours(0.7, dst); err != nil {
		t.Fatal(err)
	}
	for b, name := range tab.Bands() {
		c, _ := tab.Colour(name, 0.7)
		if dst[b] != c {
			t.Errorf("Colours[%s] = %v, Colour = %v", name, dst[b], c)
		}
		m, _ := tab.ApparentMagnitude(name, -22, 42.3, 0.7)
		if math.Abs(m-(-22+42.3-c)) > 1e-12 {
			t.Errorf("ApparentMagnitude %s = %v", name, m)
		}
	}
	if err := tab.Colours(0.7, make([]float64, 3)); err == nil {
		t.Error("short dst: no error")
	}
}

func TestDeflectorColoursConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	ptrs := make([]*ColourTable, 8)
	for k := range ptrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tab, err := DeflectorColours()
			if err != nil {
				t.Error(err)
			}
			ptrs[k] = tab
		}()
	}
	wg.Wait()
	for _, p := range ptrs[1:] {
		if p != ptrs[0] {
			t.Fatal("DeflectorColours returned different tables")
		}
	}
}

// The 4-point interpolation is exact for cubics, on uniform and non-uniform
// grids, and converges as h^4 for smooth functions.
func TestColourTableInterpolation(t *testing.T) {
	cubic := func(z float64) float64 { return 0.3 - 1.2*z + 0.7*z*z - 0.25*z*z*z }
	for _, uniform := range []bool{true, false} {
		var z []float64
		for k := 0; k <= 30; k++ {
			v := float64(k) * 0.1
			if !uniform {
				v = 3 * math.Pow(float64(k)/30, 1.5)
			}
			z = append(z, v)
		}
		col := make([]float64, len(z))
		for k, v := range z {
			col[k] = cubic(v)
		}
		tab, err := NewColourTable(z, []string{"x"}, [][]float64{col})
		if err != nil {
			t.Fatal(err)
		}
		for v := 0.0; v <= 3; v += 0.0137 {
			got, err := tab.Colour("x", v)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-cubic(v)) > 1e-12 {
				t.Errorf("uniform=%v z=%v: %v, want %v", uniform, v, got, cubic(v))
			}
		}
		// The end points are reachable.
		if got, err := tab.Colour("x", 3); err != nil || math.Abs(got-cubic(3)) > 1e-12 {
			t.Errorf("uniform=%v z=3: %v, %v", uniform, got, err)
		}
	}
	maxErr := func(h float64) float64 {
		n := int(math.Round(3 / h))
		z := make([]float64, n+1)
		col := make([]float64, n+1)
		for k := range z {
			z[k] = float64(k) * h
			col[k] = math.Sin(4 * z[k])
		}
		tab, err := NewColourTable(z, []string{"s"}, [][]float64{col})
		if err != nil {
			t.Fatal(err)
		}
		e := 0.0
		for v := 0.0; v < 3; v += h / 7 {
			got, _ := tab.Colour("s", v)
			e = math.Max(e, math.Abs(got-math.Sin(4*v)))
		}
		return e
	}
	e1, e2 := maxErr(0.02), maxErr(0.01)
	if ratio := e1 / e2; ratio < 12 || ratio > 20 || e2 > 1e-6 {
		t.Errorf("interpolation errors %.3g (h=0.02), %.3g (h=0.01): ratio %.1f, want ~16", e1, e2, ratio)
	}
}

func TestNewColourTableErrors(t *testing.T) {
	z := []float64{0, 1, 2, 3}
	c := []float64{0, 1, 2, 3}
	cases := []struct {
		name  string
		z     []float64
		bands []string
		cols  [][]float64
	}{
		{"few nodes", z[:3], []string{"g"}, [][]float64{c[:3]}},
		{"decreasing", []float64{0, 2, 1, 3}, []string{"g"}, [][]float64{c}},
		{"no bands", z, nil, nil},
		{"column count", z, []string{"g", "r"}, [][]float64{c}},
		{"duplicate", z, []string{"g", "g"}, [][]float64{c, c}},
		{"empty name", z, []string{""}, [][]float64{c}},
		{"short column", z, []string{"g"}, [][]float64{c[:2]}},
		{"nan", z, []string{"g"}, [][]float64{{0, math.NaN(), 1, 2}}},
	}
	for _, k := range cases {
		if _, err := NewColourTable(k.z, k.bands, k.cols); err == nil {
			t.Errorf("%s: no error", k.name)
		}
	}
}

func TestColourTableCSVRoundTrip(t *testing.T) {
	z := []float64{0, 0.5, 1, 1.5, 2}
	cols := [][]float64{{-0.1234567, 1, 2, 3, 4}, {-1e-9, 0, 0.5, 0.25, 0.125}}
	tab, err := NewColourTable(z, []string{"g", "r"}, cols)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tab.WriteCSV(&buf, []string{"hello"}); err != nil {
		t.Fatal(err)
	}
	want := "# hello\nz,c_g,c_r\n0.00000,-0.12346,0.00000\n"
	if !strings.HasPrefix(buf.String(), want) {
		t.Errorf("CSV starts %q, want %q", buf.String()[:min(len(want), buf.Len())], want)
	}
	back, err := ParseColourTableCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for b, name := range []string{"g", "r"} {
		col, err := back.Column(name)
		if err != nil {
			t.Fatal(err)
		}
		for k := range z {
			if math.Abs(col[k]-cols[b][k]) > 5e-6 {
				t.Errorf("%s[%d] = %v, want %v", name, k, col[k], cols[b][k])
			}
		}
	}
	for _, bad := range []string{
		"",
		"x,c_g\n0,1\n",
		"z,g\n0,1\n",
		"z,c_g\n0,1,2\n",
		"z,c_g\n0,abc\n",
		"z,c_g\n0,1\n1,1\n2,1\n", // too few rows
	} {
		if _, err := ParseColourTableCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The embedded table matches a fresh computation from ../shared at every node
// (to the %.5f rounding) and, by interpolation, between nodes (to 5e-4 mag).
func TestDeflectorColoursMatchFresh(t *testing.T) {
	dir := needShared(t)
	s, err := ReadSED(filepath.Join(dir, "seds", "BC_Z=1.0_age=10.00gyr.sed"))
	if err != nil {
		t.Fatal(err)
	}
	bands := readDECam(t, dir)
	tab, err := DeflectorColours()
	if err != nil {
		t.Fatal(err)
	}
	zs := tab.Redshifts()
	worstNode, worstMid := 0.0, 0.0
	for _, name := range tab.Bands() {
		col, _ := tab.Column(name)
		for k, z := range zs {
			c, err := DeflectorColourChecked(s, bands[name], bands["r"], z)
			if err != nil {
				t.Fatal(err)
			}
			worstNode = math.Max(worstNode, math.Abs(c-col[k]))
			if k%3 == 0 && k+1 < len(zs) {
				for _, f := range []float64{0.25, 0.5, 0.75} {
					zm := z + f*(zs[k+1]-z)
					want := DeflectorColour(s, bands[name], bands["r"], zm)
					got, err := tab.Colour(name, zm)
					if err != nil {
						t.Fatal(err)
					}
					worstMid = math.Max(worstMid, math.Abs(got-want))
				}
			}
		}
	}
	t.Logf("max |table - fresh|: nodes %.2e, between nodes %.2e", worstNode, worstMid)
	if worstNode > 5.01e-6 {
		t.Errorf("table nodes differ from a fresh computation by %.2e (regenerate with gentables)", worstNode)
	}
	if worstMid > 5e-4 {
		t.Errorf("interpolation error %.2e exceeds 5e-4 mag", worstMid)
	}
}

func BenchmarkColour(b *testing.B) {
	tab, err := DeflectorColours()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	z := 0.0
	for b.Loop() {
		z += 0.001
		if z > 3 {
			z = 0
		}
		tab.Colour("i", z)
	}
}

func BenchmarkColours4(b *testing.B) {
	tab, err := DeflectorColours()
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float64, 4)
	b.ReportAllocs()
	z := 0.0
	for b.Loop() {
		z += 0.001
		if z > 3 {
			z = 0
		}
		tab.Colours(z, dst)
	}
}
