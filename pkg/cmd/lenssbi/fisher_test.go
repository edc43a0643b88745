package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFisherCommand: bounds for a small simulated file, the table, the FITS
// output (one row per lens, NaN-free for measured lenses) and the refusal to
// overwrite it.
func TestFisherCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.fits")
	if code, _, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "5", "--seed", "4", "--size", "32", "--quiet", "--out", data); code != 0 {
		t.Fatalf("simulate exit %d: %s", code, errs)
	}
	out := filepath.Join(dir, "b.fits")
	code, stdout, errs := runCLI(t, "fisher", "--data", data, "--first", "1", "--n", "3", "--out", out)
	if code != 0 {
		t.Fatalf("fisher exit %d: %s", code, errs)
	}
	for _, want := range []string{"Cramér-Rao bounds for 3 lenses", "model check: chi^2 per pixel", "ln THETA_E (fractional)", "SRC_X (arcsec)", "theta_E at the bound", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EXTNAME = 'BOUNDS", "SIGMA_LN_THETA_E", "KNOWN_SRC_X", "NAXIS2  =                    3"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s lacks %q", out, want)
		}
	}
	if code, _, errs := runCLI(t, "fisher", "--data", data, "--n", "1", "--out", out); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("overwrite without --force: exit %d, %q", code, errs)
	}
	if code, _, _ := runCLI(t, "fisher", "--data", data, "--n", "1", "--out", out, "--force"); code != 0 {
		t.Errorf("--force: exit %d", code)
	}
	for _, args := range [][]string{{"fisher"}, {"fisher", "--data", data, "--n", "-1"}, {"fisher", "--data", data, "extra"}} {
		if code, _, errs := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2; %q", args, code, errs)
		}
	}
	if code, _, errs := runCLI(t, "fisher", "--data", filepath.Join(dir, "none.fits")); code != 1 || !strings.Contains(errs, "none.fits") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}
