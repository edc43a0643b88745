// Command lenssbi simulates, inspects and renders strong-lens datasets.
//
//	lenssbi simulate --preset delve --n 25000 --seed 1 --size 48 --out data.fits
//	lenssbi inspect data.fits
//	lenssbi render data.fits --out grid.png
//	lenssbi train --data train.fits --mode marginal --out models/NAME
//	lenssbi infer --model models/NAME --data test.fits --out posteriors.fits
//	lenssbi evaluate --model models/NAME --data test.fits
//	lenssbi combine --out models/NEW models/A:THETA_E models/B:Z_LENS,SIGMA_V,Z_SOURCE
//	lenssbi calibrate --model models/NAME --data cal.fits
//	lenssbi report --model models/NAME --data test.fits --out report/
//	lenssbi fisher --data test.fits --out bounds.fits
//	lenssbi depth --preset delve
//	lenssbi benchmark --backends go,xla:cpu
//	lenssbi presets
//
// Run "lenssbi COMMAND -h" for a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lenssbi/lenssbi/pkg/version"
)

// errUsage marks errors that should print usage and exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"simulate", "simulate a lens dataset and write it as FITS", runSimulate},
		{"inspect", "summarise a FITS dataset", runInspect},
		{"render", "draw a contact sheet of g r i colour composites", runRender},
		{"train", "train a neural posterior estimator", runTrain},
		{"infer", "sample posteriors for a dataset with a trained model", runInfer},
		{"evaluate", "print the reference results table for a model and a test set", runEvaluate},
		{"combine", "build a marginal model from networks of other marginal models", runCombine},
		{"calibrate", "fit a marginal model's posterior widths on a calibration set", runCalibrate},
		{"fisher", "Cramér-Rao bounds on theta_E and the image parameters of simulated lenses", runFisher},
		{"report", "write the results, calibration and figures of a model on a test set", runReport},
		{"depth", "print a preset's 5-sigma point-source depths", runDepth},
		{"benchmark", "compare training and inference speed across backends (one table)", runBenchmark},
		{"presets", "list the survey presets", runPresets},
		{"version", "print the lenssbi version", func([]string, io.Writer, io.Writer) error {
			fmt.Println("lenssbi", version.Version)
			return nil
		}},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "lenssbi %s: simulation-based inference of strong gravitational lenses\n\nUsage: lenssbi COMMAND [flags]\n\nCommands:\n", version.Version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'lenssbi COMMAND -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit status: 0 success, 1
// failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		mainUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "lenssbi %s: %v\nRun 'lenssbi %s -h' for usage.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "lenssbi %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "lenssbi: unknown command %q\n\n", args[0])
	mainUsage(stderr)
	return 2
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lenssbi %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, allowing positional arguments before and after them
// ("inspect FILE --flag" and "inspect --flag FILE" both work).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
