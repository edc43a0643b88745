package main

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/simulate"
)

// committed is the checked-in copy of the examples, relative to this package.
const committed = "../../../data/examples"

func generated(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"-out", dir}, &out, &errb); code != 0 {
		t.Fatalf("genexamples exited %d: %s", code, errb.String())
	}
	files, err := generate(defaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// TestCutoutsReadBackInSimulatorUnits reads every example with
// dataset.ReadCutout and converts it with Cutout.Rescale to the preset's
// zero points, as the notebook does, and compares with the lens simulated
// afresh: bands must be found from FILTER whatever the file order, each
// band's own header must give MAGZERO, and the pixels must be the
// simulator's e-/s to float32 precision.
func TestCutoutsReadBackInSimulatorUnits(t *testing.T) {
	dir, files := generated(t)
	exs, err := choose(defaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range files {
		total += len(b)
	}
	if total > 300_000 {
		t.Errorf("examples take %d bytes, want under 300 kB", total)
	}
	bands := []string{"g", "r", "i", "z"}
	for _, ex := range exs {
		// Files given in reverse band order: FILTER must sort them out.
		var paths []string
		for k := len(bands) - 1; k >= 0; k-- {
			paths = append(paths, filepath.Join(dir, ex.FileBase+"_"+bands[k]+".fits"))
		}
		c, err := dataset.ReadCutout(paths, bands)
		if err != nil {
			t.Fatal(err)
		}
		if c.NX != 48 || c.NY != 48 || c.Variance != nil {
			t.Fatalf("%s: %dx%d, variance %v", ex.Name, c.NX, c.NY, c.Variance != nil)
		}
		if c.Header["MAGZERO"] != "30.0" || c.Header["OBJECT"] != ex.Name || c.Header["CTYPE1"] != "RA---TAN" {
			t.Errorf("%s: header MAGZERO %q OBJECT %q CTYPE1 %q", ex.Name, c.Header["MAGZERO"], c.Header["OBJECT"], c.Header["CTYPE1"])
		}
		npix := c.NX * c.NY
		target := make([]float64, len(bands))
		for b, band := range bands {
			if !strings.HasSuffix(c.Paths[b], "_"+band+".fits") {
				t.Errorf("%s: band %s read from %s", ex.Name, band, c.Paths[b])
			}
			if c.Headers[b]["BAND"] != band {
				t.Errorf("%s: band %s header has BAND %q", ex.Name, band, c.Headers[b]["BAND"])
			}
			if zp, key, err := c.ZeroPoint(b); err != nil || zp != MagZero || key != "MAGZERO" {
				t.Errorf("%s band %s: zero point %g from %q, %v", ex.Name, band, zp, key, err)
			}
			bd, _, err := ex.Preset.Band(band)
			if err != nil {
				t.Fatal(err)
			}
			target[b] = bd.ZeroPoint
		}
		if err := c.Rescale(target); err != nil {
			t.Fatal(err)
		}
		for b, band := range bands {
			want := ex.Lens.Images[b*npix : (b+1)*npix]
			var peak float64
			for _, v := range want {
				peak = math.Max(peak, math.Abs(float64(v)))
			}
			for k, v := range c.Images[b] {
				if d := math.Abs(float64(v) - float64(want[k])); d > 1e-6*peak {
					t.Fatalf("%s band %s pixel %d: %g e-/s after Rescale, simulated %g", ex.Name, band, k, v, want[k])
				}
			}
		}
	}
}

// TestTruthTableMatchesSimulation checks truth.csv against the lenses.
func TestTruthTableMatchesSimulation(t *testing.T) {
	_, files := generated(t)
	rows, err := csv.NewReader(bytes.NewReader(files["truth.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	exs, _ := choose(defaultSpec())
	if len(rows) != len(exs)+1 {
		t.Fatalf("%d rows for %d lenses", len(rows)-1, len(exs))
	}
	for i, ex := range exs {
		r := rows[i+1]
		if r[0] != ex.Name {
			t.Errorf("row %d names %s, want %s", i, r[0], ex.Name)
		}
		for k, name := range simulate.Targets {
			v, _ := strconv.ParseFloat(r[6+k], 64)
			want := ex.Lens.Params[ex.Sim.ColumnIndex(name)]
			if math.Abs(v-want) > 1e-5*math.Abs(want) {
				t.Errorf("%s %s = %g, simulated %g", ex.Name, name, v, want)
			}
		}
	}
	// The bright picks have theta_E above the threshold and more SNR than
	// the typical one.
	s := defaultSpec()
	snr := func(ex example) float64 { return ex.Lens.Params[ex.Sim.ColumnIndex("SNR")] }
	for _, ex := range exs[:s.Bright] {
		if te := ex.Lens.Params[ex.Sim.ColumnIndex(simulate.ColThetaE)]; te <= s.MinThetaE || snr(ex) <= snr(exs[s.Bright]) {
			t.Errorf("%s: theta_E %g, SNR %g vs typical %g", ex.Name, te, snr(ex), snr(exs[s.Bright]))
		}
	}
}

// TestCheckMode: -check passes on fresh output and fails on a changed pixel.
func TestCheckMode(t *testing.T) {
	dir, _ := generated(t)
	var out, errb bytes.Buffer
	if code := run([]string{"-out", dir, "-check"}, &out, &errb); code != 0 {
		t.Fatalf("check of fresh files exited %d: %s", code, errb.String())
	}
	path := filepath.Join(dir, "sim-J0135-4422_r.fits")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)-2880*2] ^= 0x40 // a data byte
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"-out", dir, "-check"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "sim-J0135-4422_r.fits") {
		t.Errorf("changed pixel: exit %d, %s", code, errb.String())
	}
}

// TestCommittedExamplesRead reads the checked-in examples as the notebook
// does. It does not compare them with a fresh simulation: a change to the
// simulator legitimately changes the pixels (run the command with -check
// to see whether data/examples needs regenerating).
func TestCommittedExamplesRead(t *testing.T) {
	rows := readTruth(t, filepath.Join(committed, "truth.csv"))
	bands := []string{"g", "r", "i", "z"}
	for _, r := range rows[1:] {
		var paths []string
		for _, b := range bands {
			paths = append(paths, filepath.Join(committed, r[0]+"_"+b+".fits"))
		}
		c, err := dataset.ReadCutout(paths, bands)
		if err != nil {
			t.Fatal(err)
		}
		if c.NX != 48 || c.NY != 48 || c.Header["OBJECT"] != r[0] || c.Header["MAGZERO"] != "30.0" {
			t.Errorf("%s: %dx%d, OBJECT %q, MAGZERO %q", r[0], c.NX, c.NY, c.Header["OBJECT"], c.Header["MAGZERO"])
		}
	}
}

func readTruth(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skip("no committed examples:", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[0][0] != "name" {
		t.Fatalf("%s: %d rows, header %v", path, len(rows), rows[0])
	}
	return rows
}

func TestBadArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"extra"}, &out, &errb); code != 2 {
		t.Errorf("unexpected argument: exit %d", code)
	}
}
