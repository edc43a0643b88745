package photometry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/lenssbi/lenssbi/data"
)

// LSSTSourcesPath is the path of the source catalogue table inside data.FS.
const LSSTSourcesPath = "tables/lsst_sources.csv"

// SourceCatalog is a catalogue of background galaxies with observed-frame AB
// magnitudes, the population LensPop draws lensed sources from. Row i of every
// column describes one galaxy. AreaDeg2 is the sky area the catalogue covers.
type SourceCatalog struct {
	Z       []float64 // redshift
	G       []float64 // observed AB magnitude, g
	R       []float64 // observed AB magnitude, r
	I       []float64 // observed AB magnitude, i
	Zmag    []float64 // observed AB magnitude, z
	AbsMagR []float64 // absolute r magnitude (total)
	// AreaDeg2 is the sky area of the catalogue in square degrees.
	AreaDeg2 float64
}

// sourceColumns are the CSV column names, in the order written.
var sourceColumns = []string{"z", "g", "r", "i", "zmag", "absmag_r"}

func (c *SourceCatalog) columns() [][]float64 {
	return [][]float64{c.Z, c.G, c.R, c.I, c.Zmag, c.AbsMagR}
}

// Len returns the number of galaxies.
func (c *SourceCatalog) Len() int { return len(c.Z) }

// Validate reports whether all columns have the same length, all values are
// finite, redshifts are positive and the area is positive.
func (c *SourceCatalog) Validate() error {
	if !(c.AreaDeg2 > 0) || math.IsInf(c.AreaDeg2, 0) {
		return fmt.Errorf("source catalogue: area %v deg^2 must be positive and finite", c.AreaDeg2)
	}
	n := len(c.Z)
	for k, col := range c.columns() {
		if len(col) != n {
			return fmt.Errorf("source catalogue: column %s has %d rows, want %d", sourceColumns[k], len(col), n)
		}
		for i, v := range col {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("source catalogue: row %d column %s is %v", i, sourceColumns[k], v)
			}
		}
	}
	for i, z := range c.Z {
		if z <= 0 {
			return fmt.Errorf("source catalogue: row %d has redshift %v <= 0", i, z)
		}
	}
	return nil
}

// DensityPerArcsec2 returns the number of galaxies per square arcsecond.
func (c *SourceCatalog) DensityPerArcsec2() float64 {
	return float64(c.Len()) / (c.AreaDeg2 * 3600 * 3600)
}

// Mag returns the observed AB magnitude of galaxy i in band "g", "r", "i" or
// "z"; it errors for another band or i out of range.
func (c *SourceCatalog) Mag(band string, i int) (float64, error) {
	if i < 0 || i >= c.Len() {
		return math.NaN(), fmt.Errorf("source catalogue: row %d out of range [0, %d)", i, c.Len())
	}
	switch band {
	case "g":
		return c.G[i], nil
	case "r":
		return c.R[i], nil
	case "i":
		return c.I[i], nil
	case "z":
		return c.Zmag[i], nil
	}
	return math.NaN(), fmt.Errorf("source catalogue: unknown band %q (have g r i z)", band)
}

// MagsGRIZ returns the observed g, r, i, z AB magnitudes of galaxy i. Like a
// slice index, i must be in [0, Len()); it panics otherwise.
func (c *SourceCatalog) MagsGRIZ(i int) [4]float64 {
	return [4]float64{c.G[i], c.R[i], c.I[i], c.Zmag[i]}
}

// WriteCSV writes the catalogue: each comment line prefixed with "# ", a
// "# area_deg2: <area>" line, the header "z,g,r,i,zmag,absmag_r" and one row
// per galaxy with every number formatted %.4f (the precision of the LSST
// catalogue), so that the output is byte-reproducible.
func (c *SourceCatalog) WriteCSV(w io.Writer, comments []string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, s := range comments {
		fmt.Fprintf(bw, "# %s\n", s)
	}
	area := strconv.FormatFloat(c.AreaDeg2, 'f', -1, 64)
	if !strings.Contains(area, ".") {
		area += ".0"
	}
	fmt.Fprintf(bw, "# area_deg2: %s\n", area)
	bw.WriteString(strings.Join(sourceColumns, ","))
	bw.WriteByte('\n')
	cols := c.columns()
	for i := range c.Z {
		for k, col := range cols {
			if k > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(formatFixed(col[i], 4))
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing source catalogue: %w", err)
	}
	return nil
}

// ParseSourceCatalogCSV reads a catalogue written by WriteCSV. Comment lines
// start with '#'; one of them must be "# area_deg2: <area>". The header line
// must name the columns z, g, r, i, zmag and absmag_r (in any order; other
// columns are ignored).
func ParseSourceCatalogCSV(r io.Reader) (*SourceCatalog, error) {
	sc := bufio.NewScanner(r)
	lineNo := 0
	c := &SourceCatalog{AreaDeg2: math.NaN()}
	var idx []int // idx[k] = field index of sourceColumns[k]
	nfields := 0
	cols := make([][]float64, len(sourceColumns))
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok {
			if v, ok := strings.CutPrefix(strings.TrimSpace(h), "area_deg2:"); ok {
				a, err := parseFinite(strings.TrimSpace(v))
				if err != nil {
					return nil, fmt.Errorf("line %d: area_deg2: %w", lineNo, err)
				}
				c.AreaDeg2 = a
			}
			continue
		}
		fields := strings.Split(line, ",")
		if idx == nil {
			nfields = len(fields)
			var err error
			if idx, err = ColumnIndices(fields, sourceColumns); err != nil {
				return nil, fmt.Errorf("line %d: header %q: %w", lineNo, line, err)
			}
			continue
		}
		if len(fields) != nfields {
			return nil, fmt.Errorf("line %d: %d fields, want %d", lineNo, len(fields), nfields)
		}
		for k, f := range idx {
			v, err := parseFinite(strings.TrimSpace(fields[f]))
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", lineNo, sourceColumns[k], err)
			}
			cols[k] = append(cols[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	if idx == nil {
		return nil, errors.New("no header line")
	}
	if math.IsNaN(c.AreaDeg2) {
		return nil, errors.New("no '# area_deg2: <area>' comment line")
	}
	c.Z, c.G, c.R, c.I, c.Zmag, c.AbsMagR = cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

var lsstSources = sync.OnceValues(func() (*SourceCatalog, error) {
	f, err := data.FS.Open(LSSTSourcesPath)
	if err != nil {
		return nil, fmt.Errorf("opening embedded %s: %w", LSSTSourcesPath, err)
	}
	defer f.Close()
	c, err := ParseSourceCatalogCSV(f)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", LSSTSourcesPath, err)
	}
	return c, nil
})

// LSSTSources returns the embedded LSST source catalogue
// (data/tables/lsst_sources.csv, derived from the simulated 1 deg^2 LSST
// catalogue of Connolly et al. 2010 used by LensPop). It is parsed once and
// shared between callers, who must not modify it.
func LSSTSources() (*SourceCatalog, error) { return lsstSources() }

// ColumnIndices returns, for each wanted column name, its position among the
// header fields (compared after trimming blanks), or an error naming the
// first missing column.
func ColumnIndices(fields, wanted []string) ([]int, error) {
	idx := make([]int, len(wanted))
	for k, want := range wanted {
		idx[k] = -1
		for f, h := range fields {
			if strings.TrimSpace(h) == want {
				idx[k] = f
			}
		}
		if idx[k] < 0 {
			return nil, fmt.Errorf("no column %q", want)
		}
	}
	return idx, nil
}
