package main

import (
	"fmt"
	"io"

	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/report"
)

// runCombine builds a marginal model from networks of other marginal models.
func runCombine(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("combine", "combine --out models/NAME MODEL[:TARGET,...] MODEL[:TARGET,...] ...\n\n"+
		"Builds a marginal (one network per parameter) model from networks of finished marginal models,\n"+
		"in the order given; MODEL:THETA_E takes only that network, MODEL alone takes all of its networks.\n"+
		"The models must share image preparation, size, bands, flow architecture and preset; the networks'\n"+
		"embeddings may differ (e.g. a theta_E network at a higher resolution). Example:\n\n"+
		"  lenssbi combine --out models/new models/theta-long:THETA_E models/old:Z_LENS,SIGMA_V,Z_SOURCE", stderr)
	out := fs.String("out", "", "new model directory (must not exist)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) == 0 {
		return usagef("--out and at least one MODEL are required")
	}
	var parts []npe.Part
	for _, a := range pos {
		p, err := npe.ParsePart(a)
		if err != nil {
			return usagef("%v", err)
		}
		parts = append(parts, p)
	}
	card, err := npe.Combine(*out, parts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model %s (marginal mode): %s\n", *out, card.State.StopReason)
	fmt.Fprintf(stdout, "evaluate it on a held-out set: lenssbi evaluate --model %s --data test.fits --record\n", *out)
	return nil
}

// runCalibrate fits a marginal model's noise scales on a calibration set.
func runCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", "calibrate --model models/NAME --data cal.fits [flags]\n\n"+
		"Fits, per parameter, the scale of the flow's base noise that makes the marginal model's credible\n"+
		"intervals calibrated on cal.fits (simulated lenses with true parameters, NOT the test set the model\n"+
		"is evaluated on) and stores it in the model card; sampling then uses it.", stderr)
	mf := addModelFlags(fs, "calibration dataset (FITS) with true parameters, distinct from the test set")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := mf.check(pos); err != nil {
		return err
	}
	est, ds, err := loadForInference(*mf.model, *mf.data, *mf.backend, *mf.views)
	if err != nil {
		return err
	}
	defer ds.Close()
	card := est.Card()
	if err := card.CanCalibrate(); err != nil {
		return fmt.Errorf("%s: %w", *mf.model, err)
	}
	cnt := ds.Len()
	if *mf.n > 0 {
		cnt = min(cnt, *mf.n)
	}
	post, err := report.SamplePosterior(est, ds, 0, cnt, *mf.samples, *mf.seed)
	if err != nil {
		return err
	}
	d := len(card.Config.Targets)
	truth := make([]float64, cnt*d)
	for k, name := range card.Config.Targets {
		col, err := ds.Column(name)
		if err != nil {
			return fmt.Errorf("%s: %w", *mf.data, err)
		}
		for i := 0; i < cnt; i++ {
			truth[i*d+k] = col[i]
		}
	}
	old, oldShift := make([]float64, d), make([]float64, d)
	for k := range old {
		old[k] = 1
		if nc := card.NoiseCalibration; nc != nil {
			old[k] = nc.Scale[k]
			if len(nc.Shift) == d {
				oldShift[k] = nc.Shift[k]
			}
		}
	}
	nc, err := npe.Calibrate(*mf.model, post, truth, *mf.data, *mf.seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model %s calibrated on %s (%d lenses, %d samples each%s): base-noise scale and shift per parameter\n", *mf.model, *mf.data, cnt, *mf.samples, viewsText(post.Views))
	for k, name := range card.Config.Targets {
		fmt.Fprintf(stdout, "  %-9s scale %.3f -> %.3f, shift %+.3f -> %+.3f\n", name, old[k], nc.NoiseCalibration.Scale[k], oldShift[k], nc.NoiseCalibration.Shift[k])
	}
	fmt.Fprintf(stdout, "evaluate it on a test set other than %s: lenssbi evaluate --model %s --data test.fits --record\n", *mf.data, *mf.model)
	return nil
}
