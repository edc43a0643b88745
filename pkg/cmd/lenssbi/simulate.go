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
	// The defaults are simulate.DefaultConfig's, the settings TestOutputGolden checks.
	def := simulate.DefaultConfig(nil)
	preset := fs.String("preset", "delve", "survey preset: "+strings.Join(survey.PresetNames(), ", ")+", or a path to a preset .json")
	n := fs.Int("n", 1000, "number of lenses")
	seed := fs.Uint64("seed", def.Seed, "random seed (lens i depends on seed and i only)")
	size := fs.Int("size", def.Size, "cutout side in pixels")
	out := fs.String("out", "", "output FITS file (shards NAME-000.fits... when --n exceeds --shard-size)")
	force := fs.Bool("force", false, "overwrite existing output files")
	workers := fs.Int("workers", 0, "worker goroutines (0: one per CPU); the output does not depend on it")
	ss := fs.Int("supersample", def.Supersample, "maximum sub-pixel factor per axis")
	shard := fs.Int("shard-size", dataset.DefaultShardSize, "maximum lenses per FITS file")
	noCuts := fs.Bool("no-cuts", false, "keep every drawn lens (skip LensPop's detectability cuts)")
	shear := fs.Float64("shear-sigma", def.Population.ShearSigma, "standard deviation of each external-shear component (0: no shear)")
	quiet := fs.Bool("quiet", false, "no progress output")
	shardSpec := fs.String("shard", "", "`i/n`: write only job i's files (1 <= i <= n) of the dataset split among n jobs;\nthe n jobs' files together are exactly the files of one run (run them anywhere, in any order)")
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
	job, jobs := 0, 1
	if *shardSpec != "" {
		if job, jobs, err = parseShard(*shardSpec); err != nil {
			return err
		}
	}
	parts, err := dataset.SplitParts(*n, *shard, jobs)
	if err != nil {
		return usagef("--shard %s: %v", *shardSpec, strings.TrimPrefix(err.Error(), "dataset: "))
	}
	part := parts[job]
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
	date, err := sourceDate()
	if err != nil {
		return err
	}
	meta := dataset.Meta{
		Date:    date,
		Version: version.Version, Creator: "lenssbi simulate", Preset: p.Name, Seed: *seed,
		H0: cosmo.H0(), Om0: cosmo.Om0(), NX: *size, NY: *size, Bands: sim.Bands(),
		PixScale: p.PixelScale, Supersample: *ss, SimVersion: simulate.OutputVersion,
		Extra: []dataset.Card{
			{Key: "NOISEMOD", Value: p.NoiseModel, Comment: "noise model of the preset"},
			{Key: "PSF", Value: p.PSF, Comment: "PSF model"},
			{Key: "CUTS", Value: !*noCuts, Comment: "LensPop detectability cuts applied"},
			{Key: "SHEARSIG", Value: *shear, Comment: "external shear component sigma"},
		},
	}
	if !*force {
		for _, path := range dataset.ShardPaths(*out, *n, *shard)[part.FirstShard:part.EndShard] {
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists; use --force to overwrite it", path)
			}
		}
	}
	w, err := dataset.Create(*out, meta, cols, *n, dataset.WriterOptions{ShardSize: *shard, Force: *force, Job: job, Jobs: jobs})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	bar := newProgress(stderr, *quiet, "simulating")
	t0 := time.Now()
	count := part.End - part.First
	err = sim.Run(ctx, part.First, count, *workers, func(l *simulate.Lens) error {
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
	what := ""
	if jobs > 1 {
		what = fmt.Sprintf(" (lenses %d-%d of %d: job %d of %d)", part.First, part.End-1, *n, job+1, jobs)
	}
	fmt.Fprintf(stdout, "wrote %d %s lenses%s (%dx%d, bands %s) to %s in %.1fs (%.0f lenses/s)\n",
		count, p.Name, what, *size, *size, strings.Join(sim.Bands(), ""), strings.Join(w.Paths(), ", "), el.Seconds(), float64(count)/el.Seconds())
	return nil
}

// parseShard reads --shard i/n (1 <= i <= n) and returns the 0-based job and n.
func parseShard(spec string) (job, jobs int, err error) {
	a, b, ok := strings.Cut(spec, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, usagef("--shard wants i/n (job i of n, counting from 1), got %q", spec)
	}
	if n < 1 || i < 1 || i > n {
		return 0, 0, usagef("--shard %s: need 1 <= i <= n (jobs count from 1)", spec)
	}
	return i - 1, n, nil
}

// sourceDate is the DATE written to headers: $SOURCE_DATE_EPOCH (seconds
// since 1970, the reproducible-builds convention) when set, so that separate
// jobs can write byte-identical files; zero (the current time) otherwise.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, usagef("SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
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
