package photometry

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/data"
)

func TestLSSTSources(t *testing.T) {
	c, err := LSSTSources()
	if err != nil {
		t.Fatal(err)
	}
	// The shared catalogue holds 34,331 galaxies, all with finite values and z > 0.
	if c.Len() != 34331 {
		t.Errorf("%d rows, want 34331", c.Len())
	}
	if c.AreaDeg2 != 1 {
		t.Errorf("area %v deg^2, want 1", c.AreaDeg2)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := func(x []float64) (lo, hi, mean float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range x {
			lo, hi, mean = math.Min(lo, v), math.Max(hi, v), mean+v
		}
		return lo, hi, mean / float64(len(x))
	}
	checks := []struct {
		name           string
		col            []float64
		lo, hi         float64
		meanLo, meanHi float64
	}{
		{"z", c.Z, 0, 10, 0.5, 2.5},
		{"g", c.G, 14, 40, 24, 29},
		{"r", c.R, 14, 40, 24, 29},
		{"i", c.I, 14, 40, 23, 28},
		{"zmag", c.Zmag, 14, 40, 23, 28},
		{"absmag_r", c.AbsMagR, -27, -8, -21, -15},
	}
	for _, k := range checks {
		lo, hi, mean := rng(k.col)
		t.Logf("%s: %.3f..%.3f mean %.3f", k.name, lo, hi, mean)
		if lo <= k.lo || hi >= k.hi || mean < k.meanLo || mean > k.meanHi {
			t.Errorf("%s spans %v..%v (mean %v), want within (%v, %v), mean in [%v, %v]", k.name, lo, hi, mean, k.lo, k.hi, k.meanLo, k.meanHi)
		}
	}
	// First row of the catalogue (a z=0.22 galaxy).
	if m := c.MagsGRIZ(0); c.Z[0] != 0.2202 || m != [4]float64{22.6244, 21.7185, 21.3102, 21.0889} || c.AbsMagR[0] != -19.501 {
		t.Errorf("row 0: z=%v mags %v M_r=%v", c.Z[0], m, c.AbsMagR[0])
	}
	for i := 0; i < c.Len(); i += 997 {
		m := c.MagsGRIZ(i)
		for b, name := range []string{"g", "r", "i", "z"} {
			v, err := c.Mag(name, i)
			if err != nil || v != m[b] {
				t.Fatalf("Mag(%s, %d) = %v, %v; MagsGRIZ = %v", name, i, v, err, m[b])
			}
		}
	}
	if _, err := c.Mag("u", 0); err == nil {
		t.Error("unknown band: no error")
	}
	if _, err := c.Mag("g", c.Len()); err == nil {
		t.Error("row out of range: no error")
	}
	if d := c.DensityPerArcsec2(); math.Abs(d-34331.0/(3600*3600)) > 1e-12 {
		t.Errorf("density %v per arcsec^2", d)
	}
	again, _ := LSSTSources()
	if again != c {
		t.Error("LSSTSources is not cached")
	}
}

func TestSourceCatalogCSVRoundTrip(t *testing.T) {
	c := &SourceCatalog{
		Z: []float64{0.5, 1.25}, G: []float64{24.1, 25}, R: []float64{23.5, 24.75},
		I: []float64{23, 24.5}, Zmag: []float64{22.5, 24.25}, AbsMagR: []float64{-20.12346, -18},
		AreaDeg2: 0.25,
	}
	var buf bytes.Buffer
	if err := c.WriteCSV(&buf, []string{"test"}); err != nil {
		t.Fatal(err)
	}
	want := "# test\n# area_deg2: 0.25\nz,g,r,i,zmag,absmag_r\n0.5000,24.1000,23.5000,23.0000,22.5000,-20.1235\n"
	if !strings.HasPrefix(buf.String(), want) {
		t.Errorf("CSV:\n%s\nwant prefix:\n%s", buf.String(), want)
	}
	back, err := ParseSourceCatalogCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 2 || back.AreaDeg2 != 0.25 || back.Zmag[1] != 24.25 || back.AbsMagR[0] != -20.1235 {
		t.Errorf("round trip gave %+v", back)
	}
	bad := []string{
		"z,g,r,i,zmag,absmag_r\n1,2,3,4,5,6\n",                   // no area
		"# area_deg2: 1\nz,g,r,i,absmag_r\n1,2,3,4,5\n",          // no zmag
		"# area_deg2: 1\nz,g,r,i,zmag,absmag_r\n1,2,3,4,5\n",     // short row
		"# area_deg2: 1\nz,g,r,i,zmag,absmag_r\n1,2,3,4,nan,6\n", // NaN
		"# area_deg2: 1\nz,g,r,i,zmag,absmag_r\n-1,2,3,4,5,6\n",  // z <= 0
		"# area_deg2: -1\nz,g,r,i,zmag,absmag_r\n1,2,3,4,5,6\n",  // bad area
		"# area_deg2: 1\n", // no header
	}
	for _, s := range bad {
		if _, err := ParseSourceCatalogCSV(strings.NewReader(s)); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	if err := (&SourceCatalog{Z: []float64{1}, AreaDeg2: 1}).WriteCSV(&buf, nil); err == nil {
		t.Error("ragged catalogue written without error")
	}
}

func BenchmarkLSSTSourcesParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		f, err := data.FS.Open(LSSTSourcesPath)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseSourceCatalogCSV(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
