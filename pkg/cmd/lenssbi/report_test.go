package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/report"
)

// TestReport trains a tiny joint model, writes its report and checks every
// file of it: the PNGs decode and are not blank, index.html parses and links
// only to files of the report, results.csv has one row per parameter; then
// the refusal to overwrite without --force, and usage errors.
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "train.fits")
	if code, _, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "160", "--seed", "4", "--size", "32", "--out", data, "--quiet"); code != 0 {
		t.Fatalf("simulate: %s", errs)
	}
	model := filepath.Join(dir, "m")
	if code, _, errs := runCLI(t, "train", "--data", data, "--mode", "joint", "--epochs", "1", "--batch", "16", "--out", model, "--quiet"); code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	out := filepath.Join(dir, "report")
	args := []string{"report", "--model", model, "--data", data, "--out", out, "--samples", "50", "--n", "100", "--bound-lenses", "40"}
	code, stdout, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errs)
	}
	for _, want := range []string{"100 test lenses", "50 posterior samples", "wrote " + out, "index.html"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report output lacks %q:\n%s", want, stdout)
		}
	}

	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		files = append(files, e.Name())
	}
	for _, want := range []string{"index.html", "results.md", "results.csv", "calibration.md", "calibration.csv",
		"recovery.png", "recovery.svg", "efficiency.png", "efficiency.svg", "sbc.png", "sbc.svg", "coverage.png", "coverage.svg", "tarp.png", "tarp.svg", "loss.png", "loss.svg",
		"lens-0000-image.png", "lens-0000-marginals.png", "lens-0000-marginals.svg", "lens-0000-corner.png",
		"lens-0001-corner.png", "lens-0002-corner.png", "lenses.png"} {
		if !slices.Contains(files, want) {
			t.Errorf("report lacks %s (has %v)", want, files)
		}
	}
	for _, f := range files {
		if filepath.Ext(f) != ".png" {
			continue
		}
		r, err := os.Open(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Not blank: a good share of pixels differ from the corner's colour.
		b := img.Bounds()
		c0 := img.At(b.Min.X, b.Min.Y)
		r0, g0, b0, _ := c0.RGBA()
		ink := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if r, g, bb, _ := img.At(x, y).RGBA(); r != r0 || g != g0 || bb != b0 {
					ink++
				}
			}
		}
		if frac := float64(ink) / float64(b.Dx()*b.Dy()); frac < 0.005 {
			t.Errorf("%s is blank: %.4f of its pixels differ from the background", f, frac)
		}
	}

	// The Cramér-Rao summary under the results table (a simulated test set).
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "theta_E at the Cramér-Rao bound (an unbiased estimator using all the information in the images; `lenssbi fisher`), over the first 40 test lenses") {
		t.Errorf("results.md lacks the bounds' summary:\n%s", md)
	}

	// --no-bounds leaves the figure and the summary out.
	plain := filepath.Join(dir, "plain")
	if code, _, errs := runCLI(t, "report", "--model", model, "--data", data, "--out", plain, "--samples", "20", "--n", "30", "--no-bounds"); code != 0 {
		t.Fatalf("report --no-bounds exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(plain, "efficiency.png")); err == nil {
		t.Error("--no-bounds wrote efficiency.png")
	}

	// index.html: well-formed, every reference relative and present.
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(page))
	dec.Strict, dec.AutoClose, dec.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	imgs := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("index.html does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "img" {
			imgs++
		}
		for _, a := range se.Attr {
			if a.Name.Local != "src" && a.Name.Local != "href" || strings.HasPrefix(a.Value, "#") {
				continue
			}
			if strings.Contains(a.Value, ":") || strings.HasPrefix(a.Value, "/") || !slices.Contains(files, a.Value) {
				t.Errorf("index.html: reference %q is external or missing", a.Value)
			}
		}
	}
	if imgs < 10 {
		t.Errorf("index.html shows %d images", imgs)
	}
	for _, want := range []string{"joint", "Median Fractional Deviation", "theta_E", "z_s", "Training data", "Machine"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("index.html lacks %q", want)
		}
	}

	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 5 {
		t.Errorf("results.csv: %d rows (want a header and 4), %v", len(rows), err)
	}
	// The library route (report.Build, as a notebook calls it) gives the
	// same numbers as the command for the same seed.
	est, ds, err := loadForInference(model, data, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Build(est, ds, report.Options{Samples: 50, N: 100, Seed: 1})
	ds.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rep.ResultsCSV(); err != nil || len(rows) != 5 || !bytes.Equal(got, mustRead(t, filepath.Join(out, "results.csv"))) {
		t.Errorf("report.Build's results.csv differs from the command's (%v):\n%s", err, got)
	}
	if md, err := os.ReadFile(filepath.Join(out, "calibration.md")); err != nil || !bytes.Contains(md, []byte("p > 0.01")) || !bytes.Contains(md, []byte("±5 percentage points")) {
		t.Errorf("calibration.md does not state the criteria (%v)", err)
	}

	// Overwriting needs --force.
	before, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if code, _, errs = runCLI(t, args...); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("second report without --force: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "results.csv")); !bytes.Equal(before, after) {
		t.Error("a refused report changed results.csv")
	}
	if code, _, errs = runCLI(t, append(args, "--force", "--lenses", "5", "--seed", "2")...); code != 0 {
		t.Fatalf("report --force: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, "lens-0000-corner.png")); !os.IsNotExist(err) {
		t.Errorf("stale lens-0000-corner.png after --force --lenses 5 (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(out, "lens-0005-corner.png")); err != nil {
		t.Errorf("--lenses 5: %v", err)
	}

	// Usage errors exit 2.
	for _, bad := range [][]string{
		{"report", "--model", model, "--data", data},
		{"report", "--model", model, "--data", data, "--out", out, "--samples", "5"},
		{"report", "--model", model, "--data", data, "--out", out, "--n", "-1"},
		{"report", "--model", model, "--data", data, "--out", out, "--lenses", "x"},
		{"report", "--model", model, "--data", data, "--out", filepath.Join(dir, "r2"), "--n", "10", "--lenses", "12"},
		{"report", "--bogus"},
		{"report", "extra", "--model", model, "--data", data, "--out", out},
	} {
		if code, _, errs := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad[1:], code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r2")); !os.IsNotExist(err) {
		t.Errorf("a refused report left its directory (%v)", err)
	}
	// A missing model is an error naming it.
	if code, _, errs := runCLI(t, "report", "--model", filepath.Join(dir, "nope"), "--data", data, "--out", filepath.Join(dir, "r3")); code != 1 || !strings.Contains(errs, "nope") {
		t.Errorf("missing model: exit %d %q", code, errs)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
