package simulate

import (
	"math"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/lensing"
	"github.com/lenssbi/lenssbi/pkg/population"
)

// Column describes one entry of Lens.Params: a FITS-ready name, its unit (FITS
// unit string, empty for dimensionless) and a one-line description.
type Column struct {
	Name, Unit, Description string
}

// The four inference targets, first in every parameter table.
const (
	ColThetaE  = "THETA_E"
	ColZLens   = "Z_LENS"
	ColSigmaV  = "SIGMA_V"
	ColZSource = "Z_SOURCE"
)

// Targets lists the inference targets in column order.
var Targets = []string{ColThetaE, ColZLens, ColSigmaV, ColZSource}

// Columns lists the parameter columns in Lens.Params order: the four targets,
// then every nuisance parameter (geometry, light, photometry, detection and
// per-band observing conditions).
func (s *Simulator) Columns() []Column { return append([]Column(nil), s.columns...) }

// ColumnIndex returns the position of the named column, or -1.
func (s *Simulator) ColumnIndex(name string) int {
	for i, c := range s.columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func buildColumns(bands []string) []Column {
	c := []Column{
		{ColThetaE, "arcsec", "Einstein radius of the SIE"},
		{ColZLens, "", "deflector redshift"},
		{ColSigmaV, "km/s", "deflector velocity dispersion"},
		{ColZSource, "", "source redshift"},
		{"LENS_X", "arcsec", "deflector centre x (east-west axis of the cutout)"},
		{"LENS_Y", "arcsec", "deflector centre y"},
		{"LENS_Q", "", "deflector axis ratio b/a (mass and light)"},
		{"LENS_PHI", "rad", "deflector major-axis angle from +x, counter-clockwise"},
		{"LENS_E1", "", "deflector ellipticity e1 = (1-q)/(1+q) cos 2phi"},
		{"LENS_E2", "", "deflector ellipticity e2 = (1-q)/(1+q) sin 2phi"},
		{"SHEAR_G1", "", "external shear gamma1"},
		{"SHEAR_G2", "", "external shear gamma2"},
		{"LENS_RE", "arcsec", "deflector effective radius (de Vaucouleurs)"},
		{"LENS_RE_KPC", "kpc", "deflector effective radius"},
		{"LENS_MABS_R", "mag", "deflector absolute r magnitude (AB)"},
	}
	for _, b := range bands {
		c = append(c, Column{"LENS_MAG_" + strings.ToUpper(b), "mag", "deflector apparent " + b + " magnitude (AB)"})
	}
	c = append(c,
		Column{"SRC_X", "arcsec", "unlensed source centre x"},
		Column{"SRC_Y", "arcsec", "unlensed source centre y"},
		Column{"SRC_BETA", "arcsec", "source offset from the deflector centre"},
		Column{"SRC_Q", "", "source axis ratio"},
		Column{"SRC_PHI", "rad", "source major-axis angle from +x, counter-clockwise"},
		Column{"SRC_RE", "arcsec", "source effective radius (exponential disc)"},
		Column{"SRC_RE_KPC", "kpc", "source effective radius"},
		Column{"SRC_MABS_R", "mag", "source absolute r magnitude (LSST catalogue)"},
	)
	for _, b := range bands {
		c = append(c, Column{"SRC_MAG_" + strings.ToUpper(b), "mag", "unlensed source apparent " + b + " magnitude (AB)"})
	}
	c = append(c,
		Column{"SRC_CATIDX", "", "row of the source in the derived LSST table"},
		Column{"MAGNIFICATION", "", "total magnification of the source"},
		Column{"SNR", "", "lensed-source signal-to-noise in the best band"},
		Column{"DET_BAND", "", "index of the best band (0-based, BANDS order)"},
		Column{"NTRIES", "", "candidates drawn before this lens passed the cuts"},
	)
	for _, b := range bands {
		B := strings.ToUpper(b)
		c = append(c,
			Column{"SNR_" + B, "", "lensed-source signal-to-noise in " + b},
			Column{"SEEING_" + B, "arcsec", "PSF FWHM in " + b},
			Column{"SKY_" + B, "mag/arcsec2", "sky brightness in " + b},
			Column{"EXPTIME_" + B, "s", "exposure time of one exposure in " + b},
			Column{"NEXP_" + B, "", "number of co-added exposures in " + b},
		)
	}
	return c
}

func (w *worker) fillParams(p []float64, sys *population.System, mu float64, best, tries int) {
	d, s := &sys.Deflector, &sys.Source
	e1, e2 := lensing.QPhiToE1E2(d.Q, d.Phi)
	k := 0
	put := func(v float64) { p[k] = v; k++ }
	put(sys.ThetaE)
	put(d.Z)
	put(d.SigmaV)
	put(s.Z)
	put(d.X)
	put(d.Y)
	put(d.Q)
	put(d.Phi)
	put(e1)
	put(e2)
	put(sys.Gamma1)
	put(sys.Gamma2)
	put(d.Re)
	put(d.ReKpc)
	put(d.MAbsR)
	for _, m := range d.Mags {
		put(m)
	}
	put(s.X)
	put(s.Y)
	put(math.Hypot(s.X-d.X, s.Y-d.Y))
	put(s.Q)
	put(s.Phi)
	put(s.Re)
	put(s.ReKpc)
	put(s.MAbsR)
	for _, m := range s.Mags {
		put(m)
	}
	put(float64(s.CatIndex))
	put(mu)
	put(w.snr[best])
	put(float64(best))
	put(float64(tries))
	for b := range w.s.bands {
		c := w.cond[b]
		put(w.snr[b])
		put(c.Seeing)
		put(c.SkyMag)
		put(c.ExpTime)
		put(float64(c.NExp))
	}
}
