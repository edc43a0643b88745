package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/diagnostics"
	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/prep"
	"github.com/lenssbi/lenssbi/pkg/report"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
	"github.com/lenssbi/lenssbi/pkg/version"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train --data train.fits [--val val.fits | --simulate-on-the-fly] --mode marginal|joint --out models/NAME [flags]", stderr)
	data := fs.String("data", "", "training dataset (FITS); also the source of the preset and validation split")
	val := fs.String("val", "", "validation dataset (default: --val-fraction of --data held out)")
	onTheFly := fs.Bool("simulate-on-the-fly", false, "train on fresh simulated lenses every epoch (same preset as --data)")
	perEpoch := fs.Int("lenses-per-epoch", 0, "lenses per epoch with --simulate-on-the-fly (default: the size of --data)")
	mode := fs.String("mode", npe.ModeMarginal, "marginal (one network per parameter, the reference) or joint")
	out := fs.String("out", "", "model directory (resumes when it holds an unfinished run)")
	epochs := fs.Int("epochs", 0, "maximum epochs (default 30)")
	batch := fs.Int("batch", 0, "batch size (default 64)")
	lr := fs.Float64("lr", 0, "initial learning rate (default 1e-3, cosine decay)")
	clip := fs.Float64("clip-norm", -1, "global gradient-norm clip (default 5; 0 disables)")
	patience := fs.Int("patience", -1, "early-stopping patience in epochs (default 5; 0 disables)")
	valFrac := fs.Float64("val-fraction", 0.1, "fraction of --data held out for validation when --val is not given")
	seed := fs.Uint64("seed", 1, "seed for the data split, shuffling and initial weights")
	backend := fs.String("backend", "", "compute backend: go (default), xla, xla:cpu, xla:cuda (or $GOMLX_BACKEND);\nxla:cpu,devices=N shows N host devices")
	devices := fs.Int("devices", 0, "devices to train on in data parallel (default: every accelerator device that divides --batch; 1 on CPUs)")
	quiet := fs.Bool("quiet", false, "no progress output")
	targets := fs.String("targets", "", "comma-separated parameter columns to model (default THETA_E,Z_LENS,SIGMA_V,Z_SOURCE)")
	augment := fs.String("augment", "", "training augmentation: d4 (the 8 rotations and flips of the pixel grid; default) or none")
	initFrom := fs.String("init", "", "start from the weights of this trained model (fine-tuning): its architecture, image preparation and\nparameter transform are used; flags and --config set the training choices (epochs, --lr, ...)")
	cfgFile := fs.String("config", "", "JSON file with the model and training configuration (npe.Config; fields it omits keep their defaults;\nflags given on the command line override it)")
	finish := fs.Bool("finish", false, "end the unfinished run in --out at its best-validation weights, training nothing\n(it can then be fine-tuned from, combined or calibrated); no other flag is taken")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *finish {
		for name := range set {
			if name != "finish" && name != "out" {
				return usagef("--finish takes only --out, not --%s", name)
			}
		}
		if *out == "" {
			return usagef("--out is required")
		}
		c, err := npe.Finish(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "model %s: %s, best validation loss %.4f at epoch %d\n", *out, c.State.StopReason, c.State.BestValLoss, c.State.BestEpoch)
		return nil
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *data == "":
		return usagef("--data is required")
	case *out == "":
		return usagef("--out is required")
	case *mode != npe.ModeMarginal && *mode != npe.ModeJoint:
		return usagef("--mode must be marginal or joint, got %q", *mode)
	case *valFrac <= 0 || *valFrac >= 1:
		return usagef("--val-fraction must be in (0, 1)")
	case *devices < 0:
		return usagef("--devices must be >= 0, got %d", *devices)
	case *augment != "" && *augment != npe.AugmentD4 && *augment != "none":
		return usagef("--augment must be d4 or none, got %q", *augment)
	}
	cfg := npe.DefaultConfig(*mode)
	var from *npe.Card
	if *initFrom != "" {
		if from, err = npe.ReadCard(*initFrom); err != nil {
			return fmt.Errorf("--init: %w", err)
		}
		if set["mode"] && *mode != from.Config.Mode {
			return usagef("--mode %s, but --init %s is a %s model", *mode, *initFrom, from.Config.Mode)
		}
		cfg = from.Config
	}
	if *cfgFile != "" {
		if cfg, err = readTrainConfig(*cfgFile, cfg); err != nil {
			return err
		}
		if set["mode"] {
			cfg.Mode = *mode
		}
	}
	if set["seed"] || (*cfgFile == "" && from == nil) {
		cfg.Seed = *seed
		cfg.Flow.Seed = *seed
	}
	if set["val-fraction"] || (*cfgFile == "" && from == nil) {
		cfg.ValFraction = *valFrac
	}
	if *targets != "" {
		cfg.Targets = strings.Split(*targets, ",")
	}
	switch *augment {
	case npe.AugmentD4:
		cfg.Augment = npe.AugmentD4
	case "none":
		cfg.Augment = npe.AugmentNone
	}
	if *epochs > 0 {
		cfg.Epochs = *epochs
	}
	if *batch > 0 {
		cfg.BatchSize = *batch
	}
	if *lr > 0 {
		cfg.LearningRate = *lr
		cfg.MinLearningRate = math.Min(cfg.MinLearningRate, *lr)
	}
	if *clip >= 0 {
		cfg.ClipNorm = *clip
	}
	if *patience >= 0 {
		cfg.Patience = *patience
	}
	if err := cfg.Validate(); err != nil {
		if *cfgFile != "" {
			return usagef("%s: %v", *cfgFile, err)
		}
		return usageError{err.Error()}
	}

	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	defer ds.Close()
	m := ds.Meta()
	p, err := survey.LoadPreset(m.Preset)
	if err != nil {
		return fmt.Errorf("%s: preset %q of the dataset: %w", *data, m.Preset, err)
	}
	pc := prep.NewConfig(p)
	if from != nil {
		// The weights were trained on images prepared this way.
		pc = from.Prep
	}
	if err := pc.CheckBands(m.Bands, *data); err != nil {
		return err
	}

	// Training / validation rows.
	var trainRows, valRows []int
	var valDS *dataset.Dataset
	valPath := *val
	if *val != "" {
		valDS, err = dataset.Open(*val)
		if err != nil {
			return err
		}
		defer valDS.Close()
		vm := valDS.Meta()
		if vm.NX != m.NX || vm.NY != m.NY || !slices.Equal(vm.Bands, m.Bands) {
			return fmt.Errorf("%s: images %dx%d %v differ from the training set's %dx%d %v", *val, vm.NX, vm.NY, vm.Bands, m.NX, m.NY, m.Bands)
		}
		trainRows = seq(ds.Len())
	} else {
		valDS = ds
		valPath = *data + " (held out)"
		perm := rand.New(rand.NewPCG(cfg.Seed, 0x7a1)).Perm(ds.Len())
		nval := int(math.Round(cfg.ValFraction * float64(ds.Len())))
		valRows = slices.Sorted(slices.Values(perm[:nval]))
		trainRows = slices.Sorted(slices.Values(perm[nval:]))
	}
	// Targets transform from the training rows.
	var cols [][]float64
	var units []string
	colUnits := map[string]string{}
	for _, c := range ds.Columns() {
		colUnits[c.Name] = c.Unit
	}
	for _, name := range cfg.Targets {
		all, err := ds.Column(name)
		if err != nil {
			return err
		}
		v := make([]float64, len(trainRows))
		for i, r := range trainRows {
			v[i] = all[r]
		}
		cols = append(cols, v)
		units = append(units, colUnits[name])
	}
	tr, err := npe.FitTransform(cfg.Targets, units, cols)
	if err != nil {
		return fmt.Errorf("%s: %w", *data, err)
	}
	if from != nil {
		// The flows' outputs are in the initial model's parameter space.
		tr = from.Transform
	}
	valSrc, err := npe.NewFITSSource(valDS, valPath, valRows, pc, tr, cfg.BatchSize, 2048, cfg.Seed+1)
	if err != nil {
		return err
	}
	var trainSrc npe.Source
	info := npe.DataInfo{Train: *data, Validation: valPath, Preset: m.Preset, Seed: m.Seed, NTrain: len(trainRows), NVal: valSrc.LensesPerEpoch(), SimVersion: m.SimVersion}
	if *onTheFly {
		sc := simulate.DefaultConfig(p)
		sc.Size = m.NX
		sc.Seed = m.Seed + 1_000_003 // a stream disjoint from the FITS sets' seed
		sim, err := simulate.New(sc)
		if err != nil {
			return err
		}
		n := *perEpoch
		if n <= 0 {
			n = len(trainRows)
		}
		offset := flyOffset(*out, from, m.Preset, m.Seed)
		src, err := npe.NewSimSource(sim, pc, tr, cfg.BatchSize, n, offset)
		if err != nil {
			return err
		}
		defer src.Close()
		trainSrc = src
		info.OnTheFly, info.NTrain, info.FlyOffset, info.FlySimVersion = true, src.LensesPerEpoch(), offset, simulate.OutputVersion
		info.Train = fmt.Sprintf("simulated on the fly (%s preset, seed %d)", m.Preset, sc.Seed)
		if offset > 0 {
			info.Train = fmt.Sprintf("simulated on the fly (%s preset, seed %d, lenses %d on)", m.Preset, sc.Seed, offset)
		}
	} else {
		trainSrc, err = npe.NewFITSSource(ds, *data, trainRows, pc, tr, cfg.BatchSize, 2048, cfg.Seed)
		if err != nil {
			return err
		}
	}
	card := npe.Card{Config: cfg, Prep: pc, Transform: tr, NX: m.NX, NY: m.NY, Bands: m.Bands, Data: info}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := npe.TrainOptions{Backend: *backend, ProgressEvery: 20, Devices: *devices, InitFrom: *initFrom}
	if !*quiet {
		fmt.Fprintf(stderr, "training %s model (%s) on %d lenses, validating on %d; writing %s\n", cfg.Mode, version.Version, info.NTrain, info.NVal, *out)
		tty := isTerminal(stderr)
		opts.OnProgress = func(p npe.Progress) {
			if p.EpochDone {
				fmt.Fprintf(stderr, "\repoch %3d/%d  train %.4f  val %.4f  lr %.2e  %.0f images/s   \n", p.Epoch, p.Epochs, p.TrainLoss, p.ValLoss, p.LearningRate, p.ImagesPerSec)
			} else if tty {
				fmt.Fprintf(stderr, "\repoch %3d/%d  batch %d/%d  train %.4f  %.0f images/s   ", p.Epoch, p.Epochs, p.Batch, p.Batches, p.TrainLoss, p.ImagesPerSec)
			}
		}
	}
	t0 := time.Now()
	res, err := npe.Train(ctx, *out, card, trainSrc, valSrc, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; run the same command again to resume from the last completed epoch in %s", *out)
		}
		return err
	}
	st := res.State
	fmt.Fprintf(stdout, "model %s: %d epochs (%s), best validation loss %.4f at epoch %d, %.0fs this run, %.0f images/s\n",
		*out, st.Epoch, st.StopReason, st.BestValLoss, st.BestEpoch, time.Since(t0).Seconds(), st.ImagesPerSec)
	return nil
}

// flyOffset returns the index of the first lens of an on-the-fly run's
// stream (simulator seed of preset and seed): where the run in out, when it
// is being resumed, started; else, for a run fine-tuned from a model trained
// on the same stream, past every lens that model has seen; else 0.
func flyOffset(out string, from *npe.Card, preset string, seed uint64) int {
	same := func(d npe.DataInfo) bool { return d.OnTheFly && d.Preset == preset && d.Seed == seed }
	if prev, err := npe.ReadCard(out); err == nil && !prev.State.Done && same(prev.Data) {
		return prev.Data.FlyOffset
	}
	if from != nil && same(from.Data) {
		return from.Data.FlyOffset + from.State.Epoch*from.Data.NTrain
	}
	return 0
}

// readTrainConfig reads a JSON training configuration onto base: fields the
// file omits keep base's values; unknown fields are errors (a misspelt
// field would otherwise be silently ignored).
func readTrainConfig(path string, base npe.Config) (npe.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("reading training configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	cfg := base
	cfg.NetEmbedding = maps.Clone(base.NetEmbedding)
	if err := dec.Decode(&cfg); err != nil {
		return base, fmt.Errorf("reading training configuration %s: %w", path, err)
	}
	if dec.More() {
		return base, fmt.Errorf("reading training configuration %s: data after the JSON object", path)
	}
	// A network's own embedding, like "embedding", names only what differs:
	// it starts from the network's embedding before the file (or, for a
	// network that had none, from the file's "embedding").
	var own struct {
		NetEmbedding map[string]json.RawMessage `json:"net_embedding"`
	}
	if err := json.Unmarshal(raw, &own); err != nil {
		return base, fmt.Errorf("reading training configuration %s: %w", path, err)
	}
	for t, r := range own.NetEmbedding {
		e, ok := base.NetEmbedding[t]
		if !ok {
			e = cfg.Embedding
		}
		e.Blocks, e.BlockPool = slices.Clone(e.Blocks), slices.Clone(e.BlockPool)
		if err := json.Unmarshal(r, &e); err != nil {
			return base, fmt.Errorf("reading training configuration %s: net_embedding %s: %w", path, t, err)
		}
		cfg.NetEmbedding[t] = e
	}
	return cfg, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadForInference opens the model and the dataset and checks they agree;
// views > 0 sets the posterior's views (npe.Estimator.SetViews).
func loadForInference(modelDir, data, backend string, views int) (*npe.Estimator, *dataset.Dataset, error) {
	est, err := npe.Load(modelDir, backend)
	if err != nil {
		return nil, nil, err
	}
	if views != 0 {
		if err := est.SetViews(views); err != nil {
			return nil, nil, usageError{err.Error()}
		}
	}
	ds, err := dataset.Open(data)
	if err != nil {
		return nil, nil, err
	}
	c, m := est.Card(), ds.Meta()
	if m.NX != c.NX || m.NY != c.NY {
		ds.Close()
		return nil, nil, fmt.Errorf("%s: images are %dx%d, model %s expects %dx%d", data, m.NX, m.NY, modelDir, c.NX, c.NY)
	}
	if err := c.Prep.CheckBands(m.Bands, data); err != nil {
		ds.Close()
		return nil, nil, err
	}
	return est, ds, nil
}

func runInfer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("infer", "infer --model models/NAME --data test.fits --samples 1000 --out posteriors.fits [flags]", stderr)
	mf := addModelFlags(fs, "dataset (FITS) of cutouts")
	modelDir, data, samples, n, seed, backend := mf.model, mf.data, mf.samples, mf.n, mf.seed, mf.backend
	out := fs.String("out", "", "output FITS file: SAMPLES cube and SUMMARY table")
	first := fs.Int("first", 0, "first lens")
	force := fs.Bool("force", false, "overwrite --out")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *modelDir == "" || *data == "" || *out == "":
		return usagef("--model, --data and --out are required")
	case *samples <= 0 || *first < 0 || *n < 0:
		return usagef("--samples must be > 0, --first and --n >= 0")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; use --force to overwrite it", *out)
	}
	est, ds, err := loadForInference(*modelDir, *data, *backend, *mf.views)
	if err != nil {
		return err
	}
	defer ds.Close()
	if *first >= ds.Len() {
		return usagef("--first %d is beyond the %d lenses of %s", *first, ds.Len(), *data)
	}
	cnt := ds.Len() - *first
	if *n > 0 {
		cnt = min(*n, cnt)
	}
	t0 := time.Now()
	post, err := report.SamplePosterior(est, ds, *first, cnt, *samples, *seed)
	if err != nil {
		return err
	}
	el := time.Since(t0)
	// Summary table.
	cols := []dataset.Column{{Name: "INDEX", Format: "K", Description: "lens index in the input dataset"}}
	var colData [][]float64
	idx := make([]float64, cnt)
	for i := range idx {
		idx[i] = float64(*first + i)
	}
	colData = append(colData, idx)
	for d, name := range post.Names {
		for _, q := range []struct {
			suffix, desc string
			get          func(diagnostics.Summary) float64
		}{
			{"MEDIAN", "posterior median", func(s diagnostics.Summary) float64 { return s.Median }},
			{"LO68", "16th percentile", func(s diagnostics.Summary) float64 { return s.Lo68 }},
			{"HI68", "84th percentile", func(s diagnostics.Summary) float64 { return s.Hi68 }},
			{"LO95", "2.5th percentile", func(s diagnostics.Summary) float64 { return s.Lo95 }},
			{"HI95", "97.5th percentile", func(s diagnostics.Summary) float64 { return s.Hi95 }},
		} {
			v := make([]float64, cnt)
			for i := range v {
				v[i] = q.get(post.Summaries[i][d])
			}
			cols = append(cols, dataset.Column{Name: name + "_" + q.suffix, Unit: post.Units[d], Description: strings.ToLower(name) + " " + q.desc})
			colData = append(colData, v)
		}
		if truth, err := ds.Column(name); err == nil {
			cols = append(cols, dataset.Column{Name: name + "_TRUE", Unit: post.Units[d], Description: "true value from the input dataset"})
			colData = append(colData, truth[*first:*first+cnt])
		}
	}
	c := est.Card()
	primary := []dataset.Card{
		{Key: "LENSSBI", Value: version.Version, Comment: "lenssbi version"},
		{Key: "CREATOR", Value: "lenssbi infer"},
		{Key: "MODEL", Value: *modelDir, Comment: "model directory"},
		{Key: "MODE", Value: c.Config.Mode, Comment: "marginal or joint posterior"},
		{Key: "DATA", Value: *data, Comment: "input dataset"},
		{Key: "NLENS", Value: cnt},
		{Key: "NSAMPLES", Value: *samples},
		{Key: "PARAMS", Value: strings.Join(post.Names, ","), Comment: "parameters along SAMPLES axis 1"},
		{Key: "SEED", Value: *seed, Comment: "sampling seed"},
	}
	samplesHDU := dataset.ImageHDU{Name: "SAMPLES", Dims: []int{post.D, post.S, post.N}, AxisNames: []string{"parameter", "sample", "lens"}, Data: post.Samples,
		Cards: []dataset.Card{{Key: "PARAMS", Value: strings.Join(post.Names, ","), Comment: "axis 1"}}}
	if err := dataset.WriteFITS(*out, primary, *force, samplesHDU, dataset.TableHDU{Name: "SUMMARY", Comment: "posterior summaries, one row per lens", Columns: cols, Data: colData}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d lenses x %d samples x %d parameters in %.1fs (%.0f lenses/s)\n", *out, cnt, *samples, post.D, el.Seconds(), float64(cnt)/el.Seconds())
	return nil
}

func runEvaluate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evaluate", "evaluate --model models/NAME --data test.fits [flags]", stderr)
	mf := addModelFlags(fs, "test dataset (FITS) with true parameters")
	modelDir, data, samples, n, seed, backend := mf.model, mf.data, mf.samples, mf.n, mf.seed, mf.backend
	record := fs.Bool("record", false, "store the results in the model's card (model.json) and write its README.md")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := mf.check(pos); err != nil {
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
	t0 := time.Now()
	post, err := report.SamplePosterior(est, ds, 0, cnt, *samples, *seed)
	if err != nil {
		return err
	}
	el := time.Since(t0)
	header := fmt.Sprintf("model %s (%s mode) on %s: %d lenses, %d samples each%s, %.1fs (%.0f lenses/s)",
		*modelDir, est.Card().Config.Mode, *data, cnt, *samples, viewsText(post.Views), el.Seconds(), float64(cnt)/el.Seconds())
	fmt.Fprintf(stdout, "%s\n\n", header)
	results := map[string]any{"data": *data, "lenses": cnt, "samples": *samples, "views": post.Views, "seconds": el.Seconds(),
		"precision_interval": diagnostics.PrecisionInterval, "sim_version": ds.Meta().SimVersion}
	rep, err := report.Evaluate(est.Card(), post, ds, report.Options{Seed: *seed, Model: *modelDir, Data: *data})
	if err != nil {
		return err
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(io.MultiWriter(stdout, &table), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Parameter\tMedian Precision\tMedian Fractional Deviation\tR^2\t")
	for _, r := range rep.Results {
		m := r.PointMetrics
		fmt.Fprintf(tw, "%s\t%.1f %%\t%.1f %%\t%.3f\t\n", r.Label, 100*m.MedianPrecision, 100*m.MedianFractionalDeviation, m.R2)
		results[r.Name] = m
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Calibration: SBC, coverage and (joint posteriors) TARP.
	cal := rep.Calibration
	calText := cal.Report()
	issues := cal.Miscalibrated()
	if len(issues) == 0 {
		calText += "no parameter is detectably miscalibrated (p > 0.01, |z| <= 3)\n"
	}
	for _, is := range issues {
		calText += "MISCALIBRATED " + is.Name + ": " + is.Message + "\n"
	}
	fmt.Fprintf(stdout, "\n%s", calText)
	table.WriteString("\n" + calText)
	var calRows []map[string]any
	for _, pc := range cal.Params {
		calRows = append(calRows, map[string]any{"param": pc.Name, "sbc_chi2_p": pc.SBCChi2P, "sbc_ks_p": pc.SBCKSP,
			"rank_bias": pc.RankBias, "rank_spread": pc.RankSpread, "coverage_max_dev_pp": pc.CoverageMaxDevPP, "coverage_max_dev_level": pc.CoverageMaxDevLevel})
	}
	results["calibration"] = calRows
	if *record {
		card, err := npe.RecordMetrics(*modelDir, "test", results)
		if err != nil {
			return err
		}
		if err := writeModelReadme(*modelDir, card, header, table.String(), ds.Meta().SimVersion); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded in %s/model.json and %s/README.md\n", *modelDir, *modelDir)
	}
	fmt.Fprintf(stdout, "\nprecision: 1 - (%s) / |median|; deviation: |median - truth| / |truth|; R^2 of posterior medians.\n", diagnostics.PrecisionInterval)
	return nil
}

// writeModelReadme writes the human-readable model card; testSimVersion is
// the simulator output version of the held-out set (0: not recorded).
func writeModelReadme(dir string, c *npe.Card, header, table string, testSimVersion int) error {
	var b strings.Builder
	st := c.State
	fmt.Fprintf(&b, "# Model %s\n\n", filepath.Base(dir))
	fmt.Fprintf(&b, "- Mode: %s (%s)\n", c.Config.Mode, map[string]string{npe.ModeMarginal: "one embedding + 1-D spline flow per parameter, the reference setup", npe.ModeJoint: "one embedding + a joint 4-D spline flow"}[c.Config.Mode])
	fmt.Fprintf(&b, "- Targets: %s\n", strings.Join(c.Config.Targets, ", "))
	if len(c.Components) > 0 {
		fmt.Fprintf(&b, "- Training data: per network (below), preset %s, %dx%d pixels, bands %s\n", c.Data.Preset, c.NX, c.NY, strings.Join(c.Bands, " "))
	} else {
		fmt.Fprintf(&b, "- Training data: %s (preset %s, seed %d; %s), %d training and %d validation lenses, %dx%d pixels, bands %s\n",
			c.Data.Train, c.Data.Preset, c.Data.Seed, c.Data.SimVersionText(), c.Data.NTrain, c.Data.NVal, c.NX, c.NY, strings.Join(c.Bands, " "))
	}
	fmt.Fprintf(&b, "- Architecture: %s; asinh softening %g nanomaggies\n", c.Config.Summary(), c.Prep.Softening)
	if len(c.Components) > 0 {
		fmt.Fprintf(&b, "- Networks trained separately and combined (`lenssbi combine`), Adam with cosine decay, clip norm %g:\n", c.Config.ClipNorm)
		for _, p := range c.Components {
			how := ""
			if p.Data.InitFrom != "" {
				how = fmt.Sprintf(", fine-tuned from %s (%s epochs, %.0f s before this run)", p.Data.InitFrom, p.Data.InitFromEpochs, p.Data.InitFromSeconds)
			}
			if p.BatchSize > 0 {
				how += fmt.Sprintf(", batch %d, lr %g", p.BatchSize, p.LearningRate)
			}
			fmt.Fprintf(&b, "  - %s from %s: %d epochs%s, %.0f s on %s (%s backend; the whole source model's time), source best validation loss %.4f; data %s (preset %s, seed %d; %s)\n",
				p.Target, p.From, p.Epochs, how, p.Seconds, p.Machine, p.Backend, p.BestValLoss, p.Data.Train, p.Data.Preset, p.Data.Seed, p.Data.SimVersionText())
		}
		fmt.Fprintf(&b, "- Training time: %.0f s in all\n", st.Seconds)
	} else {
		fmt.Fprintf(&b, "- Training: %d epochs (%s), batch %d, Adam lr %g with cosine decay, clip norm %g, seed %d\n",
			st.Epoch, st.StopReason, c.Config.BatchSize, c.Config.LearningRate, c.Config.ClipNorm, c.Config.Seed)
		onDevices := ""
		if st.Devices > 1 {
			onDevices = fmt.Sprintf(", %d devices in data parallel", st.Devices)
		}
		fmt.Fprintf(&b, "- Training time: %.0f s on %s (%s backend%s), %.0f images/s; best validation loss %.4f at epoch %d\n",
			st.Seconds, st.Machine, st.Backend, onDevices, st.ImagesPerSec, st.BestValLoss, st.BestEpoch)
	}
	if nc := c.NoiseCalibration; nc != nil {
		fmt.Fprintf(&b, "- Posteriors calibrated (`lenssbi calibrate`) on %s (%d lenses, %d samples each%s): base-noise scale %s\n",
			nc.Data, nc.N, nc.Samples, viewsText(nc.Views), nc.Text(c.Config.Targets))
	}
	if c.Views > 1 {
		fmt.Fprintf(&b, "- Symmetrised posterior: the mixture of the posteriors of %d rotations/flips of each image (`--views`)\n", c.Views)
	}
	if c.Data.InitFrom != "" && len(c.Components) == 0 {
		fmt.Fprintf(&b, "- Fine-tuned (`train --init`) from %s (%s epochs, %.0f s of training before this run)\n", c.Data.InitFrom, c.Data.InitFromEpochs, c.Data.InitFromSeconds)
	}
	fmt.Fprintf(&b, "- lenssbi %s\n\n## Held-out results\n\n%s\n\nTest data: %s.\n\n```\n%s```\n\n", c.Version, header, npe.SimVersionText(testSimVersion), table)
	b.WriteString("Median precision: 1 - (68% central interval half-width) / |median|; median fractional deviation: |median - truth| / |truth|; R^2 of the posterior medians against the truths. Regenerate with `lenssbi evaluate --model DIR --data TEST.fits --record`.\n")
	path := filepath.Join(dir, "README.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// modelFlags are the flags shared by the commands that run a model on a dataset.
type modelFlags struct {
	model, data, backend *string
	samples, n, views    *int
	seed                 *uint64
}

// check validates the flags of a command that samples a whole dataset
// (evaluate, calibrate), given the positional arguments left.
func (mf modelFlags) check(pos []string) error {
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *mf.model == "" || *mf.data == "":
		return usagef("--model and --data are required")
	case *mf.samples <= 0 || *mf.n < 0:
		return usagef("--samples must be > 0 and --n >= 0")
	case *mf.views < 0:
		return usagef("--views must be 1, 2, 4 or 8")
	}
	return nil
}

func addModelFlags(fs *flag.FlagSet, dataHelp string) modelFlags {
	return modelFlags{
		model:   fs.String("model", "", "model directory"),
		data:    fs.String("data", "", dataHelp),
		samples: fs.Int("samples", 1000, "posterior samples per lens"),
		n:       fs.Int("n", 0, "number of lenses (default: all)"),
		seed:    fs.Uint64("seed", 1, "sampling seed"),
		backend: fs.String("backend", "", "compute backend: go (default), xla, xla:cpu, xla:cuda"),
		views:   fs.Int("views", 0, "average the posterior over 1, 2, 4 or 8 rotations/flips of each image (default: the model's)"),
	}
}

// viewsText is ", N views" for a posterior averaged over N > 1 views of
// each image, "" otherwise.
func viewsText(v int) string {
	if v > 1 {
		return fmt.Sprintf(", %d views", v)
	}
	return ""
}
