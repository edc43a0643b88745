package simulate

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/light"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

func newSim(t testing.TB, preset string, mod func(*Config)) *Simulator {
	t.Helper()
	p, err := survey.LoadPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(p)
	cfg.Seed = 42
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func collect(t testing.TB, s *Simulator, start, n, workers int) []*Lens {
	t.Helper()
	var out []*Lens
	err := s.Run(context.Background(), start, n, workers, func(l *Lens) error {
		c := &Lens{Index: l.Index, Images: slices.Clone(l.Images), Variance: slices.Clone(l.Variance), Params: slices.Clone(l.Params)}
		out = append(out, c)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWorkerCountInvariance: the same seed gives bit-identical images and
// parameters for 1, 2 and 3 workers, and a lens does not depend on which
// others are simulated.
func TestWorkerCountInvariance(t *testing.T) {
	s := newSim(t, "delve", nil)
	const n = 12
	ref := collect(t, s, 0, n, 1)
	for _, w := range []int{2, 3} {
		got := collect(t, s, 0, n, w)
		for i := range ref {
			if got[i].Index != i || !slices.Equal(got[i].Images, ref[i].Images) ||
				!slices.Equal(got[i].Variance, ref[i].Variance) || !slices.Equal(got[i].Params, ref[i].Params) {
				t.Fatalf("lens %d differs between 1 and %d workers", i, w)
			}
		}
	}
	tail := collect(t, s, 7, 3, 2)
	for k, l := range tail {
		if !slices.Equal(l.Images, ref[7+k].Images) {
			t.Fatalf("lens %d depends on the range it was simulated in", 7+k)
		}
	}
	one := s.NewLens()
	if err := s.Simulate(5, one); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Images, ref[5].Images) {
		t.Fatal("Simulate(5) differs from Run's lens 5")
	}
	other := newSim(t, "delve", func(c *Config) { c.Seed = 43 })
	l := other.NewLens()
	if err := other.Simulate(5, l); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(l.Images, ref[5].Images) {
		t.Fatal("different seeds gave the same lens")
	}
}

// TestCutsHold: every kept lens satisfies LensPop's detectability cuts, and
// parameters are finite and in range.
func TestCutsHold(t *testing.T) {
	s := newSim(t, "delve", nil)
	lenses := collect(t, s, 0, 40, 0)
	col := func(name string) int {
		i := s.ColumnIndex(name)
		if i < 0 {
			t.Fatalf("no column %s", name)
		}
		return i
	}
	iTE, iMu, iSNR, iBest, iRe := col(ColThetaE), col("MAGNIFICATION"), col("SNR"), col("DET_BAND"), col("SRC_RE")
	for _, l := range lenses {
		p := l.Params
		for k, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("lens %d: %s = %v", l.Index, s.columns[k].Name, v)
			}
		}
		if p[iMu] < 3 || p[iSNR] < 20 {
			t.Errorf("lens %d: magnification %.2f SNR %.1f below the cuts", l.Index, p[iMu], p[iSNR])
		}
		best := s.bands[int(p[iBest])]
		seeing := p[col("SEEING_"+upper(best))]
		if p[iTE]*p[iTE] <= p[iRe]*p[iRe]+seeing*seeing/4 {
			t.Errorf("lens %d: not resolved", l.Index)
		}
		for _, v := range l.Variance {
			if !(v > 0) {
				t.Fatalf("lens %d: non-positive variance %g", l.Index, v)
			}
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// TestLensingConservesSurfaceBrightness: the rendered flux of a small source
// behind an SIS equals the point-source magnification 2 theta_E / beta
// (PHYSICS.md sections 2-3), and with no lens equals the source flux.
func TestLensingConservesSurfaceBrightness(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	n := 48
	w.src = make([]float64, n*n)
	thetaE := 1.2
	// A source of half-light radius 0.05" (scale length 0.03") is small
	// against beta (finite-size corrections < 0.5%) and resolved by 16x16
	// sub-pixels (0.016").
	for _, beta := range []float64{0.4, 0.6, 0.9} {
		lm := lensing.Model{SIE: lensing.NewSIE(thetaE, 1, 0, 0, 0)}
		src := light.NewSersic(1, 0.05, 1, 1, 0, beta, 0)
		mu := w.renderSource(lm, src, beta, 0, n, 0, 0, 10, 5*0.05, 16)
		want := 2 * thetaE / beta
		if math.Abs(mu/want-1) > 0.02 {
			t.Errorf("beta=%.1f: rendered magnification %.3f, SIS point value %.3f", beta, mu, want)
		}
	}
	lm := lensing.Model{SIE: lensing.NewSIE(1e-9, 1, 0, 0, 0)}
	src := light.NewSersic(1, 0.4, 1, 0.7, 0.3, 0.2, -0.1)
	if mu := w.renderSource(lm, src, 0.2, -0.1, n, 0, 0, 10, 2, 5); math.Abs(mu-1) > 0.005 {
		t.Errorf("unlensed source flux %.4f, want 1", mu)
	}
}

// TestNoiseMatchesVariance: far from the lens the image is sky noise whose
// scatter matches the stored variance.
func TestNoiseMatchesVariance(t *testing.T) {
	s := newSim(t, "delve", nil)
	lenses := collect(t, s, 0, 20, 0)
	size := s.cfg.Size
	npix := size * size
	var chi2 float64
	var cnt int
	for _, l := range lenses {
		for b := range s.bands {
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					if x > 3 && x < size-4 && y > 3 && y < size-4 {
						continue // border pixels only
					}
					k := b*npix + y*size + x
					v := float64(l.Images[k])
					chi2 += v * v / float64(l.Variance[k])
					cnt++
				}
			}
		}
	}
	// The deflector's outer light adds a little signal at the border.
	if r := chi2 / float64(cnt); r < 0.95 || r > 1.15 {
		t.Errorf("border chi^2/pixel = %.3f over %d pixels, want ~1", r, cnt)
	}
}

func TestConfigErrors(t *testing.T) {
	p, err := survey.LoadPreset("delve")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(p)
	cfg.Size = 0
	if _, err := New(cfg); err == nil {
		t.Error("size 0 accepted")
	}
	cfg = DefaultConfig(nil)
	if _, err := New(cfg); err == nil {
		t.Error("nil preset accepted")
	}
	// A Moffat preset (written to a temporary JSON file) is refused with a
	// clear error rather than silently simulated with a Gaussian PSF.
	mp := *p
	mp.Name, mp.PSF, mp.MoffatBeta = "moffat-test", survey.PSFMoffat, 3
	raw, err := json.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "moffat.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	moff, err := survey.LoadPreset(path)
	if err != nil {
		t.Fatalf("loading the Moffat preset: %v", err)
	}
	if _, err := New(DefaultConfig(moff)); err == nil || !strings.Contains(err.Error(), "moffat") {
		t.Errorf("Moffat preset: error %v, want one naming the unsupported psf", err)
	}
	cfg = DefaultConfig(p)
	cfg.MaxTries = 1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := s.NewLens()
	failed := false
	for i := 0; i < 20 && !failed; i++ {
		failed = s.Simulate(i, l) != nil
	}
	if !failed {
		t.Error("MaxTries=1 never failed: are the cuts applied?")
	}
}

// BenchmarkSimulate reports simulated lenses per second (48x48, g r i z,
// detectability cuts included) on all cores, in the steady state of a long
// run: the process's one-time tables (the polar bound's, built on first use
// and shared by every simulator; ~0.15-0.2 s) are built by a warm-up run
// before the clock starts.
func BenchmarkSimulate(b *testing.B) {
	for _, preset := range []string{"delve", "delve-seed"} {
		b.Run(preset, func(b *testing.B) {
			s := newSim(b, preset, nil)
			if err := s.Run(context.Background(), 0, 4, 0, func(*Lens) error { return nil }, nil); err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				if err := s.Run(context.Background(), n, 200, 0, func(*Lens) error { return nil }, nil); err != nil {
					b.Fatal(err)
				}
				n += 200
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lenses/s")
		})
	}
}
