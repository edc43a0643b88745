package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/fisher"
	"github.com/lenssbi/lenssbi/pkg/version"
)

func runFisher(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fisher", "fisher --data test.fits [--n N] [--first K] [--out bounds.fits]", stderr)
	data := fs.String("data", "", "simulated dataset (FITS, written by lenssbi simulate)")
	first := fs.Int("first", 0, "first lens")
	n := fs.Int("n", 0, "number of lenses (default: all)")
	out := fs.String("out", "", "write every lens's bounds to this FITS table")
	force := fs.Bool("force", false, "overwrite --out")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments %q", pos)
	}
	if *data == "" {
		return usagef("--data is required")
	}
	if *n < 0 || *first < 0 {
		return usagef("--n and --first must be >= 0")
	}
	if *out != "" && !*force {
		if _, err := os.Stat(*out); err == nil {
			return fmt.Errorf("%s already exists (use --force to overwrite it)", *out)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(stderr, false, "lenses")
	res, bands, err := fisher.Dataset(ctx, *data, fisher.Options{Start: *first, N: *n, Progress: bar.update})
	bar.finish()
	if err != nil {
		return err
	}
	names := fisher.Names(bands)
	var chi []float64
	nsing := 0
	per := make([][]float64, len(names))
	for _, r := range res {
		if r.Err != nil {
			nsing++
			continue
		}
		chi = append(chi, r.ChiSq)
		for i, s := range r.Sigma {
			per[i] = append(per[i], s)
		}
	}
	fmt.Fprintf(stdout, "Cramér-Rao bounds for %d lenses of %s: the image, with the population's shear prior, every other parameter free\n", len(res), *data)
	if len(chi) > 0 {
		fmt.Fprintf(stdout, "model check: chi^2 per pixel of the images against the model: median %.3f, 95th percentile %.3f (about 1 when the model is the simulator's)\n",
			quantiles(chi, 0.5)[0], quantiles(chi, 0.95)[0])
	}
	if nsing > 0 {
		fmt.Fprintf(stdout, "%d lenses with a singular Fisher matrix (some parameter unconstrained): counted as unmeasured\n", nsing)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Parameter\tMedian bound\t16%\t84%\t")
	for i, name := range names {
		if len(per[i]) == 0 {
			continue
		}
		unit := ""
		if strings.HasPrefix(name, "ln ") {
			unit = " (fractional)"
		} else if u := boundUnit(name); u != "" {
			unit = " (" + u + ")"
		}
		fmt.Fprintf(tw, "%s%s\t%.4g\t%.4g\t%.4g\t\n", name, unit, quantiles(per[i], 0.5)[0], quantiles(per[i], 0.16)[0], quantiles(per[i], 0.84)[0])
	}
	tw.Flush()
	theta := fisher.ThetaEBounds(res)
	fmt.Fprintf(stdout, "\ntheta_E at the bound (an efficient unbiased estimator, in the reference table's terms): median precision %.1f %%, median fractional deviation %.1f %%\n",
		100*fisher.EfficientPrecision(theta), 100*fisher.EfficientDeviation(theta))
	if *out == "" {
		return nil
	}
	cols := []dataset.Column{
		{Name: "INDEX", Format: "K", Description: "row in the dataset"},
		{Name: "THETA_E", Unit: "arcsec", Description: "true Einstein radius"},
		{Name: "CHISQ", Description: "chi^2 per pixel of the image against the model"},
		{Name: "SINGULAR", Format: "J", Description: "1: singular Fisher matrix, bounds NaN"},
	}
	colData := make([][]float64, 4+2*len(names))
	for _, r := range res {
		sing := 0.0
		if r.Err != nil {
			sing = 1
		}
		colData[0] = append(colData[0], float64(r.Index))
		colData[1] = append(colData[1], r.TrueThetaE)
		colData[2] = append(colData[2], r.ChiSq)
		colData[3] = append(colData[3], sing)
		for i := range names {
			s, k := math.NaN(), math.NaN()
			if r.Err == nil {
				s, k = r.Sigma[i], r.Known[i]
			}
			colData[4+i] = append(colData[4+i], s)
			colData[4+len(names)+i] = append(colData[4+len(names)+i], k)
		}
	}
	for _, name := range names {
		cols = append(cols, dataset.Column{Name: "SIGMA_" + columnName(name), Unit: boundUnit(name), Description: "bound on " + name + ", others free"})
	}
	for _, name := range names {
		cols = append(cols, dataset.Column{Name: "KNOWN_" + columnName(name), Unit: boundUnit(name), Description: "bound on " + name + ", others known"})
	}
	primary := []dataset.Card{
		{Key: "LENSSBI", Value: version.Version, Comment: "lenssbi version"},
		{Key: "CREATOR", Value: "lenssbi fisher"},
		{Key: "DATA", Value: *data, Comment: "simulated dataset"},
		{Key: "NLENS", Value: len(res)},
	}
	if err := dataset.WriteFITS(*out, primary, *force, dataset.TableHDU{Name: "BOUNDS", Comment: "Cramer-Rao bounds, one row per lens", Columns: cols, Data: colData}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// columnName turns a fisher parameter name ("ln THETA_E") into a FITS column
// name part ("LN_THETA_E").
func columnName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// boundUnit is the unit of a bound on a fisher parameter: arcsec for
// positions, none for the rest (logs and ellipticities).
func boundUnit(name string) string {
	if strings.HasSuffix(name, "_X") || strings.HasSuffix(name, "_Y") {
		return "arcsec"
	}
	return ""
}
