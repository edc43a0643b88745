package simulate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// TestConditionSampler: the precomputed sampler draws exactly what
// survey.Preset.SampleConditions draws, from the same random numbers, for
// every preset.
func TestConditionSampler(t *testing.T) {
	for _, name := range survey.PresetNames() {
		p, err := survey.LoadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		cs := newCondSampler(p)
		a, b := rand.NewPCG(3, 4), rand.NewPCG(3, 4)
		ra, rb := rand.New(a), rand.New(b)
		got := make([]survey.Conditions, len(p.Bands))
		want := make([]survey.Conditions, len(p.Bands))
		for i := 0; i < 20000; i++ {
			cs.sample(ra, got)
			p.SampleConditions(rb, want)
			for k := range got {
				if got[k] != want[k] {
					t.Fatalf("%s draw %d band %d: %+v, want %+v", name, i, k, got[k], want[k])
				}
			}
		}
		if ra.Uint64() != rb.Uint64() {
			t.Fatalf("%s: random streams diverged", name)
		}
	}
}

// TestKsqTable: the table bounds the kernel's ksq from above at 200000
// random FWHMs, within 5% of the exact value.
func TestKsqTable(t *testing.T) {
	tab := newKsqTable()
	r := rand.New(rand.NewPCG(1, 2))
	var buf []float64
	worst := 0.0
	for i := 0; i < 200000; i++ {
		f := r.Float64() * 20
		if i%4 == 0 {
			f = r.Float64() * ksqMaxF
		}
		var v float64
		v, buf = ksqOf(f, buf)
		b := tab.bound(f)
		if b < v {
			t.Fatalf("fwhm %.6f px: bound %.9g below ksq %.9g", f, b, v)
		}
		worst = max(worst, b/v-1)
	}
	t.Logf("largest excess of the bound %.3g", worst)
	if worst > 0.05 {
		t.Errorf("bound loose by %.3g", worst)
	}
	if tab.bound(ksqMaxF+1) != 1 {
		t.Error("beyond the table the bound must be 1")
	}
}

// TestExpSource: the fastExp surface brightness of the renderer matches
// light.Sersic.Intensity (n = 1) to 1e-11 relative inside the cut-off and is
// zero beyond it.
func TestExpSource(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		re, q, phi := 0.05+r.Float64(), 0.2+0.8*r.Float64(), 3*r.Float64()
		x0, y0 := r.Float64()-0.5, r.Float64()-0.5
		sr := light.NewSersic(1, re, 1, q, phi, x0, y0)
		rfar := 16 * re / 1.6783469900166612 / math.Sqrt(q)
		es := newExpSource(sr, rfar)
		for k := 0; k < 20; k++ {
			x, y := x0+(r.Float64()-0.5)*3*rfar, y0+(r.Float64()-0.5)*3*rfar
			got, want := es.at(x, y), sr.Intensity(x, y)
			if math.Hypot(x-x0, y-y0) >= rfar {
				want = 0
			}
			if math.Abs(got-want) > 1e-11*want {
				t.Fatalf("re %.3f q %.2f at (%.3f, %.3f): %.15g, want %.15g", re, q, x, y, got, want)
			}
		}
	}
}
