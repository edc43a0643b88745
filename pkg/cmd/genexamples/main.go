// Command genexamples writes the example "real-like" cutouts in
// data/examples: a few simulated DELVE lenses stored the way survey cutouts
// arrive, one FITS file per band (<name>_g.fits, _r, _i, _z), with DECam and
// DELVE-like headers (FILTER, BUNIT, MAGZERO, EXPTIME, SEEING, PIXSCALE and a
// TAN WCS) and pixel values in DESDM coadd units (zero point 30), not in the
// simulator's e-/s. notebooks/05-real-cutouts.ipynb reads them with
// dataset.ReadCutout as it would read a user's own cutouts. truth.csv lists
// the parameters each lens was simulated with, and README.md describes the
// files.
//
// The lenses come from the delve preset (DELVE's real depth and physical
// noise model, the training distribution of models/delve-joint), seed 2025:
// of the first 60 lenses, the two with the highest
// lensed-source signal-to-noise among those with an Einstein radius above
// 1 arcsec (arcs that show), and the one of median signal-to-noise (a
// typical candidate). Everything is determined by the seed, so the files
// can be regenerated at will.
//
// Usage, from the module root:
//
//	GOEXPERIMENT=simd go run ./pkg/cmd/genexamples                 # write data/examples
//	GOEXPERIMENT=simd go run ./pkg/cmd/genexamples -check          # compare with data/examples
//
// With -check nothing is written: the files are regenerated in memory and
// compared with those in -out (headers and text exactly, pixels to a
// relative 1e-5, which absorbs floating-point differences between CPUs); the
// command exits with status 1 when they differ.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command with the given arguments and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("genexamples", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "data/examples", "output directory")
	check := fs.Bool("check", false, "regenerate in memory and compare with the files in -out instead of writing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: genexamples [-out DIR] [-check]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "genexamples: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	files, err := generate(defaultSpec())
	if err != nil {
		fmt.Fprintf(stderr, "genexamples: %v\n", err)
		return 1
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	if *check {
		var bad int
		for _, name := range names {
			if err := compare(filepath.Join(*out, name), files[name]); err != nil {
				fmt.Fprintf(stderr, "genexamples: %v\n", err)
				bad++
			}
		}
		if bad > 0 {
			fmt.Fprintf(stderr, "genexamples: %d of %d files differ; regenerate with `GOEXPERIMENT=simd go run ./pkg/cmd/genexamples`\n", bad, len(names))
			return 1
		}
		fmt.Fprintf(stdout, "%d files in %s match\n", len(names), *out)
		return 0
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "genexamples: %v\n", err)
		return 1
	}
	total := 0
	for _, name := range names {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintf(stderr, "genexamples: writing %s: %v\n", path, err)
			return 1
		}
		total += len(files[name])
	}
	fmt.Fprintf(stdout, "wrote %d files (%d bytes) to %s\n", len(names), total, *out)
	return 0
}
