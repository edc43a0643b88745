package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
	"github.com/lenssbi/lenssbi/pkg/version"
)

func runSimulate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", "simulate --preset delve --n 25000 --seed 1 --size 48 --out data.fits [flags]", stderr)
	preset := fs.String("preset", "delve", "survey preset: "+strings.Join(survey.PresetNames(), ", ")+", or a path to a preset .json")
	n := fs.Int("n", 1000, "number of lenses")
	seed := fs.Uint64("seed", 1, "random seed (lens i depends on seed and i only)")
	size := fs.Int("size", 48, "cutout side in pixels")
	out := fs.String("out", "", "output FITS file (shards NAME-000.fits... when --n exceeds --shard-size)")
	force := fs.Bool("force", false, "overwrite existing output files")
	workers := fs.Int("workers", 0, "worker goroutines (0: one per CPU); the output does not depend on it")
	ss := fs.Int("supersample", 8, "maximum sub-pixel factor per axis")
	shard := fs.Int("shard-size", dataset.DefaultShardSize, "maximum lenses per FITS file")
	noCuts := fs.Bool("no-cuts", false, "keep every drawn lens (skip LensPop's detectability cuts)")
	shear := fs.Float64("shear-sigma", 0.05, "standard deviation of each external-shear component (0: no shear)")
	quiet := fs.Bool("quiet", false, "no progress output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *out == "":
		return usagef("--out is required")
	case *n <= 0:
		return usagef("--n must be > 0, got %d", *n)
	case *size <= 0:
		return usagef("--size must be > 0, got %d", *size)
	case *ss <= 0:
		return usagef("--supersample must be > 0, got %d", *ss)
	case *shard <= 0:
		return usagef("--shard-size must be > 0, got %d", *shard)
	case *shear < 0:
		return usagef("--shear-sigma must be >= 0, got %g", *shear)
	}
	p, err := survey.LoadPreset(*preset)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := simulate.DefaultConfig(p)
	cfg.Seed = *seed
	cfg.Size = *size
	cfg.Supersample = *ss
	cfg.Population.ShearSigma = *shear
	if *noCuts {
		cfg.Cuts.Disabled = true
	}
	sim, err := simulate.New(cfg)
	if err != nil {
		return err
	}
	cols := make([]dataset.Column, 0, len(sim.Columns()))
	for _, c := range sim.Columns() {
		cols = append(cols, dataset.Column{Name: c.Name, Unit: c.Unit, Description: c.Description})
	}
	cosmo := sim.Cosmology()
	meta := dataset.Meta{
		Version: version.Version, Creator: "lenssbi simulate", Preset: p.Name, Seed: *seed,
		H0: cosmo.H0(), Om0: cosmo.Om0(), NX: *size, NY: *size, Bands: sim.Bands(),
		PixScale: p.PixelScale, Supersample: *ss,
		Extra: []dataset.Card{
			{Key: "NOISEMOD", Value: p.NoiseModel, Comment: "noise model of the preset"},
			{Key: "PSF", Value: p.PSF, Comment: "PSF model"},
			{Key: "CUTS", Value: !*noCuts, Comment: "LensPop detectability cuts applied"},
			{Key: "SHEARSIG", Value: *shear, Comment: "external shear component sigma"},
		},
	}
	if !*force {
		for _, path := range dataset.ShardPaths(*out, *n, *shard) {
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists; use --force to overwrite it", path)
			}
		}
	}
	w, err := dataset.Create(*out, meta, cols, *n, dataset.WriterOptions{ShardSize: *shard, Force: *force})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	bar := newProgress(stderr, *quiet, "simulating")
	t0 := time.Now()
	err = sim.Run(ctx, 0, *n, *workers, func(l *simulate.Lens) error {
		return w.Write(l.Images, l.Variance, l.Params)
	}, bar.update)
	bar.finish()
	if err != nil {
		w.Close() // removes the partial shard; reports what was kept
		return fmt.Errorf("simulating into %s: %w", *out, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	el := time.Since(t0)
	fmt.Fprintf(stdout, "wrote %d %s lenses (%dx%d, bands %s) to %s in %.1fs (%.0f lenses/s)\n",
		*n, p.Name, *size, *size, strings.Join(sim.Bands(), ""), strings.Join(w.Paths(), ", "), el.Seconds(), float64(*n)/el.Seconds())
	return nil
}

// progress draws a one-line progress bar on a terminal and nothing otherwise.
type progress struct {
	w     io.Writer
	on    bool
	label string
	t0    time.Time
	last  time.Time
}

func newProgress(w io.Writer, quiet bool, label string) *progress {
	return &progress{w: w, on: !quiet && isTerminal(w), label: label, t0: time.Now()}
}

func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	k := width * done / total
	rate := float64(done) / now.Sub(p.t0).Seconds()
	eta := ""
	if rate > 0 && done < total {
		eta = " eta " + time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s/s%s   ", p.label, strings.Repeat("=", k), strings.Repeat(" ", width-k),
		done, total, strconv.FormatFloat(rate, 'f', 0, 64), eta)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
