// Package presetgen builds the survey presets shipped in data/presets from the
// reference data in ../shared/data (surveys/delve.json) and published numbers,
// so that the committed JSON files can be regenerated and checked. The command
// in ../genpresets writes them; pkg/survey's tests compare them.
package presetgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// Bands are the DECam filters the presets describe, in image order.
var Bands = []string{"g", "r", "i", "z"}

// DECamZeroPoint holds DECam's per-second AB zero points (magnitude giving
// 1 e-/s), as in lenstronomy's DES configuration
// (lenstronomy/SimulationAPI/ObservationConfig/DES.py) and PHYSICS.md.
var DECamZeroPoint = map[string]float64{"g": 26.58, "r": 26.78, "i": 26.75, "z": 26.48}

// DR1Depth holds DELVE DR1's median 5-sigma point-source depths
// (Drlica-Wagner et al. 2021, ApJS 256, 2).
var DR1Depth = map[string]float64{"g": 24.3, "r": 23.9, "i": 23.3, "z": 22.8}

// DES holds lenstronomy's DES single-band settings
// (lenstronomy/SimulationAPI/ObservationConfig/DES.py, default coadd_years=3):
// seeing FWHM (arcsec), sky brightness (mag/arcsec^2); 90 s x 10 exposures.
var DES = map[string]struct{ Seeing, Sky float64 }{
	"g": {1.12, 22.01}, "r": {0.96, 21.15}, "i": {0.88, 19.89}, "z": {0.84, 18.72},
}

// delveJSON is the layout of ../shared/data/surveys/delve.json.
type delveJSON struct {
	Bands      []string                       `json:"bands"`
	PixelScale float64                        `json:"pixel_scale_arcsec"`
	ReadNoise  float64                        `json:"read_noise_e"`
	Gain       map[string]float64             `json:"ccd_gain_e_per_adu"`
	NumExp     int                            `json:"num_exposures"`
	PSFType    string                         `json:"psf_type"`
	ZeroPoint  map[string]float64             `json:"magnitude_zero_point"`
	Seeing     map[string]survey.Distribution `json:"seeing_fwhm_arcsec"`
	Sky        map[string]survey.Distribution `json:"sky_brightness_mag_per_arcsec2"`
	ExpTime    map[string]survey.Distribution `json:"exposure_time_s"`
}

func readDelve(shared string) (*delveJSON, error) {
	p := filepath.Join(shared, "data", "surveys", "delve.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	var d delveJSON
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", p, err)
	}
	for _, band := range Bands {
		for name, m := range map[string]map[string]survey.Distribution{"seeing": d.Seeing, "sky": d.Sky, "exposure time": d.ExpTime} {
			dist, ok := m[band]
			if !ok {
				return nil, fmt.Errorf("%s: no %s distribution for band %s", p, name, band)
			}
			if err := dist.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %s distribution of band %s: %w", p, name, band, err)
			}
		}
		if _, ok := d.ZeroPoint[band]; !ok {
			return nil, fmt.Errorf("%s: no zero point for band %s", p, band)
		}
	}
	return &d, nil
}

// Build returns the presets keyed by file name (delve.json, delve-seed.json,
// des.json), rendered as the committed files are.
func Build(shared string) (map[string][]byte, error) {
	d, err := readDelve(shared)
	if err != nil {
		return nil, err
	}
	presets := []*survey.Preset{buildDelve(d), buildDelveSeed(d), buildDES()}
	out := map[string][]byte{}
	for _, p := range presets {
		p.Source = p.Name + ".json (generated)"
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("generated preset: %w", err)
		}
		b, err := Format(p)
		if err != nil {
			return nil, err
		}
		out[p.Name+".json"] = b
	}
	return out, nil
}

func buildDelve(d *delveJSON) *survey.Preset {
	p := &survey.Preset{
		Name:        "delve",
		Description: "DELVE-like DECam g,r,i,z: DELVE observing conditions, DECam per-second zero points, physical noise model; median 5-sigma depth matched to DELVE DR1.",
		PixelScale:  d.PixelScale,
		PSF:         survey.PSFGaussian,
		NoiseModel:  survey.NoisePhysical,
	}
	for _, b := range Bands {
		p.Bands = append(p.Bands, survey.Band{
			Name: b, ZeroPoint: DECamZeroPoint[b], Gain: 4, ReadNoise: d.ReadNoise, NExp: 1,
			Seeing: d.Seeing[b], SkyMag: d.Sky[b], ExpTime: d.ExpTime[b],
		})
	}
	// choose n_exp per band: the co-add whose ideal 5-sigma depth at median
	// conditions is closest to DR1's
	var choice []string
	for i := range p.Bands {
		b := &p.Bands[i]
		best, bestErr := 1, math.Inf(1)
		var tried []string
		for n := 1; n <= 6; n++ {
			b.NExp = n
			c := p.MedianConditions()[i]
			depth := survey.PointSourceDepth(p, b, c, 5)
			tried = append(tried, fmt.Sprintf("%d: %.2f", n, depth))
			if e := math.Abs(depth - DR1Depth[b.Name]); e < bestErr {
				best, bestErr = n, e
			}
		}
		b.NExp = best
		c := p.MedianConditions()[i]
		choice = append(choice, fmt.Sprintf("%s (median seeing %.2f\", sky %.2f mag/arcsec^2, exposure %.0f s; DR1 %.1f): n_exp %s -> n_exp = %d",
			b.Name, c.Seeing, c.SkyMag, c.ExpTime, DR1Depth[b.Name], strings.Join(tried, ", "), best))
	}
	p.Notes = []string{
		"Generated by `go run ./pkg/survey/internal/genpresets` from ../shared/data/surveys/delve.json; do not edit by hand.",
		"Seeing (PSF FWHM), sky brightness and exposure-time distributions: DELVE single-epoch observing conditions (E. Zaborowski and A. Drlica-Wagner), as distributed with deeplenstronomy's 'delve' survey preset (Morgan et al. 2021, JOSS 6, 2854) and transcribed in ../shared/data/surveys/delve.json. Histogram bins are centred on VALUES; a draw picks a bin by weight and a uniform value inside it.",
		"Zero points: DECam per-second AB zero points (1 e-/s), as in lenstronomy's DES configuration (lenstronomy/SimulationAPI/ObservationConfig/DES.py): g 26.58, r 26.78, i 26.75, z 26.48. The zero points in delve.json (31.55, 31.284, 31.608, 31.262) are ~2.5 log10(90 s) brighter, i.e. per-exposure values; deeplenstronomy used them per second (see the delve-seed preset). They are not used here.",
		"Camera: read noise 7 e- per exposure, gain 4 e-/ADU (DES; recorded only, images are sky-subtracted e-/s), pixel 0.263 arcsec, Gaussian PSF with FWHM = seeing. Noise: Poisson source and sky electrons plus Gaussian read noise per exposure (PHYSICS.md section 5).",
		"n_exp: per band, the number of co-added exposures (1-6) whose ideal PSF-weighted 5-sigma point-source depth at the median conditions (survey.PointSourceDepth) is closest to the DELVE DR1 median coadd depth (Drlica-Wagner et al. 2021, ApJS 256, 2: g 24.3, r 23.9, i 23.3, z 22.8). " + strings.Join(choice, "; ") + ".",
		"Why one exposure: the ideal depth (optimal PSF weighting of an isolated, pixel-centred star, noise only) is deeper than what a pipeline's PSF or aperture photometry reaches on the same data (PSF-model errors, sky-subtraction and calibration uncertainty, non-optimal weights), by a few tenths of a magnitude; so although DR1 coadds hold several exposures per band, a single median-condition DECam exposure already matches the published depths to within 0.2 mag, as PHYSICS.md's sanity check found (g 24.2, r 23.8, i 23.4, z 22.8). `lenssbi depth --preset delve` prints the table, including the spread of depth over the condition distributions.",
	}
	return p
}

func buildDelveSeed(d *delveJSON) *survey.Preset {
	p := &survey.Preset{
		Name:        "delve-seed",
		Description: "Reproduces deeplenstronomy's 'delve' survey preset (the seed work's simulations): DELVE conditions drawn as deeplenstronomy draws them, its zero points used per second, and its noise model.",
		PixelScale:  d.PixelScale,
		PSF:         survey.PSFGaussian,
		NoiseModel:  survey.NoiseDeeplenstronomy,
	}
	for _, b := range Bands {
		dist := func(x survey.Distribution) survey.Distribution {
			x.Discrete = true
			return x
		}
		p.Bands = append(p.Bands, survey.Band{
			Name: b, ZeroPoint: d.ZeroPoint[b], Gain: d.Gain[b], ReadNoise: d.ReadNoise, NExp: d.NumExp,
			Seeing: dist(d.Seeing[b]), SkyMag: dist(d.Sky[b]), ExpTime: dist(d.ExpTime[b]),
		})
	}
	p.Notes = []string{
		"Generated by `go run ./pkg/survey/internal/genpresets` from ../shared/data/surveys/delve.json; do not edit by hand. Use it to compare like for like with results simulated by deeplenstronomy's 'delve' preset; use 'delve' for anything meant to look like real DELVE data.",
		"Conditions: deeplenstronomy/distributions.py (deepskies/deeplenstronomy) draws delve_seeing, delve_sky_brightness and delve_exposure_time with random.choices(VALUES, WEIGHTS): the bin values themselves, hence DISCRETE. Zero points (delve_magnitude_zero_point) g 31.55, r 31.284, i 31.608, z 31.262 are used by lenstronomy as per-second zero points (SimAPI.magnitude2amplitude -> data_util.magnitude2cps), so sources are ~5 mag brighter in e-/s than with DECam's per-second zero points. Gain 6.083 e-/ADU (des_ccd_gain), read noise 7 e-, one exposure, pixel 0.263 arcsec, Gaussian PSF of FWHM = seeing (deeplenstronomy/surveys.py, delve()).",
		"Noise (noise_model 'deeplenstronomy'), established by reading deeplenstronomy/image_generator.py (ImageGenerator.sim_image, commit 5d790d5) and lenstronomy/Util/image_util.py and data_util.py: image = image_sim + add_background(sigma_bkg) + add_poisson(image_sim, exposure_time), where add_poisson is Gaussian with sigma = sqrt(|S|/exposure_time) (S in counts/s, single-exposure time) and sigma_bkg = data_util.bkg_noise(read_noise, exposure_time, sky_brightness, pixel_scale, num_exposures) = sqrt(n read_noise^2 + n t sky pixel_scale^2)/(n t), with sky_brightness the magnitude itself (e.g. 21.9) taken as counts/s/arcsec^2 (deeplenstronomy issue #139). No sky level is added and the gain is never applied (issue #131: lenstronomy's default data_count_unit is e-). So per pixel: img = S + N(0, |S|/t + (7^2 + t mu_sky 0.263^2)/t^2) in counts/s; the sky contributes ~1.5 counts/s per pixel instead of the ~5-80 e-/s DECam sees, and with the per-exposure zero points the images are ~5 mag deeper than real single DECam exposures (`lenssbi depth --preset delve-seed`).",
	}
	return p
}

func buildDES() *survey.Preset {
	p := &survey.Preset{
		Name:        "des",
		Description: "DES wide-field coadd as configured in lenstronomy (SimulationAPI/ObservationConfig/DES.py): fixed median conditions, 10 x 90 s exposures, physical noise model.",
		PixelScale:  0.263,
		PSF:         survey.PSFGaussian,
		NoiseModel:  survey.NoisePhysical,
	}
	for _, b := range Bands {
		p.Bands = append(p.Bands, survey.Band{
			Name: b, ZeroPoint: DECamZeroPoint[b], Gain: 4, ReadNoise: 7, NExp: 10,
			Seeing: survey.Delta(DES[b].Seeing), SkyMag: survey.Delta(DES[b].Sky), ExpTime: survey.Delta(90),
		})
	}
	p.Notes = []string{
		"Generated by `go run ./pkg/survey/internal/genpresets`; do not edit by hand.",
		"Numbers from lenstronomy/SimulationAPI/ObservationConfig/DES.py (lenstronomy/lenstronomy; identical at the two commits read): exposure 90 s, num_exposures 10 (coadd_years = 3), zero points g 26.58, r 26.78, i 26.75, z 26.48 (1 e-/s), seeing FWHM g 1.12, r 0.96, i 0.88, z 0.84 arcsec, sky g 22.01, r 21.15, i 19.89, z 18.72 mag/arcsec^2; camera read noise 7 e-, pixel 0.263 arcsec, ccd_gain 4 e-/ADU. Single values (delta distributions).",
	}
	return p
}

// numArray matches a JSON array of numbers spread over several lines by
// json.MarshalIndent.
var numArray = regexp.MustCompile(`\[\s*(-?[0-9][0-9.eE+-]*(?:,\s*-?[0-9][0-9.eE+-]*)*)\s*\]`)
var sep = regexp.MustCompile(`,\s+`)

// Format renders a preset as indented JSON with numeric arrays on one line.
func Format(p *survey.Preset) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encoding preset %s: %w", p.Name, err)
	}
	return numArray.ReplaceAllFunc(buf.Bytes(), func(m []byte) []byte {
		inner := numArray.FindSubmatch(m)[1]
		return append(append([]byte("["), sep.ReplaceAll(inner, []byte(", "))...), ']')
	}), nil
}
