package simulate

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// updateGolden makes TestOutputGolden write the golden file of the current
// OutputVersion (see TestOutputGolden for what it refuses and removes).
var updateGolden = flag.Bool("update", false, "TestOutputGolden: write testdata/output-v<OutputVersion>.csv and remove older versions' files")

// goldenSample is the fixed sample of TestOutputGolden: lenses 0..n-1 of each
// preset and seed, at simulate.DefaultConfig (the defaults of lenssbi
// simulate: 48x48 pixels, supersampling 8, shear sigma 0.05, LensPop cuts).
// Changing it changes the golden file: delete the current version's file and
// run -update (the sample is not part of the output version).
var goldenSample = []struct {
	preset string
	seed   uint64
	n      int
}{
	{"delve-seed", 7, 150},
	{"delve", 8, 50},
}

// goldenTol is the relative tolerance of the float quantities: it absorbs
// differences of rounding between CPUs and builds (FMA), far below any
// change of the physics (the point-mode caustic fix moved magnifications by
// up to 25 %).
const goldenTol = 1e-5

const goldenHowTo = "the simulator's output changed; if intended, bump simulate.OutputVersion " +
	"and write the new golden file with `GOEXPERIMENT=simd go test ./pkg/simulate -run TestOutputGolden -update`"

// goldenRow is one lens of the golden file: its identity, a few parameters,
// and per band the sum and maximum of the image and of the variance.
type goldenRow struct {
	preset             string
	seed               uint64
	index, ntries      int
	thetaE, zSource    float64
	snr, magnification float64
	imgSum, imgMax     []float64 // per band
	varSum, varMax     []float64 // per band
}

// goldenPath is the golden file of output version v.
func goldenPath(v int) string {
	return filepath.Join("testdata", fmt.Sprintf("output-v%d.csv", v))
}

var goldenNameRE = regexp.MustCompile(`^output-v([0-9]+)\.csv$`)

// goldenVersions lists the versions that have a golden file in testdata.
func goldenVersions(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("testdata")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var vs []int
	for _, e := range ents {
		if m := goldenNameRE.FindStringSubmatch(e.Name()); m != nil {
			v, err := strconv.Atoi(m[1])
			if err != nil {
				t.Fatalf("golden file %s: %v", e.Name(), err)
			}
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs
}

// TestOutputGolden guards simulate.OutputVersion, the version lenssbi
// simulate writes as SIMVER: it simulates goldenSample through Run at the
// CLI's defaults and compares, lens by lens, INDEX, NTRIES (exactly),
// THETA_E, Z_SOURCE, SNR, MAGNIFICATION and the per-band sum and maximum of
// the image and of the variance (to goldenTol relative) with
// testdata/output-v<OutputVersion>.csv. It fails when that file is missing,
// when the output differs from it, and when a golden file of a later version
// exists (a lost bump). Files of earlier versions are ignored.
//
// With -update it writes the file when missing, keeps it when the output
// matches, and refuses (fails) when the output differs from an existing file
// of the same version: a changed output needs a new OutputVersion. It then
// deletes the files of earlier versions (git keeps them), since this build
// cannot produce their output.
func TestOutputGolden(t *testing.T) {
	got, bands := simulateGoldenSample(t)
	path := goldenPath(OutputVersion)
	old, readErr := os.ReadFile(path)
	if readErr != nil && !errors.Is(readErr, fs.ErrNotExist) {
		t.Fatal(readErr)
	}

	if *updateGolden {
		if readErr == nil {
			want, err := parseGolden(old, bands)
			if err != nil {
				t.Fatalf("%s: %v; delete it and run -update again", path, err)
			}
			if diff := compareGolden(want, got, bands); diff != "" {
				t.Fatalf("refusing to overwrite %s: the output differs from it at the same OutputVersion %d (%s); "+
					"bump simulate.OutputVersion in pkg/simulate/version.go and run -update again", path, OutputVersion, diff)
			}
			t.Logf("%s is up to date (%d lenses); left unchanged", path, len(want))
		} else {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, formatGolden(got, bands), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d lenses)", path, len(got))
		}
		for _, v := range goldenVersions(t) {
			if v < OutputVersion {
				if err := os.Remove(goldenPath(v)); err != nil {
					t.Fatal(err)
				}
				t.Logf("removed %s (output version %d < %d)", goldenPath(v), v, OutputVersion)
			}
		}
		return
	}

	if vs := goldenVersions(t); len(vs) > 0 && vs[len(vs)-1] > OutputVersion {
		t.Errorf("found %s, a golden file for a later output version than simulate.OutputVersion = %d: was a version bump lost?",
			goldenPath(vs[len(vs)-1]), OutputVersion)
	}
	if readErr != nil {
		t.Fatalf("no golden file %s for simulate.OutputVersion = %d; write it with "+
			"`GOEXPERIMENT=simd go test ./pkg/simulate -run TestOutputGolden -update`", path, OutputVersion)
	}
	want, err := parseGolden(old, bands)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff := compareGolden(want, got, bands); diff != "" {
		t.Fatalf("%s: %s: %s", path, diff, goldenHowTo)
	}
}

// simulateGoldenSample runs goldenSample the way lenssbi simulate does and
// returns its rows and the bands.
func simulateGoldenSample(t *testing.T) ([]goldenRow, []string) {
	t.Helper()
	var rows []goldenRow
	var bands []string
	for _, s := range goldenSample {
		p, err := survey.LoadPreset(s.preset)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig(p)
		cfg.Seed = s.seed
		sim, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if bands == nil {
			bands = sim.Bands()
		} else if !slices.Equal(bands, sim.Bands()) {
			t.Fatalf("preset %s has bands %v, the golden file's columns are for %v", s.preset, sim.Bands(), bands)
		}
		col := func(name string) int {
			k := sim.ColumnIndex(name)
			if k < 0 {
				t.Fatalf("no column %s", name)
			}
			return k
		}
		kTries, kTheta, kZs, kSNR, kMu := col("NTRIES"), col(ColThetaE), col(ColZSource), col("SNR"), col("MAGNIFICATION")
		npix := cfg.Size * cfg.Size
		err = sim.Run(context.Background(), 0, s.n, 0, func(l *Lens) error {
			r := goldenRow{
				preset: s.preset, seed: s.seed, index: l.Index, ntries: int(l.Params[kTries]),
				thetaE: l.Params[kTheta], zSource: l.Params[kZs], snr: l.Params[kSNR], magnification: l.Params[kMu],
			}
			for b := range bands {
				sum, mx := sumMax(l.Images[b*npix : (b+1)*npix])
				r.imgSum, r.imgMax = append(r.imgSum, sum), append(r.imgMax, mx)
				sum, mx = sumMax(l.Variance[b*npix : (b+1)*npix])
				r.varSum, r.varMax = append(r.varSum, sum), append(r.varMax, mx)
			}
			rows = append(rows, r)
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return rows, bands
}

// sumMax returns the float64 sum and the maximum of v.
func sumMax(v []float32) (sum, mx float64) {
	mx = math.Inf(-1)
	for _, x := range v {
		sum += float64(x)
		mx = max(mx, float64(x))
	}
	return sum, mx
}

// goldenHeader is the CSV header row for the bands.
func goldenHeader(bands []string) []string {
	h := []string{"preset", "seed", "index", "ntries", "theta_e", "z_source", "snr", "magnification"}
	for _, b := range bands {
		h = append(h, "img_sum_"+b, "img_max_"+b, "var_sum_"+b, "var_max_"+b)
	}
	return h
}

// formatGolden writes rows as the golden CSV.
func formatGolden(rows []goldenRow, bands []string) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# lenssbi simulator output, simulate.OutputVersion = %d: written by TestOutputGolden -update; do not edit.\n", OutputVersion)
	var parts []string
	for _, s := range goldenSample {
		parts = append(parts, fmt.Sprintf("%s seed %d lenses 0-%d", s.preset, s.seed, s.n-1))
	}
	fmt.Fprintf(&buf, "# sample: %s; simulate.DefaultConfig (48x48, supersampling 8, shear sigma 0.05, LensPop cuts)\n", strings.Join(parts, ", "))
	w := csv.NewWriter(&buf)
	w.Write(goldenHeader(bands))
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 9, 64) }
	for _, r := range rows {
		rec := []string{r.preset, strconv.FormatUint(r.seed, 10), strconv.Itoa(r.index), strconv.Itoa(r.ntries),
			g(r.thetaE), g(r.zSource), g(r.snr), g(r.magnification)}
		for b := range bands {
			rec = append(rec, g(r.imgSum[b]), g(r.imgMax[b]), g(r.varSum[b]), g(r.varMax[b]))
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// parseGolden reads a golden CSV written for the same bands.
func parseGolden(data []byte, bands []string) ([]goldenRow, error) {
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comment = '#'
	recs, err := rd.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || !slices.Equal(recs[0], goldenHeader(bands)) {
		return nil, fmt.Errorf("header row is not %s", strings.Join(goldenHeader(bands), ","))
	}
	var rows []goldenRow
	for i, rec := range recs[1:] {
		line := fmt.Sprintf("data row %d", i+1)
		var err error
		num := func(k int) float64 {
			v, e := strconv.ParseFloat(rec[k], 64)
			if e != nil && err == nil {
				err = fmt.Errorf("%s, column %s: %w", line, recs[0][k], e)
			}
			return v
		}
		integer := func(k int) int {
			v, e := strconv.Atoi(rec[k])
			if e != nil && err == nil {
				err = fmt.Errorf("%s, column %s: %w", line, recs[0][k], e)
			}
			return v
		}
		seed, e := strconv.ParseUint(rec[1], 10, 64)
		if e != nil {
			return nil, fmt.Errorf("%s, column seed: %w", line, e)
		}
		r := goldenRow{preset: rec[0], seed: seed, index: integer(2), ntries: integer(3),
			thetaE: num(4), zSource: num(5), snr: num(6), magnification: num(7)}
		for b := range bands {
			k := 8 + 4*b
			r.imgSum = append(r.imgSum, num(k))
			r.imgMax = append(r.imgMax, num(k+1))
			r.varSum = append(r.varSum, num(k+2))
			r.varMax = append(r.varMax, num(k+3))
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// compareGolden describes the first difference between the golden rows and
// the simulated ones, and how many lenses differ; "" when they agree.
func compareGolden(want, got []goldenRow, bands []string) string {
	first := ""
	ndiff := 0
	for i := range min(len(want), len(got)) {
		if d := compareRow(&want[i], &got[i], bands); d != "" {
			ndiff++
			if first == "" {
				first = d
			}
		}
	}
	if first == "" && len(want) == len(got) {
		return ""
	}
	msg := first
	if ndiff > 0 {
		msg = fmt.Sprintf("%s (%d of %d lenses differ)", first, ndiff, min(len(want), len(got)))
	}
	if len(want) != len(got) {
		if msg != "" {
			msg += "; "
		}
		msg += fmt.Sprintf("%d lenses simulated, %d in the golden file", len(got), len(want))
	}
	return msg
}

// compareRow describes the first quantity in which a lens differs from its
// golden row: integers exactly, floats to goldenTol relative.
func compareRow(w, g *goldenRow, bands []string) string {
	if w.preset != g.preset || w.seed != g.seed || w.index != g.index {
		return fmt.Sprintf("lens %s seed %d index %d, golden file has %s seed %d index %d (sample changed?)",
			g.preset, g.seed, g.index, w.preset, w.seed, w.index)
	}
	lens := fmt.Sprintf("lens %d of %s seed %d", g.index, g.preset, g.seed)
	if w.ntries != g.ntries {
		return fmt.Sprintf("%s: NTRIES = %d, golden %d", lens, g.ntries, w.ntries)
	}
	type q struct {
		name      string
		got, want float64
		scale     float64 // floor of the tolerance's scale (sums may cancel)
	}
	qs := []q{
		{"THETA_E", g.thetaE, w.thetaE, 0},
		{"Z_SOURCE", g.zSource, w.zSource, 0},
		{"SNR", g.snr, w.snr, 0},
		{"MAGNIFICATION", g.magnification, w.magnification, 0},
	}
	for b, band := range bands {
		// An image sum is signal plus noise and may be near zero: its
		// tolerance scales with at least the band's brightest pixel.
		qs = append(qs,
			q{"image sum (" + band + ")", g.imgSum[b], w.imgSum[b], math.Abs(w.imgMax[b])},
			q{"image max (" + band + ")", g.imgMax[b], w.imgMax[b], 0},
			q{"variance sum (" + band + ")", g.varSum[b], w.varSum[b], 0},
			q{"variance max (" + band + ")", g.varMax[b], w.varMax[b], 0},
		)
	}
	for _, x := range qs {
		d := math.Abs(x.got - x.want)
		if !(d <= goldenTol*max(math.Abs(x.got), math.Abs(x.want), x.scale)) { // NaN fails too
			return fmt.Sprintf("%s: %s = %.9g, golden %.9g (relative difference %.2g > %g)",
				lens, x.name, x.got, x.want, d/max(math.Abs(x.want), x.scale), goldenTol)
		}
	}
	return ""
}
