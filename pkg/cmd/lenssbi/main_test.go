package main

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/simulate"
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
	simver := fmt.Sprintf("simulator output version %d\n", simulate.OutputVersion)
	for _, want := range []string{"lenses    6", "32 x 32 pixels, 4 bands (g r i z)", "preset    delve-seed, seed 3", simver, "THETA_E", "SIGMA_V", "Z_SOURCE"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	// A file written before SIMVER existed: the same file with that card blanked.
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	k := bytes.Index(raw, []byte("SIMVER  = "))
	if k < 0 || k%80 != 0 {
		t.Fatalf("no SIMVER card in %s", data)
	}
	copy(raw[k:k+80], bytes.Repeat([]byte(" "), 80))
	old := filepath.Join(dir, "old.fits")
	if err := os.WriteFile(old, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "inspect", old)
	if want := "simulator output version not recorded (written before 2026-11-27)\n"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("inspect of a file without SIMVER: exit %d, %s (want %q)%s", code, out, want, errs)
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

// TestSimulateShards runs the same dataset as one job and as three
// (--shard i/3, in any order, in separate directories): the files are byte
// for byte the same, given SOURCE_DATE_EPOCH for the header dates.
func TestSimulateShards(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	common := []string{"simulate", "--preset", "delve-seed", "--n", "7", "--seed", "5", "--size", "24", "--shard-size", "2", "--quiet"}
	single := filepath.Join(t.TempDir(), "d.fits")
	if code, _, errs := runCLI(t, append(common, "--out", single)...); code != 0 {
		t.Fatalf("single run exit %d: %s", code, errs)
	}
	jobs := t.TempDir()
	for _, spec := range []string{"3/3", "1/3", "2/3"} {
		code, out, errs := runCLI(t, append(common, "--shard", spec, "--out", filepath.Join(jobs, "d.fits"))...)
		if code != 0 {
			t.Fatalf("--shard %s exit %d: %s", spec, code, errs)
		}
		if !strings.Contains(out, "job "+spec[:1]+" of 3") {
			t.Errorf("--shard %s output: %q", spec, out)
		}
	}
	want, _ := filepath.Glob(filepath.Join(filepath.Dir(single), "d-*.fits"))
	if len(want) != 4 {
		t.Fatalf("single run wrote %v, want 4 files", want)
	}
	// Every file of the single run records the simulator output version (the
	// jobs' files are compared byte for byte below).
	for _, p := range want {
		ds, err := dataset.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if v := ds.Meta().SimVersion; v != simulate.OutputVersion {
			t.Errorf("%s: SIMVER %d, want simulate.OutputVersion = %d", filepath.Base(p), v, simulate.OutputVersion)
		}
		ds.Close()
	}
	for _, p := range want {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(jobs, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the sharded jobs' file differs from the single run's", filepath.Base(p))
		}
	}
	if code, out, errs := runCLI(t, "inspect", filepath.Join(jobs, "d.fits")); code != 0 || !strings.Contains(out, "lenses    7") {
		t.Errorf("inspect of the jobs' dataset: exit %d, %s%s", code, out, errs)
	}
	for _, c := range []struct{ spec, want string }{
		{"0/3", "count from 1"}, {"4/3", "1 <= i <= n"}, {"2", "wants i/n"}, {"a/b", "wants i/n"}, {"1/5", "too few for 5 jobs"},
	} {
		code, _, errs := runCLI(t, append(common, "--shard", c.spec, "--out", filepath.Join(t.TempDir(), "x.fits"))...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("--shard %s: exit %d, %q (want usage error with %q)", c.spec, code, errs, c.want)
		}
	}
}

// TestBenchmarkCommand runs a tiny benchmark on the Go backend: the table
// has a row per measurement, with positive numbers.
func TestBenchmarkCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	code, out, errs := runCLI(t, "benchmark", "--backends", "go", "--modes", "joint", "--train-n", "700", "--test-n", "20",
		"--samples", "20", "--epochs", "1", "--models", "../../../models", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("benchmark exit %d: %s", code, errs)
	}
	for _, want := range []string{"| | go |", "| training, joint | ", "images/s |", "| inference, joint (20 x 20) | "} {
		if !strings.Contains(out, want) {
			t.Errorf("benchmark table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| 0 images/s") || strings.Contains(out, "NaN") {
		t.Errorf("benchmark table has an empty measurement:\n%s", out)
	}
	if code, _, errs := runCLI(t, "benchmark", "--modes", "both"); code != 2 || !strings.Contains(errs, "unknown mode") {
		t.Errorf("--modes both: exit %d, %q", code, errs)
	}
}

// TestInspectSimVersion: inspect names the simulator output version, notes
// one other than this build's, and says when a file does not record it.
func TestInspectSimVersion(t *testing.T) {
	for _, c := range []struct {
		v    int
		want string
	}{
		{simulate.OutputVersion, fmt.Sprint(simulate.OutputVersion)},
		{simulate.OutputVersion + 1, fmt.Sprintf("%d (this build simulates version %d)", simulate.OutputVersion+1, simulate.OutputVersion)},
		{0, "not recorded (written before 2026-11-27)"},
	} {
		if got := simVersion(c.v); got != c.want {
			t.Errorf("simVersion(%d) = %q, want %q", c.v, got, c.want)
		}
	}
}
