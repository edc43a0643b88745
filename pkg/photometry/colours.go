package photometry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lenssbi/lenssbi/data"
)

// DeflectorColoursPath is the path of the deflector colour table inside data.FS.
const DeflectorColoursPath = "tables/deflector_colours.csv"

// ColourTable holds LensPop deflector colours c_band(z) =
// -(m_band(SED at z) - m_r(SED at z=0)) tabulated on a strictly increasing
// redshift grid for a set of bands, and interpolates them. With DM(z) the
// distance modulus, a deflector of absolute r magnitude M_r has apparent
// magnitude m_band(z) = M_r + DM(z) - c_band(z) (see ApparentMagnitude).
//
// Interpolation between grid nodes is the 4-point Lagrange cubic through the
// nearest nodes (one-sided at the table ends), exact for cubic polynomials.
// A ColourTable is immutable after construction and safe for concurrent use.
type ColourTable struct {
	z       []float64
	bands   []string
	c       [][]float64 // c[band][node]
	uniform bool        // z[k] = z[0] + k*dz to 1e-9 relative
	dz      float64
}

// NewColourTable builds a table from a redshift grid (strictly increasing,
// finite, at least 4 nodes), band names (non-empty, unique) and one colour
// column per band, each as long as the grid. The inputs are copied.
func NewColourTable(z []float64, bands []string, colours [][]float64) (*ColourTable, error) {
	if len(z) < 4 {
		return nil, fmt.Errorf("colour table: need at least 4 redshift nodes, have %d", len(z))
	}
	for k, v := range z {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("colour table: redshift node %d is %v", k, v)
		}
		if k > 0 && v <= z[k-1] {
			return nil, fmt.Errorf("colour table: redshift node %d (%v) does not increase (previous %v)", k, v, z[k-1])
		}
	}
	if len(bands) == 0 {
		return nil, errors.New("colour table: no bands")
	}
	if len(colours) != len(bands) {
		return nil, fmt.Errorf("colour table: %d bands but %d colour columns", len(bands), len(colours))
	}
	for b, name := range bands {
		if name == "" {
			return nil, fmt.Errorf("colour table: band %d has an empty name", b)
		}
		if slices.Index(bands, name) != b {
			return nil, fmt.Errorf("colour table: band %q appears twice", name)
		}
		if len(colours[b]) != len(z) {
			return nil, fmt.Errorf("colour table: band %q has %d values for %d redshifts", name, len(colours[b]), len(z))
		}
		for k, v := range colours[b] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("colour table: band %q at z=%v is %v", name, z[k], v)
			}
		}
	}
	t := &ColourTable{z: slices.Clone(z), bands: slices.Clone(bands), c: make([][]float64, len(bands))}
	for b := range colours {
		t.c[b] = slices.Clone(colours[b])
	}
	n := len(z) - 1
	t.dz = (z[n] - z[0]) / float64(n)
	t.uniform = true
	for k, v := range z {
		if math.Abs(v-(z[0]+float64(k)*t.dz)) > 1e-9*math.Max(1, math.Abs(v)) {
			t.uniform = false
			break
		}
	}
	return t, nil
}

// ComputeColourTable integrates the SED through each bandpass at every
// redshift of the grid and returns c_band(z) = -(m_band(SED at z) - m_ref(SED at z=0)).
// Band names are the bandpasses' Name fields.
func ComputeColourTable(s SED, bands []Bandpass, ref Bandpass, z []float64) (*ColourTable, error) {
	mref, err := SyntheticABMagnitude(s, ref)
	if err != nil {
		return nil, fmt.Errorf("colour table reference band: %w", err)
	}
	if math.IsInf(mref, 0) {
		return nil, fmt.Errorf("colour table: SED %q has no flux in reference band %q", s.Name, ref.Name)
	}
	names := make([]string, len(bands))
	cols := make([][]float64, len(bands))
	for b, bp := range bands {
		names[b] = bp.Name
		cols[b] = make([]float64, len(z))
	}
	for k, zk := range z {
		if !(zk > -1) || math.IsInf(zk, 0) {
			return nil, fmt.Errorf("colour table: redshift %v must be finite and > -1", zk)
		}
		sz := s.Redshift(zk)
		for b, bp := range bands {
			m, err := SyntheticABMagnitude(sz, bp)
			if err != nil {
				return nil, fmt.Errorf("colour table at z=%g: %w", zk, err)
			}
			cols[b][k] = -(m - mref)
		}
	}
	return NewColourTable(z, names, cols)
}

// Bands returns the table's band names in column order (a copy).
func (t *ColourTable) Bands() []string { return slices.Clone(t.bands) }

// ZRange returns the first and last redshift of the grid.
func (t *ColourTable) ZRange() (lo, hi float64) { return t.z[0], t.z[len(t.z)-1] }

// Redshifts returns a copy of the redshift grid.
func (t *ColourTable) Redshifts() []float64 { return slices.Clone(t.z) }

// Column returns a copy of the tabulated colours of band on the redshift grid.
func (t *ColourTable) Column(band string) ([]float64, error) {
	b := t.BandIndex(band)
	if b < 0 {
		return nil, t.unknownBand(band)
	}
	return slices.Clone(t.c[b]), nil
}

// BandIndex returns the column index of band (as used by Colours), or -1.
func (t *ColourTable) BandIndex(band string) int { return slices.Index(t.bands, band) }

func (t *ColourTable) unknownBand(band string) error {
	return fmt.Errorf("colour table: unknown band %q (have %s)", band, strings.Join(t.bands, " "))
}

// Colour returns c_band(z) interpolated from the table. It errors for an
// unknown band or z outside the grid (or NaN).
func (t *ColourTable) Colour(band string, z float64) (float64, error) {
	b := t.BandIndex(band)
	if b < 0 {
		return math.NaN(), t.unknownBand(band)
	}
	k, err := t.stencil(z)
	if err != nil {
		return math.NaN(), err
	}
	return t.interp(b, k, z), nil
}

// Colours fills dst[b] with c_band(z) for every band in Bands() order; dst must
// have length len(Bands()). It does not allocate.
func (t *ColourTable) Colours(z float64, dst []float64) error {
	if len(dst) != len(t.bands) {
		return fmt.Errorf("colour table: dst has length %d, want %d", len(dst), len(t.bands))
	}
	k, err := t.stencil(z)
	if err != nil {
		return err
	}
	for b := range t.bands {
		dst[b] = t.interp(b, k, z)
	}
	return nil
}

// ApparentMagnitude returns the apparent magnitude of a deflector in band:
// m_band = M_r + DM(z) - c_band(z), with absMagR = M_r and distMod = DM(z) =
// 5 log10(D_L / 10 pc) from the cosmology package.
func (t *ColourTable) ApparentMagnitude(band string, absMagR, distMod, z float64) (float64, error) {
	c, err := t.Colour(band, z)
	if err != nil {
		return math.NaN(), err
	}
	return absMagR + distMod - c, nil
}

// stencil returns the first of the 4 nodes used to interpolate at z.
func (t *ColourTable) stencil(z float64) (int, error) {
	n := len(t.z)
	lo, hi := t.z[0], t.z[n-1]
	tol := 1e-12 * math.Max(1, math.Abs(hi))
	if !(z >= lo-tol && z <= hi+tol) {
		return 0, fmt.Errorf("colour table: redshift %v outside the table's range [%g, %g]", z, lo, hi)
	}
	var k int // interval [z[k], z[k+1]] containing z
	if t.uniform {
		k = int((z - lo) / t.dz)
	} else {
		k = sort.SearchFloat64s(t.z, z) - 1
	}
	k = max(0, min(k, n-2))
	// Centre the 4-point stencil on the interval, shifted inside at the ends.
	return max(0, min(k-1, n-4)), nil
}

func (t *ColourTable) interp(b, k int, z float64) float64 {
	x0, x1, x2, x3 := t.z[k], t.z[k+1], t.z[k+2], t.z[k+3]
	c := t.c[b][k : k+4 : k+4]
	d0, d1, d2, d3 := z-x0, z-x1, z-x2, z-x3
	return c[0]*(d1*d2*d3)/((x0-x1)*(x0-x2)*(x0-x3)) +
		c[1]*(d0*d2*d3)/((x1-x0)*(x1-x2)*(x1-x3)) +
		c[2]*(d0*d1*d3)/((x2-x0)*(x2-x1)*(x2-x3)) +
		c[3]*(d0*d1*d2)/((x3-x0)*(x3-x1)*(x3-x2))
}

// WriteCSV writes the table as CSV: each comment line prefixed with "# ", then
// the header "z,c_<band>,...", then one row per redshift, every number with
// fixed precision %.5f (negative zero written as zero), so that the output is
// byte-reproducible.
func (t *ColourTable) WriteCSV(w io.Writer, comments []string) error {
	bw := bufio.NewWriter(w)
	for _, c := range comments {
		fmt.Fprintf(bw, "# %s\n", c)
	}
	bw.WriteString("z")
	for _, b := range t.bands {
		bw.WriteString(",c_" + b)
	}
	bw.WriteByte('\n')
	for k, z := range t.z {
		bw.WriteString(formatFixed(z, 5))
		for b := range t.bands {
			bw.WriteByte(',')
			bw.WriteString(formatFixed(t.c[b][k], 5))
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing colour table: %w", err)
	}
	return nil
}

// formatFixed formats v with prec decimals, writing values that round to zero
// without a minus sign.
func formatFixed(v float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, v)
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:]
	}
	return s
}

// ParseColourTableCSV reads a table written by WriteCSV: lines starting with
// '#' are comments, the first other line is the header "z,c_<band>,...", and
// each following line holds a redshift and one colour per band.
func ParseColourTableCSV(r io.Reader) (*ColourTable, error) {
	sc := bufio.NewScanner(r)
	lineNo := 0
	var bands []string
	var z []float64
	var cols [][]float64
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		if bands == nil {
			if len(fields) < 2 || strings.TrimSpace(fields[0]) != "z" {
				return nil, fmt.Errorf("line %d: header %q must be \"z,c_<band>,...\"", lineNo, line)
			}
			for _, f := range fields[1:] {
				f = strings.TrimSpace(f)
				name, ok := strings.CutPrefix(f, "c_")
				if !ok || name == "" {
					return nil, fmt.Errorf("line %d: column %q is not of the form c_<band>", lineNo, f)
				}
				bands = append(bands, name)
			}
			cols = make([][]float64, len(bands))
			continue
		}
		if len(fields) != len(bands)+1 {
			return nil, fmt.Errorf("line %d: %d fields, want %d", lineNo, len(fields), len(bands)+1)
		}
		v, err := parseFinite(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: z: %w", lineNo, err)
		}
		z = append(z, v)
		for b := range bands {
			v, err := parseFinite(strings.TrimSpace(fields[b+1]))
			if err != nil {
				return nil, fmt.Errorf("line %d: c_%s: %w", lineNo, bands[b], err)
			}
			cols[b] = append(cols[b], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	if bands == nil {
		return nil, errors.New("no header line")
	}
	return NewColourTable(z, bands, cols)
}

var deflectorColours = sync.OnceValues(func() (*ColourTable, error) {
	f, err := data.FS.Open(DeflectorColoursPath)
	if err != nil {
		return nil, fmt.Errorf("opening embedded %s: %w", DeflectorColoursPath, err)
	}
	defer f.Close()
	t, err := ParseColourTableCSV(f)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", DeflectorColoursPath, err)
	}
	return t, nil
})

// DeflectorColours returns the embedded LensPop deflector colour table
// (data/tables/deflector_colours.csv: the Bruzual & Charlot old stellar
// population through the DECam DR1 g r i z bandpasses, r at z=0 as reference,
// z = 0..3). It is parsed once and shared; the table is immutable.
func DeflectorColours() (*ColourTable, error) { return deflectorColours() }
