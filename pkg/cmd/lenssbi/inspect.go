package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect FILE [--columns A,B,...]", stderr)
	extra := fs.String("columns", "MAGNIFICATION,SNR,SRC_MAG_I,LENS_MAG_I", "further columns to summarise (comma-separated; missing ones are skipped)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("need exactly one FILE, got %d arguments", len(pos))
	}
	ds, err := dataset.Open(pos[0])
	if err != nil {
		return err
	}
	defer ds.Close()
	m := ds.Meta()
	fmt.Fprintf(stdout, "dataset   %s (%d file(s))\n", pos[0], len(ds.Paths()))
	fmt.Fprintf(stdout, "lenses    %d\n", ds.Len())
	fmt.Fprintf(stdout, "images    %d x %d pixels, %d bands (%s), %.3f arcsec/pixel\n", m.NX, m.NY, len(m.Bands), strings.Join(m.Bands, " "), m.PixScale)
	fmt.Fprintf(stdout, "preset    %s, seed %d, supersampling %d\n", m.Preset, m.Seed, m.Supersample)
	fmt.Fprintf(stdout, "simulator output version %s\n", simVersion(m.SimVersion))
	fmt.Fprintf(stdout, "cosmology flat LambdaCDM, H0 = %g km/s/Mpc, Om0 = %g\n", m.H0, m.Om0)
	fmt.Fprintf(stdout, "written   by %s %s on %s\n\n", m.Creator, m.Version, m.Date.Format("2006-01-02 15:04:05 UTC"))

	names := append([]string(nil), simulate.Targets...)
	for _, c := range strings.Split(*extra, ",") {
		if c = strings.TrimSpace(strings.ToUpper(c)); c != "" && !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	units := map[string]string{}
	for _, c := range ds.Columns() {
		units[c.Name] = c.Unit
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "column\tunit\tmin\t2.5%\t16%\tmedian\t84%\t97.5%\tmax\t")
	for _, name := range names {
		u, ok := units[name]
		if !ok {
			continue
		}
		v, err := ds.Column(name)
		if err != nil {
			return err
		}
		q := quantiles(v, 0, 0.025, 0.16, 0.5, 0.84, 0.975, 1)
		fmt.Fprintf(tw, "%s\t%s\t", name, u)
		for _, x := range q {
			fmt.Fprintf(tw, "%s\t", fmtNum(x))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p, err := survey.LoadPreset(m.Preset); err == nil {
		fmt.Fprintf(stdout, "\npreset %s: %s\n", p.Name, p.Description)
	}
	return nil
}

// simVersion describes a SIMVER value for inspect: the number, or that files
// written before the keyword existed do not record it.
func simVersion(v int) string {
	if v <= 0 {
		return "not recorded (written before 2026-11-27)"
	}
	s := strconv.Itoa(v)
	if v != simulate.OutputVersion {
		s += fmt.Sprintf(" (this build simulates version %d)", simulate.OutputVersion)
	}
	return s
}

// quantiles returns the linearly interpolated quantiles of v (type 7).
func quantiles(v []float64, ps ...float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	out := make([]float64, len(ps))
	for i, p := range ps {
		if len(s) == 0 {
			out[i] = math.NaN()
			continue
		}
		h := p * float64(len(s)-1)
		lo := int(math.Floor(h))
		hi := min(lo+1, len(s)-1)
		out[i] = s[lo] + (h-float64(lo))*(s[hi]-s[lo])
	}
	return out
}

func fmtNum(x float64) string {
	a := math.Abs(x)
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.0f", x)
	case a >= 100:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}
