package photometry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// SED is a spectral energy distribution: f_lambda tabulated on a strictly
// increasing wavelength grid in Angstrom, linear between nodes. The flux unit
// is arbitrary; ABMagnitude treats it as erg s^-1 cm^-2 Angstrom^-1, so
// magnitudes of arbitrary-unit templates are defined up to an additive
// constant, which cancels in colours and k-corrections.
type SED struct {
	Name       string
	Wavelength []float64 // Angstrom, strictly increasing, >= 0
	FLambda    []float64 // f_lambda, arbitrary units, >= 0
}

// Validate reports whether s is usable: at least two nodes, finite
// non-negative values and strictly increasing wavelengths.
func (s SED) Validate() error {
	if len(s.Wavelength) != len(s.FLambda) {
		return fmt.Errorf("SED %q: %d wavelengths but %d flux values", s.Name, len(s.Wavelength), len(s.FLambda))
	}
	if len(s.Wavelength) < 2 {
		return fmt.Errorf("SED %q: need at least 2 nodes, have %d", s.Name, len(s.Wavelength))
	}
	for k, w := range s.Wavelength {
		f := s.FLambda[k]
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("SED %q: node %d: wavelength %v is not a non-negative finite number", s.Name, k, w)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return fmt.Errorf("SED %q: node %d: f_lambda %v is not a non-negative finite number", s.Name, k, f)
		}
		if k > 0 && w <= s.Wavelength[k-1] {
			return fmt.Errorf("SED %q: node %d: wavelength %v does not increase (previous %v)", s.Name, k, w, s.Wavelength[k-1])
		}
	}
	return nil
}

// ReadSED reads a two-column text SED (wavelength in Angstrom, f_lambda), the
// format of shared/data/seds/*.sed. Blank lines and lines starting with '#'
// are skipped; every other line must hold exactly two numbers separated by
// blanks (or a comma). The SED Name is the file's base name without extension.
// Errors name the file and line.
func ReadSED(path string) (SED, error) {
	return parseFile(path, "SED", ParseSED)
}

// parseFile opens path and parses it with parse, passing the file's base name
// without extension as the default name; errors name the kind and the file.
func parseFile[T any](path, kind string, parse func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("reading %s: %w", kind, err)
	}
	defer f.Close()
	base := filepath.Base(path)
	v, err := parse(f, strings.TrimSuffix(base, filepath.Ext(base)))
	if err != nil {
		return zero, fmt.Errorf("reading %s %s: %w", kind, path, err)
	}
	return v, nil
}

// ParseSED parses two-column SED text as described in ReadSED.
func ParseSED(r io.Reader, name string) (SED, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	s := SED{Name: name}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := splitFields(line)
		if len(fields) != 2 {
			return SED{}, fmt.Errorf("line %d: %d fields, want 2 (wavelength f_lambda)", lineNo, len(fields))
		}
		w, err := parseFinite(fields[0])
		if err != nil {
			return SED{}, fmt.Errorf("line %d: wavelength: %w", lineNo, err)
		}
		f, err := parseFinite(fields[1])
		if err != nil {
			return SED{}, fmt.Errorf("line %d: f_lambda: %w", lineNo, err)
		}
		if w < 0 {
			return SED{}, fmt.Errorf("line %d: negative wavelength %v", lineNo, w)
		}
		if f < 0 {
			return SED{}, fmt.Errorf("line %d: negative f_lambda %v", lineNo, f)
		}
		if n := len(s.Wavelength); n > 0 && w <= s.Wavelength[n-1] {
			return SED{}, fmt.Errorf("line %d: wavelength %v does not increase (previous %v)", lineNo, w, s.Wavelength[n-1])
		}
		s.Wavelength = append(s.Wavelength, w)
		s.FLambda = append(s.FLambda, f)
	}
	if err := sc.Err(); err != nil {
		return SED{}, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	if len(s.Wavelength) == 0 {
		return SED{}, errors.New("no data lines")
	}
	if err := s.Validate(); err != nil {
		return SED{}, err
	}
	return s, nil
}

// Redshift returns the SED observed at redshift z:
// f_lambda,obs(lambda) = f_lambda,rest(lambda/(1+z)) / (1+z), i.e. the
// wavelength grid is stretched by (1+z) and the flux density divided by (1+z).
// The luminosity-distance dimming L/(4 pi D_L^2) is not applied (it is the
// distance modulus). z must exceed -1; otherwise the returned SED is empty
// (no nodes), which ABMagnitude reports as an error. s is not modified.
func (s SED) Redshift(z float64) SED {
	a := 1 + z
	if !(a > 0) || math.IsInf(a, 0) {
		return SED{Name: s.Name}
	}
	out := SED{
		Name:       s.Name,
		Wavelength: make([]float64, len(s.Wavelength)),
		FLambda:    make([]float64, len(s.FLambda)),
	}
	for k, w := range s.Wavelength {
		out.Wavelength[k] = w * a
	}
	for k, f := range s.FLambda {
		out.FLambda[k] = f / a
	}
	return out
}
