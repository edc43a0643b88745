// Command gentables derives the project's photometric tables from the public
// reference data in ../shared/data and writes them under data/tables, where
// package data embeds them:
//
//   - deflector_colours.csv: LensPop deflector colours c_band(z) for DECam DR1
//     g r i z, from the Bruzual & Charlot old-population template (see
//     pkg/photometry);
//   - lsst_sources.csv: the redshifts and g r i z / absolute r magnitudes of the
//     simulated 1 deg^2 LSST catalogue that LensPop draws lensed sources from.
//
// Usage, from the module root:
//
//	go run ./pkg/cmd/gentables -shared ../shared -out data/tables
//	go run ./pkg/cmd/gentables -shared ../shared -out data/tables -check
//
// With -check nothing is written: the tables are regenerated in memory and
// compared byte for byte with those in -out; the command exits with status 1
// and a summary of the differences when they differ (CI runs this when
// ../shared exists).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/internal/atomicfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command with the given arguments and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gentables", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shared := fs.String("shared", "../shared", "shared reference directory (holding data/filters, data/seds, data/catalogs)")
	out := fs.String("out", "data/tables", "output directory for the generated tables")
	check := fs.Bool("check", false, "regenerate in memory and compare with the files in -out instead of writing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gentables [-shared DIR] [-out DIR] [-check]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gentables: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	files, err := generate(*shared)
	if err != nil {
		fmt.Fprintf(stderr, "gentables: %v\n", err)
		return 1
	}
	if *check {
		ok := true
		for _, f := range files {
			path := filepath.Join(*out, f.name)
			old, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "gentables: %s: cannot read: %v\n", path, err)
				ok = false
				continue
			}
			if d := diffSummary(old, f.content); d != "" {
				fmt.Fprintf(stderr, "gentables: %s is out of date: %s\n", path, d)
				ok = false
				continue
			}
			fmt.Fprintf(stdout, "%s: up to date\n", path)
		}
		if !ok {
			fmt.Fprintf(stderr, "gentables: regenerate with: go run ./pkg/cmd/gentables -shared %s -out %s\n", *shared, *out)
			return 1
		}
		return 0
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "gentables: %v\n", err)
		return 1
	}
	for _, f := range files {
		path := filepath.Join(*out, f.name)
		if err := atomicfile.WriteFile(path, f.content); err != nil {
			fmt.Fprintf(stderr, "gentables: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", path, len(f.content))
	}
	return 0
}

// diffSummary returns "" when a and b are equal, else a short description of
// how the file content a differs from the regenerated content b.
func diffSummary(a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	la := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n")
	lb := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	n := max(len(la), len(lb))
	first, count := -1, 0
	for i := range n {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y || i >= len(la) || i >= len(lb) {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d of %d lines differ (file %d bytes, regenerated %d bytes)", count, n, len(a), len(b))
	if first < 0 {
		sb.WriteString("; only the final newline differs")
	} else {
		get := func(l []string, i int) string {
			if i < len(l) {
				return fmt.Sprintf("%q", l[i])
			}
			return "(no line)"
		}
		fmt.Fprintf(&sb, "; first at line %d:\n  file:        %s\n  regenerated: %s", first+1, get(la, first), get(lb, first))
	}
	return sb.String()
}
