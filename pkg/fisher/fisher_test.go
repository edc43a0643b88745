package fisher

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
	"gonum.org/v1/gonum/mat"
)

// TestMatrixGaussianCentroid: the bound on the centre and total flux of a
// well-sampled circular Gaussian of width s and flux F on a uniform noise of
// variance v per pixel (pixel area a) has the closed forms
// sigma_x^2 = 8 pi s^4 v / (F^2 a) and sigma_F^2 = 4 pi s^2 v / a, and the
// three parameters are uncorrelated.
func TestMatrixGaussianCentroid(t *testing.T) {
	const (
		n    = 64
		s    = 3.0
		flux = 1000.0
		v    = 4.0
	)
	model := func(p, out []float64) {
		f, x0, y0 := p[0], p[1], p[2]
		for j := 0; j < n; j++ {
			for i := 0; i < n; i++ {
				dx, dy := float64(i)-x0, float64(j)-y0
				out[j*n+i] = f / (2 * math.Pi * s * s) * math.Exp(-(dx*dx+dy*dy)/(2*s*s))
			}
		}
	}
	inv := make([]float64, n*n)
	for i := range inv {
		inv[i] = 1 / v
	}
	F := Matrix(model, []float64{flux, 31.3, 32.6}, []float64{1e-3, 1e-4, 1e-4}, inv)
	sig, known, err := Bounds(F)
	if err != nil {
		t.Fatal(err)
	}
	wantX := math.Sqrt(8 * math.Pi * s * s * s * s * v / (flux * flux))
	wantF := math.Sqrt(4 * math.Pi * s * s * v)
	for i, want := range []float64{wantF, wantX, wantX} {
		if math.Abs(sig[i]/want-1) > 1e-3 {
			t.Errorf("parameter %d: bound %.6g, want %.6g", i, sig[i], want)
		}
		if math.Abs(known[i]/sig[i]-1) > 1e-3 {
			t.Errorf("parameter %d: bound with the others known %.6g differs from %.6g: they should be uncorrelated", i, known[i], sig[i])
		}
	}
}

// TestBounds: a 2 x 2 matrix against its closed-form inverse; the marginal
// bound never falls below the conditional one; singular matrices are
// reported, not inverted.
func TestBounds(t *testing.T) {
	a, b, c := 4.0, 9.0, 5.0
	F := mat.NewSymDense(2, []float64{a, c, c, b})
	sig, known, err := Bounds(F)
	if err != nil {
		t.Fatal(err)
	}
	det := a*b - c*c
	if math.Abs(sig[0]-math.Sqrt(b/det)) > 1e-12 || math.Abs(sig[1]-math.Sqrt(a/det)) > 1e-12 {
		t.Errorf("bounds %v, want %v %v", sig, math.Sqrt(b/det), math.Sqrt(a/det))
	}
	if math.Abs(known[0]-1/math.Sqrt(a)) > 1e-12 || sig[0] < known[0] || sig[1] < known[1] {
		t.Errorf("conditional bounds %v (marginal %v)", known, sig)
	}
	for _, m := range []*mat.SymDense{
		mat.NewSymDense(2, []float64{1, 1, 1, 1}), // exactly degenerate
		mat.NewSymDense(2, []float64{1, 0, 0, 0}), // no information on the second
		mat.NewSymDense(2, []float64{1, 0, 0, math.NaN()}),
	} {
		if _, _, err := Bounds(m); !errors.Is(err, ErrSingular) {
			t.Errorf("%v: error %v, want ErrSingular", mat.Formatted(m), err)
		}
	}
}

// TestEfficientDeviation: for equal widths the median |deviation| is the
// normal's 0.6745 sigma; for a mixture it satisfies its defining equation;
// unmeasured lenses push it up.
func TestEfficientDeviation(t *testing.T) {
	got := EfficientDeviation([]float64{0.02, 0.02, 0.02})
	if want := math.Expm1(0.6744897501960817 * 0.02); math.Abs(got/want-1) > 1e-9 {
		t.Errorf("equal widths: %.9g, want %.9g", got, want)
	}
	sig := []float64{0.01, 0.03, 0.1, 0.2}
	tt := math.Log1p(EfficientDeviation(sig))
	var f float64
	for _, s := range sig {
		f += math.Erf(tt/(s*math.Sqrt2)) / float64(len(sig))
	}
	if math.Abs(f-0.5) > 1e-9 {
		t.Errorf("mixture: fraction within %.5f is %.9f, want 0.5", tt, f)
	}
	if a, b := EfficientDeviation(sig), EfficientDeviation(append(sig, math.Inf(1))); !(b > a) {
		t.Errorf("an unmeasured lens should raise the median deviation: %g -> %g", a, b)
	}
	if p := EfficientPrecision([]float64{0.05}); math.Abs(p-(1-math.Sinh(0.05))) > 1e-15 {
		t.Errorf("precision %g", p)
	}
	if !math.IsNaN(EfficientDeviation(nil)) || !math.IsNaN(EfficientPrecision(nil)) {
		t.Error("empty lists should give NaN")
	}
}

func testSimulator(t *testing.T, preset string, size int) *simulate.Simulator {
	t.Helper()
	p, err := survey.LoadPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig(p)
	cfg.Size = size
	cfg.Seed = 5
	s, err := simulate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// systemOf reads a simulated lens's parameters as SystemFromParams does
// from a file.
func systemOf(t *testing.T, s *simulate.Simulator, l *simulate.Lens) System {
	t.Helper()
	cols := Columns(s.Bands())
	v := make([]float64, len(cols))
	for i, c := range cols {
		k := s.ColumnIndex(c)
		if k < 0 {
			t.Fatalf("simulator has no column %s", c)
		}
		v[i] = l.Params[k]
	}
	sys, err := SystemFromParams(s.Config().Preset, s.Bands(), v)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

// TestRenderMatchesSimulator: the model is the simulator's. The images the
// simulator made give chi^2 per pixel about 1 against it (9,216 pixels: a
// standard deviation of 0.015). And the Fisher matrix predicts what a
// change of theta_E does to the fit: moving ln theta_E by d with everything
// else fixed raises chi^2 by (d / Known)^2 on average (plus noise of
// standard deviation 2 d / Known), summed over the lenses.
func TestRenderMatchesSimulator(t *testing.T) {
	s := testSimulator(t, "delve-seed", 48)
	m, err := NewModel(s.Config().Preset, s.Bands(), 48)
	if err != nil {
		t.Fatal(err)
	}
	l := s.NewLens()
	const (
		nl = 16
		d  = 0.01
	)
	npix := float64(len(l.Images))
	var sum, dchi, pred float64
	for i := 0; i < nl; i++ {
		if err := s.Simulate(i, l); err != nil {
			t.Fatal(err)
		}
		sys := systemOf(t, s, l)
		r, err := m.Bound(&sys, l.Images, l.Variance)
		if err != nil {
			t.Fatalf("lens %d: %v", i, err)
		}
		if r.ChiSq < 0.92 || r.ChiSq > 1.08 {
			t.Errorf("lens %d: chi^2 per pixel %.4f against the model, want about 1", i, r.ChiSq)
		}
		sum += r.ChiSq
		off := sys
		off.ThetaE *= math.Exp(d)
		ro, err := m.Bound(&off, l.Images, l.Variance)
		if err != nil {
			t.Fatal(err)
		}
		dchi += (ro.ChiSq - r.ChiSq) * npix
		pred += (d / r.Known[pLogThetaE]) * (d / r.Known[pLogThetaE])
	}
	mean := sum / nl
	sd := 2 * math.Sqrt(pred)
	t.Logf("mean chi^2 per pixel %.4f; ln theta_E + %g raises chi^2 by %.1f in all, the Fisher matrix predicts %.1f +- %.1f", mean, d, dchi, pred, sd)
	if math.Abs(mean-1) > 0.02 {
		t.Errorf("mean chi^2 per pixel %.4f, want 1 +- 0.02", mean)
	}
	if math.Abs(dchi-pred) > 4*sd+0.1*pred {
		t.Errorf("theta_E moved by %g: chi^2 rose by %.1f, the Fisher matrix predicts %.1f +- %.1f", d, dchi, pred, sd)
	}
}

// TestBoundProperties on simulated lenses of the delve preset (physical
// noise): four times the exposures (every variance term scales by 1/4)
// halve exactly the bounds with the others known and shrink the marginal
// ones by between 1/2 and 1; halving the difference steps moves no bound
// by more than 0.5 %; the bound with everything else known is never above
// the marginal one.
func TestBoundProperties(t *testing.T) {
	s := testSimulator(t, "delve", 48)
	p := s.Config().Preset
	if p.NoiseModel != survey.NoisePhysical {
		t.Fatalf("preset %s has noise model %s; the exposure check needs %s", p.Name, p.NoiseModel, survey.NoisePhysical)
	}
	m, err := NewModel(p, s.Bands(), 48)
	if err != nil {
		t.Fatal(err)
	}
	l := s.NewLens()
	for i := 0; i < 4; i++ {
		if err := s.Simulate(i, l); err != nil {
			t.Fatal(err)
		}
		sys := systemOf(t, s, l)
		r, err := m.Bound(&sys, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k := range r.Sigma {
			if r.Known[k] > r.Sigma[k]*(1+1e-9) {
				t.Errorf("lens %d parameter %d: bound %g with others known above %g", i, k, r.Known[k], r.Sigma[k])
			}
		}
		deep := sys
		deep.Conditions = append([]survey.Conditions(nil), sys.Conditions...)
		for b := range deep.Conditions {
			deep.Conditions[b].NExp *= 4
		}
		rd, err := m.Bound(&deep, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The image's information grows 4x: the bounds with the others
		// known halve exactly for every parameter without a prior. The
		// priors (shear, source shape) do not grow, so the marginal bounds
		// shrink by between 1/2 and 1 (the shear prior binds theta_E at
		// this depth).
		for _, k := range []int{pLogThetaE, pLensX, pLensY, pLensE1, pLogLensRe, pSrcX, nShape, nShape + 4} {
			if ratio := rd.Known[k] / r.Known[k]; math.Abs(ratio-0.5) > 1e-6 {
				t.Errorf("lens %d parameter %d: 4x exposure scales the bound with the others known by %.7f, want 0.5", i, k, ratio)
			}
			if ratio := rd.Sigma[k] / r.Sigma[k]; ratio < 0.5-1e-6 || ratio > 1 {
				t.Errorf("lens %d parameter %d: 4x exposure scales the bound by %.4f, want within [0.5, 1]", i, k, ratio)
			}
		}
		stepScale = 0.5
		rh, err := m.Bound(&sys, nil, nil)
		stepScale = 1
		if err != nil {
			t.Fatal(err)
		}
		for k := range r.Sigma {
			if d := math.Abs(rh.Sigma[k]/r.Sigma[k] - 1); d > 0.005 {
				t.Errorf("lens %d parameter %d: halving the steps moves the bound by %.2f %%", i, k, 100*d)
			}
		}
	}
}

// TestDataset: bounds for a simulated file's lenses, each checked against
// its image; clear errors for bad input.
func TestDataset(t *testing.T) {
	s := testSimulator(t, "delve-seed", 32)
	path := filepath.Join(t.TempDir(), "d.fits")
	var cols []dataset.Column
	for _, c := range s.Columns() {
		cols = append(cols, dataset.Column{Name: c.Name, Unit: c.Unit})
	}
	cfg := s.Config()
	w, err := dataset.Create(path, dataset.Meta{Preset: cfg.Preset.Name, NX: 32, NY: 32, Bands: s.Bands(), PixScale: cfg.Preset.PixelScale, Supersample: cfg.Supersample}, cols, 6, dataset.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), 0, 6, 0, func(l *simulate.Lens) error { return w.Write(l.Images, l.Variance, l.Params) }, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	calls := 0
	chunk = 3 // read in pieces: lenses 1-3, then 4
	defer func() { chunk = 256 }()
	res, bands, err := Dataset(context.Background(), path, Options{Start: 1, N: 4, Workers: 2, Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || len(bands) != 4 || calls != 4 {
		t.Fatalf("%d results, %d bands, %d progress calls", len(res), len(bands), calls)
	}
	for i, r := range res {
		if r.Index != i+1 || r.Err != nil || len(r.Sigma) != len(Names(bands)) {
			t.Errorf("result %d: index %d, err %v, %d bounds", i, r.Index, r.Err, len(r.Sigma))
			continue
		}
		if r.ChiSq < 0.85 || r.ChiSq > 1.15 || !(r.ThetaE() > 0) {
			t.Errorf("lens %d: chi^2 %.3f, theta_E bound %g", r.Index, r.ChiSq, r.ThetaE())
		}
	}

	if _, _, err := Dataset(context.Background(), path, Options{Start: 6}); err == nil || !strings.Contains(err.Error(), "start 6") {
		t.Errorf("start beyond the end: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.fits")
	if _, _, err := Dataset(context.Background(), missing, Options{}); err == nil || !strings.Contains(err.Error(), "none.fits") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.fits")
	if err := os.WriteFile(bad, []byte("SIMPLE  =                    T"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Dataset(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "bad.fits") {
		t.Errorf("truncated file: %v", err)
	}
	// A dataset without the simulator's columns (real cutouts, say).
	few := filepath.Join(t.TempDir(), "few.fits")
	fw, err := dataset.Create(few, dataset.Meta{Preset: cfg.Preset.Name, NX: 32, NY: 32, Bands: s.Bands(), PixScale: cfg.Preset.PixelScale}, []dataset.Column{{Name: "THETA_E"}, {Name: "Z_LENS"}, {Name: "SIGMA_V"}, {Name: "Z_SOURCE"}}, 1, dataset.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(make([]float32, 4*32*32), make([]float32, 4*32*32), []float64{1, 0.5, 250, 2}); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Dataset(context.Background(), few, Options{}); !errors.Is(err, ErrNotSimulated) || !strings.Contains(err.Error(), "LENS_X") {
		t.Errorf("no parameter columns: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Dataset(ctx, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestBadSystems: wrong lengths, NaN and out-of-range values are refused
// with the offending name.
func TestBadSystems(t *testing.T) {
	p, err := survey.LoadPreset("delve-seed")
	if err != nil {
		t.Fatal(err)
	}
	bands := p.BandNames()
	cols := Columns(bands)
	v := make([]float64, len(cols))
	if _, err := SystemFromParams(p, bands, v[:3]); err == nil || !strings.Contains(err.Error(), "3 parameter values") {
		t.Errorf("short row: %v", err)
	}
	v[7] = math.NaN()
	if _, err := SystemFromParams(p, bands, v); err == nil || !strings.Contains(err.Error(), "LENS_RE") {
		t.Errorf("NaN: %v", err)
	}
	if _, err := SystemFromParams(p, []string{"u"}, make([]float64, len(Columns([]string{"u"})))); err == nil || !strings.Contains(err.Error(), "u") {
		t.Errorf("unknown band: %v", err)
	}
	if _, err := NewModel(p, []string{"g", "y"}, 48); err == nil || !strings.Contains(err.Error(), "y") {
		t.Errorf("unknown band: %v", err)
	}
	m, err := NewModel(p, bands, 48)
	if err != nil {
		t.Fatal(err)
	}
	sys := System{ThetaE: 1, LensRe: 0.5, SrcRe: 0.2, LensFlux: []float64{1, 1, 1, 1}, SrcFlux: []float64{1, 1, 1, 1},
		Conditions: p.MedianConditions()}
	if err := m.Render(&sys, make([]float64, 4*48*48), nil); err != nil {
		t.Fatalf("a valid system: %v", err)
	}
	neg := sys
	neg.ThetaE = -1
	if _, err := m.Bound(&neg, nil, nil); err == nil || !strings.Contains(err.Error(), "theta_E") {
		t.Errorf("negative theta_E: %v", err)
	}
	short := sys
	short.SrcFlux = short.SrcFlux[:2]
	if _, err := m.Bound(&short, nil, nil); err == nil || !strings.Contains(err.Error(), "4 bands") {
		t.Errorf("wrong band count: %v", err)
	}
	if _, err := m.Bound(&sys, make([]float32, 10), nil); err == nil || !strings.Contains(err.Error(), "10 values") {
		t.Errorf("wrong data size: %v", err)
	}
}

// TestSmallSourceConverges: a source of minor-axis scale length 0.0064"
// (a fortieth of a pixel; a few per cent of the test lenses have one this
// small) is sampled finely enough that half again as many samples per scale
// length moves its theta_E bound by under 6 % (measured 3.7 %; 3, 4, 5, 6
// and 8 samples per scale length give 0.0634, 0.0641, 0.0626, 0.0618,
// 0.0609). With the sub-pixel factor capped at 32, as first written, the
// bound came out at 0.028: the aliased sampling invented information.
func TestSmallSourceConverges(t *testing.T) {
	p, err := survey.LoadPreset("delve-seed")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(p, p.BandNames(), 48)
	if err != nil {
		t.Fatal(err)
	}
	e1, e2 := lensing.QPhiToE1E2(0.9, 0.4)
	le1, le2 := lensing.QPhiToE1E2(0.7, 1.1)
	sys := System{ThetaE: 1.1, LensE1: le1, LensE2: le2, Gamma1: 0.03, Gamma2: -0.02, LensRe: 0.8,
		SrcX: 0.12, SrcY: -0.07, SrcE1: e1, SrcE2: e2, SrcRe: 0.012,
		LensFlux: []float64{20, 60, 110, 150}, SrcFlux: []float64{4, 4, 3.5, 3}, Conditions: p.MedianConditions()}
	bound := func(perScale float64, cap int) float64 {
		subPerScale, maxSub = perScale, cap
		defer func() { subPerScale, maxSub = 4, 160 }()
		r, err := m.Bound(&sys, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.ThetaE()
	}
	ref, fine, coarse := bound(4, 160), bound(6, 240), bound(4, 32)
	t.Logf("theta_E bound %.5f; finer sampling %.5f; capped at 32 %.5f", ref, fine, coarse)
	if d := math.Abs(fine/ref - 1); d > 0.06 {
		t.Errorf("finer sampling moves the bound by %.2f %%", 100*d)
	}
	if d := math.Abs(coarse/fine - 1); d < 0.3 {
		t.Errorf("the cap at 32 moves the bound by only %.2f %%: the test cannot tell converged sampling", 100*d)
	}
}

// TestThetaEBounds: measured lenses give their fractional theta_E bound,
// singular ones +Inf.
func TestThetaEBounds(t *testing.T) {
	res := []LensResult{{Result: Result{Sigma: []float64{0.03}}}, {Err: ErrSingular}}
	b := ThetaEBounds(res)
	if len(b) != 2 || b[0] != 0.03 || !math.IsInf(b[1], 1) {
		t.Errorf("ThetaEBounds = %v, want [0.03 +Inf]", b)
	}
}
