package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lenssbi/lenssbi/pkg/report"
)

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report --model models/NAME --data test.fits --out report/ [flags]", stderr)
	mf := addModelFlags(fs, "test dataset (FITS) with true parameters")
	modelDir, data, samples, n, seed, backend := mf.model, mf.data, mf.samples, mf.n, mf.seed, mf.backend
	out := fs.String("out", "", "report directory (index.html, tables, figures)")
	lenses := fs.String("lenses", "0,1,2", "comma-separated indices of the lenses shown one by one")
	force := fs.Bool("force", false, "replace the report files in an existing, non-empty --out")
	noBounds := fs.Bool("no-bounds", false, "leave out theta_E's posterior widths against the Cramér-Rao bounds (simulated test sets)")
	boundLenses := fs.Int("bound-lenses", 300, "compute the Cramér-Rao bounds for the first N test lenses (about 50 ms each on 2 cores; -1: all)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *modelDir == "" || *data == "" || *out == "":
		return usagef("--model, --data and --out are required")
	case *samples < 20:
		return usagef("--samples must be at least 20 (the calibration tests need them), got %d", *samples)
	case *n < 0:
		return usagef("--n must be >= 0, got %d", *n)
	}
	show, err := parseLenses(*lenses)
	if err != nil {
		return err
	}
	// Fail before the costly sampling when the output would be refused.
	if err := report.CheckDir(*out, *force); err != nil {
		return err
	}
	est, ds, err := loadForInference(*modelDir, *data, *backend, *mf.views)
	if err != nil {
		return err
	}
	defer ds.Close()
	cnt := ds.Len()
	if *n > 0 {
		cnt = min(cnt, *n)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "lenses" })
	if !explicit {
		show = slices.DeleteFunc(show, func(l int) bool { return l >= cnt })
	}
	for _, l := range show {
		if l >= cnt {
			return usagef("--lenses: lens %d is not among the %d test lenses", l, cnt)
		}
	}
	t0 := time.Now()
	post, err := report.SamplePosterior(est, ds, 0, cnt, *samples, *seed)
	if err != nil {
		return err
	}
	el := time.Since(t0).Seconds()
	rep, err := report.FromPosterior(est.Card(), post, ds, report.Options{
		Samples: *samples, Seed: *seed, Lenses: show, Label: report.DefaultLabel,
		Model: *modelDir, Data: filepath.Base(*data), NoBounds: *noBounds, BoundLenses: *boundLenses,
	})
	if err != nil {
		return err
	}
	rep.SampleSeconds = el
	if err := rep.Write(*out, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n%s\n", rep.Header(), rep.Summary())
	for _, v := range rep.Verdicts {
		if !v.Calibrated {
			fmt.Fprintf(stdout, "  %s\n", v.Sentence)
		}
	}
	if rep.Joint != nil && !rep.Joint.Calibrated {
		fmt.Fprintf(stdout, "  %s\n", rep.Joint.Sentence)
	}
	fmt.Fprintf(stdout, "wrote %s: %d files; open %s\n", *out, len(rep.Files()), filepath.Join(*out, report.IndexFile))
	return nil
}

// parseLenses reads a comma-separated list of lens indices ("" for none).
func parseLenses(s string) ([]int, error) {
	show := []int{}
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		l, err := strconv.Atoi(f)
		if err != nil || l < 0 {
			return nil, usagef("--lenses: %q is not a lens index", f)
		}
		show = append(show, l)
	}
	return show, nil
}
