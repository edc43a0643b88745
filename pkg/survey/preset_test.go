package survey_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
	"github.com/lenssbi/lenssbi/pkg/survey/internal/presetgen"
)

func mustLoad(t testing.TB, name string) *survey.Preset {
	t.Helper()
	p, err := survey.LoadPreset(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPresetsLoadAndValidate(t *testing.T) {
	names := survey.PresetNames()
	for _, want := range []string{"delve", "delve-seed", "des"} {
		if !slices.Contains(names, want) {
			t.Errorf("embedded presets %v lack %q", names, want)
		}
	}
	for _, name := range names {
		p := mustLoad(t, name)
		if p.Name != name {
			t.Errorf("preset file %s.json is named %q", name, p.Name)
		}
		if got := p.BandNames(); !slices.Equal(got, []string{"g", "r", "i", "z"}) {
			t.Errorf("%s: bands %v", name, got)
		}
		if p.PixelScale != 0.263 || p.PSF != survey.PSFGaussian {
			t.Errorf("%s: pixel %g psf %s", name, p.PixelScale, p.PSF)
		}
		if len(p.Notes) == 0 {
			t.Errorf("%s: no notes", name)
		}
		if _, _, err := p.Band("y"); err == nil || !strings.Contains(err.Error(), "g, r, i, z") {
			t.Errorf("%s: Band(y) error %v should list the bands", name, err)
		}
		b, i, err := p.Band("i")
		if err != nil || i != 2 || b.Name != "i" {
			t.Errorf("%s: Band(i) = %v, %d, %v", name, b, i, err)
		}
	}
	def := mustLoad(t, "")
	if def.Name != survey.DefaultPreset || survey.DefaultPreset != "delve" {
		t.Errorf("default preset is %q", def.Name)
	}
}

func TestPresetValues(t *testing.T) {
	delve := mustLoad(t, "delve")
	seed := mustLoad(t, "delve-seed")
	des := mustLoad(t, "des")
	zpDECam := map[string]float64{"g": 26.58, "r": 26.78, "i": 26.75, "z": 26.48}
	zpSeed := map[string]float64{"g": 31.55, "r": 31.284, "i": 31.608, "z": 31.262}
	desSee := map[string]float64{"g": 1.12, "r": 0.96, "i": 0.88, "z": 0.84}
	desSky := map[string]float64{"g": 22.01, "r": 21.15, "i": 19.89, "z": 18.72}
	for i, name := range []string{"g", "r", "i", "z"} {
		b := delve.Bands[i]
		if b.ZeroPoint != zpDECam[name] || b.ReadNoise != 7 || b.Gain != 4 || b.NExp < 1 {
			t.Errorf("delve %s: %+v", name, b)
		}
		s := seed.Bands[i]
		if s.ZeroPoint != zpSeed[name] || s.Gain != 6.083 || s.NExp != 1 || !s.Seeing.Discrete {
			t.Errorf("delve-seed %s: zp %g gain %g nexp %d discrete %v", name, s.ZeroPoint, s.Gain, s.NExp, s.Seeing.Discrete)
		}
		// the same DELVE distributions in both
		if !slices.Equal(b.SkyMag.Values, s.SkyMag.Values) || !slices.Equal(b.ExpTime.Weights, s.ExpTime.Weights) {
			t.Errorf("%s: delve and delve-seed distributions differ", name)
		}
		d := des.Bands[i]
		if d.ZeroPoint != zpDECam[name] || d.NExp != 10 || d.Seeing.Median() != desSee[name] ||
			d.SkyMag.Median() != desSky[name] || d.ExpTime.Median() != 90 {
			t.Errorf("des %s: %+v", name, d)
		}
	}
	if seed.NoiseModel != survey.NoiseDeeplenstronomy || delve.NoiseModel != survey.NoisePhysical {
		t.Errorf("noise models: delve %s, delve-seed %s", delve.NoiseModel, seed.NoiseModel)
	}
}

// TestPresetsMatchGenerator regenerates the presets from ../shared and
// compares them with the embedded files (skipped when ../shared is absent).
func TestPresetsMatchGenerator(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "data", "surveys", "delve.json")); err != nil {
		t.Skip("../shared/data/surveys/delve.json not available")
	}
	files, err := presetgen.Build(shared)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "data", "presets", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("data/presets/%s differs from a fresh `go run ./pkg/survey/internal/genpresets`", name)
		}
	}
	// not a byte copy of the shared file
	raw, _ := os.ReadFile(filepath.Join(shared, "data", "surveys", "delve.json"))
	if bytes.Equal(raw, files["delve.json"]) {
		t.Error("delve.json is a byte copy of the shared file")
	}
}

func TestUnknownPresetListsAvailable(t *testing.T) {
	_, err := survey.LoadPreset("lsst")
	if err == nil {
		t.Fatal("unknown preset loaded")
	}
	for _, want := range []string{`"lsst"`, "delve", "delve-seed", "des"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	_, err = survey.LoadPreset(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file error %v should name the file", err)
	}
}

func TestLoadPresetFromPath(t *testing.T) {
	p := mustLoad(t, "des")
	b, err := presetgen.Format(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := survey.LoadPreset(path)
	if err != nil {
		t.Fatal(err)
	}
	if q.Source != path || q.Bands[3].SkyMag.Values[0] != 18.72 {
		t.Errorf("loaded %+v from %s", q.Bands[3], q.Source)
	}
}

func TestMalformedPresets(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "data", "presets", "des.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(base)
	cases := []struct {
		name, old, new, want string
	}{
		{"syntax", `"psf": "gaussian",`, `"psf": "gaussian"`, "invalid JSON at line"},
		{"type", `"n_exp": 10,`, `"n_exp": "ten",`, `"bands.n_exp"`},
		{"unknown field", `"psf": "gaussian",`, `"psf": "gaussian", "seeing": 1,`, `unknown field "seeing"`},
		{"negative pixel", `"pixel_scale_arcsec": 0.263`, `"pixel_scale_arcsec": -0.263`, "pixel_scale_arcsec = -0.263"},
		{"bad psf", `"psf": "gaussian"`, `"psf": "airy"`, `psf = "airy"`},
		{"moffat no beta", `"psf": "gaussian"`, `"psf": "moffat"`, "moffat_beta > 1"},
		{"bad noise", `"noise_model": "physical"`, `"noise_model": "poisson"`, `noise_model = "poisson"`},
		{"negative read noise", `"read_noise_e": 7,`, `"read_noise_e": -7,`, `band "g": read_noise_e = -7`},
		{"zero gain", `"gain_e_per_adu": 4,`, `"gain_e_per_adu": 0,`, `band "g": gain_e_per_adu = 0`},
		{"zero n_exp", `"n_exp": 10,`, `"n_exp": 0,`, "n_exp = 0"},
		{"duplicate band", `"name": "r"`, `"name": "g"`, `band "g" appears twice`},
		{"weights zero", `"WEIGHTS": [1]`, `"WEIGHTS": [0]`, "WEIGHTS sum to 0"},
		{"negative weight", `"WEIGHTS": [1]`, `"WEIGHTS": [-1]`, "WEIGHTS[0] = -1"},
		{"length mismatch", `"WEIGHTS": [1]`, `"WEIGHTS": [1, 2]`, "1 VALUES but 2 WEIGHTS"},
		{"negative seeing", `"VALUES": [1.12]`, `"VALUES": [-1.12]`, "seeing_fwhm_arcsec: every value"},
		{"not increasing", "\"VALUES\": [1.12],\n        \"WEIGHTS\": [1]", "\"VALUES\": [1.12, 1.0],\n        \"WEIGHTS\": [1, 1]", "increase strictly"},
		{"zero point", `"zero_point_mag": 26.58`, `"zero_point_mag": 0`, "zero_point_mag = 0"},
		{"no bands", `"bands": [`, `"bands": [], "x": [`, `unknown field "x"`},
	}
	for _, tc := range cases {
		if !strings.Contains(good, tc.old) {
			t.Fatalf("%s: %q not in des.json", tc.name, tc.old)
		}
		bad := strings.Replace(good, tc.old, tc.new, 1)
		path := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := survey.LoadPreset(path)
		if err == nil {
			t.Errorf("%s: loaded without error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: error %q should contain %q and the file name", tc.name, err, tc.want)
		}
	}
	if _, err := survey.ParsePreset([]byte(`{"name":"x","pixel_scale_arcsec":0.2,"psf":"gaussian","noise_model":"physical","bands":[]}`), "inline"); err == nil ||
		!strings.Contains(err.Error(), "no bands") {
		t.Errorf("empty band list: %v", err)
	}
	if _, err := survey.ParsePreset([]byte(good+"{}"), "trail"); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestFluxAndSkyRates(t *testing.T) {
	p := mustLoad(t, "delve")
	b := &p.Bands[0]
	if got := b.FluxRate(b.ZeroPoint); math.Abs(got-1) > 1e-14 {
		t.Errorf("FluxRate(zp) = %g, want 1", got)
	}
	if got := b.FluxRate(b.ZeroPoint - 2.5); math.Abs(got-10) > 1e-12 {
		t.Errorf("FluxRate(zp-2.5) = %g, want 10", got)
	}
	if got := b.Magnitude(b.FluxRate(23.7)); math.Abs(got-23.7) > 1e-12 {
		t.Errorf("Magnitude(FluxRate(23.7)) = %g", got)
	}
	// sky at mu = zp gives 1 e-/s/arcsec^2
	if got := p.SkyRatePerPixel(b, b.ZeroPoint); math.Abs(got-0.263*0.263) > 1e-15 {
		t.Errorf("sky rate at mu = zp: %g", got)
	}
	// g, 22 mag/arcsec^2: 10^(0.4*4.58) * 0.263^2 = 4.7 e-/s/pixel
	if got := p.SkyRatePerPixel(b, 22); math.Abs(got-math.Pow(10, 0.4*4.58)*0.069169) > 1e-12 {
		t.Errorf("sky rate: %g", got)
	}
	seed := mustLoad(t, "delve-seed")
	if got := seed.SkyRatePerPixel(&seed.Bands[0], 21.9); math.Abs(got-21.9*0.069169) > 1e-12 {
		t.Errorf("deeplenstronomy sky rate: %g, want 21.9 * 0.263^2", got)
	}
}

func TestSampleConditions(t *testing.T) {
	p := mustLoad(t, "delve")
	r1 := rand.New(rand.NewPCG(7, 8))
	r2 := rand.New(rand.NewPCG(7, 8))
	var a, b []survey.Conditions
	for range 100 {
		a = p.SampleConditions(r1, a)
		b = p.SampleConditions(r2, b)
		if !slices.Equal(a, b) {
			t.Fatal("same seed, different conditions")
		}
		for i, c := range a {
			band := &p.Bands[i]
			if c.Band != band.Name || c.NExp != band.NExp || !(c.Seeing > 0.7 && c.Seeing < 2.2) ||
				!(c.ExpTime > 29 && c.ExpTime < 351) || !(c.SkyMag > 13 && c.SkyMag < 28) {
				t.Errorf("implausible draw %+v", c)
			}
		}
	}
	dst := make([]survey.Conditions, 4)
	if allocs := testing.AllocsPerRun(10, func() { p.SampleConditions(r1, dst) }); allocs != 0 {
		t.Errorf("SampleConditions allocates %v times", allocs)
	}
}
