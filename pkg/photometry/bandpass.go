package photometry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Bandpass is a filter's total system response (photon-counting throughput)
// tabulated on a strictly increasing wavelength grid in Angstrom. The response
// is dimensionless and non-negative; it is taken as zero outside the table and
// linear between its nodes.
type Bandpass struct {
	Name       string
	Wavelength []float64 // Angstrom, strictly increasing
	Response   []float64 // dimensionless, >= 0
}

// Validate reports whether bp is usable: at least two nodes, finite values,
// positive strictly increasing wavelengths, non-negative response and a
// response that is positive somewhere.
func (bp Bandpass) Validate() error {
	if len(bp.Wavelength) != len(bp.Response) {
		return fmt.Errorf("bandpass %q: %d wavelengths but %d responses", bp.Name, len(bp.Wavelength), len(bp.Response))
	}
	if len(bp.Wavelength) < 2 {
		return fmt.Errorf("bandpass %q: need at least 2 nodes, have %d", bp.Name, len(bp.Wavelength))
	}
	anyPositive := false
	for k, w := range bp.Wavelength {
		t := bp.Response[k]
		if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
			return fmt.Errorf("bandpass %q: node %d: wavelength %v is not a positive finite number", bp.Name, k, w)
		}
		if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
			return fmt.Errorf("bandpass %q: node %d: response %v is not a non-negative finite number", bp.Name, k, t)
		}
		if k > 0 && w <= bp.Wavelength[k-1] {
			return fmt.Errorf("bandpass %q: node %d: wavelength %v does not increase (previous %v)", bp.Name, k, w, bp.Wavelength[k-1])
		}
		if t > 0 {
			anyPositive = true
		}
	}
	if !anyPositive {
		return fmt.Errorf("bandpass %q: response is zero everywhere", bp.Name)
	}
	return nil
}

// Support returns the wavelength interval [lo, hi] (Angstrom) outside which the
// response is zero: from the last zero node before the first positive one to
// the first zero node after the last positive one (or the table ends).
// It assumes bp is valid.
func (bp Bandpass) Support() (lo, hi float64) {
	first, last := -1, -1
	for k, t := range bp.Response {
		if t > 0 {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	if first < 0 {
		return math.NaN(), math.NaN()
	}
	if first > 0 {
		first--
	}
	if last < len(bp.Response)-1 {
		last++
	}
	return bp.Wavelength[first], bp.Wavelength[last]
}

// PivotWavelength returns the pivot wavelength of the bandpass,
// sqrt( int T lambda dlambda / int T dlambda/lambda ), in Angstrom. It is the
// wavelength at which f_nu = f_lambda lambda^2 / c converts band-averaged flux
// densities exactly (Tokunaga & Vacca 2005).
func (bp Bandpass) PivotWavelength() float64 {
	num := 0.0
	for k := 1; k < len(bp.Wavelength); k++ {
		x0, x1 := bp.Wavelength[k-1], bp.Wavelength[k]
		t0, t1 := bp.Response[k-1], bp.Response[k]
		// T x is quadratic on the interval: Simpson's rule is exact.
		num += (x1 - x0) / 6 * (t0*x0 + (t0+t1)*(x0+x1) + t1*x1)
	}
	return math.Sqrt(num / bp.BandNormalization())
}

// ReadBandpassECSV reads a bandpass from an astropy ECSV file such as
// shared/data/filters/decamDR1-g.ecsv. Header lines start with '#'; the first
// other line names the columns, which must include "wavelength" and "response";
// the rest are data rows. The wavelength unit is taken from the header's
// datatype entry (Angstrom, nm or micron are accepted; Angstrom when absent).
// The bandpass Name is the header's band_name when present, else the file's
// base name without extension. Errors name the file and line.
func ReadBandpassECSV(path string) (Bandpass, error) {
	return parseFile(path, "bandpass", ParseBandpassECSV)
}

// ParseBandpassECSV parses ECSV text as described in ReadBandpassECSV; name is
// used when the header carries no band_name.
func ParseBandpassECSV(r io.Reader, name string) (Bandpass, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	lineNo := 0
	sawMarker := false
	scale := 1.0 // wavelength unit -> Angstrom
	bandName := ""
	var cols []string
	iw, ir := -1, -1
	bp := Bandpass{}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			h := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			if !sawMarker && strings.HasPrefix(h, "%ECSV") {
				sawMarker = true
				continue
			}
			if strings.Contains(h, "name: wavelength") {
				if u, ok := yamlField(h, "unit"); ok {
					s, err := wavelengthScale(u)
					if err != nil {
						return Bandpass{}, fmt.Errorf("line %d: %w", lineNo, err)
					}
					scale = s
				}
			}
			if v, ok := yamlField(h, "band_name"); ok && bandName == "" {
				bandName = v
			}
			continue
		}
		if !sawMarker {
			return Bandpass{}, fmt.Errorf("line %d: not an ECSV file (no '# %%ECSV' header line before the data)", lineNo)
		}
		if line == "" {
			continue
		}
		fields := splitFields(line)
		if cols == nil {
			cols = fields
			for k, c := range cols {
				switch c {
				case "wavelength":
					iw = k
				case "response":
					ir = k
				}
			}
			if iw < 0 || ir < 0 {
				return Bandpass{}, fmt.Errorf("line %d: column names %q must include \"wavelength\" and \"response\"", lineNo, line)
			}
			continue
		}
		if len(fields) != len(cols) {
			return Bandpass{}, fmt.Errorf("line %d: %d fields, want %d (%s)", lineNo, len(fields), len(cols), strings.Join(cols, " "))
		}
		w, err := parseFinite(fields[iw])
		if err != nil {
			return Bandpass{}, fmt.Errorf("line %d: wavelength: %w", lineNo, err)
		}
		t, err := parseFinite(fields[ir])
		if err != nil {
			return Bandpass{}, fmt.Errorf("line %d: response: %w", lineNo, err)
		}
		w *= scale
		if n := len(bp.Wavelength); n > 0 && w <= bp.Wavelength[n-1] {
			return Bandpass{}, fmt.Errorf("line %d: wavelength %v does not increase (previous %v)", lineNo, w, bp.Wavelength[n-1])
		}
		if t < 0 {
			return Bandpass{}, fmt.Errorf("line %d: negative response %v", lineNo, t)
		}
		bp.Wavelength = append(bp.Wavelength, w)
		bp.Response = append(bp.Response, t)
	}
	if err := sc.Err(); err != nil {
		return Bandpass{}, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	if !sawMarker {
		return Bandpass{}, errors.New("not an ECSV file (no '# %ECSV' header line)")
	}
	if cols == nil {
		return Bandpass{}, errors.New("no column-name line and no data")
	}
	bp.Name = name
	if bandName != "" {
		bp.Name = bandName
	}
	if err := bp.Validate(); err != nil {
		return Bandpass{}, err
	}
	return bp, nil
}

// yamlField extracts "key: value" from a flow-style YAML header fragment such
// as "- {name: wavelength, unit: Angstrom, datatype: float64}".
func yamlField(s, key string) (string, bool) {
	pat := key + ":"
	from := 0
	for {
		j := strings.Index(s[from:], pat)
		if j < 0 {
			return "", false
		}
		i := from + j
		// Require a separator before the key so that "name" does not match "band_name".
		if i == 0 || strings.IndexByte(" {,", s[i-1]) >= 0 {
			v := s[i+len(pat):]
			if k := strings.IndexAny(v, ",}"); k >= 0 {
				v = v[:k]
			}
			v = strings.Trim(strings.TrimSpace(v), `'"`)
			return v, v != ""
		}
		from = i + 1
	}
}

func wavelengthScale(unit string) (float64, error) {
	switch strings.ToLower(unit) {
	case "angstrom", "aa", "å", "angstroms":
		return 1, nil
	case "nm", "nanometer":
		return 10, nil
	case "um", "micron", "micrometer":
		return 1e4, nil
	}
	return 0, fmt.Errorf("unsupported wavelength unit %q (want Angstrom, nm or micron)", unit)
}

func splitFields(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
}

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return v, nil
}
