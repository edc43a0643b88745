// Package survey describes how DECam sees the sky (PHYSICS.md section 5):
// survey presets (zero points, gain, read noise, per-band distributions of
// seeing, sky brightness and exposure time), the point-spread function and its
// convolution, the noise model, and point-source depths.
//
// Units: images are in electrons per second (e-/s), sky-subtracted; a band's
// zero point is the AB magnitude that gives 1 e-/s; sky brightness is in AB
// mag/arcsec^2; seeing is the PSF FWHM in arcsec; exposure time is per
// exposure, in seconds, and NExp exposures of that length are co-added. The
// gain (e-/ADU) is recorded for provenance and for converting to ADU; the
// images themselves are never in ADU.
//
// Presets are JSON files: the embedded ones (data/presets/NAME.json, see
// PresetNames) or a user's own file. Three ship with the project:
//
//   - delve (default): DELVE observing conditions with DECam's per-second zero
//     points and a physically consistent noise model, calibrated so that the
//     median 5-sigma point-source depth matches DELVE DR1;
//   - delve-seed: the conditions of deeplenstronomy's "delve" survey preset,
//     noise model included, to compare like for like with work simulated that
//     way (see AddNoiseDeeplenstronomy);
//   - des: lenstronomy's DES configuration (3-year wide-field coadd).
package survey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/lenssbi/lenssbi/data"
)

// DefaultPreset is the name of the preset used when none is given.
const DefaultPreset = "delve"

// PSF kinds.
const (
	PSFGaussian = "gaussian"
	PSFMoffat   = "moffat"
)

// Noise models.
const (
	// NoisePhysical is the physically consistent model of PHYSICS.md section 5:
	// sky and source electrons are Poisson, read noise Gaussian.
	NoisePhysical = "physical"
	// NoiseDeeplenstronomy reproduces deeplenstronomy's images (see
	// AddNoiseDeeplenstronomy for what that means).
	NoiseDeeplenstronomy = "deeplenstronomy"
)

// Band is one filter of a preset.
type Band struct {
	// Name is the filter name (g, r, i, z), unique within a preset.
	Name string `json:"name"`
	// ZeroPoint is the AB magnitude that gives 1 e-/s.
	ZeroPoint float64 `json:"zero_point_mag"`
	// Gain is the CCD gain in e-/ADU (recorded; images are in e-/s).
	Gain float64 `json:"gain_e_per_adu"`
	// ReadNoise is the read noise in e- per exposure.
	ReadNoise float64 `json:"read_noise_e"`
	// NExp is the number of co-added exposures.
	NExp int `json:"n_exp"`
	// Seeing is the distribution of the PSF FWHM, arcsec.
	Seeing Distribution `json:"seeing_fwhm_arcsec"`
	// SkyMag is the distribution of the sky brightness, AB mag/arcsec^2.
	SkyMag Distribution `json:"sky_mag_per_arcsec2"`
	// ExpTime is the distribution of the exposure time per exposure, s.
	ExpTime Distribution `json:"exposure_time_s"`
}

// Preset is a survey configuration: the camera, the PSF and noise models, and
// per-band observing conditions.
type Preset struct {
	// Name identifies the preset (the file name without .json for embedded ones).
	Name string `json:"name"`
	// Description is a one-line summary.
	Description string `json:"description"`
	// Notes records where the numbers come from and how they were chosen.
	Notes []string `json:"notes,omitempty"`
	// PixelScale is the pixel size in arcsec.
	PixelScale float64 `json:"pixel_scale_arcsec"`
	// PSF is PSFGaussian or PSFMoffat.
	PSF string `json:"psf"`
	// MoffatBeta is the Moffat index (> 1) when PSF is PSFMoffat.
	MoffatBeta float64 `json:"moffat_beta,omitempty"`
	// NoiseModel is NoisePhysical or NoiseDeeplenstronomy.
	NoiseModel string `json:"noise_model"`
	// Bands lists the filters in the order images store them.
	Bands []Band `json:"bands"`

	// Source is where the preset was read from (embedded path or file path).
	Source string `json:"-"`
}

// PresetNames returns the names of the embedded presets, sorted.
func PresetNames() []string {
	entries, err := fs.ReadDir(data.FS, "presets")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, strings.TrimSuffix(e.Name(), ".json"))
		}
	}
	slices.Sort(names)
	return names
}

// LoadPreset reads and validates a preset. nameOrPath is either the name of an
// embedded preset (see PresetNames; "" means DefaultPreset) or the path of a
// JSON file (any argument ending in ".json" or containing a path separator).
// Errors name the file and the offending field; an unknown name lists the
// available presets.
func LoadPreset(nameOrPath string) (*Preset, error) {
	if nameOrPath == "" {
		nameOrPath = DefaultPreset
	}
	if strings.HasSuffix(nameOrPath, ".json") || strings.ContainsAny(nameOrPath, `/\`) {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("reading preset file %s: %w", nameOrPath, err)
		}
		return ParsePreset(b, nameOrPath)
	}
	src := path.Join("presets", nameOrPath+".json")
	b, err := fs.ReadFile(data.FS, src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("unknown preset %q: available presets are %s (or give the path of a .json file)",
				nameOrPath, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("reading embedded preset %s: %w", src, err)
	}
	return ParsePreset(b, "data/"+src)
}

// ParsePreset decodes and validates a preset from JSON. source names the
// input in error messages. Unknown fields are errors (they are usually typos).
func ParsePreset(b []byte, source string) (*Preset, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Preset
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(b, se.Offset)
			return nil, fmt.Errorf("preset %s: invalid JSON at line %d, column %d: %w", source, line, col, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("preset %s: field %q: cannot use a JSON %s as %s", source, te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("preset %s: %w", source, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("preset %s: unexpected data after the JSON object", source)
	}
	p.Source = source
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// lineCol converts a byte offset to 1-based line and column numbers.
func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// Validate checks every field of the preset and normalises the PSF and noise
// model names to lower case. The error names the preset's source and the
// field.
func (p *Preset) Validate() error {
	src := p.Source
	if src == "" {
		src = "(in memory)"
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("preset %s: %s", src, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(p.Name) == "" {
		return fail("name is empty")
	}
	if !(p.PixelScale > 0) || math.IsInf(p.PixelScale, 0) {
		return fail("pixel_scale_arcsec = %v must be positive and finite", p.PixelScale)
	}
	p.PSF = strings.ToLower(p.PSF)
	switch p.PSF {
	case PSFGaussian:
	case PSFMoffat:
		if !(p.MoffatBeta > 1) || math.IsInf(p.MoffatBeta, 0) {
			return fail("psf %q needs moffat_beta > 1 (finite flux), got %v", p.PSF, p.MoffatBeta)
		}
	default:
		return fail("psf = %q: want %q or %q", p.PSF, PSFGaussian, PSFMoffat)
	}
	p.NoiseModel = strings.ToLower(p.NoiseModel)
	if p.NoiseModel != NoisePhysical && p.NoiseModel != NoiseDeeplenstronomy {
		return fail("noise_model = %q: want %q or %q", p.NoiseModel, NoisePhysical, NoiseDeeplenstronomy)
	}
	if len(p.Bands) == 0 {
		return fail("no bands")
	}
	seen := map[string]bool{}
	for i := range p.Bands {
		b := &p.Bands[i]
		if strings.TrimSpace(b.Name) == "" {
			return fail("bands[%d]: name is empty", i)
		}
		if seen[b.Name] {
			return fail("band %q appears twice", b.Name)
		}
		seen[b.Name] = true
		bf := func(format string, a ...any) error {
			return fail("band %q: %s", b.Name, fmt.Sprintf(format, a...))
		}
		if !(b.ZeroPoint > 0 && b.ZeroPoint < 50) {
			return bf("zero_point_mag = %v: want an AB magnitude in (0, 50)", b.ZeroPoint)
		}
		if !(b.Gain > 0) || math.IsInf(b.Gain, 0) {
			return bf("gain_e_per_adu = %v must be positive and finite", b.Gain)
		}
		if !(b.ReadNoise >= 0) || math.IsInf(b.ReadNoise, 0) {
			return bf("read_noise_e = %v must be >= 0 and finite", b.ReadNoise)
		}
		if b.NExp < 1 {
			return bf("n_exp = %d must be >= 1", b.NExp)
		}
		for _, d := range []struct {
			name string
			d    *Distribution
		}{{"seeing_fwhm_arcsec", &b.Seeing}, {"sky_mag_per_arcsec2", &b.SkyMag}, {"exposure_time_s", &b.ExpTime}} {
			if err := d.d.Validate(); err != nil {
				return bf("%s: %v", d.name, err)
			}
			if !(d.d.Min() > 0) {
				return bf("%s: every value with non-zero weight must be positive (smallest is %g)", d.name, d.d.Min())
			}
		}
	}
	return nil
}

// Band returns the band called name and its index in p.Bands.
func (p *Preset) Band(name string) (*Band, int, error) {
	for i := range p.Bands {
		if p.Bands[i].Name == name {
			return &p.Bands[i], i, nil
		}
	}
	names := make([]string, len(p.Bands))
	for i := range p.Bands {
		names[i] = p.Bands[i].Name
	}
	return nil, -1, fmt.Errorf("preset %s has no band %q (bands: %s)", p.Name, name, strings.Join(names, ", "))
}

// BandNames returns the band names in order.
func (p *Preset) BandNames() []string {
	names := make([]string, len(p.Bands))
	for i := range p.Bands {
		names[i] = p.Bands[i].Name
	}
	return names
}

// Conditions is one band's draw of observing conditions.
type Conditions struct {
	Band    string  // band name
	Seeing  float64 // PSF FWHM, arcsec
	SkyMag  float64 // sky brightness, AB mag/arcsec^2
	ExpTime float64 // exposure time per exposure, s
	NExp    int     // number of co-added exposures
}

// TotalTime returns ExpTime * NExp, the total integration in seconds.
func (c Conditions) TotalTime() float64 { return c.ExpTime * float64(c.NExp) }

// SampleConditions draws one set of conditions per band, in p.Bands order:
// for each band, seeing, then sky brightness, then exposure time, each drawn
// independently from the band's distribution. It writes into dst when dst is
// long enough (no allocation) and returns dst[:len(p.Bands)]; otherwise it
// allocates a new slice.
func (p *Preset) SampleConditions(r *rand.Rand, dst []Conditions) []Conditions {
	if len(dst) < len(p.Bands) {
		dst = make([]Conditions, len(p.Bands))
	}
	dst = dst[:len(p.Bands)]
	for i := range p.Bands {
		b := &p.Bands[i]
		dst[i] = Conditions{
			Band:    b.Name,
			Seeing:  b.Seeing.Sample(r),
			SkyMag:  b.SkyMag.Sample(r),
			ExpTime: b.ExpTime.Sample(r),
			NExp:    b.NExp,
		}
	}
	return dst
}

// MedianConditions returns each band's median seeing, sky brightness and
// exposure time (marginal medians of the distributions).
func (p *Preset) MedianConditions() []Conditions {
	out := make([]Conditions, len(p.Bands))
	for i := range p.Bands {
		b := &p.Bands[i]
		out[i] = Conditions{Band: b.Name, Seeing: b.Seeing.Median(), SkyMag: b.SkyMag.Median(),
			ExpTime: b.ExpTime.Median(), NExp: b.NExp}
	}
	return out
}

// FluxRate returns the electrons per second from a source of AB magnitude mag:
// 10^(-0.4 (mag - ZeroPoint)).
func (b *Band) FluxRate(mag float64) float64 {
	return math.Pow(10, -0.4*(mag-b.ZeroPoint))
}

// Magnitude converts a rate in e-/s back to an AB magnitude (inverse of
// FluxRate); +Inf for a non-positive rate.
func (b *Band) Magnitude(rate float64) float64 {
	if !(rate > 0) {
		return math.Inf(1)
	}
	return b.ZeroPoint - 2.5*math.Log10(rate)
}

// SkyRatePerPixel returns the sky's expected e-/s in one pixel for sky
// brightness skyMag (mag/arcsec^2).
//
// NoisePhysical: 10^(-0.4 (skyMag - ZeroPoint)) * PixelScale^2.
//
// NoiseDeeplenstronomy: skyMag * PixelScale^2 -- the magnitude itself taken as
// counts per second per arcsec^2, which is what deeplenstronomy's
// image_generator does when it passes the sky brightness to lenstronomy's
// data_util.bkg_noise (see AddNoiseDeeplenstronomy).
func (p *Preset) SkyRatePerPixel(b *Band, skyMag float64) float64 {
	a := p.PixelScale * p.PixelScale
	if p.NoiseModel == NoiseDeeplenstronomy {
		return skyMag * a
	}
	return math.Pow(10, -0.4*(skyMag-b.ZeroPoint)) * a
}

// PixelVariance returns the coefficients of a pixel's expected variance in the
// sky-subtracted e-/s image under conditions c: a pixel whose expected source
// signal is S e-/s has variance perFlux*S + background ((e-/s)^2).
//
// NoisePhysical, with T = ExpTime*NExp and B = SkyRatePerPixel:
// perFlux = 1/T, background = (B T + ReadNoise^2 NExp) / T^2.
//
// NoiseDeeplenstronomy: perFlux = 1/ExpTime (lenstronomy's add_poisson is
// given the single-exposure time), background as above with deeplenstronomy's
// sky rate.
func (p *Preset) PixelVariance(b *Band, c Conditions) (perFlux, background float64) {
	background = Background(b, c, p.SkyRatePerPixel(b, c.SkyMag))
	if p.NoiseModel == NoiseDeeplenstronomy {
		return 1 / c.ExpTime, background
	}
	return 1 / (c.ExpTime * float64(c.NExp)), background
}

// Background returns PixelVariance's background term for a sky rate B
// [e-/s per pixel] (SkyRatePerPixel) under conditions c:
// (B T + ReadNoise^2 NExp) / T^2 with T = ExpTime*NExp.
func Background(b *Band, c Conditions, B float64) float64 {
	nexp := float64(c.NExp)
	T := c.ExpTime * nexp
	return (B*T + b.ReadNoise*b.ReadNoise*nexp) / (T * T)
}
