package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestEndToEnd simulates a small dataset, inspects it and renders it, as a
// user would.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "small.fits")
	code, out, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "6", "--seed", "3", "--size", "32", "--out", data)
	if code != 0 {
		t.Fatalf("simulate exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "wrote 6 delve-seed lenses") {
		t.Errorf("simulate output: %q", out)
	}
	code, out, errs = runCLI(t, "inspect", data)
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errs)
	}
	for _, want := range []string{"lenses    6", "32 x 32 pixels, 4 bands (g r i z)", "preset    delve-seed, seed 3", "THETA_E", "SIGMA_V", "Z_SOURCE"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	grid := filepath.Join(dir, "grid.png")
	if code, _, errs = runCLI(t, "render", data, "--out", grid, "--cols", "3", "--tile", "64"); code != 0 {
		t.Fatalf("render exit %d: %s", code, errs)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("contact sheet does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 3*64 || b.Dy() < 2*64 {
		t.Errorf("contact sheet is %v, too small for 2 rows of 3 tiles of 64 px", b)
	}

	// Existing outputs are never overwritten without --force.
	before, _ := os.ReadFile(data)
	code, _, errs = runCLI(t, "simulate", "--preset", "delve-seed", "--n", "2", "--size", "32", "--out", data)
	if code == 0 || !strings.Contains(errs, "--force") {
		t.Errorf("simulate overwrote without --force (exit %d, %q)", code, errs)
	}
	after, _ := os.ReadFile(data)
	if !bytes.Equal(before, after) {
		t.Error("existing dataset changed")
	}
	if code, _, _ = runCLI(t, "render", data, "--out", grid); code == 0 {
		t.Error("render overwrote a PNG without --force")
	}

	// A truncated file gives a clear error naming it.
	trunc := filepath.Join(dir, "trunc.fits")
	if err := os.WriteFile(trunc, before[:len(before)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "inspect", trunc)
	if code != 1 || !strings.Contains(errs, "trunc.fits") {
		t.Errorf("truncated file: exit %d, %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.fits")
	cases := [][]string{
		{},
		{"frobnicate"},
		{"simulate", "--out", out, "--preset", "lsst"},
		{"simulate", "--out", out, "--size", "0"},
		{"simulate", "--out", out, "--size", "-4"},
		{"simulate", "--out", out, "--n", "0"},
		{"simulate", "--out", out, "--bogus"},
		{"simulate", "--n", "3"},
		{"inspect"},
		{"render", "x.fits"},
		{"depth", "--preset", "nope"},
	}
	for _, args := range cases {
		code, _, errs := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage error); stderr %q", args, code, errs)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a rejected command wrote output")
	}
	code, _, errs := runCLI(t, "simulate", "--out", out, "--preset", "lsst")
	if code != 2 || !strings.Contains(errs, "delve") {
		t.Errorf("unknown preset message should list the presets: %q", errs)
	}
}

func TestDepthCommand(t *testing.T) {
	code, out, errs := runCLI(t, "depth", "--preset", "delve")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, b := range []string{" g ", " r ", " i ", " z "} {
		if !strings.Contains(out, b) {
			t.Errorf("depth table lacks band %q:\n%s", b, out)
		}
	}
}
