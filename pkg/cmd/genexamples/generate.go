package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// MagZero is the zero point of the example files' pixel values: a pixel
// value v is the flux of an AB magnitude MagZero - 2.5 log10(v). DESDM
// coadds, and so DELVE's, are scaled to this zero point.
const MagZero = 30.0

// spec says which lenses to write.
type spec struct {
	Preset string
	Seed   uint64
	// Pool is how many lenses are simulated to choose from. The examples
	// are the Bright lenses with the highest lensed-source SNR among those
	// with an Einstein radius above MinThetaE (arcs that show), then the
	// lens of median SNR in the pool (a typical candidate).
	Pool      int
	Bright    int
	MinThetaE float64
	Size      int
}

func defaultSpec() spec {
	return spec{Preset: "delve", Seed: 2025, Pool: 60, Bright: 2, MinThetaE: 1, Size: 48}
}

// DECam filter names as the DECam community pipeline writes them.
var decamFilter = map[string]string{
	"g": "g DECam SDSS c0001 4720.0 1520.0",
	"r": "r DECam SDSS c0002 6415.0 1480.0",
	"i": "i DECam SDSS c0003 7835.0 1470.0",
	"z": "z DECam SDSS c0004 9260.0 1520.0",
}

// example is one chosen lens.
type example struct {
	Name     string
	RA, Dec  float64
	Index    int
	Lens     *simulate.Lens
	Sim      *simulate.Simulator
	Preset   *survey.Preset
	Seed     uint64
	FileBase string
}

// choose simulates the pool and returns the chosen lenses, in pick order.
func choose(s spec) ([]example, error) {
	p, err := survey.LoadPreset(s.Preset)
	if err != nil {
		return nil, err
	}
	cfg := simulate.DefaultConfig(p)
	cfg.Seed = s.Seed
	cfg.Size = s.Size
	sim, err := simulate.New(cfg)
	if err != nil {
		return nil, err
	}
	lenses := make([]*simulate.Lens, s.Pool)
	for i := range lenses {
		lenses[i] = sim.NewLens()
		if err := sim.Simulate(i, lenses[i]); err != nil {
			return nil, fmt.Errorf("simulating lens %d: %w", i, err)
		}
	}
	col := func(i int, name string) float64 { return lenses[i].Params[sim.ColumnIndex(name)] }
	bySNR := make([]int, s.Pool) // decreasing SNR
	for i := range bySNR {
		bySNR[i] = i
	}
	sort.SliceStable(bySNR, func(a, b int) bool { return col(bySNR[a], "SNR") > col(bySNR[b], "SNR") })
	var picks []int
	for _, i := range bySNR {
		if len(picks) < s.Bright && col(i, simulate.ColThetaE) > s.MinThetaE {
			picks = append(picks, i)
		}
	}
	if len(picks) < s.Bright {
		return nil, fmt.Errorf("only %d of %d lenses have theta_E > %g", len(picks), s.Pool, s.MinThetaE)
	}
	median := bySNR[s.Pool/2]
	if slices.Contains(picks, median) {
		return nil, fmt.Errorf("the median-SNR lens %d is also a bright pick", median)
	}
	picks = append(picks, median)
	var out []example
	for k, i := range picks {
		// Fictitious positions in the southern DELVE footprint.
		ra, dec := 23.9+17.3*float64(k), -44.37+6.1*float64(k)
		name := "sim-" + designation(ra, dec)
		out = append(out, example{Name: name, RA: ra, Dec: dec, Index: i, Lens: lenses[i], Sim: sim, Preset: p, Seed: s.Seed, FileBase: name})
	}
	return out, nil
}

// designation returns the IAU-style short name Jhhmm+ddmm of a position.
func designation(ra, dec float64) string {
	h := ra / 15
	hh, mm := int(h), int((h-math.Floor(h))*60)
	sign := "+"
	if dec < 0 {
		sign = "-"
	}
	ad := math.Abs(dec)
	dd, dm := int(ad), int((ad-math.Floor(ad))*60)
	return fmt.Sprintf("J%02d%02d%s%02d%02d", hh, mm, sign, dd, dm)
}

// generate returns every file of data/examples, by name.
func generate(s spec) (map[string][]byte, error) {
	exs, err := choose(s)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var csv strings.Builder
	csv.WriteString("name,ra_deg,dec_deg,preset,seed,index,THETA_E,Z_LENS,SIGMA_V,Z_SOURCE\n")
	for _, ex := range exs {
		col := func(name string) float64 { return ex.Lens.Params[ex.Sim.ColumnIndex(name)] }
		fmt.Fprintf(&csv, "%s,%.5f,%.5f,%s,%d,%d,%.6g,%.6g,%.6g,%.6g\n", ex.Name, ex.RA, ex.Dec, ex.Preset.Name, ex.Seed, ex.Index,
			col(simulate.ColThetaE), col(simulate.ColZLens), col(simulate.ColSigmaV), col(simulate.ColZSource))
		for b, band := range ex.Sim.Bands() {
			data, err := bandFile(ex, b, band, s.Size)
			if err != nil {
				return nil, fmt.Errorf("%s band %s: %w", ex.Name, band, err)
			}
			files[ex.FileBase+"_"+band+".fits"] = data
		}
	}
	files["truth.csv"] = []byte(csv.String())
	return files, nil
}

// bandFile renders one band of a lens as a FITS file with the image in the
// primary HDU.
func bandFile(ex example, b int, band string, size int) ([]byte, error) {
	bd, _, err := ex.Preset.Band(band)
	if err != nil {
		return nil, err
	}
	col := func(name string) float64 { return ex.Lens.Params[ex.Sim.ColumnIndex(name)] }
	B := strings.ToUpper(band)
	npix := size * size
	scale := math.Pow(10, 0.4*(MagZero-bd.ZeroPoint)) // e-/s -> coadd units
	pix := make([]float32, npix)
	for k, v := range ex.Lens.Images[b*npix : (b+1)*npix] {
		pix[k] = float32(float64(v) * scale)
	}
	deg := ex.Preset.PixelScale / 3600
	centre := float64(size+1) / 2
	h := &header{}
	h.add("SIMPLE", true, "conforms to FITS standard")
	h.add("BITPIX", -32, "IEEE single precision floating point")
	h.add("NAXIS", 2, "")
	h.add("NAXIS1", size, "")
	h.add("NAXIS2", size, "")
	h.add("OBJECT", ex.Name, "simulated lens, NOT a real object")
	h.add("TELESCOP", "CTIO 4.0-m telescope", "")
	h.add("INSTRUME", "DECam", "")
	h.add("SURVEY", "DELVE", "survey the cutout imitates")
	h.add("FILTER", decamFilter[band], "DECam filter")
	h.add("BAND", band, "")
	h.add("BUNIT", "counts", "coadd flux; mag = MAGZERO - 2.5 log10(counts)")
	h.add("MAGZERO", MagZero, "AB zero point of the pixel values")
	h.add("EXPTIME", col("EXPTIME_"+B)*col("NEXP_"+B), "[s] total exposure time")
	h.add("NCOMBINE", int(col("NEXP_"+B)), "exposures in the coadd")
	h.add("SEEING", math.Round(1e4*col("SEEING_"+B))/1e4, "[arcsec] PSF FWHM")
	h.add("PIXSCALE", ex.Preset.PixelScale, "[arcsec/pixel]")
	h.add("SKYSUB", true, "sky background subtracted")
	h.add("RADESYS", "ICRS", "")
	h.add("EQUINOX", 2000.0, "")
	h.add("CTYPE1", "RA---TAN", "")
	h.add("CTYPE2", "DEC--TAN", "")
	h.add("CUNIT1", "deg", "")
	h.add("CUNIT2", "deg", "")
	h.add("CRVAL1", ex.RA, "[deg] RA of the reference pixel")
	h.add("CRVAL2", ex.Dec, "[deg] Dec of the reference pixel")
	h.add("CRPIX1", centre, "reference pixel (cutout centre)")
	h.add("CRPIX2", centre, "")
	h.add("CD1_1", -deg, "[deg/pixel] RA increases to the left")
	h.add("CD1_2", 0.0, "")
	h.add("CD2_1", 0.0, "")
	h.add("CD2_2", deg, "[deg/pixel]")
	h.add("ORIGIN", "lenssbi genexamples", "")
	h.add("SIMPRSET", ex.Preset.Name, "lenssbi survey preset simulated")
	h.add("SIMSEED", int(ex.Seed), "simulation seed")
	h.add("SIMINDEX", ex.Index, "lens index within the seed")
	h.comment("Simulated by lenssbi (pkg/cmd/genexamples) to look like a DELVE")
	h.comment("coadd cutout; true parameters in truth.csv. Pixel values are the")
	h.comment("simulated e-/s times 10^(0.4 (MAGZERO - ZP)), ZP being the preset's")
	h.comment("per-second zero point of this band (1 e-/s), i.e. e-/s rescaled")
	h.comment("to MAGZERO: Cutout.Rescale with the preset's zero points undoes it.")
	if h.err != nil {
		return nil, h.err
	}
	var buf bytes.Buffer
	buf.Write(h.bytes())
	data := make([]byte, 4*npix)
	for k, v := range pix {
		binary.BigEndian.PutUint32(data[4*k:], math.Float32bits(v))
	}
	buf.Write(data)
	if r := buf.Len() % 2880; r != 0 {
		buf.Write(make([]byte, 2880-r))
	}
	return buf.Bytes(), nil
}

// header builds a FITS header of fixed-format 80-character cards.
type header struct {
	cards []string
	err   error
}

func (h *header) add(key string, value any, comment string) {
	var v string
	switch x := value.(type) {
	case bool:
		v = fmt.Sprintf("%20s", map[bool]string{true: "T", false: "F"}[x])
	case int:
		v = fmt.Sprintf("%20d", x)
	case float64:
		s := strings.ToUpper(strconv.FormatFloat(x, 'G', 12, 64))
		if !strings.ContainsAny(s, ".E") {
			s += ".0"
		}
		v = fmt.Sprintf("%20s", s)
	case string:
		q := "'" + fmt.Sprintf("%-8s", strings.ReplaceAll(x, "'", "''")) + "'"
		v = fmt.Sprintf("%-20s", q)
	default:
		h.err = fmt.Errorf("keyword %s: unsupported value %T", key, value)
		return
	}
	c := fmt.Sprintf("%-8s= %s", key, v)
	if comment != "" {
		c += " / " + comment
	}
	if len(c) > 80 {
		h.err = errors.Join(h.err, fmt.Errorf("keyword %s: card longer than 80 characters: %q", key, c))
		return
	}
	h.cards = append(h.cards, c)
}

func (h *header) comment(text string) {
	if len(text) > 72 {
		h.err = errors.Join(h.err, fmt.Errorf("comment longer than 72 characters: %q", text))
		return
	}
	h.cards = append(h.cards, "COMMENT "+text)
}

func (h *header) bytes() []byte {
	var b strings.Builder
	for _, c := range append(h.cards, "END") {
		fmt.Fprintf(&b, "%-80s", c)
	}
	for b.Len()%2880 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String())
}

// compare checks a regenerated file against the one on disk: text files
// and FITS headers byte for byte, FITS pixels to a relative 1e-5 of the
// file's largest absolute pixel.
func compare(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(path, ".fits") {
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s differs from the regenerated file", path)
		}
		return nil
	}
	hdr := bytes.Index(want, []byte(fmt.Sprintf("%-80s", "END")))
	if hdr < 0 {
		return fmt.Errorf("%s: regenerated file has no END card", path)
	}
	hdrLen := (hdr/2880 + 1) * 2880
	if len(got) != len(want) || !bytes.Equal(got[:hdrLen], want[:hdrLen]) {
		return fmt.Errorf("%s: header or size differs from the regenerated file", path)
	}
	var peak float64
	for k := hdrLen; k+4 <= len(want); k += 4 {
		peak = math.Max(peak, math.Abs(float64(math.Float32frombits(binary.BigEndian.Uint32(want[k:])))))
	}
	for k := hdrLen; k+4 <= len(want); k += 4 {
		a := float64(math.Float32frombits(binary.BigEndian.Uint32(got[k:])))
		b := float64(math.Float32frombits(binary.BigEndian.Uint32(want[k:])))
		if !(math.Abs(a-b) <= 1e-5*peak) {
			return fmt.Errorf("%s: pixel %d is %g, regenerated %g", path, (k-hdrLen)/4, a, b)
		}
	}
	return nil
}
