package photometry

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ecsvHeader = `# %ECSV 0.9
# ---
# datatype:
# - {name: wavelength, unit: Angstrom, datatype: float64}
# - {name: response, datatype: float64}
# meta: {airmass: 1.2, band_name: q, description: 'test'}
# schema: astropy-2.0
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadBandpassECSV(t *testing.T) {
	p := writeTemp(t, "test-q.ecsv", ecsvHeader+"wavelength response\n4000.0 0.0\n4005 0.25\n4010 0.5\n4015 0.0\n")
	bp, err := ReadBandpassECSV(p)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Name != "q" || len(bp.Wavelength) != 4 || bp.Wavelength[1] != 4005 || bp.Response[2] != 0.5 {
		t.Errorf("parsed %+v", bp)
	}
	if lo, hi := bp.Support(); lo != 4000 || hi != 4015 {
		t.Errorf("support [%v, %v], want [4000, 4015]", lo, hi)
	}
	// Without band_name the file name is used; a nm unit is converted to Angstrom.
	hdr := strings.Replace(strings.Replace(ecsvHeader, "band_name: q, ", "", 1), "unit: Angstrom", "unit: nm", 1)
	p = writeTemp(t, "other.ecsv", hdr+"wavelength response\n400 0\n401 1\n402 0\n")
	bp, err = ReadBandpassECSV(p)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Name != "other" || bp.Wavelength[1] != 4010 {
		t.Errorf("name %q, wavelength[1] %v; want other, 4010", bp.Name, bp.Wavelength[1])
	}
	// Column order comes from the header line.
	p = writeTemp(t, "swap.ecsv", ecsvHeader+"response wavelength\n0 400\n1 410\n0 420\n")
	bp, err = ReadBandpassECSV(p)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Wavelength[1] != 410 || bp.Response[1] != 1 {
		t.Errorf("swapped columns parsed as %+v", bp)
	}
}

func TestReadBandpassECSVErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"no marker", "wavelength response\n1 0\n2 1\n", "not an ECSV"},
		{"empty", "", "not an ECSV"},
		{"header only", ecsvHeader, "no column-name line"},
		{"missing column", ecsvHeader + "wavelength flux\n1 0\n2 1\n", "must include"},
		{"field count", ecsvHeader + "wavelength response\n4000 0\n4005 0.1 7\n", "line 10: 3 fields"},
		{"not a number", ecsvHeader + "wavelength response\n4000 0\n4005 abc\n", "line 10: response"},
		{"nan", ecsvHeader + "wavelength response\n4000 0\nnan 0.1\n", "not finite"},
		{"decreasing", ecsvHeader + "wavelength response\n4000 0\n3995 0.1\n", "does not increase"},
		{"duplicate", ecsvHeader + "wavelength response\n4000 0\n4000 0.1\n", "does not increase"},
		{"negative", ecsvHeader + "wavelength response\n4000 0\n4005 -0.1\n", "negative response"},
		{"all zero", ecsvHeader + "wavelength response\n4000 0\n4005 0\n", "zero everywhere"},
		{"one row", ecsvHeader + "wavelength response\n4000 1\n", "at least 2"},
		{"bad unit", strings.Replace(ecsvHeader, "Angstrom", "furlong", 1) + "wavelength response\n1 0\n2 1\n", "unsupported wavelength unit"},
	}
	for _, c := range cases {
		p := writeTemp(t, "bad.ecsv", c.content)
		_, err := ReadBandpassECSV(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q should mention %q and the file", c.name, err, c.want)
		}
	}
	if _, err := ReadBandpassECSV(filepath.Join(t.TempDir(), "missing.ecsv")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestReadSED(t *testing.T) {
	p := writeTemp(t, "tmpl.sed", "# comment\n  0.9100E+02  0.6005E-08\n\n   94.00000      0.4439453    \n96 0\n")
	s, err := ReadSED(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "tmpl" || len(s.Wavelength) != 3 || s.Wavelength[0] != 91 || s.FLambda[1] != 0.4439453 {
		t.Errorf("parsed %+v", s)
	}
}

func TestReadSEDErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"empty", "# nothing\n", "no data lines"},
		{"one column", "100 1\n200\n", "line 2: 1 fields"},
		{"three columns", "100 1 3\n", "line 1: 3 fields"},
		{"not a number", "100 1\n200 x\n", "line 2: f_lambda"},
		{"inf", "100 1\n200 inf\n", "not finite"},
		{"decreasing", "100 1\n90 1\n", "line 2: wavelength 90 does not increase"},
		{"negative flux", "100 1\n200 -1\n", "negative f_lambda"},
		{"negative wavelength", "-100 1\n200 1\n", "negative wavelength"},
		{"one row", "100 1\n", "at least 2"},
	}
	for _, c := range cases {
		p := writeTemp(t, "bad.sed", c.content)
		_, err := ReadSED(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q should mention %q and the file", c.name, err, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := (SED{Wavelength: []float64{1, 2}, FLambda: []float64{1}}).Validate(); err == nil {
		t.Error("SED length mismatch: no error")
	}
	if err := (SED{Wavelength: []float64{1, 2}, FLambda: []float64{1, math.NaN()}}).Validate(); err == nil {
		t.Error("SED NaN: no error")
	}
	if err := (Bandpass{Wavelength: []float64{0, 2}, Response: []float64{1, 1}}).Validate(); err == nil {
		t.Error("bandpass at zero wavelength: no error")
	}
}

// The real DECam files parse with the expected ranges.
func TestReadRealFilters(t *testing.T) {
	dir := needShared(t)
	bands := readDECam(t, dir)
	for b, want := range map[string][2]float64{"g": {3800, 5550}, "z": {8150, 10150}} {
		bp := bands[b]
		lo, hi := bp.Wavelength[0], bp.Wavelength[len(bp.Wavelength)-1]
		if math.Abs(lo-want[0]) > 200 || math.Abs(hi-want[1]) > 200 {
			t.Errorf("band %s spans %v..%v, want about %v", b, lo, hi, want)
		}
	}
	for _, name := range []string{"BC_Z=1.0_age=10.00gyr.sed", "CWW_E_ext.sed", "SB2_kin.sed"} {
		s, err := ReadSED(filepath.Join(dir, "seds", name))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Wavelength) < 500 {
			t.Errorf("%s: only %d nodes", name, len(s.Wavelength))
		}
	}
}
