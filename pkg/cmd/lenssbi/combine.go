package main

import (
	"fmt"
	"io"

	"github.com/lenssbi/lenssbi/pkg/npe"
)

// runCombine builds a marginal model from networks of other marginal models.
func runCombine(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("combine", "combine --out models/NAME MODEL[:TARGET,...] MODEL[:TARGET,...] ...\n\n"+
		"Builds a marginal (one network per parameter) model from networks of finished marginal models,\n"+
		"in the order given; MODEL:THETA_E takes only that network, MODEL alone takes all of its networks.\n"+
		"The models must share image preparation, size, bands, architecture and preset. Example:\n\n"+
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
